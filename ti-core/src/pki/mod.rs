//! The test PKI: a TEST-ONLY CA issuing the TI certificates the simulators and clients need, on
//! brainpoolP256r1 by default (P-256 on request), and a separate P-256 TLS CA (rustls can neither use nor
//! verify brainpool). Each TI certificate carries the role the real profile gives it (keyUsage and the
//! gematik certificatePolicies OID; see [`CertRole`]).
//!
//! - `issue`: certificates built directly as DER
//! - `verify`: parsing helpers and chain verification against trust anchors
//! - `role`: a certificate's TI role

mod issue;
mod role;
mod verify;

pub use issue::{CertSpec, Purpose, issue, issue_with_policies};
pub use role::{CertRole, RoleReading, role_of};
pub use verify::{
    check_signature, insurer_of_cert, parse_cert_pem, public_key_of_cert, public_key_of_cert_der,
    subject_string, subject_values, verify_chain,
};

use crate::keys::{Curve, EcPublicKey, EcSecretKey};
use crate::{Error, pem_decode, pem_encode};
use der::Decode;
use std::time::{Duration, SystemTime};
use x509_cert::Certificate;

/// A certificate with its private key.
#[derive(Clone, Debug)]
pub struct Identity {
    pub cert_der: Vec<u8>,
    pub key: EcSecretKey,
}

impl Identity {
    pub fn cert(&self) -> Certificate {
        Certificate::from_der(&self.cert_der).expect("identity holds a parsed certificate")
    }
    pub fn cert_pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.cert_der)
    }
    pub fn key_pem(&self) -> String {
        self.key.to_pkcs8_pem()
    }
    pub fn public_key(&self) -> EcPublicKey {
        self.key.public_key()
    }
    /// Load from PEM texts; checks that the key belongs to the certificate.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Identity, Error> {
        let (label, cert_der) = pem_decode(cert_pem)?;
        if label != "CERTIFICATE" {
            return Err(Error::Input(format!("expected CERTIFICATE, found {label}")));
        }
        let key = EcSecretKey::from_pem(key_pem)?;
        if public_key_of_cert_der(&cert_der)? != key.public_key() {
            return Err(Error::Certificate(
                "private key does not belong to the certificate".into(),
            ));
        }
        Ok(Identity { cert_der, key })
    }
}

/// Who the default insurer is. The seed's example IK `123456789` fails the IK check digit, so the
/// default uses a valid one from the reference vectors.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InsurerInfo {
    pub name: String,
    pub telematik_id: String,
    pub ik: String,
}

impl Default for InsurerInfo {
    fn default() -> Self {
        InsurerInfo {
            name: "Muster-Krankenkasse".into(),
            telematik_id: "8-01.109500969.TEST".into(),
            ik: "109500969".into(),
        }
    }
}

/// Options for [`TestPki::generate`].
#[derive(Clone, Debug)]
pub struct PkiOptions {
    pub curve: Curve,
    pub insurer: InsurerInfo,
    /// The issue time: certificates are valid from a day before it.
    pub now: SystemTime,
    /// Lifetime of leaf certificates (the CAs live a year longer).
    pub validity: Duration,
}

/// The issue time of [`PkiOptions::default`]: 2025-01-01T00:00:00Z. ti-core reads no clock; a caller that
/// wants certificates issued now says so with [`PkiOptions::at`].
pub const REFERENCE_ISSUE_SECS: u64 = 1_735_689_600;

const YEAR: Duration = Duration::from_secs(365 * 24 * 3600);

impl PkiOptions {
    /// Certificates issued at `now`, leaves valid for five years (as `konform pki init` makes them).
    pub fn at(now: SystemTime) -> Self {
        PkiOptions {
            curve: Curve::BrainpoolP256r1,
            insurer: InsurerInfo::default(),
            now,
            validity: 5 * YEAR,
        }
    }
}

impl Default for PkiOptions {
    /// Issued at [`REFERENCE_ISSUE_SECS`], leaves valid for thirty years: deterministic validity for tests
    /// and embedded use, without reading the clock.
    fn default() -> Self {
        PkiOptions {
            validity: 30 * YEAR,
            ..PkiOptions::at(SystemTime::UNIX_EPOCH + Duration::from_secs(REFERENCE_ISSUE_SECS))
        }
    }
}

