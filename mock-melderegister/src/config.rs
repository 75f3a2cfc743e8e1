//! Configuration: Mandanten, the register, the binding choices the seed leaves open (each a documented
//! default, see `docs/melderegister.md`), limits.

use serde::{Deserialize, Serialize};

/// An authority registered with the mirror (seed: "Registrierung als Mandant").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MandantConfig {
    pub id: String,
    pub name: String,
    /// AGS of the authority; the default Kundennummer (seed: "ggf. identisch mit dem AGS").
    pub ags: String,
    /// E-mail of the Hauptadministrator: an order must give exactly this address.
    pub email: String,
    /// DVDV key, used as XMeld `autor/kennung`.
    pub dvdv: String,
    /// Security authority (§ 34(4) BMG).
    #[serde(default)]
    pub security: bool,
    /// Kundennummer issued after an order; `None` = the AGS.
    #[serde(default)]
    pub kundennummer: Option<String>,
}

/// Where the Kundennummer travels (the mirror's real API is not public; konform choice).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KundennummerOrt {
    /// SOAP header element `Kundennummer` in namespace `urn:konform:melderegister` (default).
    #[default]
    SoapHeader,
    /// HTTP header `X-Kundennummer`.
    HttpHeader,
    /// XMeld `nachrichtenkopf.g2g/autor/kennung`.
    Autor,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// SOAP request body.
    pub max_body_bytes: usize,
    /// Decoded XMeld message.
    pub max_message_bytes: usize,
    pub max_depth: usize,
    pub max_elements: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 4 * 1024 * 1024,
            max_message_bytes: 2 * 1024 * 1024,
            max_depth: 40,
            max_elements: 20_000,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MelderegisterConfig {
    /// Generated residents (plus the fixed example persons).
    pub residents: usize,
    pub seed: u64,
    /// The mirror's own DVDV key: Leser for searches beyond one Gemeinde, autor of the answers.
    pub eigene_kennung: String,
    pub mandanten: Vec<MandantConfig>,
    pub kundennummer_ort: KundennummerOrt,
    /// Answer `landesspezifischeErweiterungen` with reason 23 (true) or ignore them.
    pub landesspezifisch_ablehnen: bool,
    /// Validity of an Identifikationsmerkmal in hours (§ 9 BMeldDAV: 48).
    pub merkmal_stunden: u64,
    /// Validity of ordered client certificates in days.
    pub zertifikat_tage: u64,
    pub limits: Limits,
}

impl Default for MelderegisterConfig {
    fn default() -> Self {
        MelderegisterConfig {
            residents: 100_000,
            seed: 1,
            eigene_kennung: "ags:03000000".into(),
            mandanten: vec![
                MandantConfig {
                    id: "stadt-musterhausen".into(),
                    name: "Stadt Musterhausen, Bürgeramt (fiktiv)".into(),
                    ags: "03241001".into(),
                    email: "hauptadmin@buergeramt.musterhausen.example".into(),
                    dvdv: "dbs:032410010001".into(),
                    security: false,
                    kundennummer: None,
                },
                MandantConfig {
                    id: "polizei-musterstadt".into(),
                    name: "Polizeidirektion Musterstadt (fiktiv)".into(),
                    ags: "03404000".into(),
                    email: "it-admin@pd-musterstadt.example".into(),
                    dvdv: "dbs:034040000002".into(),
                    security: true,
                    kundennummer: None,
                },
            ],
            kundennummer_ort: KundennummerOrt::SoapHeader,
            landesspezifisch_ablehnen: true,
            merkmal_stunden: 48,
            zertifikat_tage: 730,
            limits: Limits::default(),
        }
    }
}

impl MelderegisterConfig {
    pub fn mandant(&self, id: &str) -> Option<&MandantConfig> {
        self.mandanten.iter().find(|m| m.id == id)
    }
    /// Check what serde cannot: unique ids, well-formed keys.
    pub fn validate(&self) -> Result<(), String> {
        let mut ids = std::collections::HashSet::new();
        for m in &self.mandanten {
            if !ids.insert(&m.id) {
                return Err(format!("Mandant `{}` is configured twice", m.id));
            }
            if m.ags.len() != 8 || !m.ags.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "Mandant `{}`: ags `{}` is not 8 digits",
                    m.id, m.ags
                ));
            }
            if !m.email.contains('@') {
                return Err(format!(
                    "Mandant `{}`: email `{}` is not an address",
                    m.id, m.email
                ));
            }
        }
        if self.merkmal_stunden == 0 {
            return Err("merkmal_stunden must be at least 1".into());
        }
        Ok(())
    }
}
