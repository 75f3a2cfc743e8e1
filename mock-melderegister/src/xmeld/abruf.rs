//! Answering a parsed Datenabruf: the checks that need the header and the requesting Mandant, then the
//! search, then the result as XMeld defines it (`ergebnisstatus` 01–04 or `grundDerRueckweisung` 01–24).
//! No I/O: the Identifikationsmerkmale come from and go to a [`Merkmale`] the caller provides.
//!
//! Order of the checks (a konform choice; XMeld allows several `rueckweisung` elements, we send the reasons
//! of the first failing step): Leser and search area (14, 22) → Land extensions (23) → security flag (03) →
//! data a non-security authority may not use or receive (04–11, all of them) → logging data (17) → search
//! rules (15, 17–21, 24) → search (01, 02, 12, 13).

use super::parse::{Anfrage, Suche};
use crate::codes::{Ergebnisstatus, Grund};
use crate::register::Register;
use crate::register::gemeinden::in_niedersachsen;
use crate::search::CAP;
use crate::search::query::Suchbereich;
use crate::search::rules::{Rejection, check_freie_suche, check_personensuche};

/// What the mirror knows about the requester and itself.
#[derive(Clone, Debug)]
pub struct Kontext {
    /// The Mandant is a security authority (§ 34(4) BMG).
    pub sicherheitsbehoerde: bool,
    /// The mirror's own DVDV key (`ags:03000000` by default): a Leser that may search the whole Land.
    pub eigene_kennung: String,
    /// Reject `landesspezifischeErweiterungen` with 23 (default) or ignore them.
    pub landesspezifisch_ablehnen: bool,
}

/// Identifikationsmerkmale: issued for hit/result lists, resolved when a client continues with one.
pub trait Merkmale {
    /// A new opaque Merkmal for a resident (by Ordnungsmerkmal).
    fn ausgeben(&mut self, ordnungsmerkmal: &str) -> String;
    /// The Ordnungsmerkmal behind a Merkmal, if it is known, unexpired and was issued to this Mandant.
    fn aufloesen(&self, merkmal: &str) -> Option<String>;
}

/// One person in an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Treffer {
    pub id: u32,
    /// Full data (01) or list entry (02, 04).
    pub voll: bool,
    pub merkmal: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ergebnis {
    Rueckweisung(Vec<Rejection>),
    Auskunft {
        status: Ergebnisstatus,
        personen: Vec<Treffer>,
    },
}

fn reject(g: Grund, rule: &'static str, m: impl Into<String>) -> Ergebnis {
    Ergebnis::Rueckweisung(vec![Rejection::new(g, rule, m)])
}

fn leser_ags(kennung: &str) -> Option<&str> {
    kennung.strip_prefix("ags:")
}

/// Reasons 14 and 22: who the message is addressed to and where it may search.
fn check_leser(a: &Anfrage, k: &Kontext) -> Result<(), Rejection> {
    let leser = a.leser.kennung.as_str();
    let eigen = leser == k.eigene_kennung;
    let r14 = |m: String| {
        Rejection::new(
            Grund::AgsLeserUngleichAuswahldaten,
            "melderegister.leser.ags",
            m,
        )
        .at("/nachrichtenkopf.g2g/leser/kennung")
    };
    let r22 = |m: String| {
        Rejection::new(
            Grund::SuchbereichNichtZustaendig,
            "melderegister.suchbereich",
            m,
        )
    };
    match &a.suche {
        Suche::Personensuche(q) => {
            if !eigen && leser_ags(leser) != Some(q.ags.as_str()) {
                return Err(r14(format!(
                    "Leser `{leser}` passt nicht zum AGS {} der Auswahldaten: Leser ist der `ags:`-Schlüssel der gesuchten Gemeinde oder `{}`",
                    q.ags, k.eigene_kennung
                )));
            }
            if !in_niedersachsen(&q.ags) {
                return Err(r22(format!(
                    "AGS {} liegt nicht in Niedersachsen: der Melderegisterdatenspiegel antwortet nur für niedersächsische Meldebehörden",
                    q.ags
                ))
                .at("/suchprofil/auswahldaten/anschrift/gemeindeschluessel"));
            }
        }
        Suche::Identifikationsmerkmal(_) => {
            if !eigen && !leser_ags(leser).is_some_and(in_niedersachsen) {
                return Err(r22(format!(
                    "Leser `{leser}` ist keine niedersächsische Meldebehörde und nicht `{}`",
                    k.eigene_kennung
                )));
            }
        }
        Suche::FreieSuche(q) => {
            let key = q.suchbereich.key();
            if !key.starts_with(crate::register::gemeinden::LAND) {
                return Err(r22(format!(
                    "Suchbereich `{key}` liegt nicht in Niedersachsen (Land 03)"
                ))
                .at("/steuerungsinformationen/suchbereich"));
            }
            if !eigen {
                let Some(x) = leser_ags(leser) else {
                    return Err(r14(format!("Leser `{leser}` ist kein `ags:`-Schlüssel")));
                };
                if let Some(g) = &q.ags
                    && g != x
                {
                    return Err(r14(format!("Leser ags:{x}, Auswahldaten AGS {g}")));
                }
                if q.suchbereich != Suchbereich::Gemeinde(x.to_string()) {
                    return Err(r22(format!(
                        "Leser ags:{x} ist nur für seine Gemeinde zuständig; für Kreis oder Land ist `{}` der Leser (BMeldDAV Anlage Nr. 3, Niedersachsen)",
                        k.eigene_kennung
                    ))
                    .at("/steuerungsinformationen/suchbereich"));
                }
            }
        }
    }
    Ok(())
}