/// Every certificate and key of the test PKI. File layout: [`TestPki::FILES`].
#[derive(Clone, Debug)]
pub struct TestPki {
    pub curve: Curve,
    pub insurer: InsurerInfo,
    pub ca: Identity,
    /// The VST's signing certificate (`C.FD.SIG`): response signatures ("Signierung der Ausgangsdaten").
    pub vst_sig: Identity,
    pub vst_enc: Identity,
    /// The VST's authentication certificate (`C.FD.AUT`): signs the `.well-known` token ("mithilfe des
    /// AUT-Zertifikats (TI-Zertifikat) der Vertrauensstelle").
    pub vst_aut: Identity,
    pub registerstelle_enc: Identity,
    pub insurer_aut: Identity,
    pub insurer_sig: Identity,
    pub insurer_enc: Identity,
    pub tls_ca: Identity,
    pub tls_server: Identity,
    pub tls_client: Identity,
}

/// CA subject; TEST-ONLY as the TI's own test CAs are named (`GEM.SMCB-CA51 TEST-ONLY`).
pub const CA_SUBJECT: &str =
    "CN=KONFORM.TEST-CA TEST-ONLY,OU=konform Test-PKI,O=konform NOT-VALID,C=DE";

/// One leaf of the test PKI: subject, role (keyUsage and policy), curve.
struct Leaf {
    subject: String,
    purpose: Purpose,
    role: Option<CertRole>,
    curve: Curve,
}

/// Issues the test PKI's certificates: validity window and serial numbers shared by all of them.
struct Issuer {
    not_before: SystemTime,
    not_after: SystemTime,
    ca_not_after: SystemTime,
    serial: u64,
}

impl Issuer {
    fn next_serial(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    fn root(&mut self, subject: &str, curve: Curve) -> Result<Identity, Error> {
        let key = EcSecretKey::generate(curve);
        let spec = CertSpec {
            subject,
            purpose: Purpose::Ca,
            not_before: self.not_before,
            not_after: self.ca_not_after,
            serial: self.next_serial(),
        };
        let der = issue(&spec, &key.public_key(), None, Some(&key))?;
        Ok(Identity { cert_der: der, key })
    }

    fn leaf(&mut self, ca: &Identity, l: Leaf) -> Result<Identity, Error> {
        let key = EcSecretKey::generate(l.curve);
        let spec = CertSpec {
            subject: &l.subject,
            purpose: l.purpose,
            not_before: self.not_before,
            not_after: self.not_after,
            serial: self.next_serial(),
        };
        let policies: Vec<_> = l.role.map(CertRole::policy).into_iter().collect();
        let der = issue_with_policies(&spec, &policies, &key.public_key(), Some(ca), None)?;
        Ok(Identity { cert_der: der, key })
    }
}

/// Subject suffix of the VST's certificates.
const VST_SUBJECT: &str = "OU=Vertrauensstelle IRD,O=Robert Koch-Institut NOT-VALID,C=DE";

/// The VST's authentication certificate (`C.FD.AUT`), which signs the `.well-known` token.
fn vst_aut(issuer: &mut Issuer, ca: &Identity, curve: Curve) -> Result<Identity, Error> {
    issuer.leaf(
        ca,
        Leaf {
            subject: format!("CN=VST-IRD AUT TEST-ONLY,{VST_SUBJECT}"),
            purpose: Purpose::Authentication,
            role: Some(CertRole::FdAut),
            curve,
        },
    )
}

impl TestPki {
    /// Relative file names (certificate, key) in the order of [`TestPki::identities`]; the CA keys
    /// `ca.key.pem` and `tls/ca.key.pem` are written too so a PKI directory can be extended.
    pub const FILES: [(&'static str, &'static str); 11] = [
        ("ca.pem", "ca.key.pem"),
        ("vst/sig.pem", "vst/sig.key.pem"),
        ("vst/enc.pem", "vst/enc.key.pem"),
        ("registerstelle/enc.pem", "registerstelle/enc.key.pem"),
        ("insurer/aut.pem", "insurer/aut.key.pem"),
        ("insurer/sig.pem", "insurer/sig.key.pem"),
        ("insurer/enc.pem", "insurer/enc.key.pem"),
        ("tls/ca.pem", "tls/ca.key.pem"),
        ("tls/server.pem", "tls/server.key.pem"),
        ("tls/client.pem", "tls/client.key.pem"),
        ("vst/aut.pem", "vst/aut.key.pem"),
    ];

