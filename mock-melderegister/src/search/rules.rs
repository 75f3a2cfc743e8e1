//! The checks a request must pass before it is searched: the BMeldDAV rules whose violation XMeld answers
//! with a `grundDerRueckweisung` (15, 17, 18, 19, 20, 21, 24). Checks that need the message header or the
//! Mandant (14, 22, 23, 03…11) are in `xmeld::abruf`.

use super::normal::{is_wildcard, pattern_form};
use super::query::{FreieSuche, Geburt, HausnummerAuswahl, PersonName, Personensuche};
use crate::codes::Grund;

/// Why a search is not carried out, as XMeld answers it (plus the diagnosis).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub grund: Grund,
    /// Stable rule name for the diagnosis (`melderegister.…`).
    pub rule: &'static str,
    pub message: String,
    /// XPath-like location in the request.
    pub location: Option<String>,
    /// Only for 16/17: the `freitext` sent with the code.
    pub freitext: Option<String>,
}

impl Rejection {
    pub fn new(grund: Grund, rule: &'static str, message: impl Into<String>) -> Rejection {
        let message = message.into();
        Rejection {
            grund,
            rule,
            freitext: grund.needs_freitext().then(|| message.clone()),
            message,
            location: None,
        }
    }
    pub fn at(mut self, loc: impl Into<String>) -> Rejection {
        self.location = Some(loc.into());
        self
    }
}

const SEL: &str = "/suchprofil/auswahldaten";

/// Wildcards in one separated value (a name part or a street): not first, not the only content — on the
/// raw value and on the normalised one (Anlage Nr. 7).
fn check_pattern(raw: &str, loc: &str) -> Result<(), Rejection> {
    let bad = |why: &str| {
        Err(Rejection::new(
            Grund::SonstigerFachlicherFehler,
            "melderegister.platzhalter.position",
            format!("Platzhalter in `{raw}` {why} (BMeldDAV Anlage Nr. 7)"),
        )
        .at(loc))
    };
    if raw.starts_with(is_wildcard) {
        return bad("stehen am Anfang");
    }
    let n = pattern_form(raw);
    if n.starts_with(is_wildcard) {
        return bad("stehen nach der Normalisierung am Anfang");
    }
    if n.chars().all(is_wildcard) {
        return bad("sind der einzige Inhalt");
    }
    Ok(())
}

fn check_name_patterns(raw: &str, loc: &str) -> Result<bool, Rejection> {
    let mut any = false;
    for part in raw.split_whitespace() {
        if part.contains(is_wildcard) {
            any = true;
            check_pattern(part, loc)?;
        }
    }
    Ok(any)
}

/// Personensuche: no wildcards (§ 4(7)), minimum selection data (§ 4(1), reason 18), AZR-Nummer (24).
pub fn check_personensuche(q: &Personensuche, sicherheitsbehoerde: bool) -> Result<(), Rejection> {
    let no_wildcards = |v: &str, loc: &str| -> Result<(), Rejection> {
        if v.contains(is_wildcard) {
            return Err(Rejection::new(
                Grund::SonstigerFachlicherFehler,
                "melderegister.personensuche.platzhalter",
                format!(
                    "Platzhalter (`?`, `*`) in `{v}`: in der Personensuche sind keine Platzhalter zulässig (§ 4 Abs. 7 BMeldDAV)"
                ),
            )
            .at(loc));
        }
        Ok(())
    };
    let name_loc = format!("{SEL}/name/name");
    match &q.name {
        PersonName::NachnameUndVornamen { nachname, vornamen } => {
            no_wildcards(
                nachname,
                &format!("{name_loc}/nachnameUndVornamen/nachname"),
            )?;
            no_wildcards(
                vornamen,
                &format!("{name_loc}/nachnameUndVornamen/vornamen"),
            )?;
            let vn_ok = vornamen.trim() == "+" || !super::normal::parts(vornamen).is_empty();
            if super::normal::search_form(nachname).is_empty() || !vn_ok {
                return Err(Rejection::new(
                    Grund::MindestangabenFehlen,
                    "melderegister.personensuche.mindestangaben.name",
                    "Familienname und mindestens ein Vorname sind erforderlich (§ 4 Abs. 1 Nr. 1 BMeldDAV); nach der Normalisierung ist einer davon leer",
                )
                .at(name_loc));
            }
        }
        PersonName::OrdensOderKuenstlername(n) => {
            no_wildcards(n, &format!("{name_loc}/ordensOderKuenstlername"))?;
            if super::normal::search_form(n).is_empty() {
                return Err(Rejection::new(
                    Grund::MindestangabenFehlen,
                    "melderegister.personensuche.mindestangaben.name",
                    "Ordens- oder Künstlername ist nach der Normalisierung leer",
                )
                .at(name_loc));
            }
        }
    }
    if let Some(s) = &q.strasse {
        no_wildcards(s, &format!("{SEL}/anschrift/strasse"))?;
    }
    let weiteres = q.strasse.is_some()
        || q.geburtsdatum.is_some()
        || q.geburtsort.is_some()
        || q.geschlecht.is_some()
        || q.sterbetag.is_some()
        || q.sterbeort.is_some();
    if !weiteres {
        return Err(Rejection::new(
            Grund::MindestangabenFehlen,
            "melderegister.personensuche.mindestangaben.wohnort",
            "Zum Wohnort (AGS) fehlt ein weiteres Auswahldatum: Straße, Geburtsdatum, Geburtsort, Geschlecht, Sterbedatum oder Sterbeort (§ 4 Abs. 1 Nr. 2 BMeldDAV)",
        )
        .at(SEL.to_string()));
    }
    if q.azr_nummer.is_some() && !sicherheitsbehoerde {
        return Err(Rejection::new(
            Grund::AzrNummerUnzulaessig,
            "melderegister.personensuche.azr-nummer",
            "Die AZR-Nummer ist als Auswahldatum nur für Sicherheitsbehörden zulässig (konform-Festlegung zu § 38 Abs. 1 Satz 2 BMG)",
        )
        .at(format!("{SEL}/azrNummer")));
    }
    Ok(())
}

