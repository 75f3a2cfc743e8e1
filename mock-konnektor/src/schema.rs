//! Just enough XML Schema to validate the requests this simulator serves, with the messages a Xerces-based
//! Konnektor puts into the tel/error `Detail` (`cvc-complex-type.2.4.a: Invalid content was found …`).
//!
//! Content models are written per operation in [`crate::ops`] as sequences of [`P`]articles; `<all>` groups
//! (the `OptionalInputs` of SignRequest and ExternalAuthenticate) use [`all`].

use crate::xml::{Element, XmlError};

/// Namespaces of the Konnektor interfaces.
pub mod ns {
    pub const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
    pub const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
    pub const CONN: &str = "http://ws.gematik.de/conn/ConnectorCommon/v5.0";
    pub const CCTX: &str = "http://ws.gematik.de/conn/ConnectorContext/v2.0";
    pub const EVT: &str = "http://ws.gematik.de/conn/EventService/v7.2";
    pub const CARD: &str = "http://ws.gematik.de/conn/CardService/v8.1";
    pub const CARDCMN: &str = "http://ws.gematik.de/conn/CardServiceCommon/v2.0";
    pub const CT: &str = "http://ws.gematik.de/conn/CardTerminalInfo/v8.0";
    pub const CERT: &str = "http://ws.gematik.de/conn/CertificateService/v6.0";
    pub const CERTCMN: &str = "http://ws.gematik.de/conn/CertificateServiceCommon/v2.0";
    pub const SIG: &str = "http://ws.gematik.de/conn/SignatureService/v7.4";
    pub const DSS: &str = "urn:oasis:names:tc:dss:1.0:core:schema";
    pub const SP: &str = "urn:oasis:names:tc:dss-x:1.0:profiles:SignaturePolicy:schema#";
    pub const GERROR: &str = "http://ws.gematik.de/tel/error/v2.0";
    pub const PI: &str = "http://ws.gematik.de/int/version/ProductInformation/v1.1";
    pub const SDS: &str = "http://ws.gematik.de/conn/ServiceDirectory/v3.1";
    pub const SI: &str = "http://ws.gematik.de/conn/ServiceInformation/v2.0";
}

/// One particle of a content model: element `{ns}name`, occurring `min..=max` times.
#[derive(Clone, Copy, Debug)]
pub struct P {
    pub ns: &'static str,
    pub name: &'static str,
    pub min: u32,
    pub max: u32,
}

pub const UNBOUNDED: u32 = u32::MAX;

pub const fn req(ns: &'static str, name: &'static str) -> P {
    P {
        ns,
        name,
        min: 1,
        max: 1,
    }
}
pub const fn opt(ns: &'static str, name: &'static str) -> P {
    P {
        ns,
        name,
        min: 0,
        max: 1,
    }
}
pub const fn many(ns: &'static str, name: &'static str, min: u32) -> P {
    P {
        ns,
        name,
        min,
        max: UNBOUNDED,
    }
}

impl P {
    fn matches(&self, e: &Element) -> bool {
        e.is(self.ns, self.name)
    }
    fn expanded(&self) -> String {
        format!("\"{}\":{}", self.ns, self.name)
    }
}

/// XPath step for child `idx` of `parent` (with a position when siblings share the name).
pub fn step(parent: &Element, idx: usize) -> String {
    let c = &parent.children[idx];
    let same = parent
        .children
        .iter()
        .filter(|s| s.local == c.local && s.ns == c.ns)
        .count();
    if same > 1 {
        let pos = parent.children[..=idx]
            .iter()
            .filter(|s| s.local == c.local && s.ns == c.ns)
            .count();
        format!("{}[{pos}]", c.qname)
    } else {
        c.qname.clone()
    }
}

fn expected_list(ps: &[P]) -> String {
    ps.iter().map(P::expanded).collect::<Vec<_>>().join(", ")
}

/// Character data in an element-only content model.
fn check_no_text(el: &Element, path: &str) -> Result<(), XmlError> {
    if el.has_text() {
        return Err(XmlError::new(
            "schema.text",
            format!(
                "cvc-complex-type.2.3: Element '{}' cannot have character [children], because the type's content type is element-only.",
                el.qname
            ),
        )
        .at(path));
    }
    Ok(())
}

