//! Just enough XML Schema to validate the requests this simulator serves, with the messages a Xerces-based
//! Konnektor puts into the tel/error `Detail` (`cvc-complex-type.2.4.a: Invalid content was found …`).
//!
//! Content models are written per operation in [`crate::ops`] as sequences of [`Particle`]s
//! ([`sequence`]); `<all>` groups (the `OptionalInputs` of SignRequest and ExternalAuthenticate) use [`all`].
//! Both return a [`Matched`] content, from which an operation takes its children by particle — a required
//! one as a [`Child`] (element + XPath), an optional one as an `Option` — never by position.
//! Long because of its unit tests (~100 lines); the code itself is about 500.

use crate::xml::{Element, XmlError, quote};
use std::collections::HashMap;

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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Particle {
    pub ns: &'static str,
    pub name: &'static str,
    pub min: u32,
    pub max: u32,
}

pub const UNBOUNDED: u32 = u32::MAX;

/// Exactly once.
pub const fn required(ns: &'static str, name: &'static str) -> Particle {
    Particle {
        ns,
        name,
        min: 1,
        max: 1,
    }
}
/// At most once.
pub const fn optional(ns: &'static str, name: &'static str) -> Particle {
    Particle {
        ns,
        name,
        min: 0,
        max: 1,
    }
}
/// `min` or more times.
pub const fn repeated(ns: &'static str, name: &'static str, min: u32) -> Particle {
    Particle {
        ns,
        name,
        min,
        max: UNBOUNDED,
    }
}

impl Particle {
    fn matches(&self, e: &Element<'_>) -> bool {
        e.is(self.ns, self.name)
    }
    fn expanded(&self) -> String {
        format!("\"{}\":{}", self.ns, self.name)
    }
}

/// A child element with its XPath (for diagnoses).
#[derive(Clone, Debug)]
pub struct Child<'d> {
    pub el: Element<'d>,
    pub path: String,
}

/// Where a child stands among its siblings: its position among those of the same name, and how many there
/// are (an XPath step gets a `[position]` only when the name repeats).
#[derive(Clone, Copy, Debug)]
struct Hit<'d> {
    el: Element<'d>,
    pos: u32,
    same: u32,
}

impl Hit<'_> {
    fn step(&self) -> String {
        let name = quote(self.el.qname());
        if self.same > 1 {
            format!("{name}[{}]", self.pos)
        } else {
            name.into_owned()
        }
    }
}

/// The children of an element, each with its position among same-named siblings.
fn hits<'d>(el: &Element<'d>) -> Vec<Hit<'d>> {
    let mut totals: HashMap<(Option<&str>, &str), u32> = HashMap::new();
    for c in el.children() {
        *totals.entry((c.ns(), c.local())).or_default() += 1;
    }
    let mut seen: HashMap<(Option<&str>, &str), u32> = HashMap::new();
    el.children()
        .map(|c| {
            let key = (c.ns(), c.local());
            let pos = seen.entry(key).or_default();
            *pos += 1;
            Hit {
                el: c,
                pos: *pos,
                same: totals.get(&key).copied().unwrap_or(1),
            }
        })
        .collect()
}

/// The content of an element matched against its model: the children each particle took.
#[derive(Debug)]
pub struct Matched<'d> {
    parent: Element<'d>,
    path: String,
    taken: Vec<(Particle, Vec<Hit<'d>>)>,
}

