//! Navigating a parsed XMeld message: children by namespace and local name, with schema-style errors that
//! carry the path of the offending element.

use sim_kit::xmltree::Element;

pub const XMELD: &str = "http://www.osci.de/xmeld2511a";

/// A structural (schema) violation: the message is not a valid XMeld 25.11a Datenabruf.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SchemaError {
    pub rule: &'static str,
    pub message: String,
    pub location: String,
}

impl SchemaError {
    pub fn new(rule: &'static str, location: &str, message: impl Into<String>) -> SchemaError {
        SchemaError {
            rule,
            message: message.into(),
            location: location.to_string(),
        }
    }
}

/// An element with the path that led to it (for error locations).
#[derive(Clone, Copy)]
pub struct Node<'a> {
    pub el: &'a Element,
    pub path: &'a str,
}

/// Whether a child is the XMeld-qualified (`q = true`) or unqualified element `local`.
fn is(el: &Element, q: bool, local: &str) -> bool {
    el.local == local
        && if q {
            el.ns.as_deref() == Some(XMELD)
        } else {
            el.ns.is_none()
        }
}

pub fn path_join(path: &str, q: bool, local: &str) -> String {
    if q {
        format!("{path}/xmeld:{local}")
    } else {
        format!("{path}/{local}")
    }
}

impl<'a> Node<'a> {
    pub fn children(&self, q: bool, local: &str) -> Vec<&'a Element> {
        self.el
            .children
            .iter()
            .filter(|c| is(c, q, local))
            .collect()
    }
    /// The optional child; more than one is a schema error.
    pub fn opt(&self, q: bool, local: &str) -> Result<Option<&'a Element>, SchemaError> {
        let all = self.children(q, local);
        let first = all.first().copied();
        if all.len() > 1 {
            return Err(SchemaError::new(
                "xmeld.schema.max-occurs",
                &path_join(self.path, q, local),
                format!("Element '{local}' darf nur einmal vorkommen"),
            ));
        }
        if first.is_none()
            && let Some(c) = self.el.children.iter().find(|c| c.local == local)
        {
            return Err(SchemaError::new(
                "xmeld.schema.namespace",
                &path_join(self.path, q, local),
                format!(
                    "Element '{}' im falschen Namensraum ({}): erwartet {}",
                    c.qname,
                    c.ns.as_deref().unwrap_or("kein Namensraum"),
                    if q {
                        XMELD
                    } else {
                        "kein Namensraum (unqualifiziert)"
                    }
                ),
            ));
        }
        Ok(first)
    }
    pub fn req(&self, q: bool, local: &str) -> Result<&'a Element, SchemaError> {
        self.opt(q, local)?.ok_or_else(|| {
            SchemaError::new(
                "xmeld.schema.required",
                &path_join(self.path, q, local),
                format!(
                    "Pflichtelement '{}{local}' fehlt in '{}'",
                    if q { "xmeld:" } else { "" },
                    self.el.qname
                ),
            )
        })
    }
    /// Text of an optional child, trimmed; an empty element counts as absent.
    pub fn opt_text(&self, q: bool, local: &str) -> Result<Option<String>, SchemaError> {
        Ok(self
            .opt(q, local)?
            .map(|e| e.text.trim().to_string())
            .filter(|t| !t.is_empty()))
    }
    pub fn req_text(&self, q: bool, local: &str) -> Result<String, SchemaError> {
        let e = self.req(q, local)?;
        let t = e.text.trim();
        if t.is_empty() {
            return Err(SchemaError::new(
                "xmeld.schema.empty",
                &path_join(self.path, q, local),
                format!("Element '{}' ist leer", e.qname),
            ));
        }
        Ok(t.to_string())
    }
    /// `<x><code>…</code></x>`: the code value.
    pub fn code_of(el: &Element, path: &str) -> Result<String, SchemaError> {
        Node { el, path }.req_text(false, "code")
    }
    pub fn bool_of(el: &Element, path: &str) -> Result<bool, SchemaError> {
        match el.text.trim() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            other => Err(SchemaError::new(
                "xmeld.schema.boolean",
                path,
                format!("'{other}' ist kein gültiger Wert für xs:boolean"),
            )),
        }
    }
}
