//! MIME for SOAP 1.2 and MTOM/XOP: parsing `Content-Type` values (RFC 2045 parameters, quoted strings) and
//! a streaming `multipart/related` reader ([`multipart`]).

pub mod mtom;
pub mod multipart;

/// A parsed `Content-Type`: lower-case `type/subtype` and parameters (names lower-case, values unquoted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentType {
    pub mime: String,
    pub params: Vec<(String, String)>,
}

impl ContentType {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Parse; `None` when there is no `type/subtype`.
    pub fn parse(s: &str) -> Option<ContentType> {
        let mut rest = s.trim();
        let end = rest.find(';').unwrap_or(rest.len());
        let mime = rest[..end].trim().to_ascii_lowercase();
        let (t, sub) = mime.split_once('/')?;
        if t.is_empty() || sub.is_empty() || mime.contains(char::is_whitespace) {
            return None;
        }
        rest = &rest[end..];
        let mut params = Vec::new();
        while let Some(r) = rest.strip_prefix(';') {
            let r = r.trim_start();
            let Some(eq) = r.find('=') else {
                // A stray `;` at the end or a parameter without value: ignored, as servers do.
                rest = r.find(';').map(|i| &r[i..]).unwrap_or("");
                continue;
            };
            let name = r[..eq].trim().to_ascii_lowercase();
            let after = r[eq + 1..].trim_start();
            let (value, tail) = if let Some(q) = after.strip_prefix('"') {
                let mut v = String::new();
                let mut chars = q.char_indices();
                let mut end = q.len();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, n)) = chars.next() {
                                v.push(n);
                            }
                        }
                        '"' => {
                            end = i + 1;
                            break;
                        }
                        c => v.push(c),
                    }
                }
                let tail = &q[end.min(q.len())..];
                (v, tail.find(';').map(|i| &tail[i..]).unwrap_or(""))
            } else {
                let e = after.find(';').unwrap_or(after.len());
                (after[..e].trim().to_string(), &after[e..])
            };
            if !name.is_empty() {
                params.push((name, value));
            }
            rest = tail;
        }
        Some(ContentType { mime, params })
    }
}

/// How a request body is packaged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Packaging {
    /// `application/soap+xml` (SOAP 1.2), with its `action` parameter if any.
    Soap12 { action: Option<String> },
    /// `text/xml`: SOAP 1.1, which XTA does not speak (VersionMismatch).
    Soap11 { soap_action: Option<String> },
    /// `multipart/related; type="application/xop+xml"`: MTOM.
    Mtom(Mtom),
}

/// The parameters of an MTOM request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mtom {
    pub boundary: String,
    /// Content-ID of the root part (`start`), without angle brackets.
    pub start: Option<String>,
    /// `start-info`: the root part's real type, here `application/soap+xml` (Metro puts the action in it).
    pub start_info: Option<String>,
    /// `action` of the outer header (CXF) or from `start-info` (Metro).
    pub action: Option<String>,
}

/// Why a Content-Type cannot be served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackagingError {
    pub rule: &'static str,
    pub message: String,
}

fn err(rule: &'static str, message: impl Into<String>) -> PackagingError {
    PackagingError {
        rule,
        message: message.into(),
    }
}

