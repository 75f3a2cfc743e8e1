//! Issuing a Mandant's client certificate (P-256, by the test PKI's TLS CA, which the service listener
//! trusts) and storing its public part for the Mandant, as the AG MiN does after an order.

use crate::state::{MelderegisterState, NS_KUNDE, NS_ZERTIFIKAT, Zertifikat};
use sim_kit::store::kv;
use std::time::{Duration, SystemTime};
use ti_core::Curve;
use ti_core::keys::EcSecretKey;
use ti_core::pki::{CertSpec, Identity, Purpose, issue};

#[derive(Debug, thiserror::Error)]
pub enum AusstellenError {
    #[error("unknown Mandant `{0}`")]
    UnbekannterMandant(String),
    #[error("no CA to issue client certificates (the simulator runs without the test PKI)")]
    KeineCa,
    #[error("issuing the certificate: {0}")]
    Pki(#[from] ti_core::Error),
    #[error(transparent)]
    Store(#[from] sim_kit::store::StoreError),
}

/// RDN-safe text (the subject parser splits at `,` `+` `=`).
fn rdn(s: &str) -> String {
    s.chars()
        .map(|c| {
            if matches!(c, ',' | '+' | '=' | '"' | '\\' | '<' | '>' | ';' | '#') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// A new certificate and key for a Mandant (not yet stored).
pub fn neu(
    st: &MelderegisterState,
    mandant: &str,
) -> Result<(Identity, Zertifikat), AusstellenError> {
    let m = st
        .mandant(mandant)
        .ok_or_else(|| AusstellenError::UnbekannterMandant(mandant.into()))?;
    let ca = st.ca().ok_or(AusstellenError::KeineCa)?;
    let key = EcSecretKey::generate(Curve::P256);
    let now: SystemTime = st.now().into();
    let not_after = now + Duration::from_secs(st.config().zertifikat_tage * 86_400);
    let serial = u64::from_be_bytes(ti_core::keys::random_bytes::<8>()) >> 1;
    let subject = format!(
        "CN={} Applikationskopplung TEST-ONLY,OU={},O=konform Melderegister NOT-VALID,C=DE",
        rdn(&m.name),
        rdn(&m.id)
    );
    let der = issue(
        &CertSpec {
            subject: &subject,
            purpose: Purpose::TlsClient,
            not_before: now - Duration::from_secs(3600),
            not_after,
            serial,
        },
        &key.public_key(),
        Some(ca),
        None,
    )?;
    let z = Zertifikat {
        mandant: m.id.clone(),
        fingerprint: crate::service::fingerprint(&der),
        serial: format!("{serial:x}"),
        subject,
        not_after: time::OffsetDateTime::from(not_after)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        ordered_at: st
            .now()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        revoked: false,
    };
    Ok((Identity { cert_der: der, key }, z))
}

/// The Kundennummer a Mandant gets: configured, else the AGS (seed: "ggf. identisch mit dem AGS").
pub fn kundennummer_fuer(st: &MelderegisterState, mandant: &str) -> Option<String> {
    st.mandant(mandant)
        .map(|m| m.kundennummer.clone().unwrap_or_else(|| m.ags.clone()))
}

/// Store the public part and the Kundennummer inside a write transaction.
pub fn hinterlegen(
    tx: &sim_kit::store::Tx<'_>,
    z: &Zertifikat,
    kundennummer: &str,
) -> Result<(), sim_kit::store::StoreError> {
    kv::put(tx, NS_ZERTIFIKAT, &z.fingerprint, z)?;
    kv::put(tx, NS_KUNDE, &z.mandant, kundennummer)?;
    Ok(())
}

/// Issue and store directly (admin API, scenarios): what an order yields, without the e-mails.
pub fn ausstellen(
    st: &MelderegisterState,
    mandant: &str,
) -> Result<(Identity, Zertifikat, String), AusstellenError> {
    let (id, z) = neu(st, mandant)?;
    let k = kundennummer_fuer(st, mandant).unwrap_or_default();
    st.store().write(|tx| hinterlegen(tx, &z, &k))?;
    Ok((id, z, k))
}
