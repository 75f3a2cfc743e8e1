//! Melderegister actions of the reference client: a Fachverfahren querying the Melderegisterdatenspiegel
//! through the Applikationskopplung (seed 000) — XMeld 1330/1332 in `callApplicationByte`, over HTTPS with
//! the ordered client certificate and the Kundennummer — and the self-service order.
//!
//! Inputs and outputs (neutral JSON) are documented in `docs/conformance.md`.

use super::{ClientEnv, ClientError, Defect};
use mock_melderegister::register::model::TeilDatum;
use mock_melderegister::search::query::*;
use mock_melderegister::soap;
use mock_melderegister::xmeld::request::{
    Kopfdaten, freie_suche_1332, merkmal_1330, personensuche_1330,
};
use serde_json::{Value, json};

pub const ACTIONS: &[super::Action] = &[
    super::Action {
        name: "melderegister.personensuche",
        run: personensuche,
    },
    super::Action {
        name: "melderegister.freie_suche",
        run: freie_suche,
    },
    super::Action {
        name: "melderegister.order",
        run: order,
    },
];

/// Requested elements when the input names none (code lists personensuche/freie.suche.anforderungselement).
const DEFAULT_CODES: &[u32] = &[1, 4, 7, 13, 15, 19, 44, 45, 46, 48, 49, 50];
const DEFAULT_CODES_FREIE: &[u32] = &[1, 4, 6, 11, 13, 15, 17, 18, 19, 21, 22];

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

fn date(v: &Value, k: &str) -> Result<Option<TeilDatum>, ClientError> {
    match s(v, k) {
        None => Ok(None),
        Some(d) => TeilDatum::parse(&d).map(Some).ok_or_else(|| {
            ClientError::Input(format!("{k}: `{d}` is no date (YYYY-MM-DD, YYYY-MM, YYYY)"))
        }),
    }
}

fn var(env: &ClientEnv, k: &str) -> Result<String, ClientError> {
    env.var(k)
        .map(str::to_string)
        .ok_or_else(|| ClientError::Setup(format!("{k} is not set")))
}

/// A random version-4 UUID (or, with the defect, 32 hex digits without dashes).
fn uuid(env: &ClientEnv) -> String {
    let mut b = ti_core::keys::random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    if env.has(Defect::MrUuidNotRfc4122) {
        return h;
    }
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn kopf(env: &ClientEnv, input: &Value, leser: String) -> Result<Kopfdaten, ClientError> {
    let now = time::OffsetDateTime::now_utc();
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    let mut aktenzeichen = s(input, "aktenzeichen").unwrap_or_else(|| "AZ 32-1/2026".into());
    if env.has(Defect::MrLoggingFieldTooLong) {
        // The full case path instead of the Aktenzeichen: over the 120 characters of § 11 BMeldDAV.
        aktenzeichen = format!(
            "Landeshauptstadt/Fachbereich Öffentliche Ordnung/Bereich Meldewesen/Vorgänge 2026/November/{aktenzeichen}/Anhörung und Ermittlung/Teil 1"
        );
    }
    Ok(Kopfdaten {
        uuid: uuid(env),
        erstellt: now.format(&fmt).unwrap_or_default(),
        leser,
        autor: var(env, "KONFORM_MELDEREGISTER_DVDV")?,
        autor_name: s(input, "behoerdenname")
            .unwrap_or_else(|| "Fachverfahren der abrufenden Stelle".into()),
        sicherheitsbehoerde: input
            .get("sicherheitsbehoerde")
            .and_then(Value::as_bool)
            .unwrap_or(false)
            || env.has(Defect::MrAlwaysSicherheitsbehoerde),
        aktenzeichen,
        anlass: s(input, "anlass").unwrap_or_else(|| "Ermittlung der Anschrift".into()),
        kennung: s(input, "kennung").unwrap_or_else(|| "konform Referenz-Fachverfahren".into()),
        list_version: Some(if env.has(Defect::MrWrongListVersion) {
            "2.4.1".into()
        } else {
            "25.11a".into()
        }),
    })
}

fn codes(input: &Value, default: &[u32]) -> Vec<u32> {
    input
        .get("anforderung")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_u64().map(|n| n as u32))
                .collect()
        })
        .unwrap_or_else(|| default.to_vec())
}

