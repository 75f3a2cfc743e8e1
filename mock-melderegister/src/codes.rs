//! XMeld code lists the answers use, as data. Source: genericode lists
//! `urn:xoev-de:xmeld:codeliste:datenabruf.nichterstellung.grund` and
//! `urn:xoev-de:xmeld:codeliste:datenabruf.ergebnisstatus`, version 2 (XMeld 25.11a).

pub const LIST_GRUND: &str = "urn:xoev-de:xmeld:codeliste:datenabruf.nichterstellung.grund";
pub const LIST_ERGEBNISSTATUS: &str = "urn:xoev-de:xmeld:codeliste:datenabruf.ergebnisstatus";
pub const LIST_VERSION: &str = "2";
pub const LIST_NACHRICHTEN: &str = "urn:de:xmeld:schluesseltabelle:xmeld.nachrichten";
pub const XMELD_VERSION: &str = "25.11a";

/// Grund der Rückweisung (`datenabruf.nichterstellung.grund`, v2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Grund {
    IdentifikationsmerkmalUngueltig = 1,
    StrasseNichtGefunden = 2,
    KeineSicherheitsbehoerde = 3,
    WaffenrechtlicheErlaubnisNichtBerechtigt = 4,
    WaffenbesitzverbotNichtBerechtigt = 5,
    SprengstoffrechtlicheErlaubnisNichtBerechtigt = 6,
    AusweisdatenNichtBerechtigt = 7,
    PassTatsachenNichtBerechtigt = 8,
    WaffenDatenNichtBerechtigt = 9,
    WohnungsgeberNichtBerechtigt = 10,
    EinzugsdatumNichtBerechtigt = 11,
    TrefferlisteZuGross = 12,
    ErgebnislisteZuGross = 13,
    AgsLeserUngleichAuswahldaten = 14,
    PlatzhalterMitPhonetik = 15,
    TechnischerFehler = 16,
    SonstigerFachlicherFehler = 17,
    MindestangabenFehlen = 18,
    HausnummernbereichUngueltig = 19,
    GeburtszeitraumUngueltig = 20,
    AktualitaetOhneStrasse = 21,
    SuchbereichNichtZustaendig = 22,
    LandesspezifischeErweiterungen = 23,
    AzrNummerUnzulaessig = 24,
}