/// The particles that could come next, starting at `from`.
fn possible(model: &[P], counts: &[u32], from: usize) -> Vec<P> {
    let mut v = Vec::new();
    for i in from..model.len() {
        if counts[i] < model[i].max {
            v.push(model[i]);
        }
        if counts[i] < model[i].min {
            break;
        }
    }
    v
}

fn unexpected(el: &Element, path: &str, ci: usize, expected: &[P]) -> XmlError {
    let child = &el.children[ci];
    let msg = if expected.is_empty() {
        format!(
            "cvc-complex-type.2.4.d: Invalid content was found starting with element '{}'. No child element is expected at this point.",
            child.qname
        )
    } else {
        format!(
            "cvc-complex-type.2.4.a: Invalid content was found starting with element '{}'. One of '{{{}}}' is expected.",
            child.qname,
            expected_list(expected)
        )
    };
    XmlError::new("schema.unexpected-element", msg).at(format!("{path}/{}", step(el, ci)))
}

/// Match the children of `el` against a sequence; returns the matched children per particle (indices into
/// `el.children`).
pub fn seq(el: &Element, path: &str, model: &[P]) -> Result<Vec<Vec<usize>>, XmlError> {
    check_no_text(el, path)?;
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); model.len()];
    let mut counts = vec![0u32; model.len()];
    let mut pi = 0usize;
    for (ci, child) in el.children.iter().enumerate() {
        let start = pi;
        loop {
            if pi >= model.len() {
                return Err(unexpected(el, path, ci, &possible(model, &counts, start)));
            }
            let p = &model[pi];
            if p.matches(child) && counts[pi] < p.max {
                out[pi].push(ci);
                counts[pi] += 1;
                break;
            }
            if counts[pi] < p.min {
                return Err(unexpected(el, path, ci, &possible(model, &counts, start)));
            }
            pi += 1;
        }
    }
    for i in pi..model.len() {
        if counts[i] < model[i].min {
            return Err(XmlError::new(
                "schema.missing-element",
                format!(
                    "cvc-complex-type.2.4.b: The content of element '{}' is not complete. One of '{{{}}}' is expected.",
                    el.qname,
                    expected_list(&possible(model, &counts, pi))
                ),
            )
            .at(path.to_string()));
        }
    }
    Ok(out)
}

/// Match the children of `el` against an `<all>` group (any order, each at most once).
pub fn all(el: &Element, path: &str, model: &[P]) -> Result<Vec<Option<usize>>, XmlError> {
    check_no_text(el, path)?;
    let mut out: Vec<Option<usize>> = vec![None; model.len()];
    for (ci, child) in el.children.iter().enumerate() {
        match model.iter().position(|p| p.matches(child)) {
            Some(pi) if out[pi].is_none() => out[pi] = Some(ci),
            _ => {
                let remaining: Vec<P> = model
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| out[*i].is_none())
                    .map(|(_, p)| *p)
                    .collect();
                let msg = if remaining.is_empty() {
                    format!(
                        "cvc-complex-type.2.4.d: Invalid content was found starting with element '{}'. No child element is expected at this point.",
                        child.qname
                    )
                } else {
                    format!(
                        "cvc-complex-type.2.4.a: Invalid content was found starting with element '{}'. One of '{{{}}}' is expected.",
                        child.qname,
                        expected_list(&remaining)
                    )
                };
                return Err(XmlError::new("schema.unexpected-element", msg)
                    .at(format!("{path}/{}", step(el, ci))));
            }
        }
    }
    for (i, p) in model.iter().enumerate() {
        if p.min > 0 && out[i].is_none() {
            return Err(XmlError::new(
                "schema.missing-element",
                format!(
                    "cvc-complex-type.2.4.b: The content of element '{}' is not complete. One of '{{{}}}' is expected.",
                    el.qname,
                    p.expanded()
                ),
            )
            .at(path.to_string()));
        }
    }
    Ok(out)
}

/// The text of a simple-typed element (no child elements allowed).
pub fn simple<'a>(el: &'a Element, path: &str) -> Result<&'a str, XmlError> {
    if let Some(c) = el.children.first() {
        return Err(XmlError::new(
            "schema.simple-content",
            format!(
                "cvc-type.3.1.2: Element '{}' is a simple type, so it must have no element information item [children] (found '{}').",
                el.qname, c.qname
            ),
        )
        .at(path.to_string()));
    }
    Ok(&el.text)
}