/// Reasons 04–11 for a requester that is not a security authority; all that apply.
fn check_berechtigung(a: &Anfrage) -> Vec<Rejection> {
    let mut v = Vec::new();
    let w = &a.waffen;
    let sel = [
        (
            w.waffenrechtliche_erlaubnis,
            Grund::WaffenrechtlicheErlaubnisNichtBerechtigt,
            "waffenrechtlicheErlaubnis",
        ),
        (
            w.waffenbesitzverbot,
            Grund::WaffenbesitzverbotNichtBerechtigt,
            "waffenbesitzverbot",
        ),
        (
            w.sprengstoffrechtliche_erlaubnis,
            Grund::SprengstoffrechtlicheErlaubnisNichtBerechtigt,
            "sprengstoffrechtlicheErlaubnis",
        ),
    ];
    for (used, g, name) in sel {
        if used {
            v.push(
                Rejection::new(
                    g,
                    "melderegister.berechtigung.auswahldatum",
                    format!("Auswahldatum {name} nur für Sicherheitsbehörden (§ 34 Abs. 4 BMG)"),
                )
                .at(format!("/suchprofil/auswahldaten/{name}")),
            );
        }
    }
    // Requested elements reserved to § 34(4) BMG authorities, per code list.
    let groups: &[(Grund, &[std::ops::RangeInclusive<u32>])] = if a.is_freie_suche() {
        &[
            (Grund::AusweisdatenNichtBerechtigt, &[29..=37]),
            (Grund::WaffenDatenNichtBerechtigt, &[42..=44]),
            (Grund::WohnungsgeberNichtBerechtigt, &[45..=46]),
            (Grund::EinzugsdatumNichtBerechtigt, &[28..=28]),
        ]
    } else {
        &[
            (Grund::AusweisdatenNichtBerechtigt, &[163..=171]),
            (Grund::PassTatsachenNichtBerechtigt, &[176..=177]),
            (Grund::WaffenDatenNichtBerechtigt, &[178..=183]),
            (Grund::WohnungsgeberNichtBerechtigt, &[184..=185]),
        ]
    };
    for (g, ranges) in groups {
        let hit: Vec<u32> = a
            .anforderung
            .iter()
            .copied()
            .filter(|c| ranges.iter().any(|r| r.contains(c)))
            .collect();
        if !hit.is_empty() {
            v.push(
                Rejection::new(
                    *g,
                    "melderegister.berechtigung.anforderungselement",
                    format!(
                        "anforderungselement {hit:?}: nur für Sicherheitsbehörden (§ 34 Abs. 4 BMG)"
                    ),
                )
                .at("/steuerungsinformationen/anforderungselement"),
            );
        }
    }
    v
}

/// § 11 BMeldDAV: logging data at most 120 characters each.
fn check_protokolldaten(a: &Anfrage) -> Result<(), Rejection> {
    let s = &a.stelle;
    for (name, v) in [
        ("abrufberechtigteStelle/behoerdenname", &s.behoerdenname),
        ("aktenzeichen", &s.aktenzeichen),
        ("anlassDesAbrufs", &s.anlass),
        ("kennung", &s.kennung),
    ] {
        let n = v.chars().count();
        if n > 120 {
            return Err(Rejection::new(
                Grund::SonstigerFachlicherFehler,
                "melderegister.protokolldaten.laenge",
                format!("{name} hat {n} Zeichen; höchstens 120 (§ 11 BMeldDAV, Anlage Nr. 8)"),
            )
            .at(format!("/datenAbrufendeStelle/{name}")));
        }
    }
    Ok(())
}

