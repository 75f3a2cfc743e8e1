use ti_core::{Curve, EcSecretKey};
fn main() {
    for curve in [Curve::BrainpoolP256r1, Curve::P256] {
        let k = EcSecretKey::generate(curve);
        let p = EcSecretKey::generate(curve).public_key();
        let n = 300;
        let t = std::time::Instant::now();
        for _ in 0..n {
            std::hint::black_box(k.diffie_hellman(&p).unwrap());
        }
        let dt = t.elapsed();
        println!(
            "{curve:?}: {:.1} us/ecdh",
            dt.as_secs_f64() * 1e6 / n as f64
        );
        let t = std::time::Instant::now();
        for _ in 0..n {
            std::hint::black_box(k.sign_sha256_der(b"abc"));
        }
        println!(
            "{curve:?}: {:.1} us/sign",
            t.elapsed().as_secs_f64() * 1e6 / n as f64
        );
        let s = k.sign_sha256_der(b"abc");
        let pk = k.public_key();
        let t = std::time::Instant::now();
        for _ in 0..n {
            pk.verify_sha256(b"abc", &s).unwrap();
        }
        println!(
            "{curve:?}: {:.1} us/verify",
            t.elapsed().as_secs_f64() * 1e6 / n as f64
        );
    }
}