impl Grund {
    pub fn code(self) -> String {
        format!("{:02}", self as u8)
    }
    /// The code list's description (abridged where it is long).
    pub fn text(self) -> &'static str {
        use Grund::*;
        match self {
            IdentifikationsmerkmalUngueltig => {
                "Das in der Suchanfrage angegebene Identifikationsmerkmal ist ungültig."
            }
            StrasseNichtGefunden => {
                "Für die angegebene Straße wird keine passende Straßenbezeichnung im Melderegister gefunden."
            }
            KeineSicherheitsbehoerde => {
                "sicherheitsbehoerde = true, obwohl es sich nicht um eine Sicherheits- bzw. Strafermittlungsbehörde handelt."
            }
            WaffenrechtlicheErlaubnisNichtBerechtigt => {
                "Nicht berechtigt zur Nutzung des Auswahldatums waffenrechtlicheErlaubnis."
            }
            WaffenbesitzverbotNichtBerechtigt => {
                "Nicht berechtigt zur Nutzung des Auswahldatums waffenbesitzverbot."
            }
            SprengstoffrechtlicheErlaubnisNichtBerechtigt => {
                "Nicht berechtigt zur Nutzung des Auswahldatums sprengstoffrechtlicheErlaubnis."
            }
            AusweisdatenNichtBerechtigt => {
                "Nicht berechtigt zum Abruf von Daten zu Ausweis- und Passdokumenten."
            }
            PassTatsachenNichtBerechtigt => {
                "Nicht berechtigt zum Abruf von Tatsachen nach § 3 Absatz 2 Nummer 4 BMG."
            }
            WaffenDatenNichtBerechtigt => {
                "Nicht berechtigt zum Abruf von Daten für waffen- und sprengstoffrechtliche Verfahren."
            }
            WohnungsgeberNichtBerechtigt => {
                "Nicht berechtigt zum Abruf von Daten zum Wohnungsgeber."
            }
            EinzugsdatumNichtBerechtigt => "Nicht berechtigt zum Abruf des Einzugsdatums.",
            TrefferlisteZuGross => {
                "Die Trefferliste überschreitet die maximale Größe von 1000 Treffern."
            }
            ErgebnislisteZuGross => {
                "Die Ergebnisliste überschreitet die maximale Größe von 1000 Ergebnissen."
            }
            AgsLeserUngleichAuswahldaten => {
                "Der AGS des Lesers stimmt nicht mit dem AGS in den Auswahldaten überein."
            }
            PlatzhalterMitPhonetik => {
                "Bei phonetischer Suche dürfen keine Platzhalter verwendet werden."
            }
            TechnischerFehler => "Interner technischer Fehler.",
            SonstigerFachlicherFehler => "Sonstiger fachlicher Fehler.",
            MindestangabenFehlen => {
                "Die Mindestangaben gemäß § 38 Abs. 1 BMG für die Personensuche sind nicht erfüllt."
            }
            HausnummernbereichUngueltig => {
                "Im Hausnummernbereich ist die Ende-Angabe kleiner als die oder gleich der Beginn-Angabe."
            }
            GeburtszeitraumUngueltig => {
                "Im Geburtszeitraum liegt das Ende-Datum am oder vor dem Beginn-Datum."
            }
            AktualitaetOhneStrasse => {
                "Auf aktuelle oder inaktuelle Anschriften eingeschränkt, jedoch keine Straße angegeben."
            }
            SuchbereichNichtZustaendig => {
                "Der Suchbereich liegt nicht im Zuständigkeitsbereich der angefragten Stelle."
            }
            LandesspezifischeErweiterungen => {
                "landesspezifischeErweiterungen im länderübergreifenden Datenabruf übermittelt."
            }
            AzrNummerUnzulaessig => {
                "Die AZR-Nummer ist in dieser Anfrage als Auswahldatum unzulässig."
            }
        }
    }
    /// Codes 16 and 17 carry their detail in `freitext`.
    pub fn needs_freitext(self) -> bool {
        matches!(
            self,
            Grund::TechnischerFehler | Grund::SonstigerFachlicherFehler
        )
    }
}

/// Ergebnisstatus (`datenabruf.ergebnisstatus`, v2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Ergebnisstatus {
    /// 01: uniquely identified, data transmitted.
    Eindeutig = 1,
    /// 02: not unique, Trefferliste.
    Trefferliste = 2,
    /// 03: not identified or Auskunftssperre (the neutral answer).
    NichtGefunden = 3,
    /// 04: Ergebnisliste (freie Suche).
    Ergebnisliste = 4,
}

impl Ergebnisstatus {
    pub fn code(self) -> String {
        format!("{:02}", self as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Our codes equal the genericode lists in the reference folder.
    #[test]
    fn codes_match_the_genericode_lists() {
        let Some(text) = test_support::shared::read_to_string(
            "reference/xmeld/codelists/urn-xoev-de-xmeld-codeliste-datenabruf.nichterstellung.grund_2.xml",
        ) else {
            return;
        };
        let codes: Vec<String> = text
            .split("<SimpleValue>")
            .skip(1)
            .filter_map(|s| s.split('<').next())
            .filter(|s| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_string)
            .collect();
        assert_eq!(codes.len(), 24);
        assert_eq!(codes.first().map(String::as_str), Some("01"));
        assert_eq!(Grund::AzrNummerUnzulaessig.code(), "24");
        assert_eq!(Grund::TrefferlisteZuGross.code(), "12");
        assert!(text.contains(LIST_GRUND));
        let st = test_support::shared::read_to_string(
            "reference/xmeld/codelists/urn-xoev-de-xmeld-codeliste-datenabruf.ergebnisstatus_2.xml",
        )
        .unwrap_or_default();
        assert!(st.contains(LIST_ERGEBNISSTATUS));
        assert_eq!(Ergebnisstatus::Ergebnisliste.code(), "04");
    }
}
