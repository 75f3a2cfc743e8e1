//! A diagnosis explains a rejection. The real services answer a bare status; the simulators answer the same
//! status and add a diagnosis to the journal and the `X-Konform-Diagnosis` header.

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
            rule: rule.into(),
            location: None,
            message: message.into(),
            hint: None,
            seed: None,
        }
    }
    pub fn at(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub fn seed(mut self, seed: impl Into<String>) -> Self {
        self.seed = Some(seed.into());
        self
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
    fn pointer_escape() {
        assert_eq!(pointer_token("a/b~c"), "a~1b~0c");
    }
}