impl<'d> Matched<'d> {
    fn hits_of(&self, p: Particle) -> &[Hit<'d>] {
        self.taken
            .iter()
            .find(|(q, _)| *q == p)
            .map_or(&[], |(_, h)| h.as_slice())
    }
    fn child(&self, h: &Hit<'d>) -> Child<'d> {
        Child {
            el: h.el,
            path: format!("{}/{}", self.path, h.step()),
        }
    }
    /// The child of a required particle. Validation already guaranteed it; should the particle not be
    /// part of the model, the answer is the validator's "not complete" error, never a panic.
    pub fn required(&self, p: Particle) -> Result<Child<'d>, XmlError> {
        self.hits_of(p)
            .first()
            .map(|h| self.child(h))
            .ok_or_else(|| {
                XmlError::new(
                    "schema.missing-element",
                    format!(
                        "cvc-complex-type.2.4.b: The content of element '{}' is not complete. One of '{{{}}}' is expected.",
                        quote(self.parent.qname()),
                        p.expanded()
                    ),
                )
                .at(self.path.clone())
            })
    }
    pub fn optional(&self, p: Particle) -> Option<Child<'d>> {
        self.hits_of(p).first().map(|h| self.child(h))
    }
    pub fn repeated(&self, p: Particle) -> Vec<Child<'d>> {
        self.hits_of(p).iter().map(|h| self.child(h)).collect()
    }
}

fn expected_list(ps: &[Particle]) -> String {
    ps.iter()
        .map(Particle::expanded)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Character data in an element-only content model.
fn check_no_text(el: &Element<'_>, path: &str) -> Result<(), XmlError> {
    if el.has_text() {
        return Err(XmlError::new(
            "schema.text",
            format!(
                "cvc-complex-type.2.3: Element '{}' cannot have character [children], because the type's content type is element-only.",
                quote(el.qname())
            ),
        )
        .at(path));
    }
    Ok(())
}

/// The particles that could come next, starting at `from`.
fn possible(model: &[Particle], counts: &[u32], from: usize) -> Vec<Particle> {
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

fn unexpected(path: &str, hit: &Hit<'_>, expected: &[Particle]) -> XmlError {
    let name = quote(hit.el.qname());
    let msg = if expected.is_empty() {
        format!(
            "cvc-complex-type.2.4.d: Invalid content was found starting with element '{name}'. No child element is expected at this point."
        )
    } else {
        format!(
            "cvc-complex-type.2.4.a: Invalid content was found starting with element '{name}'. One of '{{{}}}' is expected.",
            expected_list(expected)
        )
    };
    XmlError::new("schema.unexpected-element", msg).at(format!("{path}/{}", hit.step()))
}

/// Match the children of `el` against a sequence.
pub fn sequence<'d>(
    el: &Element<'d>,
    path: &str,
    model: &[Particle],
) -> Result<Matched<'d>, XmlError> {
    check_no_text(el, path)?;
    let mut taken: Vec<(Particle, Vec<Hit<'d>>)> = model.iter().map(|p| (*p, Vec::new())).collect();
    let mut counts = vec![0u32; model.len()];
    let mut pi = 0usize;
    for hit in hits(el) {
        let start = pi;
        loop {
            if pi >= model.len() {
                return Err(unexpected(path, &hit, &possible(model, &counts, start)));
            }
            let p = &model[pi];
            if p.matches(&hit.el) && counts[pi] < p.max {
                taken[pi].1.push(hit);
                counts[pi] += 1;
                break;
            }
            if counts[pi] < p.min {
                return Err(unexpected(path, &hit, &possible(model, &counts, start)));
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
                    quote(el.qname()),
                    expected_list(&possible(model, &counts, pi))
                ),
            )
            .at(path.to_string()));
        }
    }
    Ok(Matched {
        parent: *el,
        path: path.to_string(),
        taken,
    })
}

