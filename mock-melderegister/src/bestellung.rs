//! The self-service order of the Applikationskopplung, step by step as the seed describes it: only a
//! registered Mandant; the e-mail must equal the Hauptadministrator's (checked automatically); a passphrase
//! of at least eight characters; the legal-conformity box ticked. Then: certificate bundle (ZIP) "sent" to
//! the e-mail, the public part stored for the Mandant, the Kundennummer "sent" by the AG MiN — all in the
//! local outbox, in one store transaction.

use crate::admin::{Anhang, Mail};
use crate::state::{MelderegisterState, NS_BESTELLUNG, NS_OUTBOX};
use serde::{Deserialize, Serialize};
use sim_kit::store::kv;
use std::io::Write;

pub const SEED: &str = "000 \"Bestellablauf\"";

/// What the form (or the CLI) sends.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bestellung {
    pub mandant: String,
    pub email: String,
    pub passphrase: String,
    /// "Gesetzeskonformität bestätigt".
    #[serde(default)]
    pub accept_terms: bool,
    #[serde(default)]
    pub rechnungsempfaenger: Option<String>,
}

/// The result of a successful order.
#[derive(Clone, Debug, Serialize)]
pub struct Bestellt {
    pub kundennummer: String,
    pub fingerprint: String,
    pub dateiname: String,
    #[serde(skip)]
    pub zip: Vec<u8>,
    pub mails: Vec<String>,
    pub protokoll: Vec<String>,
}

/// A refused order: the Protokoll lines say why (shown in the page's expandable "Protokoll").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Abgelehnt {
    pub rule: &'static str,
    pub protokoll: Vec<String>,
    /// A server-side failure (not the user's mistake).
    pub intern: bool,
}

