"""An independent XTA client: Python zeep generates it from the official XTA.wsdl (XTA-WS 2.1.1). Over mTLS
it sends a FIM message with two attachments as MTOM from the portal account and fetches it as the authority.

zeep writes the SOAP 1.2 envelopes (with WS-Addressing from the WSDL's wsam:Action); it has no MTOM sender,
so this script re-packages zeep's sendMessage envelope as MTOM/XOP itself (the Message and both attachments
as binary parts, as Apache CXF sends them). Answers are read by zeep, MTOM included.

Usage: python3 client.py BASE_URL WSDL_DIR PKI_DIR MESSAGE_FILE ATTACHMENT1 ATTACHMENT2
Prints one JSON object; exits non-zero with a message on the first failure.
"""

import base64
import hashlib
import json
import os
import sys
import uuid

import requests
from lxml import etree
from zeep import Client, Settings
from zeep.exceptions import Fault
from zeep.transports import Transport

BASE, WSDL_DIR, PKI, MESSAGE, ATT1, ATT2 = sys.argv[1:7]
XTA = "http://xoev.de/transport/xta/211"
META = "http://www.osci.eu/ws/2014/10/transport"
OSCI = "http://www.osci.eu/ws/2008/05/transport"
WSA = "http://www.w3.org/2005/08/addressing"
XOP = "http://www.w3.org/2004/08/xop/include"
PORTAL = "ehp:010100100001"
AUTHORITY = "vbe:010510440199"
# The official schemas declare DTD entities in schema files (xmldsig); allowed while loading the WSDL only.
SETTINGS = Settings(strict=True, forbid_entities=False, forbid_dtd=False, xml_huge_tree=False)
PATHS = {
    "Management": "/MB_XTA-WS/XTA210managementPort.svc",
    "Send": "/MB_XTA-WS/XTA210sendPort.svc",
    "MsgBox": "/MB_XTA-WS/XTA210msgBoxPort.svc",
}


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def client_for(account):
    session = requests.Session()
    # Our test CA, not the CA bundle the environment may name (REQUESTS_CA_BUNDLE would win otherwise).
    session.trust_env = False
    name = account.replace(":", "_")
    session.cert = (os.path.join(PKI, f"xta/{name}.pem"), os.path.join(PKI, f"xta/{name}.key.pem"))
    session.verify = os.path.join(PKI, "tls/ca.pem")
    client = Client(os.path.join(WSDL_DIR, "XTA.wsdl"), settings=SETTINGS, transport=Transport(session=session))
    svc = {
        port: client.create_service(f"{{{XTA}}}{binding}", BASE + PATHS[port])
        for port, binding in [("Management", "managementHttpsBinding"), ("Send", "sendXTAHttpsBinding"), ("MsgBox", "msgBoxHttpsBinding")]
    }
    author = client.get_element(f"{{{META}}}Author")(Identifier={"_value_1": account, "type": "xoev"})
    return client, svc, session, author


def meta_data(client, message_id):
    MMD = client.get_element(f"{{{META}}}MessageMetaData")
    party = lambda i: {"Identifier": {"_value_1": i, "type": "xoev"}}
    return MMD(
        DeliveryAttributes={},
        Originators={"Author": party(PORTAL)},
        Destinations={"Reader": party(AUTHORITY)},
        MsgIdentification={"MessageID": {"_value_1": message_id}},
        Qualifier={
            "Service": "urn:fim:Versammlungsanzeige:1.4",
            "BusinessScenario": {"Defined": {"code": "FIM_DATA", "listURI": "urn:de:xta:codeliste:business.scenario", "listVersionID": "1"}},
            "MessageType": {
                "code": "fim.S17000652.17000652001004",
                "listURI": "urn:de:payloadSchema:elementName",
                "listVersionID": "1.0",
                "payloadSchema": "urn:xoev-de:xfall:standard:fim-s17000652_1.4",
            },
        },
    )


