//! A resident of the synthetic register: the DSMeld data the searches select on and the answers carry.
//! Every resident is fictitious; the generator marks them so and so do the answers' documentation.

use serde::{Deserialize, Serialize};

/// A date that may be partially unknown (DSMeld `DDMMYYYY` with `00` for unknown parts; here year, month,
/// day with 0 = unknown).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct TeilDatum {
    pub jahr: u16,
    pub monat: u8,
    pub tag: u8,
}

impl TeilDatum {
    pub const fn new(jahr: u16, monat: u8, tag: u8) -> TeilDatum {
        TeilDatum { jahr, monat, tag }
    }
    pub fn is_full(&self) -> bool {
        self.jahr != 0 && self.monat != 0 && self.tag != 0
    }
    pub fn is_unknown(&self) -> bool {
        self.jahr == 0 && self.monat == 0 && self.tag == 0
    }
    /// `YYYY-MM-DD`, `YYYY-MM`, `YYYY` — the XML forms of `teilbekanntesDatum`; `None` when unknown.
    pub fn xml(&self) -> Option<(&'static str, String)> {
        match (self.jahr, self.monat, self.tag) {
            (0, _, _) => None,
            (j, 0, _) => Some(("jahr", format!("{j:04}"))),
            (j, m, 0) => Some(("jahrMonat", format!("{j:04}-{m:02}"))),
            (j, m, t) => Some(("jahrMonatTag", format!("{j:04}-{m:02}-{t:02}"))),
        }
    }
    /// Parse `YYYY-MM-DD`, `YYYY-MM`, `YYYY` (and DSMeld `DDMMYYYY` with `00` parts); checks calendar days.
    pub fn parse(s: &str) -> Option<TeilDatum> {
        let s = s.trim();
        let num = |x: &str| -> Option<u32> {
            if x.is_empty() || !x.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            x.parse().ok()
        };
        let d = if s.len() == 8 && !s.contains('-') {
            TeilDatum::new(
                num(&s[4..8])? as u16,
                num(&s[2..4])? as u8,
                num(&s[0..2])? as u8,
            )
        } else {
            let p: Vec<&str> = s.split('-').collect();
            match p.as_slice() {
                [y] if y.len() == 4 => TeilDatum::new(num(y)? as u16, 0, 0),
                [y, m] if y.len() == 4 && m.len() == 2 => {
                    TeilDatum::new(num(y)? as u16, num(m)? as u8, 0)
                }
                [y, m, t] if y.len() == 4 && m.len() == 2 && t.len() == 2 => {
                    TeilDatum::new(num(y)? as u16, num(m)? as u8, num(t)? as u8)
                }
                _ => return None,
            }
        };
        d.valid().then_some(d)
    }
    fn valid(&self) -> bool {
        if self.monat > 12 || (self.jahr == 0 && (self.monat != 0 || self.tag != 0)) {
            return false;
        }
        if self.monat == 0 {
            return self.tag == 0 || self.jahr == 0;
        }
        self.tag <= days_in_month(self.jahr, self.monat)
    }
    /// Days since 0000-03-01 style ordinal for comparisons of full dates (proleptic Gregorian).
    pub fn ordinal(&self) -> i64 {
        let (y, m, d) = (
            self.jahr as i64,
            self.monat.max(1) as i64,
            self.tag.max(1) as i64,
        );
        let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
        365 * y + y / 4 - y / 100 + y / 400 + (153 * m + 2) / 5 + d
    }
}

pub fn days_in_month(y: u16, m: u8) -> u8 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        2 => 28,
        _ => 0,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Wohnungsstatus {
    /// Alleinige Wohnung / Hauptwohnung.
    Haupt,
    Neben,
}