    pub fn generate(opts: &PkiOptions) -> Result<TestPki, Error> {
        let mut issuer = Issuer {
            not_before: opts.now - Duration::from_secs(24 * 3600),
            not_after: opts.now + opts.validity,
            ca_not_after: opts.now + opts.validity + YEAR,
            // Distinct serials per PKI without a clock: a random base.
            serial: 0x4b4f_0000u64
                + u64::from(u16::from_le_bytes(crate::keys::random_bytes::<2>())) * 0x100,
        };
        let c = opts.curve;
        let ca = issuer.root(CA_SUBJECT, c)?;
        let tls_ca = issuer.root(
            "CN=KONFORM.TLS-CA TEST-ONLY,O=konform NOT-VALID,C=DE",
            Curve::P256,
        )?;
        let ins = &opts.insurer;
        let smcb = |role: &str| {
            format!(
                "CN={} {role} TEST-ONLY,OU={},OU={},O={} NOT-VALID,C=DE",
                escape_rdn(&ins.name),
                escape_rdn(&ins.ik),
                escape_rdn(&ins.telematik_id),
                escape_rdn(&ins.name)
            )
        };
        let ti = |subject: &str, purpose, role| Leaf {
            subject: subject.to_string(),
            purpose,
            role: Some(role),
            curve: c,
        };
        Ok(TestPki {
            curve: c,
            insurer: ins.clone(),
            vst_sig: issuer.leaf(&ca, ti(&format!("CN=VST-IRD SIG TEST-ONLY,{VST_SUBJECT}"), Purpose::Authentication, CertRole::FdSig))?,
            vst_enc: issuer.leaf(&ca, ti(&format!("CN=VST-IRD ENC TEST-ONLY,{VST_SUBJECT}"), Purpose::Encryption, CertRole::FdEnc))?,
            vst_aut: vst_aut(&mut issuer, &ca, c)?,
            registerstelle_enc: issuer.leaf(&ca, ti("CN=Registerstelle IRD ENC TEST-ONLY,OU=Registerstelle IRD,O=Implantateregister Deutschland NOT-VALID,C=DE", Purpose::Encryption, CertRole::FdEnc))?,
            insurer_aut: issuer.leaf(&ca, ti(&smcb("C.AUT"), Purpose::Authentication, CertRole::SmcbAut))?,
            insurer_sig: issuer.leaf(&ca, ti(&smcb("C.SIG"), Purpose::NonRepudiation, CertRole::SmcbSig))?,
            insurer_enc: issuer.leaf(&ca, ti(&smcb("C.ENC"), Purpose::Encryption, CertRole::SmcbEnc))?,
            tls_server: issuer.leaf(
                &tls_ca,
                Leaf {
                    subject: "CN=localhost,O=konform NOT-VALID,C=DE".into(),
                    purpose: Purpose::TlsServer,
                    role: None,
                    curve: Curve::P256,
                },
            )?,
            tls_client: issuer.leaf(
                &tls_ca,
                Leaf {
                    subject: format!(
                        "CN={} TLS-Client TEST-ONLY,O=konform NOT-VALID,C=DE",
                        escape_rdn(&ins.name)
                    ),
                    purpose: Purpose::TlsClient,
                    role: None,
                    curve: Curve::P256,
                },
            )?,
            ca,
            tls_ca,
        })
    }

    /// Identities in the order of [`TestPki::FILES`].
    pub fn identities(&self) -> [&Identity; 11] {
        [
            &self.ca,
            &self.vst_sig,
            &self.vst_enc,
            &self.registerstelle_enc,
            &self.insurer_aut,
            &self.insurer_sig,
            &self.insurer_enc,
            &self.tls_ca,
            &self.tls_server,
            &self.tls_client,
            &self.vst_aut,
        ]
    }

    /// (relative path, PEM text) for every file of the layout, plus `insurer.json` with the insurer's
    /// Telematik-ID and IK.
    pub fn files(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for ((cert, key), id) in Self::FILES.iter().zip(self.identities()) {
            out.push((cert.to_string(), id.cert_pem()));
            out.push((key.to_string(), id.key_pem()));
        }
        out.push((
            "insurer.json".into(),
            serde_json::to_string_pretty(&self.insurer).unwrap_or_default() + "\n",
        ));
        out
    }

