//! The delivery-level checks before the answer: the CMS signature over the signature input ("Signierung
//! der Eingangsdaten"; structure, signature, messageDigest with near-miss diagnosis, trust, signer) and the
//! plaintext ids ("Allgemeiner Hinweis": no patient data; `IdDatensatz` unique within the delivery).

use super::{Ctx, Rejection, ptr};
use crate::{model, seed};
use sim_kit::Diagnosis;
use std::collections::HashMap;
use ti_core::cms::{CmsFailure, ParsedCms};
use ti_core::ids;
use ti_core::sig_input::{self, Segment, Variant};

/// "Allgemeiner Hinweis": no patient data in IdDatenlieferung / IdDatensatz; IdDatensatz unique.
pub(crate) fn check_ids(id_datenlieferung: &str, datensatz_ids: &[&str]) -> Result<(), Rejection> {
    let patient = |field: &str, at: String, v: &str| {
        ids::find_kvnr_in(v).map(|k| {
            Rejection::new(
                400,
                Diagnosis::new(
                    "delivery.patient-data-in-id",
                    format!("{field} contains a KVNR-shaped value with a valid check digit (`{k}`)"),
                )
                .at(at)
                .hint("IdDatenlieferung and IdDatensatz are sent in plaintext; use technical ids such as 2024-01-001")
                .seed(seed::ID_NO_PATIENT_DATA),
            )
        })
    };
    if let Some(r) = patient(
        "IdDatenlieferung",
        "/IdDatenlieferung".into(),
        id_datenlieferung,
    ) {
        return Err(r);
    }
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(datensatz_ids.len());
    for (i, id) in datensatz_ids.iter().enumerate() {
        if let Some(r) = patient("IdDatensatz", ptr(i, "IdDatensatz"), id) {
            return Err(r);
        }
        if let Some(first) = seen.insert(id, i) {
            return Err(Rejection::new(
                400,
                Diagnosis::new(
                    "delivery.duplicate-id-datensatz",
                    format!("IdDatensatz `{id}` is used twice in this delivery (first at /Meldungen/{first}/IdDatensatz)"),
                )
                .at(ptr(i, "IdDatensatz"))
                .seed(seed::ID_UNIQUE),
            ));
        }
    }
    Ok(())
}

const AT: &str = "/Signatur";

fn r400(f: &CmsFailure, hint: Option<&str>) -> Rejection {
    let mut d = Diagnosis::new(f.rule(), f.to_string())
        .at(AT)
        .seed(seed::SIGNATURE_IN);
    if let Some(h) = hint {
        d = d.hint(h);
    }
    Rejection::new(400, d)
}

/// CMS SignedData over the signature input: structure, signature, messageDigest (naming the near miss),
/// trust, signer = authenticated insurer.
pub(crate) fn check_signature(
    ctx: &Ctx<'_>,
    signatur_b64: &str,
    segments: &[Segment<'_>],
) -> Result<(), Rejection> {
    let parsed = parse_detached(signatur_b64)?;
    parsed.check_signature().map_err(|f| r400(&f, None))?;
    check_message_digest(ctx, &parsed, segments)?;
    check_signer(ctx, &parsed)
}

/// base64 → DER CMS SignedData, detached.
fn parse_detached(signatur_b64: &str) -> Result<ParsedCms, Rejection> {
    let der = ti_core::b64_decode(signatur_b64).map_err(|e| {
        Rejection::new(
            400,
            Diagnosis::new(model::rules::BASE64, e.to_string())
                .at(AT)
                .seed(seed::JSON_RULES),
        )
    })?;
    let parsed = ti_core::cms::parse(&der).map_err(|f| {
        let hint = matches!(f, CmsFailure::Malformed(_)).then_some(
            "Signatur must be the base64 of the DER CMS SignedData that the Konnektor's SignDocument (urn:ietf:rfc:5652, IncludeEContent=false) returns",
        );
        r400(&f, hint)
    })?;
    if parsed.embedded_content.is_some() {
        return Err(r400(
            &CmsFailure::EmbeddedContent,
            Some("sign with IncludeEContent=false (detached)"),
        ));
    }
    Ok(parsed)
}

/// The messageDigest attribute must be SHA-256 of the signature input (profile `signature_input`); on a
/// mismatch, name the input the client signed instead when it is one of the known mistakes.
fn check_message_digest(
    ctx: &Ctx<'_>,
    parsed: &ParsedCms,
    segments: &[Segment<'_>],
) -> Result<(), Rejection> {
    let variant = ctx.profile.signature_input.variant();
    let digest = sig_input::digest(segments, variant).map_err(|e| {
        Rejection::new(
            400,
            Diagnosis::new(model::rules::BASE64, e.to_string()).seed(seed::JSON_RULES),
        )
    })?;
    if parsed.check_content_digest(&digest).is_ok() {
        return Ok(());
    }
    let mut near = sig_input::find_near_miss(segments, &parsed.message_digest);
    if near.is_none()
        && variant != Variant::Canonical
        && sig_input::digest(segments, Variant::Canonical)
            .is_ok_and(|d| d.as_slice() == parsed.message_digest.as_slice())
    {
        near = Some(Variant::Canonical);
    }
    let f = CmsFailure::ContentMismatch;
    let mut d = Diagnosis::new(f.rule(), f.to_string())
        .at(AT)
        .seed(seed::SIGNATURE_IN);
    match near {
        Some(v) if v != variant => {
            d.message = format!(
                "near miss: {} (the messageDigest matches that input, not the required one)",
                v.describe()
            );
            d.rule = format!("signature-input.{}", variant_name(v));
            d = d.hint("sign the decoded bytes of every value in document order, joined by `|`, an absent IdVersicherterAlt contributing nothing (see the seed's hex dumps)");
        }
        _ => {
            d = d.hint("the signature was made over other bytes than the signature input of this delivery (values changed after signing?)");
        }
    }
    Err(Rejection::new(400, d))
}

/// The signer certificate chains to a trusted CA and belongs to the authenticated insurer.
fn check_signer(ctx: &Ctx<'_>, parsed: &ParsedCms) -> Result<(), Rejection> {
    (ctx.trust)(parsed).map_err(|f| {
        Rejection::new(
            403,
            Diagnosis::new(f.rule(), f.to_string())
                .at(AT)
                .hint("sign with the C.SIG certificate of the registered insurer's SMC-B (issued by a TI CA)")
                .seed(seed::SIGNATURE_IN),
        )
    })?;
    let (tid, ik) = ti_core::pki::insurer_of_cert(&parsed.signer_cert);
    let (atid, aik) = (
        ctx.insurer.telematik_id.as_str(),
        ctx.insurer.haupt_ik.as_str(),
    );
    if tid.as_deref() != Some(atid) || ik.as_deref() != Some(aik) {
        return Err(Rejection::new(
            403,
            Diagnosis::new(
                "cms.signer-insurer",
                format!(
                    "the signer certificate `{}` does not belong to the authenticated insurer (Telematik-ID {atid}, IK {aik})",
                    ti_core::pki::subject_string(&parsed.signer_cert)
                ),
            )
            .at(AT)
            .seed(seed::SIGNATURE_IN),
        ));
    }
    Ok(())
}

fn variant_name(v: Variant) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{v:?}"))
}
