//! The self-service portal `/minca/` (German, server-rendered, no CDN, a little own JavaScript) and its
//! JSON endpoint for the CLI (`konform melderegister order`). Works without JavaScript too: the form posts
//! and the page comes back with the confirmation or the opened Protokoll.

use crate::bestellung::{self, Abgelehnt, Bestellung};
use crate::state::MelderegisterState;
use crate::xmeld::write::esc;
use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use sim_kit::{Diagnosis, Outcome, Verdict};

pub fn routes() -> Router<MelderegisterState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/minca/") }))
        .route("/minca", get(|| async { Redirect::to("/minca/") }))
        .route("/minca/", get(seite).post(formular))
        .route("/minca/bestellung.js", get(script))
        .route("/minca/api/bestellung", post(api))
}

const FORM_LIMIT: usize = 64 * 1024;

/// Percent-decoding of `application/x-www-form-urlencoded`.
fn form_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_form(body: &str) -> Bestellung {
    let mut b = Bestellung::default();
    for pair in body.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = form_decode(v);
        match form_decode(k).as_str() {
            "mandant" => b.mandant = v,
            "email" => b.email = v,
            "passphrase" => b.passphrase = v,
            "gesetzeskonformitaet" => b.accept_terms = v == "on" || v == "true",
            "rechnungsempfaenger" => {
                b.rechnungsempfaenger = Some(v).filter(|r| !r.trim().is_empty());
            }
            _ => {}
        }
    }
    b
}

/// What the page shows after an order attempt.
enum Ergebnis {
    Neu,
    Erfolg {
        kundennummer: String,
        protokoll: Vec<String>,
    },
    Fehler {
        protokoll: Vec<String>,
    },
}