/// Whitespace-collapsed value (xs:token and the built-in types with `collapse`).
pub fn collapse(s: &str) -> String {
    s.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn enumeration(
    el: &Element,
    path: &str,
    allowed: &[&str],
    collapse_ws: bool,
) -> Result<String, XmlError> {
    let raw = simple(el, path)?;
    let v = if collapse_ws {
        collapse(raw)
    } else {
        raw.to_string()
    };
    if allowed.contains(&v.as_str()) {
        Ok(v)
    } else {
        Err(XmlError::new(
            "schema.enumeration",
            format!(
                "cvc-enumeration-valid: Value '{v}' is not facet-valid with respect to enumeration '[{}]'. It must be a value from the enumeration.",
                allowed.join(", ")
            ),
        )
        .at(path.to_string()))
    }
}

pub fn max_length(el: &Element, path: &str, max: usize) -> Result<String, XmlError> {
    let v = simple(el, path)?;
    let n = v.chars().count();
    if n > max {
        return Err(XmlError::new(
            "schema.max-length",
            format!(
                "cvc-maxLength-valid: Value '{}' with length = '{n}' is not facet-valid with respect to maxLength '{max}' for type of element '{}'.",
                truncate(v, 80),
                el.qname
            ),
        )
        .at(path.to_string()));
    }
    Ok(v.to_string())
}

pub fn boolean(el: &Element, path: &str) -> Result<bool, XmlError> {
    let v = collapse(simple(el, path)?);
    match v.as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(XmlError::new(
            "schema.datatype",
            format!(
                "cvc-datatype-valid.1.2.1: '{}' is not a valid value for 'boolean'.",
                truncate(&v, 80)
            ),
        )
        .at(path.to_string())),
    }
}

/// xs:base64Binary: whitespace is ignored, the rest must be canonical-ish base64 with padding.
pub fn base64(el: &Element, path: &str) -> Result<Vec<u8>, XmlError> {
    let v = simple(el, path)?;
    let compact: String = v.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    ti_core::b64_decode(&compact).map_err(|_| {
        XmlError::new(
            "schema.datatype",
            format!(
                "cvc-datatype-valid.1.2.1: '{}' is not a valid value for 'base64Binary'.",
                truncate(&compact, 80)
            ),
        )
        .at(path.to_string())
    })
}

pub fn positive_integer(el: &Element, path: &str) -> Result<u64, XmlError> {
    let v = collapse(simple(el, path)?);
    let t = v.strip_prefix('+').unwrap_or(&v);
    match t.parse::<u64>() {
        Ok(n) if n > 0 && t.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(XmlError::new(
            "schema.datatype",
            format!(
                "cvc-datatype-valid.1.2.1: '{}' is not a valid value for 'positiveInteger'.",
                truncate(&v, 80)
            ),
        )
        .at(path.to_string())),
    }
}

/// xs:dateTime (lexical check).
pub fn date_time(el: &Element, path: &str) -> Result<String, XmlError> {
    let v = collapse(simple(el, path)?);
    let ok = time::OffsetDateTime::parse(&v, &time::format_description::well_known::Rfc3339)
        .is_ok()
        || time::PrimitiveDateTime::parse(
            &v,
            time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
        )
        .is_ok()
        || time::PrimitiveDateTime::parse(
            &v,
            time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]"
            ),
        )
        .is_ok();
    if ok {
        Ok(v)
    } else {
        Err(XmlError::new(
            "schema.datatype",
            format!(
                "cvc-datatype-valid.1.2.1: '{}' is not a valid value for 'dateTime'.",
                truncate(&v, 80)
            ),
        )
        .at(path.to_string()))
    }
}

pub fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n).collect::<String>() + "…"
    }
}

/// A required attribute.
pub fn required_attr<'a>(el: &'a Element, path: &str, name: &str) -> Result<&'a str, XmlError> {
    el.attr(name).ok_or_else(|| {
        XmlError::new(
            "schema.missing-attribute",
            format!(
                "cvc-complex-type.4: Attribute '{name}' must appear on element '{}'.",
                el.qname
            ),
        )
        .at(path.to_string())
    })
}