/// Match the children of `el` against an `<all>` group (any order, each at most once).
pub fn all<'d>(el: &Element<'d>, path: &str, model: &[Particle]) -> Result<Matched<'d>, XmlError> {
    check_no_text(el, path)?;
    let mut taken: Vec<(Particle, Vec<Hit<'d>>)> = model.iter().map(|p| (*p, Vec::new())).collect();
    for hit in hits(el) {
        match taken.iter_mut().find(|(p, _)| p.matches(&hit.el)) {
            Some((_, h)) if h.is_empty() => h.push(hit),
            _ => {
                let remaining: Vec<Particle> = taken
                    .iter()
                    .filter(|(_, h)| h.is_empty())
                    .map(|(p, _)| *p)
                    .collect();
                return Err(unexpected(path, &hit, &remaining));
            }
        }
    }
    if let Some((p, _)) = taken.iter().find(|(p, h)| p.min > 0 && h.is_empty()) {
        return Err(XmlError::new(
            "schema.missing-element",
            format!(
                "cvc-complex-type.2.4.b: The content of element '{}' is not complete. One of '{{{}}}' is expected.",
                quote(el.qname()),
                p.expanded()
            ),
        )
        .at(path.to_string()));
    }
    Ok(Matched {
        parent: *el,
        path: path.to_string(),
        taken,
    })
}

impl<'d> Child<'d> {
    /// The whole operation element of a request (`/Envelope/Body/ns4:SignDocument`).
    pub fn payload(el: Element<'d>) -> Child<'d> {
        Child {
            path: format!("/Envelope/Body/{}", quote(el.qname())),
            el,
        }
    }
    pub fn qname(&self) -> &'d str {
        self.el.qname()
    }
    pub fn sequence(&self, model: &[Particle]) -> Result<Matched<'d>, XmlError> {
        sequence(&self.el, &self.path, model)
    }
    pub fn all(&self, model: &[Particle]) -> Result<Matched<'d>, XmlError> {
        all(&self.el, &self.path, model)
    }
    /// The text of a simple-typed element (no child elements allowed).
    pub fn text(&self) -> Result<&'d str, XmlError> {
        if let Some(c) = self.el.first_child() {
            return Err(XmlError::new(
                "schema.simple-content",
                format!(
                    "cvc-type.3.1.2: Element '{}' is a simple type, so it must have no element information item [children] (found '{}').",
                    quote(self.el.qname()),
                    quote(c.qname())
                ),
            )
            .at(self.path.clone()));
        }
        Ok(self.el.text())
    }
    /// The value of an enumerated simple type.
    pub fn enumeration(&self, allowed: &[&str], collapse_ws: bool) -> Result<String, XmlError> {
        let raw = self.text()?;
        let v = if collapse_ws {
            collapse(raw)
        } else {
            raw.to_string()
        };
        if allowed.contains(&v.as_str()) {
            return Ok(v);
        }
        Err(XmlError::new(
            "schema.enumeration",
            format!(
                "cvc-enumeration-valid: Value '{}' is not facet-valid with respect to enumeration '[{}]'. It must be a value from the enumeration.",
                quote(&v),
                allowed.join(", ")
            ),
        )
        .at(self.path.clone()))
    }
    /// A string of at most `max` characters.
    pub fn max_length(&self, max: usize) -> Result<String, XmlError> {
        let v = self.text()?;
        let n = v.chars().count();
        if n > max {
            return Err(XmlError::new(
                "schema.max-length",
                format!(
                    "cvc-maxLength-valid: Value '{}' with length = '{n}' is not facet-valid with respect to maxLength '{max}' for type of element '{}'.",
                    quote(v),
                    quote(self.el.qname())
                ),
            )
            .at(self.path.clone()));
        }
        Ok(v.to_string())
    }
    pub fn boolean(&self) -> Result<bool, XmlError> {
        let v = collapse(self.text()?);
        match v.as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(XmlError::new(
                "schema.datatype",
                format!(
                    "cvc-datatype-valid.1.2.1: '{}' is not a valid value for 'boolean'.",
                    quote(&v)
                ),
            )
            .at(self.path.clone())),
        }
    }
    /// xs:base64Binary: whitespace is ignored, the rest must be base64 with padding.
    pub fn base64(&self) -> Result<Vec<u8>, XmlError> {
        let v = self.text()?;
        let decoded = if v.bytes().any(|b| b.is_ascii_whitespace()) {
            let compact: String = v.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            ti_core::b64_decode(&compact)
        } else {
            ti_core::b64_decode(v)
        };
        decoded.map_err(|_| {
            XmlError::new(
                "schema.datatype",
                format!(
                    "cvc-datatype-valid.1.2.1: '{}' is not a valid value for 'base64Binary'.",
                    quote(v.trim())
                ),
            )
            .at(self.path.clone())
        })
    }
    pub fn positive_integer(&self) -> Result<u64, XmlError> {
        let v = collapse(self.text()?);
        let t = v.strip_prefix('+').unwrap_or(&v);
        match t.parse::<u64>() {
            Ok(n) if n > 0 && t.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
            _ => Err(XmlError::new(
                "schema.datatype",
                format!(
                    "cvc-datatype-valid.1.2.1: '{}' is not a valid value for 'positiveInteger'.",
                    quote(&v)
                ),
            )
            .at(self.path.clone())),
        }
    }
    /// xs:dateTime (lexical check); the collapsed value.
    pub fn date_time(&self) -> Result<String, XmlError> {
        let v = collapse(self.text()?);
        if parse_date_time(&v).is_some() {
            return Ok(v);
        }
        Err(XmlError::new(
            "schema.datatype",
            format!(
                "cvc-datatype-valid.1.2.1: '{}' is not a valid value for 'dateTime'.",
                quote(&v)
            ),
        )
        .at(self.path.clone()))
    }
    /// A required attribute.
    pub fn required_attr(&self, name: &str) -> Result<&'d str, XmlError> {
        self.el.attr(name).ok_or_else(|| {
            XmlError::new(
                "schema.missing-attribute",
                format!(
                    "cvc-complex-type.4: Attribute '{name}' must appear on element '{}'.",
                    quote(self.el.qname())
                ),
            )
            .at(self.path.clone())
        })
    }
    /// Only the listed unqualified attributes (and xsi/xml ones) may appear.
    pub fn allowed_attrs(&self, allowed: &[&str]) -> Result<(), XmlError> {
        for a in self.el.attributes() {
            let ok = match a.ns {
                None => allowed.contains(&a.local),
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
                        quote(a.local),
                        quote(self.el.qname())
                    ),
                )
                .at(self.path.clone()));
            }
        }
        Ok(())
    }
}