/// Apply the envelope-level defects and POST over mTLS; the XMeld answer or a fault.
fn call(env: &ClientEnv, xmeld: String) -> Result<String, ClientError> {
    let mut xmeld = xmeld;
    if env.has(Defect::MrLoggingFieldMissing) {
        let start = xmeld.find("<xmeld:kennung>").unwrap_or(0);
        if let Some(end) = xmeld[start..].find("</xmeld:kennung>") {
            xmeld.replace_range(start..start + end + "</xmeld:kennung>".len(), "");
        }
    }
    let kundennummer = if env.has(Defect::MrWrongKundennummer) {
        var(env, "KONFORM_MELDEREGISTER_DVDV")?
    } else {
        var(env, "KONFORM_MELDEREGISTER_KUNDENNUMMER")?
    };
    let mut envelope = soap::request(xmeld.as_bytes(), Some(&kundennummer));
    if env.has(Defect::MrUnqualifiedXmlParameter) {
        envelope = envelope.replace("x:xmlParameter", "xmlParameter");
    }
    let url = var(env, "KONFORM_MELDEREGISTER_URL")?;
    let body = post_tls(env, &url, envelope.as_bytes())?;
    let x = soap::parse_response(&body).map_err(|e| ClientError::Refused(e.message))?;
    String::from_utf8(x).map_err(|e| ClientError::Refused(format!("answer is not UTF-8: {e}")))
}

fn post_tls(env: &ClientEnv, url: &str, body: &[u8]) -> Result<Vec<u8>, ClientError> {
    if !url.starts_with("https://") {
        return Err(ClientError::Setup(format!("{url}: https:// expected")));
    }
    let url = match url
        .trim_end_matches('/')
        .split_once("://")
        .map(|(_, r)| r.contains('/'))
    {
        Some(true) => url.to_string(),
        _ => format!("{}{}", url.trim_end_matches('/'), soap::PATH),
    };
    let ca = var(env, "KONFORM_MELDEREGISTER_CA")?;
    let (cert, key);
    let client = if env.has(Defect::MrNoClientCertificate) {
        None
    } else {
        cert = var(env, "KONFORM_MELDEREGISTER_CERT")?;
        key = var(env, "KONFORM_MELDEREGISTER_KEY")?;
        Some((std::path::Path::new(&cert), std::path::Path::new(&key)))
    };
    let http = crate::http::Http::mtls(
        env.timeout,
        std::path::Path::new(&ca),
        client,
        crate::http::MAX_BODY,
    )?;
    let resp = http.request(
        "POST",
        &url,
        &[
            ("Content-Type", "text/xml; charset=utf-8"),
            ("SOAPAction", "\"\""),
        ],
        body,
    )?;
    Ok(resp.body)
}

/// The answer as neutral JSON: ergebnisstatus, rueckweisung codes, persons.
fn summarize(answer: &str) -> Result<Value, ClientError> {
    let root = sim_kit::xmltree::parse(answer.as_bytes(), sim_kit::xmltree::Limits::default())
        .map_err(|e| ClientError::Refused(format!("answer: {}", e.reason)))?;
    let find =
        |e: &sim_kit::xmltree::Element, n: &str| e.children.iter().find(|c| c.local == n).cloned();
    let antwort = find(&root, "antwortSuchanfrage")
        .ok_or_else(|| ClientError::Refused("answer without antwortSuchanfrage".into()))?;
    let code = |e: &sim_kit::xmltree::Element| {
        e.children
            .iter()
            .find(|c| c.local == "code")
            .map(|c| c.text.trim().to_string())
            .unwrap_or_default()
    };
    let rueck: Vec<String> = antwort
        .children
        .iter()
        .filter(|c| c.local == "rueckweisung")
        .filter_map(|r| find(r, "grundDerRueckweisung"))
        .map(|g| code(&g))
        .collect();
    let mut out = json!({ "nachrichtentyp": root.local.rsplit('.').next().unwrap_or(""), "rueckweisung": rueck });
    if let Some(a) = find(&antwort, "auskunft") {
        out["ergebnisstatus"] = json!(
            find(&a, "ergebnisstatus")
                .map(|e| code(&e))
                .unwrap_or_default()
        );
        let personen: Vec<Value> = a.children.iter().filter(|c| c.local == "person").map(|p| {
            let text = |path: &[&str]| -> Option<String> {
                let mut cur = p.clone();
                for n in path {
                    cur = find(&cur, n)?;
                }
                Some(cur.text.trim().to_string())
            };
            json!({
                "familienname": text(&["personendaten", "name", "familienname.unstrukturiert", "nachname", "name"]),
                "vornamen": text(&["personendaten", "name", "vornamen", "vornamen", "name"]),
                "identifikationsmerkmal": text(&["identifikationsmerkmal"]),
            })
        }).collect();
        out["personen"] = json!(personen);
    }
    Ok(out)
}