    /// Load from a reader of relative paths (the caller does the I/O). A PKI written by an older konform
    /// lacks `vst/aut.pem`: then the VST's AUT certificate is issued from `ca.key.pem`, valid as long as
    /// the VST's signing certificate (the caller may write it with [`TestPki::files`]).
    pub fn from_files(read: &dyn Fn(&str) -> Result<String, Error>) -> Result<TestPki, Error> {
        let load = |(cert, key): (&str, &str)| {
            Identity::from_pem(&read(cert)?, &read(key)?)
                .map_err(|e| Error::Input(format!("{cert}: {e}")))
        };
        let [
            ca,
            vst_sig,
            vst_enc,
            registerstelle_enc,
            insurer_aut,
            insurer_sig,
            insurer_enc,
            tls_ca,
            tls_server,
            tls_client,
            vst_aut_files,
        ] = Self::FILES;
        let ca = load(ca)?;
        let vst_sig = load(vst_sig)?;
        let vst_aut = match (read(vst_aut_files.0), read(vst_aut_files.1)) {
            (Err(_), Err(_)) => {
                let validity = *vst_sig.cert().tbs_certificate().validity();
                let mut issuer = Issuer {
                    not_before: validity.not_before.to_system_time(),
                    not_after: validity.not_after.to_system_time(),
                    ca_not_after: validity.not_after.to_system_time(),
                    serial: 0x4b4f_0000u64
                        + u64::from(u16::from_le_bytes(crate::keys::random_bytes::<2>())) * 0x100,
                };
                vst_aut(&mut issuer, &ca, ca.key.curve())?
            }
            _ => load(vst_aut_files)?,
        };
        let insurer_aut = load(insurer_aut)?;
        let insurer: InsurerInfo = match read("insurer.json") {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| Error::Input(format!("insurer.json: {e}")))?,
            Err(_) => {
                let (tid, ik) = insurer_of_cert(&insurer_aut.cert());
                InsurerInfo {
                    telematik_id: tid.unwrap_or_default(),
                    ik: ik.unwrap_or_default(),
                    ..InsurerInfo::default()
                }
            }
        };
        Ok(TestPki {
            curve: ca.key.curve(),
            insurer,
            vst_sig,
            vst_enc: load(vst_enc)?,
            vst_aut,
            registerstelle_enc: load(registerstelle_enc)?,
            insurer_aut,
            insurer_sig: load(insurer_sig)?,
            insurer_enc: load(insurer_enc)?,
            tls_ca: load(tls_ca)?,
            tls_server: load(tls_server)?,
            tls_client: load(tls_client)?,
            ca,
        })
    }
}

