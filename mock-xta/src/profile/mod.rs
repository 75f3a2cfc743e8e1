//! Transport profiles: data files (YAML) that say what a message for a service must look like, loaded at
//! start and applied to every send. Two ship with konform ([`BUILTIN`]); more can be loaded from files
//! (`profile_files` in the configuration). A profile is chosen by the message's Service (or one of the
//! spellings the profile lists as variants).

pub mod check;
#[cfg(test)]
mod golden;
pub mod keys;
pub mod model;
pub mod names;

pub use check::{Facts, Finding, Level, Routing, Verdict};
pub use model::{Profile, Severity, SizeUnit};

use serde::{Deserialize, Serialize};

/// The profiles shipped with konform: (file name, text).
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "fim-versammlungsanzeige-1.4.yaml",
        include_str!("../../profiles/fim-versammlungsanzeige-1.4.yaml"),
    ),
    (
        "xdomea-antrag-2.4.yaml",
        include_str!("../../profiles/xdomea-antrag-2.4.yaml"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error(transparent)]
    Yaml(#[from] sim_kit::config::ConfigError),
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
}

/// Parse and validate one profile file's text.
pub fn parse(text: &str, origin: &str) -> Result<Profile, ProfileError> {
    let p: Profile = sim_kit::config::from_yaml(text, origin)?;
    p.validate().map_err(|message| ProfileError::Invalid {
        origin: origin.to_string(),
        message,
    })?;
    Ok(p)
}

/// Switches a deployment may set per profile (configuration `profile_switches.<id>`), overriding the file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Switches {
    /// Severity of every service variant (the misspelt FIM service): `warning` (default) or `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_variants: Option<Severity>,
    /// `mebibyte` (40 × 2²⁰, default) or `megabyte` (40 × 10⁶).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_unit: Option<SizeUnit>,
    /// `header_wins` (default) or `reject`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_routing_difference: Option<model::Difference>,
}

impl Switches {
    pub fn apply(&self, p: &mut Profile) {
        if let Some(s) = self.service_variants {
            for v in &mut p.service.variants {
                v.severity = s;
            }
        }
        if let (Some(u), Some(m)) = (self.size_unit, p.max_size.as_mut()) {
            m.unit = u;
        }
        if let (Some(d), Some(h)) = (self.on_routing_difference, p.header.as_mut()) {
            h.on_routing_difference = d;
        }
    }
}

/// The loaded profiles.
#[derive(Clone, Debug, Default)]
pub struct Profiles {
    list: Vec<Profile>,
}

impl Profiles {
    pub fn new(list: Vec<Profile>) -> Result<Profiles, String> {
        let mut seen = std::collections::HashMap::new();
        for p in &list {
            if let Some(other) = seen.insert(p.id.clone(), p.title.clone()) {
                return Err(format!(
                    "two transport profiles with id `{}` ({other})",
                    p.id
                ));
            }
        }
        for (i, a) in list.iter().enumerate() {
            for b in &list[i + 1..] {
                for u in
                    std::iter::once(&a.service.uri).chain(a.service.variants.iter().map(|v| &v.uri))
                {
                    if b.service.uri == *u || b.service.variants.iter().any(|v| v.uri == *u) {
                        return Err(format!(
                            "transport profiles `{}` and `{}` both claim the service `{u}`",
                            a.id, b.id
                        ));
                    }
                }
            }
        }
        Ok(Profiles { list })
    }

    /// The built-in profiles.
    pub fn builtin() -> Result<Profiles, ProfileError> {
        let list = BUILTIN
            .iter()
            .map(|(name, text)| parse(text, &format!("<built-in>/{name}")))
            .collect::<Result<Vec<_>, _>>()?;
        Profiles::new(list).map_err(|message| ProfileError::Invalid {
            origin: "<built-in>".into(),
            message,
        })
    }

    pub fn all(&self) -> &[Profile] {
        &self.list
    }

    pub fn by_id(&self, id: &str) -> Option<&Profile> {
        self.list.iter().find(|p| p.id == id)
    }

    /// The profile for a service URI (exact or a listed variant).
    pub fn for_service(&self, service: &str) -> Option<&Profile> {
        self.list.iter().find(|p| {
            p.service.uri == service || p.service.variants.iter().any(|v| v.uri == service)
        })
    }

    /// Replace a profile (switches applied by the caller).
    pub fn replace(&mut self, p: Profile) {
        if let Some(slot) = self.list.iter_mut().find(|x| x.id == p.id) {
            *slot = p;
        } else {
            self.list.push(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_profiles_load() {
        let p = Profiles::builtin().unwrap();
        let fim = p.for_service("urn:fim:Versamlungsanzeige:1.4").unwrap();
        assert_eq!(fim.id, "fim-versammlungsanzeige-1.4");
        assert_eq!(fim.max_size.as_ref().unwrap().bytes(), 40 * 1024 * 1024);
        assert!(
            p.for_service("urn:xoev-de:xdomea:schema:2.4.0/xdomea240Antrag.wsdl")
                .is_some()
        );
        assert!(p.for_service("urn:other").is_none());
    }

    #[test]
    fn errors_name_file_and_line() {
        let text = BUILTIN[0].1.replace("test: [\"99\"]", "test: [\"9x\"]");
        let e = parse(&text, "my.yaml").unwrap_err().to_string();
        assert!(e.starts_with("my.yaml: "), "{e}");
        assert!(e.contains("9x") && e.contains("digit range"), "{e}");
        let line = text.lines().position(|l| l.contains("9x")).unwrap() + 1;
        assert!(
            e.contains(&line.to_string()),
            "line {line} expected in: {e}"
        );
        let e = parse(
            &BUILTIN[0].1.replace("from: 9, to: 10", "from: 9, to: 14"),
            "x.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("do not lie within the 12 digits"), "{e}");
        let e = parse(
            &BUILTIN[0]
                .1
                .replace("unique: true", "unique: true\n  colour: red"),
            "x.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("colour"), "{e}");
    }

    #[test]
    fn switches_override() {
        let mut p = Profiles::builtin().unwrap().list.remove(0);
        Switches {
            service_variants: Some(Severity::Error),
            size_unit: Some(SizeUnit::Megabyte),
            on_routing_difference: Some(model::Difference::Reject),
        }
        .apply(&mut p);
        assert_eq!(p.service.variants[0].severity, Severity::Error);
        assert_eq!(p.max_size.unwrap().bytes(), 40_000_000);
        assert_eq!(
            p.header.unwrap().on_routing_difference,
            model::Difference::Reject
        );
    }
}