/// Only the listed unqualified attributes (and xsi/xml ones) may appear.
pub fn allowed_attrs(el: &Element, path: &str, allowed: &[&str]) -> Result<(), XmlError> {
    for a in &el.attrs {
        let ok = match &a.ns {
            None => allowed.contains(&a.local.as_str()),
            Some(ns) => {
                ns == "http://www.w3.org/2001/XMLSchema-instance"
                    || ns == "http://www.w3.org/XML/1998/namespace"
            }
        };
        if !ok {
            return Err(XmlError::new(
                "schema.unexpected-attribute",
                format!(
                    "cvc-complex-type.3.2.2: Attribute '{}' is not allowed to appear in element '{}'.",
                    a.local, el.qname
                ),
            )
            .at(path.to_string()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{Limits, parse};

    const M: &[P] = &[req("urn:t", "a"), opt("urn:t", "b"), many("urn:t", "c", 1)];

    fn el(s: &str) -> Element {
        parse(s.as_bytes(), Limits::default()).unwrap()
    }

    #[test]
    fn sequences() {
        let ok = el(r#"<r xmlns="urn:t"><a/><c/><c/></r>"#);
        let m = seq(&ok, "/r", M).unwrap();
        assert_eq!(m, vec![vec![0], vec![], vec![1, 2]]);

        let e = seq(&el(r#"<r xmlns="urn:t"><b/></r>"#), "/r", M).unwrap_err();
        assert!(e.reason.starts_with("cvc-complex-type.2.4.a"), "{e:?}");
        assert!(e.reason.contains("\"urn:t\":a"), "{e:?}");
        assert_eq!(e.location.as_deref(), Some("/r/b"));

        let e = seq(&el(r#"<r xmlns="urn:t"><a/></r>"#), "/r", M).unwrap_err();
        assert!(e.reason.starts_with("cvc-complex-type.2.4.b"), "{e:?}");
        assert!(e.reason.contains("\"urn:t\":b, \"urn:t\":c"), "{e:?}");

        let e = seq(&el(r#"<r xmlns="urn:t"><a/><c/><x/></r>"#), "/r", M).unwrap_err();
        assert!(e.reason.contains("'x'"), "{e:?}");

        let e = seq(&el(r#"<r xmlns="urn:t"><a/><b/><b/><c/></r>"#), "/r", M).unwrap_err();
        assert!(e.reason.contains("\"urn:t\":c"), "{e:?}");
        assert_eq!(e.location.as_deref(), Some("/r/b[2]"));

        let e = seq(&el(r#"<r xmlns="urn:u"><a/></r>"#), "/r", M).unwrap_err();
        assert!(e.reason.contains("2.4.a"), "{e:?}");

        let e = seq(&el(r#"<r xmlns="urn:t">x<a/><c/></r>"#), "/r", M).unwrap_err();
        assert!(e.reason.contains("2.3"), "{e:?}");
    }

    #[test]
    fn all_groups_and_types() {
        let m = [opt("urn:t", "a"), opt("urn:t", "b")];
        assert_eq!(
            all(&el(r#"<r xmlns="urn:t"><b/><a/></r>"#), "/r", &m).unwrap(),
            vec![Some(1), Some(0)]
        );
        assert!(all(&el(r#"<r xmlns="urn:t"><b/><b/></r>"#), "/r", &m).is_err());
        let b = el("<x> true </x>");
        assert!(boolean(&b, "/x").unwrap());
        let e = boolean(&el("<x>&gt;false</x>"), "/x").unwrap_err();
        assert!(e.reason.contains("'>false'"), "{e:?}");
        assert_eq!(base64(&el("<x>VGVz\n dA==</x>"), "/x").unwrap(), b"Test");
        assert!(base64(&el("<x>VGVzdA</x>"), "/x").is_err());
        assert!(enumeration(&el("<x> ECC </x>"), "/x", &["ECC", "RSA"], true).is_ok());
        assert!(enumeration(&el("<x>ecc</x>"), "/x", &["ECC", "RSA"], true).is_err());
        assert!(date_time(&el("<x>2024-01-01T10:00:00Z</x>"), "/x").is_ok());
        assert!(date_time(&el("<x>yesterday</x>"), "/x").is_err());
        assert!(positive_integer(&el("<x>0</x>"), "/x").is_err());
    }
}