/// Freie Suche: wildcard placement (17), wildcards with phonetics (15), ranges (19, 20), address currency
/// without a street (21).
pub fn check_freie_suche(q: &FreieSuche) -> Result<(), Rejection> {
    let name_loc = format!("{SEL}/name/name");
    let mut wildcards = false;
    if let Some(n) = &q.nachname {
        wildcards |= check_name_patterns(n, &format!("{name_loc}/nachnameUndVornamen/nachname"))?;
    }
    if let Some(n) = &q.vornamen {
        wildcards |= check_name_patterns(n, &format!("{name_loc}/nachnameUndVornamen/vornamen"))?;
    }
    if let Some(n) = &q.ordens_oder_kuenstlername {
        wildcards |= check_name_patterns(n, &format!("{name_loc}/ordensOderKuenstlername"))?;
    }
    let street_loc = format!("{SEL}/wohnung/anschrift/anschrift.inland/strasse");
    if let Some(s) = &q.strasse
        && s.contains(is_wildcard)
    {
        check_pattern(s, &street_loc)?;
    }
    if wildcards && q.phonetik {
        return Err(Rejection::new(
            Grund::PlatzhalterMitPhonetik,
            "melderegister.freiesuche.platzhalter-phonetik",
            "Platzhalter zusammen mit phonetischer Suche (§ 7 BMeldDAV: keine Platzhalter bei phonetischer Suche)",
        )
        .at(format!("{SEL}/name/phonetik")));
    }
    if let Some(HausnummerAuswahl::Bereich { von, bis }) = &q.hausnummer
        && bis <= von
    {
        return Err(Rejection::new(
                Grund::HausnummernbereichUngueltig,
                "melderegister.freiesuche.hausnummernbereich",
                format!("Hausnummernbereich {von}..{bis}: das Ende muss größer als der Beginn sein"),
            )
            .at(format!(
                "{SEL}/wohnung/anschrift/anschrift.inland/hausnummerOderHausnummernbereich/hausnummernbereich"
            )));
    }
    if let Some(Geburt::Zeitraum { von, bis }) = &q.geburt
        && bis.ordinal() <= von.ordinal()
    {
        return Err(Rejection::new(
            Grund::GeburtszeitraumUngueltig,
            "melderegister.freiesuche.geburtszeitraum",
            "Geburtszeitraum: das Ende-Datum liegt am oder vor dem Beginn-Datum",
        )
        .at(format!("{SEL}/geburtsdaten/geburtstag/geburtszeitraum")));
    }
    if let Some(a) = q.aktualitaet_anschrift
        && a != super::query::Aktualitaet::Beide
        && q.strasse.is_none()
    {
        return Err(Rejection::new(
                Grund::AktualitaetOhneStrasse,
                "melderegister.freiesuche.aktualitaet-ohne-strasse",
                "Die Aktualität der Anschrift ist eingeschränkt, aber keine Straße angegeben (§ 7 BMeldDAV)",
            )
            .at(format!("{SEL}/wohnung/aktualitaetAnschrift")));
    }
    Ok(())
}