/// Decide the packaging from the request's Content-Type (and SOAPAction header for SOAP 1.1).
pub fn packaging(
    content_type: Option<&str>,
    soap_action: Option<&str>,
) -> Result<Packaging, PackagingError> {
    let Some(raw) = content_type else {
        return Err(err(
            "xta.http.content-type",
            "no Content-Type: SOAP 1.2 requests are application/soap+xml (or MTOM multipart/related)",
        ));
    };
    let Some(ct) = ContentType::parse(raw) else {
        return Err(err(
            "xta.http.content-type",
            format!("unreadable Content-Type `{raw}`"),
        ));
    };
    match ct.mime.as_str() {
        "application/soap+xml" => Ok(Packaging::Soap12 {
            action: ct
                .param("action")
                .map(str::to_string)
                .filter(|a| !a.is_empty()),
        }),
        "text/xml" => Ok(Packaging::Soap11 {
            soap_action: soap_action
                .map(|s| s.trim().trim_matches('"').to_string())
                .filter(|s| !s.is_empty()),
        }),
        "multipart/related" => {
            let ty = ct.param("type").unwrap_or("").to_ascii_lowercase();
            if ty != "application/xop+xml" {
                return Err(err(
                    "xta.mtom.type",
                    format!(
                        "multipart/related with type=\"{ty}\": MTOM requests declare type=\"application/xop+xml\""
                    ),
                ));
            }
            let Some(boundary) = ct
                .param("boundary")
                .filter(|b| !b.is_empty() && b.len() <= 200)
            else {
                return Err(err(
                    "xta.mtom.boundary",
                    "multipart/related without a usable boundary parameter (1 to 200 characters)",
                ));
            };
            let start_info = ct.param("start-info").map(str::to_string);
            let action = ct
                .param("action")
                .map(str::to_string)
                .or_else(|| {
                    start_info
                        .as_deref()
                        .and_then(ContentType::parse)
                        .and_then(|s| s.param("action").map(str::to_string))
                })
                .filter(|a| !a.is_empty());
            Ok(Packaging::Mtom(Mtom {
                boundary: boundary.to_string(),
                start: ct.param("start").map(strip_angle),
                start_info,
                action,
            }))
        }
        other => Err(err(
            "xta.http.content-type",
            format!(
                "Content-Type `{other}` is not a SOAP 1.2 message (application/soap+xml or MTOM multipart/related)"
            ),
        )),
    }
}

/// `<abc@x>` → `abc@x`.
pub fn strip_angle(s: &str) -> String {
    let t = s.trim();
    t.strip_prefix('<')
        .and_then(|x| x.strip_suffix('>'))
        .unwrap_or(t)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_parameters_and_quotes() {
        let ct = ContentType::parse(
            r#"Multipart/Related; type="application/xop+xml"; boundary="uuid:1-2;x"; start="<root.message@cxf.apache.org>"; start-info="application/soap+xml"; action="http://www.xta.de/XTA/SendMessage""#,
        )
        .unwrap();
        assert_eq!(ct.mime, "multipart/related");
        assert_eq!(ct.param("boundary"), Some("uuid:1-2;x"));
        assert_eq!(
            ct.param("action"),
            Some("http://www.xta.de/XTA/SendMessage")
        );
        assert!(ContentType::parse("nonsense").is_none());
        assert_eq!(
            ContentType::parse("application/soap+xml;charset=UTF-8;action=\"a\\\"b\";")
                .unwrap()
                .params,
            vec![
                ("charset".into(), "UTF-8".into()),
                ("action".into(), "a\"b".into())
            ]
        );
    }

    #[test]
    fn cxf_and_metro_mtom_actions() {
        let cxf = packaging(Some(r#"multipart/related; type="application/xop+xml"; boundary="uuid:b"; start="<root.message@cxf.apache.org>"; start-info="application/soap+xml"; action="urn:a""#), None).unwrap();
        let metro = packaging(Some(r#"multipart/related;start="<rootpart*x@example.jaxws.sun.com>";type="application/xop+xml";boundary="uuid:x";start-info="application/soap+xml;action=\"urn:a\"""#), None).unwrap();
        for p in [cxf, metro] {
            let Packaging::Mtom(m) = p else { panic!() };
            assert_eq!(m.action.as_deref(), Some("urn:a"));
            assert!(m.start.is_some());
        }
        assert!(
            matches!(packaging(Some("text/xml"), Some("\"x\"")), Ok(Packaging::Soap11 { soap_action: Some(a) }) if a == "x")
        );
        assert_eq!(
            packaging(Some("application/json"), None).unwrap_err().rule,
            "xta.http.content-type"
        );
        assert_eq!(
            packaging(Some("multipart/related; boundary=x"), None)
                .unwrap_err()
                .rule,
            "xta.mtom.type"
        );
    }
}