/// One address of a resident (current or former).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wohnung {
    /// Amtlicher Gemeindeschlüssel (8 digits).
    pub ags: String,
    pub plz: String,
    pub ort: String,
    pub strasse: String,
    #[serde(default)]
    pub hausnummer: Option<u32>,
    /// 1208: letter / additional digits (`a`, `1/2`).
    #[serde(default)]
    pub zusatz: Option<String>,
    /// 1209: Teilnummer.
    #[serde(default)]
    pub teilnummer: Option<String>,
    pub status: Wohnungsstatus,
    #[serde(default)]
    pub einzug: Option<TeilDatum>,
    #[serde(default)]
    pub auszug: Option<TeilDatum>,
    /// Still lived in (false: a former address).
    pub aktuell: bool,
}

/// A fictitious resident.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Einwohner {
    /// Ordnungsmerkmal of the register (never sent; the Identifikationsmerkmal is derived from nothing).
    pub ordnungsmerkmal: String,
    pub familienname: String,
    /// Geburtsname and earlier family names (0201a, 0203a).
    #[serde(default)]
    pub fruehere_namen: Vec<String>,
    /// Vornamen as one string, separated by spaces (`+`: "Name zu Recht nicht vorhanden").
    pub vornamen: String,
    #[serde(default)]
    pub fruehere_vornamen: Vec<String>,
    #[serde(default)]
    pub doktorgrad: Option<String>,
    #[serde(default)]
    pub ordensname: Option<String>,
    #[serde(default)]
    pub kuenstlername: Option<String>,
    /// `m`, `w`, `d`, `x`.
    pub geschlecht: String,
    pub geburtsdatum: TeilDatum,
    #[serde(default)]
    pub fruehere_geburtsdaten: Vec<TeilDatum>,
    pub geburtsort: String,
    /// Staatsangehörigkeit as a Destatis code (`000` deutsch).
    #[serde(default = "deutsch")]
    pub staatsangehoerigkeit: String,
    pub wohnungen: Vec<Wohnung>,
    #[serde(default)]
    pub sterbedatum: Option<TeilDatum>,
    #[serde(default)]
    pub sterbeort: Option<String>,
    #[serde(default)]
    pub auskunftssperre: bool,
}

fn deutsch() -> String {
    "000".into()
}

impl Einwohner {
    /// Current main address (or the first current one).
    pub fn hauptwohnung(&self) -> Option<&Wohnung> {
        self.wohnungen
            .iter()
            .find(|w| w.aktuell && w.status == Wohnungsstatus::Haupt)
            .or_else(|| self.wohnungen.iter().find(|w| w.aktuell))
    }
    pub fn verstorben(&self) -> bool {
        self.sterbedatum.is_some()
    }
    /// Moved away: no current address any more (and not deceased).
    pub fn verzogen(&self) -> bool {
        !self.verstorben() && !self.wohnungen.iter().any(|w| w.aktuell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_dates() {
        assert_eq!(
            TeilDatum::parse("1973-02-02"),
            Some(TeilDatum::new(1973, 2, 2))
        );
        assert_eq!(
            TeilDatum::parse("1998-03"),
            Some(TeilDatum::new(1998, 3, 0))
        );
        assert_eq!(TeilDatum::parse("1998"), Some(TeilDatum::new(1998, 0, 0)));
        assert_eq!(
            TeilDatum::parse("00031998"),
            Some(TeilDatum::new(1998, 3, 0))
        );
        assert_eq!(TeilDatum::parse("00000000"), Some(TeilDatum::new(0, 0, 0)));
        assert_eq!(TeilDatum::parse("2023-02-29"), None);
        assert_eq!(
            TeilDatum::parse("2024-02-29"),
            Some(TeilDatum::new(2024, 2, 29))
        );
        assert_eq!(TeilDatum::parse("1998-13-01"), None);
        assert_eq!(TeilDatum::parse("01001998"), None, "day without month");
        assert_eq!(TeilDatum::parse("+1998"), None);
        assert!(TeilDatum::new(2000, 1, 1).ordinal() < TeilDatum::new(2000, 1, 2).ordinal());
        assert_eq!(
            TeilDatum::new(2000, 3, 1).ordinal() - TeilDatum::new(2000, 2, 28).ordinal(),
            2
        );
    }
}
