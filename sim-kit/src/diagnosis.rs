//! A diagnosis explains a rejection. The real services answer a bare status; the simulators answer the same
//! status and add a diagnosis to the journal and the `X-Konform-Diagnosis` header.
//!
//! Diagnoses are bounded: the constructors cut `location` to [`clip::MAX_LOCATION`] and `message` / `hint`
//! to [`clip::MAX_MESSAGE`] bytes (noting the full size), so a simulator that quotes a 4 MB element name
//! stays bounded without doing anything. The journal applies [`Diagnosis::bounded`] again to diagnoses
//! built as struct literals.

use crate::clip;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// Stable rule name, e.g. `json.duplicate-key`, `kvnr.check-digit`, `cms.message-digest`.
    pub rule: String,
    /// JSON pointer (`/Meldungen/3/IdVersicherter`) or XPath of the offending part; `None` for the whole request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    pub message: String,
    /// What to do about it, when the likely fix is known (near misses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The seed passage the rule rests on, e.g. `002 "Festlegungen zu den JSON-Daten"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
}

impl Diagnosis {
    pub fn new(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnosis {
            rule: bounded(rule.into(), clip::MAX_LOCATION),
            location: None,
            message: bounded(message.into(), clip::MAX_MESSAGE),
            hint: None,
            seed: None,
        }
    }
    pub fn at(mut self, location: impl Into<String>) -> Self {
        self.location = Some(bounded(location.into(), clip::MAX_LOCATION));
        self
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(bounded(hint.into(), clip::MAX_MESSAGE));
        self
    }
    pub fn seed(mut self, seed: impl Into<String>) -> Self {
        self.seed = Some(bounded(seed.into(), clip::MAX_LOCATION));
        self
    }

    /// Every field within its bound (a no-op for diagnoses made with the constructors).
    pub fn bounded(mut self) -> Self {
        self.bound_in_place();
        self
    }

    pub(crate) fn bound_in_place(&mut self) {
        clip::clip_in_place(&mut self.rule, clip::MAX_LOCATION);
        clip::clip_in_place(&mut self.message, clip::MAX_MESSAGE);
        for (f, max) in [
            (&mut self.location, clip::MAX_LOCATION),
            (&mut self.hint, clip::MAX_MESSAGE),
            (&mut self.seed, clip::MAX_LOCATION),
        ] {
            if let Some(s) = f {
                clip::clip_in_place(s, max);
            }
        }
    }

    /// Approximate bytes this diagnosis occupies (for the journal's byte budget).
    pub fn approx_size(&self) -> usize {
        64 + self.rule.len()
            + self.message.len()
            + self.location.as_ref().map_or(0, String::len)
            + self.hint.as_ref().map_or(0, String::len)
            + self.seed.as_ref().map_or(0, String::len)
    }

    /// One header line: `rule at location: message (hint)`, restricted to visible ASCII
    /// (other characters are written as `\u{…}` so the header stays valid).
    pub fn header_value(&self) -> String {
        let mut s = self.rule.clone();
        if let Some(l) = &self.location {
            s.push_str(" at ");
            s.push_str(l);
        }
        s.push_str(": ");
        s.push_str(&self.message);
        if let Some(h) = &self.hint {
            s.push_str(" (hint: ");
            s.push_str(h);
            s.push(')');
        }
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            if c == ' ' || c.is_ascii_graphic() {
                out.push(c);
            } else if c == '\n' || c == '\r' || c == '\t' {
                out.push(' ');
            } else {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            if out.len() > 1500 {
                out.push_str("...");
                break;
            }
        }
        out
    }
}

fn bounded(mut s: String, max: usize) -> String {
    clip::clip_in_place(&mut s, max);
    s
}

/// Escape one JSON pointer reference token (RFC 6901).
pub fn pointer_token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_ascii_and_readable() {
        let d = Diagnosis::new("kvnr.check-digit", "Prüfziffer falsch\n")
            .at("/Meldungen/3/IdVersicherter")
            .hint("recompute");
        let h = d.header_value();
        assert!(h.is_ascii());
        assert_eq!(
            h,
            "kvnr.check-digit at /Meldungen/3/IdVersicherter: Pr\\u{fc}fziffer falsch  (hint: recompute)"
        );
        assert!(axum::http::HeaderValue::from_str(&h).is_ok());
    }

    #[test]
    fn constructors_bound_every_field() {
        let name = "x".repeat(4_194_304);
        let d = Diagnosis::new("xml.unknown-element", format!("unknown element {name}"))
            .at(format!("/Envelope/Body/{name}"))
            .hint(name.clone());
        assert!(d.location.as_ref().unwrap().len() <= clip::MAX_LOCATION);
        assert!(d.message.len() <= clip::MAX_MESSAGE);
        assert!(d.hint.as_ref().unwrap().len() <= clip::MAX_MESSAGE);
        assert!(
            d.message.ends_with("…(4,194,320 bytes)"),
            "{}",
            &d.message[2000..]
        );
        assert!(d.location.unwrap().starts_with("/Envelope/Body/xxx"));
        // A struct literal is bounded by `bounded()` (the journal calls it).
        let lit = Diagnosis {
            rule: "r".into(),
            location: None,
            message: name,
            hint: None,
            seed: None,
        }
        .bounded();
        assert!(lit.message.len() <= clip::MAX_MESSAGE);
    }

    #[test]
    fn pointer_escape() {
        assert_eq!(pointer_token("a/b~c"), "a~1b~0c");
    }
}