/// Vornamen as the user typed them; with the defect, hyphenated names are split into two.
fn vornamen(env: &ClientEnv, v: String) -> String {
    if env.has(Defect::MrSplitHyphenatedFirstNames) {
        v.replace('-', " ")
    } else {
        v
    }
}

/// `melderegister.personensuche`: input {nachname, vornamen, ags, strasse?, hausnummer?, plz?, geburtsdatum?,
/// geschlecht?, phonetik?, leser?, anforderung?, sicherheitsbehoerde?, identifikationsmerkmal?,
/// fortsetzen?} → output {nachrichtentyp, ergebnisstatus?, rueckweisung, personen}.
/// `fortsetzen: true` continues a Trefferliste with the first person's Identifikationsmerkmal.
fn personensuche(env: &ClientEnv, input: &Value) -> Result<Value, ClientError> {
    let ags = s(input, "ags").ok_or_else(|| ClientError::Input("ags is required".into()))?;
    let mandant_ags = env
        .var("KONFORM_MELDEREGISTER_KUNDENNUMMER")
        .unwrap_or("")
        .to_string();
    let leser = s(input, "leser").unwrap_or_else(|| {
        if env.has(Defect::MrLeserOwnAgs) {
            format!("ags:{mandant_ags}")
        } else {
            format!("ags:{ags}")
        }
    });
    let k = kopf(env, input, leser)?;
    let xml = if let Some(m) = s(input, "identifikationsmerkmal") {
        merkmal_1330(&k, &m, &codes(input, DEFAULT_CODES))
    } else {
        let mut nachname = s(input, "nachname").unwrap_or_default();
        if env.has(Defect::MrWildcardInPersonensuche) && nachname.chars().count() > 3 {
            // "Unsure of the spelling": a wildcard where the Personensuche allows none.
            let keep: String = nachname
                .chars()
                .take(nachname.chars().count() - 2)
                .collect();
            nachname = format!("{keep}*");
        }
        let q = Personensuche {
            name: PersonName::NachnameUndVornamen {
                nachname,
                vornamen: vornamen(env, s(input, "vornamen").unwrap_or_default()),
            },
            phonetik: input
                .get("phonetik")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            ags: ags.clone(),
            plz: s(input, "plz"),
            strasse: s(input, "strasse"),
            hausnummer: Hausnummer {
                nummer: input
                    .get("hausnummer")
                    .and_then(Value::as_u64)
                    .map(|n| n as u32),
                zusatz: s(input, "zusatz"),
                teilnummer: None,
            },
            geburtsdatum: date(input, "geburtsdatum")?,
            geburtsort: s(input, "geburtsort"),
            geschlecht: s(input, "geschlecht"),
            sterbetag: None,
            sterbeort: None,
            azr_nummer: s(input, "azr_nummer"),
        };
        let mut xml = personensuche_1330(&k, &q, &codes(input, DEFAULT_CODES));
        if env.has(Defect::MrSeveralAgs) && mandant_ags != ags {
            // Both the Wohnort and the requester's own AGS: the Personensuche takes exactly one.
            xml = xml.replacen("<gemeindeschluessel", &format!("<gemeindeschluessel listVersionID=\"2025-01-31\"><code>{mandant_ags}</code></gemeindeschluessel><gemeindeschluessel"), 1);
        }
        xml
    };
    let out = summarize(&call(env, xml)?)?;
    if input.get("fortsetzen").and_then(Value::as_bool) == Some(true) {
        let m = out["personen"][0]["identifikationsmerkmal"]
            .as_str()
            .ok_or_else(|| {
                ClientError::Refused("no Identifikationsmerkmal to continue with".into())
            })?;
        let mut next = input.clone();
        next["identifikationsmerkmal"] = json!(m);
        next["fortsetzen"] = json!(false);
        return personensuche(env, &next);
    }
    Ok(out)
}