fn zeit(st: &MelderegisterState) -> String {
    st.now()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The seed's checks, each with a Protokoll line; the first failing one refuses the order.
pub fn pruefen(st: &MelderegisterState, b: &Bestellung) -> Result<Vec<String>, Abgelehnt> {
    let mut p = vec![format!(
        "{} Bestellung eingegangen für Mandant `{}`",
        zeit(st),
        b.mandant
    )];
    let fail = |mut p: Vec<String>, rule, line: String| {
        p.push(format!("FEHLER: {line}"));
        Err(Abgelehnt {
            rule,
            protokoll: p,
            intern: false,
        })
    };
    let Some(m) = st.mandant(b.mandant.trim()) else {
        return fail(
            p,
            "melderegister.bestellung.mandant",
            format!(
                "`{}` ist nicht als Mandant im Melderegisterdatenspiegel registriert (Voraussetzung: vorherige Registrierung als Mandant)",
                b.mandant
            ),
        );
    };
    p.push(format!("Mandant gefunden: {}", m.name));
    if !b.email.trim().eq_ignore_ascii_case(&m.email) {
        return fail(
            p,
            "melderegister.bestellung.email",
            format!(
                "Die E-Mail-Adresse `{}` stimmt nicht mit der E-Mail-Adresse des Hauptadministrators überein, die im Mandanten hinterlegt ist",
                b.email.trim()
            ),
        );
    }
    p.push("E-Mail-Adresse stimmt mit der des Hauptadministrators überein".into());
    let n = b.passphrase.chars().count();
    if n < 8 {
        return fail(
            p,
            "melderegister.bestellung.passphrase",
            format!(
                "Die Passphrase ist {n} Zeichen lang; sie muss mindestens acht Zeichen lang sein"
            ),
        );
    }
    if n > 1024 {
        return fail(
            p,
            "melderegister.bestellung.passphrase",
            "Die Passphrase ist länger als 1024 Zeichen".into(),
        );
    }
    p.push("Passphrase erfüllt die Mindestlänge".into());
    if !b.accept_terms {
        return fail(
            p,
            "melderegister.bestellung.gesetzeskonformitaet",
            "Das Kästchen zur Bestätigung der Gesetzeskonformität ist nicht angekreuzt".into(),
        );
    }
    if b.rechnungsempfaenger
        .as_deref()
        .is_some_and(|r| r.chars().count() > 200)
    {
        return fail(
            p,
            "melderegister.bestellung.rechnungsempfaenger",
            "Rechnungsempfänger: höchstens 200 Zeichen".into(),
        );
    }
    p.push("Gesetzeskonformität bestätigt".into());
    Ok(p)
}

fn intern(mut p: Vec<String>, e: impl std::fmt::Display) -> Abgelehnt {
    p.push(format!("FEHLER: interner Fehler: {e}"));
    Abgelehnt {
        rule: "melderegister.bestellung.intern",
        protokoll: p,
        intern: true,
    }
}

/// Carry out an order.
pub fn bestellen(st: &MelderegisterState, b: &Bestellung) -> Result<Bestellt, Abgelehnt> {
    let mut p = pruefen(st, b)?;
    let m = st
        .mandant(b.mandant.trim())
        .cloned()
        .ok_or_else(|| intern(p.clone(), "Mandant verschwunden"))?;
    let (id, z) = crate::zertifikat::neu(st, &m.id).map_err(|e| intern(p.clone(), e))?;
    p.push(format!(
        "Client-SSL-Zertifikat erzeugt (SHA-256 {})",
        z.fingerprint
    ));
    let rnd = ti_core::keys::random_bytes::<64>();
    let base = format!("applikationskopplung-{}", m.id);
    let zip = crate::bundle::zip_bundle(&id, &base, &b.passphrase, &rnd)
        .map_err(|e| intern(p.clone(), e))?;
    let kundennummer = crate::zertifikat::kundennummer_fuer(st, &m.id).unwrap_or_default();
    let dateiname = format!("{base}.zip");
    let mut w = st.store().blob_writer().map_err(|e| intern(p.clone(), e))?;
    w.write_all(&zip).map_err(|e| intern(p.clone(), e))?;
    let blob = w.finish().map_err(|e| intern(p.clone(), e))?;
    let blob_id = blob.id().to_string();
    let now = zeit(st);
    let rechnung_an = b
        .rechnungsempfaenger
        .clone()
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| format!("{} (Ansprechpartner laut Mandantentabelle)", m.email));
    let email = b.email.trim().to_string();
    let stamp = st.now().unix_timestamp_nanos();
    let mails = vec![
        Mail {
            id: format!("{stamp:024}-1"),
            an: email.clone(),
            von: "melderegister@it.niedersachsen.example".into(),
            betreff: "Ihr Client-SSL-Zertifikat für die Applikationskopplung".into(),
            text: "Anbei das Client-SSL-Zertifikat in verschiedenen Formaten (PKCS#12, PEM, DER). Die Dateien sind mit der bei der Bestellung vergebenen Passphrase geschützt. Bei Verlust der Passphrase muss ein neues Zertifikat bestellt werden. (konform-Simulator: es wird keine E-Mail versendet.)".into(),
            erstellt: now.clone(),
            anhang: Some(Anhang { dateiname: dateiname.clone(), blob: blob_id.clone(), bytes: zip.len() as u64 }),
        },
        Mail {
            id: format!("{stamp:024}-2"),
            an: email,
            von: "ag-min@govconnect.example".into(),
            betreff: "Ihre Kundennummer für die Applikationskopplung".into(),
            text: format!("Das Client-SSL-Zertifikat ist für Ihren Mandanten hinterlegt. Ihre Kundennummer: {kundennummer}\nBitte hinterlegen Sie Zertifikat und Kundennummer gemäß den Anweisungen Ihres Fachverfahrensherstellers."),
            erstellt: now.clone(),
            anhang: None,
        },
        Mail {
            id: format!("{stamp:024}-3"),
            an: rechnung_an.clone(),
            von: "rechnung@it.niedersachsen.example".into(),
            betreff: "Rechnung Applikationskopplung (fiktiv)".into(),
            text: format!("Rechnung für die Applikationskopplung von {} (konform-Simulator: fiktiv, es entstehen keine Kosten).", m.name),
            erstellt: now.clone(),
            anhang: None,
        },
    ];
    let order = serde_json::json!({ "mandant": m.id, "email": b.email.trim(), "rechnung_an": rechnung_an, "erstellt": now, "fingerprint": z.fingerprint, "kundennummer": kundennummer });
    st.store()
        .write_with_blobs(vec![blob], |tx| {
            crate::zertifikat::hinterlegen(tx, &z, &kundennummer)?;
            kv::put(tx, NS_BESTELLUNG, &format!("{stamp:024}"), &order)?;
            for mail in &mails {
                kv::put(tx, NS_OUTBOX, &mail.id, mail)?;
            }
            Ok(())
        })
        .map_err(|e| intern(p.clone(), e))?;
    p.push(
        "ZIP-Datei mit dem Zertifikat an die hinterlegte E-Mail-Adresse versandt (Postausgang)"
            .into(),
    );
    p.push(format!("Öffentlicher Teil des Zertifikats beim Mandanten hinterlegt; Kundennummer {kundennummer} von der AG MiN versandt (Postausgang)"));
    p.push("Bestellung erfolgreich abgeschlossen".into());
    Ok(Bestellt {
        kundennummer,
        fingerprint: z.fingerprint,
        dateiname,
        zip,
        mails: mails.into_iter().map(|m| m.id).collect(),
        protokoll: p,
    })
}