/// Whitespace-collapsed value (xs:token and the built-in types with `collapse`).
pub fn collapse(s: &str) -> String {
    s.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

/// An xs:dateTime value (with or without offset, with or without fractional seconds; no offset = UTC).
pub fn parse_date_time(v: &str) -> Option<std::time::SystemTime> {
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    if let Ok(t) = time::OffsetDateTime::parse(v, &Rfc3339) {
        return Some(t.into());
    }
    let plain = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let frac = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]");
    time::PrimitiveDateTime::parse(v, &plain)
        .or_else(|_| time::PrimitiveDateTime::parse(v, &frac))
        .ok()
        .map(|p| p.assume_utc().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{Document, Limits, parse};

    const A: Particle = required("urn:t", "a");
    const B: Particle = optional("urn:t", "b");
    const C: Particle = repeated("urn:t", "c", 1);
    const M: &[Particle] = &[A, B, C];

    fn doc(s: &str) -> Document<'_> {
        parse(s.as_bytes(), Limits::default()).unwrap()
    }

    #[test]
    fn sequences() {
        let d = doc(r#"<r xmlns="urn:t"><a/><c/><c/></r>"#);
        let m = sequence(&d.root(), "/r", M).unwrap();
        assert_eq!(m.required(A).unwrap().path, "/r/a");
        assert!(m.optional(B).is_none());
        let cs = m.repeated(C);
        assert_eq!(
            cs.iter().map(|c| c.path.as_str()).collect::<Vec<_>>(),
            ["/r/c[1]", "/r/c[2]"]
        );
        // A particle outside the model is an error, not a panic.
        assert!(m.required(required("urn:t", "zz")).is_err());

        let d = doc(r#"<r xmlns="urn:t"><b/></r>"#);
        let e = sequence(&d.root(), "/r", M).unwrap_err();
        assert!(e.reason.starts_with("cvc-complex-type.2.4.a"), "{e:?}");
        assert!(e.reason.contains("\"urn:t\":a"), "{e:?}");
        assert_eq!(e.location.as_deref(), Some("/r/b"));

        let d = doc(r#"<r xmlns="urn:t"><a/></r>"#);
        let e = sequence(&d.root(), "/r", M).unwrap_err();
        assert!(e.reason.starts_with("cvc-complex-type.2.4.b"), "{e:?}");
        assert!(e.reason.contains("\"urn:t\":b, \"urn:t\":c"), "{e:?}");

        let d = doc(r#"<r xmlns="urn:t"><a/><c/><x/></r>"#);
        let e = sequence(&d.root(), "/r", M).unwrap_err();
        assert!(e.reason.contains("'x'"), "{e:?}");

        let d = doc(r#"<r xmlns="urn:t"><a/><b/><b/><c/></r>"#);
        let e = sequence(&d.root(), "/r", M).unwrap_err();
        assert!(e.reason.contains("\"urn:t\":c"), "{e:?}");
        assert_eq!(e.location.as_deref(), Some("/r/b[2]"));

        let d = doc(r#"<r xmlns="urn:u"><a/></r>"#);
        let e = sequence(&d.root(), "/r", M).unwrap_err();
        assert!(e.reason.contains("2.4.a"), "{e:?}");

        let d = doc(r#"<r xmlns="urn:t">x<a/><c/></r>"#);
        let e = sequence(&d.root(), "/r", M).unwrap_err();
        assert!(e.reason.contains("2.3"), "{e:?}");
    }

    fn leaf<'d>(d: &'d Document<'d>) -> Child<'d> {
        Child {
            el: d.root(),
            path: "/x".into(),
        }
    }

    #[test]
    fn all_groups_and_types() {
        let m = [optional("urn:t", "a"), optional("urn:t", "b")];
        let d = doc(r#"<r xmlns="urn:t"><b/><a/></r>"#);
        let got = all(&d.root(), "/r", &m).unwrap();
        assert_eq!(got.optional(m[0]).unwrap().path, "/r/a");
        let d = doc(r#"<r xmlns="urn:t"><b/><b/></r>"#);
        assert!(all(&d.root(), "/r", &m).is_err());
        let d = doc("<x> true </x>");
        assert!(leaf(&d).boolean().unwrap());
        let d = doc("<x>&gt;false</x>");
        let e = leaf(&d).boolean().unwrap_err();
        assert!(e.reason.contains("'>false'"), "{e:?}");
        let d = doc("<x>VGVz\n dA==</x>");
        assert_eq!(leaf(&d).base64().unwrap(), b"Test");
        let d = doc("<x>VGVzdA</x>");
        assert!(leaf(&d).base64().is_err());
        let d = doc("<x> ECC </x>");
        assert!(leaf(&d).enumeration(&["ECC", "RSA"], true).is_ok());
        let d = doc("<x>ecc</x>");
        assert!(leaf(&d).enumeration(&["ECC", "RSA"], true).is_err());
        let d = doc("<x>2024-01-01T10:00:00Z</x>");
        assert!(leaf(&d).date_time().is_ok());
        let d = doc("<x>yesterday</x>");
        assert!(leaf(&d).date_time().is_err());
        let d = doc("<x>0</x>");
        assert!(leaf(&d).positive_integer().is_err());
        let d = doc("<x><y/></x>");
        assert_eq!(leaf(&d).text().unwrap_err().rule, "schema.simple-content");
        let long = format!("<x>{}</x>", "v".repeat(10_000));
        let d = doc(&long);
        let e = leaf(&d).max_length(64).unwrap_err();
        assert!(
            e.reason.len() < 400 && e.reason.contains("(10,000 bytes)"),
            "{}",
            e.reason
        );
    }
}