fn html(st: &MelderegisterState, b: &Bestellung, e: &Ergebnis) -> String {
    let options: String = st
        .config()
        .mandanten
        .iter()
        .map(|m| {
            format!(
                "<option value=\"{}\"{}>{} ({})</option>",
                esc(&m.id),
                if m.id == b.mandant { " selected" } else { "" },
                esc(&m.name),
                esc(&m.id)
            )
        })
        .collect();
    let (erfolg, protokoll, offen, gesperrt) = match e {
        Ergebnis::Neu => (String::new(), String::new(), "", ""),
        Ergebnis::Erfolg {
            kundennummer,
            protokoll,
        } => (
            format!(
                "<p class=\"ok\" role=\"status\">Die Bestellung war erfolgreich. Das Client-SSL-Zertifikat wurde als ZIP-Datei an die hinterlegte E-Mail-Adresse versandt; die Kundennummer ({}) folgt mit einer E-Mail der AG MiN.</p>",
                esc(kundennummer)
            ),
            protokoll.join("\n"),
            "",
            " disabled",
        ),
        Ergebnis::Fehler { protokoll } => (String::new(), protokoll.join("\n"), " open", ""),
    };
    format!(
        r#"<!DOCTYPE html>
<html lang="de">
<head>
<meta charset="utf-8">
<title>Applikationskopplung bestellen – Melderegisterdatenspiegel Niedersachsen (Simulator)</title>
<style>
body {{ font-family: sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #222; }}
label {{ display: block; margin-top: 1rem; font-weight: bold; }}
input[type=text], input[type=email], input[type=password], select {{ width: 100%; padding: .4rem; }}
button {{ margin-top: 1.5rem; padding: .6rem 1rem; background: #005ea5; color: #fff; border: 0; font-size: 1rem; }}
button:disabled {{ background: #aaa; color: #eee; cursor: not-allowed; }}
.hinweis {{ background: #fff7e0; border-left: 4px solid #e0a800; padding: .6rem; }}
.ok {{ background: #e6f4ea; border-left: 4px solid #2e7d32; padding: .6rem; }}
details {{ margin-top: 2rem; }} pre {{ white-space: pre-wrap; background: #f4f4f4; padding: .6rem; }}
</style>
</head>
<body>
<p class="hinweis">konform-Simulator: Alle Daten sind fiktiv. Es werden keine E-Mails versendet (lokaler Postausgang) und keine Kosten berechnet.</p>
<h1>Applikationskopplung bestellen</h1>
<p>Self-Service-Formular für niedersächsische Behörden, die als Mandant im Melderegisterdatenspiegel registriert sind.</p>
<form id="bestellung" method="post" action="/minca/">
<label for="mandant">Mandant</label>
<select id="mandant" name="mandant">{options}</select>
<label for="email">E-Mail-Adresse (muss der des Hauptadministrators im Mandanten entsprechen)</label>
<input type="email" id="email" name="email" value="{email}" autocomplete="email">
<label for="passphrase">Passphrase (mindestens acht Zeichen)</label>
<input type="password" id="passphrase" name="passphrase" autocomplete="new-password">
<p>Die Passphrase schützt das Client-SSL-Zertifikat beim Versand und wird zum Öffnen der Datei benötigt. Bei Verlust der Passphrase kann keine neue Passphrase vergeben werden; es muss ein neues Client-SSL-Zertifikat bestellt werden.</p>
<label for="rechnungsempfaenger">Rechnungsempfänger (optional; sonst der Ansprechpartner laut Mandantentabelle)</label>
<input type="text" id="rechnungsempfaenger" name="rechnungsempfaenger" value="{rechnung}">
<label><input type="checkbox" id="gesetzeskonformitaet" name="gesetzeskonformitaet"> Ich bestätige, dass die Abrufe den gesetzlichen Regelungen entsprechen und die IT-Infrastruktur gängige Sicherheitsstandards einhält.</label>
<button type="submit" id="bestellen"{gesperrt}>Applikationskopplung kostenpflichtig bestellen!</button>
</form>
<div id="ergebnis">{erfolg}</div>
<details id="protokoll"{offen}><summary>Protokoll</summary><pre id="protokoll-text">{protokoll}</pre></details>
<script src="/minca/bestellung.js"></script>
</body>
</html>
"#,
        email = esc(&b.email),
        rechnung = esc(b.rechnungsempfaenger.as_deref().unwrap_or("")),
        protokoll = esc(&protokoll),
    )
}

const SCRIPT: &str = r#"// Sends the order as JSON and shows the result without reloading the page.
(function () {
  var form = document.getElementById('bestellung');
  var button = document.getElementById('bestellen');
  var ergebnis = document.getElementById('ergebnis');
  var protokoll = document.getElementById('protokoll');
  var text = document.getElementById('protokoll-text');
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var body = {
      mandant: form.mandant.value,
      email: form.email.value,
      passphrase: form.passphrase.value,
      accept_terms: form.gesetzeskonformitaet.checked,
      rechnungsempfaenger: form.rechnungsempfaenger.value || null
    };
    button.disabled = true;
    fetch('/minca/api/bestellung', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)})
      .then(function (r) { return r.json(); })
      .then(function (a) {
        text.textContent = (a.protokoll || []).join('\n');
        if (a.ok) {
          ergebnis.innerHTML = '';
          var p = document.createElement('p');
          p.className = 'ok';
          p.setAttribute('role', 'status');
          p.textContent = 'Die Bestellung war erfolgreich. Das Client-SSL-Zertifikat wurde als ZIP-Datei an die hinterlegte E-Mail-Adresse versandt; die Kundennummer (' + a.kundennummer + ') folgt mit einer E-Mail der AG MiN.';
          ergebnis.appendChild(p);
          protokoll.open = false;
        } else {
          button.disabled = false;
          ergebnis.innerHTML = '';
          protokoll.open = true;
        }
      })
      .catch(function (e) {
        button.disabled = false;
        text.textContent = 'FEHLER: ' + e;
        protokoll.open = true;
      });
  });
})();
"#;

async fn seite(State(st): State<MelderegisterState>) -> Response {
    page(&st, &Bestellung::default(), &Ergebnis::Neu, StatusCode::OK)
}

fn page(st: &MelderegisterState, b: &Bestellung, e: &Ergebnis, status: StatusCode) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html(st, b, e),
    )
        .into_response()
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
        .into_response()
}

fn outcome(r: &Result<bestellung::Bestellt, Abgelehnt>, b: &Bestellung) -> Outcome {
    match r {
        Ok(x) => Outcome {
            operation: Some("bestellung".into()),
            verdict: Some(Verdict::Accepted),
            diagnoses: vec![],
            data: Some(
                serde_json::json!({ "mandant": b.mandant, "kundennummer": x.kundennummer, "fingerprint": x.fingerprint }),
            ),
            fault: None,
        },
        Err(a) => Outcome {
            operation: Some("bestellung".into()),
            verdict: Some(if a.intern {
                Verdict::Failed
            } else {
                Verdict::Rejected
            }),
            diagnoses: vec![
                Diagnosis::new(a.rule, a.protokoll.last().cloned().unwrap_or_default())
                    .seed(bestellung::SEED),
            ],
            data: Some(serde_json::json!({ "mandant": b.mandant })),
            fault: None,
        },
    }
}

async fn read_body(req: Request) -> Result<String, Response> {
    let (parts, body) = req.into_parts();
    sim_kit::body::read_limited(&parts.headers, body, FORM_LIMIT)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| (StatusCode::PAYLOAD_TOO_LARGE, e.to_string()).into_response())
}

/// The form without JavaScript.
async fn formular(State(st): State<MelderegisterState>, req: Request) -> Response {
    let body = match read_body(req).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let b = parse_form(&body);
    let r = bestellung::bestellen(&st, &b);
    let o = outcome(&r, &b);
    let resp = match r {
        Ok(x) => page(
            &st,
            &b,
            &Ergebnis::Erfolg {
                kundennummer: x.kundennummer,
                protokoll: x.protokoll,
            },
            StatusCode::OK,
        ),
        Err(a) => page(
            &st,
            &b,
            &Ergebnis::Fehler {
                protokoll: a.protokoll,
            },
            if a.intern {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            },
        ),
    };
    o.attach(resp)
}

/// JSON for the page's script and the CLI: `{ok, protokoll, kundennummer, fingerprint, dateiname, zip_base64}`.
async fn api(State(st): State<MelderegisterState>, req: Request) -> Response {
    let body = match read_body(req).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let b: Bestellung = match serde_json::from_str(&body) {
        Ok(b) => b,
        Err(e) => {
            let d = Diagnosis::new(
                "melderegister.bestellung.json",
                format!("invalid order JSON: {e}"),
            );
            return Outcome { operation: Some("bestellung".into()), verdict: Some(Verdict::Rejected), diagnoses: vec![d], data: None, fault: None }
                .attach((StatusCode::BAD_REQUEST, Json(serde_json::json!({ "ok": false, "protokoll": [format!("FEHLER: ungültige Anfrage: {e}")] }))));
        }
    };
    let r = bestellung::bestellen(&st, &b);
    let o = outcome(&r, &b);
    let resp = match r {
        Ok(x) => (
            StatusCode::OK,
            Json(serde_json::json!({
                "ok": true, "protokoll": x.protokoll, "kundennummer": x.kundennummer, "fingerprint": x.fingerprint,
                "dateiname": x.dateiname, "zip_base64": base64::engine::general_purpose::STANDARD.encode(&x.zip), "mails": x.mails,
            })),
        )
            .into_response(),
        Err(a) => (
            if a.intern { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::UNPROCESSABLE_ENTITY },
            Json(serde_json::json!({ "ok": false, "protokoll": a.protokoll, "regel": a.rule })),
        )
            .into_response(),
    };
    o.attach(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding() {
        let b = parse_form(
            "mandant=stadt-musterhausen&email=a%40b.example&passphrase=geheim+123%21&gesetzeskonformitaet=on&rechnungsempfaenger=",
        );
        assert_eq!(b.email, "a@b.example");
        assert_eq!(b.passphrase, "geheim 123!");
        assert!(b.accept_terms);
        assert_eq!(b.rechnungsempfaenger, None);
        assert_eq!(form_decode("%zz%4"), "%zz%4");
        assert_eq!(form_decode("%C3%A4"), "ä");
    }
}