/// Escape RFC 4514 special characters in an attribute value.
fn escape_rdn(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for (i, c) in v.chars().enumerate() {
        if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && matches!(c, '#' | ' '))
        {
            s.push('\\');
        }
        s.push(c);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_pki_chains_and_roundtrips() {
        for curve in [Curve::BrainpoolP256r1, Curve::P256] {
            let pki = TestPki::generate(&PkiOptions {
                curve,
                ..PkiOptions::default()
            })
            .unwrap();
            let anchors = [pki.ca.cert()];
            let now = SystemTime::now();
            for id in [
                &pki.vst_sig,
                &pki.vst_aut,
                &pki.vst_enc,
                &pki.registerstelle_enc,
                &pki.insurer_aut,
                &pki.insurer_sig,
                &pki.insurer_enc,
            ] {
                verify_chain(&id.cert(), &[], &anchors, now).unwrap();
                assert_eq!(id.key.curve(), curve);
            }
            for id in [&pki.tls_server, &pki.tls_client] {
                verify_chain(&id.cert(), &[], &[pki.tls_ca.cert()], now).unwrap();
                assert!(verify_chain(&id.cert(), &[], &anchors, now).is_err());
                assert_eq!(id.key.curve(), Curve::P256);
            }
            assert!(subject_string(&pki.ca.cert()).contains("TEST-ONLY"));
            let (tid, ik) = insurer_of_cert(&pki.insurer_aut.cert());
            assert_eq!(tid.as_deref(), Some(pki.insurer.telematik_id.as_str()));
            assert_eq!(ik.as_deref(), Some(pki.insurer.ik.as_str()));
            // Files round-trip.
            let files: std::collections::HashMap<String, String> =
                pki.files().into_iter().collect();
            let back = TestPki::from_files(&|p| {
                files.get(p).cloned().ok_or_else(|| Error::Input(p.into()))
            })
            .unwrap();
            assert_eq!(back.insurer_sig.cert_der, pki.insurer_sig.cert_der);
            assert_eq!(back.insurer, pki.insurer);
            // Expired at a later time.
            let later = now + 40 * YEAR;
            assert!(verify_chain(&pki.insurer_sig.cert(), &[], &anchors, later).is_err());
        }
    }

    #[test]
    fn every_ti_certificate_carries_its_role() {
        let pki = TestPki::generate(&PkiOptions::default()).unwrap();
        for (id, role) in [
            (&pki.insurer_aut, CertRole::SmcbAut),
            (&pki.insurer_sig, CertRole::SmcbSig),
            (&pki.insurer_enc, CertRole::SmcbEnc),
            (&pki.vst_aut, CertRole::FdAut),
            (&pki.vst_sig, CertRole::FdSig),
            (&pki.vst_enc, CertRole::FdEnc),
            (&pki.registerstelle_enc, CertRole::FdEnc),
        ] {
            let r = role_of(&id.cert());
            assert_eq!(r.role, Some(role), "{}", subject_string(&id.cert()));
            assert!(r.basis.contains(&role.policy().to_string()), "{}", r.basis);
        }
        // Without policies: the keyUsage decides, and the subject for certificates of older versions.
        let key = EcSecretKey::generate(Curve::P256);
        let mk = |subject: &str, purpose| {
            let spec = CertSpec {
                subject,
                purpose,
                not_before: pki_time(),
                not_after: pki_time() + YEAR,
                serial: 7,
            };
            let der = issue(&spec, &key.public_key(), Some(&pki.ca), None).unwrap();
            Certificate::from_der(&der).unwrap()
        };
        assert_eq!(
            role_of(&mk("CN=x", Purpose::NonRepudiation)).role,
            Some(CertRole::SmcbSig)
        );
        assert_eq!(
            role_of(&mk("CN=x", Purpose::Authentication)).role,
            Some(CertRole::SmcbAut)
        );
        assert_eq!(
            role_of(&mk("CN=K C.AUT TEST-ONLY", Purpose::Signature)).role,
            Some(CertRole::SmcbAut)
        );
        assert_eq!(
            role_of(&mk("CN=K C.SIG TEST-ONLY", Purpose::Signature)).role,
            Some(CertRole::SmcbSig)
        );
        assert_eq!(role_of(&mk("CN=x", Purpose::Signature)).role, None);
    }

    fn pki_time() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(REFERENCE_ISSUE_SECS)
    }

    #[test]
    fn a_pki_without_the_vst_aut_certificate_gets_one_from_its_ca() {
        let pki = TestPki::generate(&PkiOptions::default()).unwrap();
        let files: std::collections::HashMap<String, String> = pki
            .files()
            .into_iter()
            .filter(|(p, _)| !p.starts_with("vst/aut"))
            .collect();
        let back =
            TestPki::from_files(&|p| files.get(p).cloned().ok_or_else(|| Error::Input(p.into())))
                .unwrap();
        assert_ne!(back.vst_aut.cert_der, pki.vst_aut.cert_der);
        assert_eq!(role_of(&back.vst_aut.cert()).role, Some(CertRole::FdAut));
        verify_chain(&back.vst_aut.cert(), &[], &[pki.ca.cert()], pki_time()).unwrap();
        assert_eq!(
            back.vst_aut.cert().tbs_certificate().validity(),
            pki.vst_sig.cert().tbs_certificate().validity()
        );
    }

    #[test]
    fn foreign_ca_is_rejected() {
        let a = TestPki::generate(&PkiOptions::default()).unwrap();
        let b = TestPki::generate(&PkiOptions::default()).unwrap();
        assert!(
            verify_chain(
                &a.insurer_sig.cert(),
                &[],
                &[b.ca.cert()],
                SystemTime::now()
            )
            .is_err()
        );
    }
}
