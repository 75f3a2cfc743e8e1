//! The selection data of a Personensuche (1330) or freie Suche (1332) after parsing, before normalisation:
//! what the engine needs, independent of XML.

use crate::register::model::TeilDatum;

/// House number fields (1206 number, 1208 letter/extra digits, 1209 Teilnummer); absent fields are
/// wildcards (Anlage Nr. 4g / 6i).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hausnummer {
    pub nummer: Option<u32>,
    pub zusatz: Option<String>,
    pub teilnummer: Option<String>,
}

impl Hausnummer {
    pub fn is_empty(&self) -> bool {
        self.nummer.is_none() && self.zusatz.is_none() && self.teilnummer.is_none()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HausnummerAuswahl {
    Einzeln(Hausnummer),
    /// Freie Suche only: a range on 1206, both ends inclusive.
    Bereich {
        von: u32,
        bis: u32,
    },
}

/// Name selection of a Personensuche: Familienname + Vornamen, or an Ordens-/Künstlername.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PersonName {
    NachnameUndVornamen { nachname: String, vornamen: String },
    OrdensOderKuenstlername(String),
}

/// Selection data of a Personensuche (§ 4 BMeldDAV).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Personensuche {
    pub name: PersonName,
    pub phonetik: bool,
    /// Wohnort: exactly one AGS.
    pub ags: String,
    pub plz: Option<String>,
    pub strasse: Option<String>,
    pub hausnummer: Hausnummer,
    pub geburtsdatum: Option<TeilDatum>,
    pub geburtsort: Option<String>,
    pub geschlecht: Option<String>,
    pub sterbetag: Option<TeilDatum>,
    pub sterbeort: Option<String>,
    pub azr_nummer: Option<String>,
}

/// Which addresses / person data count: current, non-current, or both (code list
/// `datenabruf.freieSuche.aktualitaet.suche.status`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Aktualitaet {
    Aktuell,
    Inaktuell,
    #[default]
    Beide,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Geburt {
    Datum(TeilDatum),
    /// Both ends full dates, inclusive.
    Zeitraum {
        von: TeilDatum,
        bis: TeilDatum,
    },
}

/// The search area of a freie Suche (`suchbereich`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Suchbereich {
    /// Two-digit Land key (`03` Niedersachsen).
    Bundesland(String),
    /// Three-digit Regierungsbezirk key.
    Bezirk(String),
    /// Five-digit Kreis key.
    Kreis(String),
    /// Eight-digit AGS.
    Gemeinde(String),
}

impl Suchbereich {
    /// Whether an AGS lies in the area.
    pub fn contains(&self, ags: &str) -> bool {
        let prefix = match self {
            Suchbereich::Bundesland(k)
            | Suchbereich::Bezirk(k)
            | Suchbereich::Kreis(k)
            | Suchbereich::Gemeinde(k) => k,
        };
        ags.starts_with(prefix.as_str())
    }
    pub fn key(&self) -> &str {
        match self {
            Suchbereich::Bundesland(k)
            | Suchbereich::Bezirk(k)
            | Suchbereich::Kreis(k)
            | Suchbereich::Gemeinde(k) => k,
        }
    }
}

/// Selection data of a freie Suche (§ 7 BMeldDAV); everything optional.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FreieSuche {
    pub nachname: Option<String>,
    pub vornamen: Option<String>,
    pub ordens_oder_kuenstlername: Option<String>,
    pub phonetik: bool,
    pub doktorgrad: Option<String>,
    pub ags: Option<String>,
    pub plz: Option<String>,
    pub strasse: Option<String>,
    pub wohnort: Option<String>,
    pub hausnummer: Option<HausnummerAuswahl>,
    pub aktualitaet_anschrift: Option<Aktualitaet>,
    pub geburt: Option<Geburt>,
    pub geburtsort: Option<String>,
    pub geschlecht: Option<String>,
    pub staatsangehoerigkeit: Option<String>,
    pub sterbetag: Option<TeilDatum>,
    pub sterbeort: Option<String>,
    pub aktualitaet_person: Option<Aktualitaet>,
    pub suchbereich: Suchbereich,
}

impl FreieSuche {
    /// An empty search over an area (tests and builders start here).
    pub fn in_area(suchbereich: Suchbereich) -> FreieSuche {
        FreieSuche {
            nachname: None,
            vornamen: None,
            ordens_oder_kuenstlername: None,
            phonetik: false,
            doktorgrad: None,
            ags: None,
            plz: None,
            strasse: None,
            wohnort: None,
            hausnummer: None,
            aktualitaet_anschrift: None,
            geburt: None,
            geburtsort: None,
            geschlecht: None,
            staatsangehoerigkeit: None,
            sterbetag: None,
            sterbeort: None,
            aktualitaet_person: None,
            suchbereich,
        }
    }
}