def send_mtom(client, svc, session, message_id, contents):
    """zeep builds the envelope; the base64 content becomes xop:Include + binary MIME parts."""
    binding = svc["Send"]._binding
    container = {
        "ContentContainer": {
            "Message": {"_value_1": contents[0][2], "contentType": "application/xml", "filename": contents[0][0]},
            "Attachment": [{"_value_1": d, "contentType": ct, "filename": n} for (n, ct, d) in contents[1:]],
        }
    }
    envelope, headers = binding._create(
        "sendMessage",
        (),
        {"ContentContainer": container["ContentContainer"], "_soapheaders": [meta_data(client, message_id)]},
        client=client,
        options=svc["Send"]._binding_options,
    )
    parts = []
    for el in envelope.iter(f"{{{XTA}}}Message", f"{{{XTA}}}Attachment"):
        data = base64.b64decode(el.text)
        cid = f"{uuid.uuid4()}@zeep.example"
        el.text = None
        inc = etree.SubElement(el, f"{{{XOP}}}Include", nsmap={"xop": XOP})
        inc.set("href", "cid:" + cid.replace("@", "%40"))
        parts.append((cid, data))
    if len(parts) != 3:
        fail(f"expected 3 content parts, built {len(parts)}")
    boundary = f"uuid:{uuid.uuid4()}"
    action = "http://www.xta.de/XTA/SendMessage"
    root = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    body = (
        f"--{boundary}\r\nContent-Type: application/xop+xml; charset=UTF-8; type=\"application/soap+xml\"\r\n"
        f"Content-Transfer-Encoding: binary\r\nContent-ID: <root.message@cxf.apache.org>\r\n\r\n"
    ).encode() + root
    for cid, data in parts:
        body += (
            f"\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n"
            f"Content-ID: <{cid}>\r\n\r\n"
        ).encode() + data
    body += f"\r\n--{boundary}--\r\n".encode()
    ct = (
        f'multipart/related; type="application/xop+xml"; boundary="{boundary}"; '
        f'start="<root.message@cxf.apache.org>"; start-info="application/soap+xml"; action="{action}"'
    )
    resp = session.post(BASE + PATHS["Send"], data=body, headers={"Content-Type": ct})
    op = binding.get("sendMessage")
    return binding.process_reply(client, op, resp), resp


def main():
    result = {}
    contents = [(os.path.basename(p), ct, open(p, "rb").read()) for p, ct in [(MESSAGE, "application/xml"), (ATT1, "application/pdf"), (ATT2, "image/png")]]
    pc, psvc, psession, pauthor = client_for(PORTAL)
    psvc["Management"].checkAccountActive(_soapheaders=[pauthor])
    reader = pc.get_element(f"{{{META}}}Reader")(Identifier={"_value_1": AUTHORITY, "type": "xoev"})
    look = psvc["Management"].lookupService(
        LookupServiceRequestList=[{"LookupService": {"Reader": reader, "ServiceType": "urn:fim:Versammlungsanzeige:1.4"}}],
        _soapheaders=[pauthor],
    )
    # zeep unwraps the single-child response element down to the result list.
    results = look if isinstance(look, list) else look.LookupServiceResultList.LookupServiceResult
    r0 = results[0]
    result["service_available"] = r0.IsServiceAvailableValue.ServiceIsAvailable
    result["encryption_cert"] = base64.b64encode(r0.ServiceParameter[0].Resource).decode()
    message_id = psvc["Management"].createMessageId(_soapheaders=[pauthor])
    message_id = message_id._value_1 if hasattr(message_id, "_value_1") else message_id
    result["message_id"] = message_id
    reply, raw = send_mtom(pc, psvc, psession, message_id, contents)
    result["send_status"] = raw.status_code

    ac, asvc, _, aauthor = client_for(AUTHORITY)
    lst = asvc["MsgBox"].getStatusList(maxListItems=10, ListForm="MessageMetaData", _soapheaders=[aauthor])
    result["listed"] = [m.MsgIdentification.MessageID._value_1 for m in (lst.body.MessageMetaData or [])]
    got = asvc["MsgBox"].getMessage(MsgSelector={"MessageID": [{"_value_1": message_id}]}, _soapheaders=[aauthor])
    cc = got.body.ContentContainer
    result["fetched"] = {
        "message_sha256": hashlib.sha256(cc.Message._value_1).hexdigest(),
        "attachments": [{"filename": a.filename, "sha256": hashlib.sha256(a._value_1).hexdigest()} for a in cc.Attachment],
    }
    result["fetched_meta_reader"] = got.header.MessageMetaData.Destinations.Reader.Identifier._value_1
    # zeep names header values by their WSDL part: FetchResponseHeader is the osci:MsgBoxResponse.
    request_id = got.header.FetchResponseHeader.MsgBoxRequestID
    # zeep insists on one LastMsgReceived (it misreads the schema's optional sequence); the ids fetched.
    asvc["MsgBox"].close(MsgBoxRequestID=request_id, LastMsgReceived=[{"_value_1": message_id}], _soapheaders=[aauthor])
    rep = psvc["Management"].getTransportReport(_value_1=message_id, _soapheaders=[pauthor])
    result["report_status"] = int(rep.MessageStatus.Status)

    # A fault arrives as a SOAP 1.2 fault zeep can read, with the XTA error code in its detail.
    try:
        asvc["Management"].getTransportReport(_value_1="urn:de:xta:messageid:konform:unknown", _soapheaders=[aauthor])
        fail("an unknown MessageID was accepted")
    except Fault as f:
        code = f.detail.find(f".//{{{XTA}}}errorCode/code")
        result["fault"] = {"code": code.text if code is not None else None, "message": f.message}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