/// `melderegister.freie_suche`: input {nachname?, vornamen?, phonetik?, bundesland? | kreis? | gemeinde?,
/// strasse?, hausnummer_von?, hausnummer_bis?, geburt_von?, geburt_bis?, geburtsdatum?, leser?,
/// anforderung?} → output as for the Personensuche.
fn freie_suche(env: &ClientEnv, input: &Value) -> Result<Value, ClientError> {
    let bereich = if let Some(g) = s(input, "gemeinde") {
        Suchbereich::Gemeinde(g)
    } else if let Some(k) = s(input, "kreis") {
        Suchbereich::Kreis(k)
    } else {
        Suchbereich::Bundesland(s(input, "bundesland").unwrap_or_else(|| "03".into()))
    };
    let leser = s(input, "leser").unwrap_or_else(|| "ags:03000000".into());
    let k = kopf(env, input, leser)?;
    let mut q = FreieSuche::in_area(bereich);
    q.nachname = s(input, "nachname");
    q.vornamen = s(input, "vornamen").map(|v| vornamen(env, v));
    q.phonetik = input
        .get("phonetik")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if env.has(Defect::MrPhonetikAlways) {
        q.phonetik = true;
    }
    q.strasse = s(input, "strasse");
    if let (Some(a), Some(b)) = (
        input.get("hausnummer_von").and_then(Value::as_u64),
        input.get("hausnummer_bis").and_then(Value::as_u64),
    ) {
        q.hausnummer = Some(HausnummerAuswahl::Bereich {
            von: a as u32,
            bis: b as u32,
        });
    }
    if let (Some(a), Some(b)) = (date(input, "geburt_von")?, date(input, "geburt_bis")?) {
        q.geburt = Some(Geburt::Zeitraum { von: a, bis: b });
    } else if let Some(d) = date(input, "geburtsdatum")? {
        q.geburt = Some(Geburt::Datum(d));
    }
    summarize(&call(
        env,
        freie_suche_1332(&k, &q, &codes(input, DEFAULT_CODES_FREIE)),
    )?)
}

/// `melderegister.order`: input {mandant?, email?, passphrase, accept_terms?} (defaults: the Mandant and
/// Hauptadministrator the simulator names) → output {kundennummer, fingerprint, dateiname}.
fn order(env: &ClientEnv, input: &Value) -> Result<Value, ClientError> {
    let mut email = s(input, "email")
        .or_else(|| env.var("KONFORM_MELDEREGISTER_EMAIL").map(str::to_string))
        .unwrap_or_default();
    if env.has(Defect::MrOrderContactEmail) {
        // The person filling in the form instead of the Hauptadministrator registered for the Mandant.
        email = format!(
            "sachbearbeitung@{}",
            email.split('@').nth(1).unwrap_or("example.invalid")
        );
    }
    let body = json!({
        "mandant": s(input, "mandant").or_else(|| env.var("KONFORM_MELDEREGISTER_MANDANT").map(str::to_string)).unwrap_or_default(),
        "email": email,
        "passphrase": s(input, "passphrase").unwrap_or_else(|| "Referenz-Passphrase-2026".into()),
        "accept_terms": input.get("accept_terms").and_then(Value::as_bool).unwrap_or(true),
    });
    let url = crate::http::join(
        &var(env, "KONFORM_MELDEREGISTER_PORTAL_URL")?,
        "/minca/api/bestellung",
    );
    let r = env.http()?.request(
        "POST",
        &url,
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )?;
    let v: Value = serde_json::from_slice(&r.body)
        .map_err(|e| ClientError::Refused(format!("answer is not JSON: {e}")))?;
    if v["ok"] != true {
        return Err(ClientError::Status {
            service: "melderegister portal",
            status: r.status,
            diagnosis: v["protokoll"]
                .as_array()
                .and_then(|a| a.last())
                .and_then(Value::as_str)
                .map(str::to_string),
        });
    }
    Ok(
        json!({ "kundennummer": v["kundennummer"], "fingerprint": v["fingerprint"], "dateiname": v["dateiname"] }),
    )
}