fn liste(
    reg: &Register,
    ids: &[u32],
    merkmale: &mut dyn Merkmale,
    mit_merkmal: bool,
) -> Vec<Treffer> {
    ids.iter()
        .map(|&id| Treffer {
            id,
            voll: false,
            merkmal: if mit_merkmal {
                reg.get(id).map(|e| merkmale.ausgeben(&e.ordnungsmerkmal))
            } else {
                None
            },
        })
        .collect()
}

/// Answer a request for a Mandant.
pub fn bearbeiten(
    a: &Anfrage,
    k: &Kontext,
    reg: &Register,
    merkmale: &mut dyn Merkmale,
) -> Ergebnis {
    if let Err(r) = check_leser(a, k) {
        return Ergebnis::Rueckweisung(vec![r]);
    }
    if a.landesspezifisch && k.landesspezifisch_ablehnen {
        return reject(
            Grund::LandesspezifischeErweiterungen,
            "melderegister.landesspezifisch",
            "landesspezifischeErweiterungen sind im Datenabruf beim Melderegisterdatenspiegel nicht vorgesehen",
        );
    }
    if a.stelle.sicherheitsbehoerde && !k.sicherheitsbehoerde {
        return Ergebnis::Rueckweisung(vec![
            Rejection::new(
                Grund::KeineSicherheitsbehoerde,
                "melderegister.sicherheitsbehoerde",
                "sicherheitsbehoerde = true, der Mandant ist aber keine Sicherheitsbehörde",
            )
            .at("/datenAbrufendeStelle/sicherheitsbehoerde"),
        ]);
    }
    if !a.stelle.sicherheitsbehoerde {
        let v = check_berechtigung(a);
        if !v.is_empty() {
            return Ergebnis::Rueckweisung(v);
        }
    }
    if let Err(r) = check_protokolldaten(a) {
        return Ergebnis::Rueckweisung(vec![r]);
    }
    match &a.suche {
        Suche::Identifikationsmerkmal(m) => {
            let found = merkmale
                .aufloesen(m)
                .and_then(|om| reg.by_ordnungsmerkmal(&om));
            match found {
                None => reject(
                    Grund::IdentifikationsmerkmalUngueltig,
                    "melderegister.identifikationsmerkmal",
                    "Identifikationsmerkmal unbekannt, abgelaufen (48 Stunden, § 9 BMeldDAV) oder einem anderen Mandanten ausgegeben",
                ),
                Some(id) if reg.get(id).is_some_and(|e| e.auskunftssperre) => Ergebnis::Auskunft {
                    status: Ergebnisstatus::NichtGefunden,
                    personen: vec![],
                },
                Some(id) => Ergebnis::Auskunft {
                    status: Ergebnisstatus::Eindeutig,
                    personen: vec![Treffer {
                        id,
                        voll: true,
                        merkmal: None,
                    }],
                },
            }
        }
        Suche::Personensuche(q) => {
            if let Err(r) = check_personensuche(q, a.stelle.sicherheitsbehoerde) {
                return Ergebnis::Rueckweisung(vec![r]);
            }
            let ids = match reg.personensuche(q) {
                Ok(ids) => ids,
                Err(r) => return Ergebnis::Rueckweisung(vec![r]),
            };
            match ids.len() {
                0 => Ergebnis::Auskunft {
                    status: Ergebnisstatus::NichtGefunden,
                    personen: vec![],
                },
                1 => Ergebnis::Auskunft {
                    status: Ergebnisstatus::Eindeutig,
                    personen: vec![Treffer {
                        id: ids[0],
                        voll: true,
                        merkmal: None,
                    }],
                },
                n if n > CAP => reject(
                    Grund::TrefferlisteZuGross,
                    "melderegister.cap.trefferliste",
                    format!("mehr als {CAP} Treffer (§ 1 Abs. 4 BMeldDAV)"),
                ),
                _ => Ergebnis::Auskunft {
                    status: Ergebnisstatus::Trefferliste,
                    personen: liste(reg, &ids, merkmale, true),
                },
            }
        }
        Suche::FreieSuche(q) => {
            if let Err(r) = check_freie_suche(q) {
                return Ergebnis::Rueckweisung(vec![r]);
            }
            let ids = reg.freie_suche(q);
            match ids.len() {
                0 => Ergebnis::Auskunft {
                    status: Ergebnisstatus::NichtGefunden,
                    personen: vec![],
                },
                n if n > CAP => reject(
                    Grund::ErgebnislisteZuGross,
                    "melderegister.cap.ergebnisliste",
                    format!("mehr als {CAP} Ergebnisse (§ 1 Abs. 4 BMeldDAV)"),
                ),
                n => Ergebnis::Auskunft {
                    status: Ergebnisstatus::Ergebnisliste,
                    personen: liste(reg, &ids, merkmale, n > 1),
                },
            }
        }
    }
}
