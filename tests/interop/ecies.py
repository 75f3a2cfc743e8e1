#!/usr/bin/env python3
"""A second, independent implementation of the IRD field encryption, for konform's interop tests.

Built only on the Python `cryptography` package (OpenSSL underneath), sharing no code with the
Rust `ti-core` crate:

    value = 0x01 || X(32) || Y(32) || IV(12) || AES-GCM ciphertext || tag(16)
    key   = HKDF-SHA256(salt = empty, ikm = x-coordinate of ECDH, info, length = 16 or 32)

Curves: brainpoolP256r1 and NIST P-256 (taken from the recipient's key).

    ecies.py selftest
    ecies.py encrypt --to CERT_OR_PUBKEY_OR_KEY_PEM [--info S] [--aes 128|256] VALUE   -> base64
    ecies.py decrypt --key KEY_PEM [--info S] [--aes 128|256] B64                       -> plaintext
    ecies.py batch-encrypt --to … [--info S] [--aes N] < lines of base64(plaintext)  -> lines of base64(value)
    ecies.py batch-decrypt --key … [--info S] [--aes N] < lines of base64(value)     -> lines of base64(plaintext)

The batch forms pay Python's start-up once for many values; plaintexts travel as base64 so any bytes
(including newlines and non-UTF-8) survive.

Exit codes: 0 ok, 1 the value does not decrypt, 2 usage or input error.
"""

import argparse
import base64
import binascii
import os
import sys

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

IRD_INFO = "VST-IRD-Transport"
CURVES = {"brainpoolP256r1": ec.BrainpoolP256R1, "secp256r1": ec.SECP256R1}


def fail(code, msg):
    print(f"ecies.py: {msg}", file=sys.stderr)
    sys.exit(code)


def derive_key(shared_x, info, aes_bits):
    return HKDF(algorithm=hashes.SHA256(), length=aes_bits // 8, salt=None, info=info.encode()).derive(shared_x)


def coord(n):
    return n.to_bytes(32, "big")


def encrypt_with(recipient, eph, iv, plaintext, info, aes_bits):
    shared = eph.exchange(ec.ECDH(), recipient)
    key = derive_key(shared, info, aes_bits)
    ct = AESGCM(key).encrypt(iv, plaintext, None)
    nums = eph.public_key().public_numbers()
    return b"\x01" + coord(nums.x) + coord(nums.y) + iv + ct


def encrypt(recipient, plaintext, info, aes_bits):
    if recipient.curve.name not in CURVES:
        fail(2, f"unsupported curve {recipient.curve.name}")
    eph = ec.generate_private_key(CURVES[recipient.curve.name]())
    return encrypt_with(recipient, eph, os.urandom(12), plaintext, info, aes_bits)


def decrypt(key, value, info, aes_bits):
    if len(value) < 1 + 32 + 32 + 12 + 16:
        fail(1, f"truncated: {len(value)} bytes")
    if value[0] != 1:
        fail(1, f"version byte 0x{value[0]:02x}")
    x = int.from_bytes(value[1:33], "big")
    y = int.from_bytes(value[33:65], "big")
    try:
        eph_pub = ec.EllipticCurvePublicNumbers(x, y, key.curve).public_key()
    except ValueError:
        fail(1, f"ephemeral point is not on {key.curve.name}")
    shared = key.exchange(ec.ECDH(), eph_pub)
    k = derive_key(shared, info, aes_bits)
    try:
        return AESGCM(k).decrypt(value[65:77], value[77:], None)
    except InvalidTag:
        fail(1, "authentication tag does not verify")


def load_public(path):
    data = open(path, "rb").read()
    if b"BEGIN CERTIFICATE" in data:
        return x509.load_pem_x509_certificate(data).public_key()
    if b"BEGIN PUBLIC KEY" in data:
        return serialization.load_pem_public_key(data)
    return serialization.load_pem_private_key(data, None).public_key()


def selftest():
    """gematik VAUFixed.cs vector (reference/vectors.md), info `ecies-vau-transport`."""
    h = bytes.fromhex
    curve = ec.BrainpoolP256R1()
    recipient = ec.EllipticCurvePublicNumbers(
        int("8634212830dad457ca05305e6687134166b9c21a65ffebf555f4e75dfb048888", 16),
        int("66e4b6843624cbda43c97ea89968bc41fd53576f82c03efa7d601b9facac2b29", 16),
        curve,
    ).public_key()
    eph = ec.derive_private_key(int("5bbba34d47502bd588ed680dfa2309ca375eb7a35ddbbd67cc7f8b6b687a1c1d", 16), curve)
    out = encrypt_with(recipient, eph, h("257db4604af8ae0dfced37ce"), b"Hallo Test", "ecies-vau-transport", 128)
    expected = (
        "01754e548941e5cd073fed6d734578a484be9f0bbfa1b6fa3168ed7ffb22878f0f"
        "9aef9bbd932a020d8828367bd080a3e72b36c41ee40c87253f9b1b0beb8371bf"
        "257db4604af8ae0dfced37ce86c2b491c7a8309e750b4e6e307219863938c204dfe85502ee0a"
    )
    if out.hex() != expected:
        fail(1, f"selftest: VAUFixed vector not reproduced: {out.hex()}")
    print("selftest ok: VAUFixed vector reproduced")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("selftest")
    e = sub.add_parser("encrypt")
    e.add_argument("--to", required=True)
    e.add_argument("--info", default=IRD_INFO)
    e.add_argument("--aes", type=int, choices=[128, 256], default=128)
    e.add_argument("value")
    d = sub.add_parser("decrypt")
    d.add_argument("--key", required=True)
    d.add_argument("--info", default=IRD_INFO)
    d.add_argument("--aes", type=int, choices=[128, 256], default=128)
    d.add_argument("b64")
    be = sub.add_parser("batch-encrypt")
    be.add_argument("--to", required=True)
    be.add_argument("--info", default=IRD_INFO)
    be.add_argument("--aes", type=int, choices=[128, 256], default=128)
    bd = sub.add_parser("batch-decrypt")
    bd.add_argument("--key", required=True)
    bd.add_argument("--info", default=IRD_INFO)
    bd.add_argument("--aes", type=int, choices=[128, 256], default=128)
    a = p.parse_args()
    if a.cmd == "selftest":
        selftest()
    elif a.cmd == "batch-encrypt":
        recipient = load_public(a.to)
        for line in sys.stdin.read().splitlines():
            pt = base64.b64decode(line, validate=True)
            print(base64.b64encode(encrypt(recipient, pt, a.info, a.aes)).decode())
    elif a.cmd == "batch-decrypt":
        key = serialization.load_pem_private_key(open(a.key, "rb").read(), None)
        for line in sys.stdin.read().splitlines():
            pt = decrypt(key, base64.b64decode(line, validate=True), a.info, a.aes)
            print(base64.b64encode(pt).decode())
    elif a.cmd == "encrypt":
        try:
            recipient = load_public(a.to)
        except (OSError, ValueError) as err:
            fail(2, f"cannot load recipient {a.to}: {err}")
        print(base64.b64encode(encrypt(recipient, a.value.encode(), a.info, a.aes)).decode())
    else:
        try:
            key = serialization.load_pem_private_key(open(a.key, "rb").read(), None)
        except (OSError, ValueError) as err:
            fail(2, f"cannot load key {a.key}: {err}")
        try:
            value = base64.b64decode(a.b64, validate=True)
        except binascii.Error as err:
            fail(2, f"not base64: {err}")
        sys.stdout.write(decrypt(key, value, a.info, a.aes).decode() + "\n")


if __name__ == "__main__":
    main()
