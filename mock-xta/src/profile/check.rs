//! Applying a transport profile to a message: no I/O — the caller hands over the transport order, the
//! content attributes, the first bytes of each content and the scan of the Message. The verdict lists
//! findings (errors refuse the send with 9052/9050/9051/9023, warnings turn the transport report yellow,
//! notes are diagnoses only) and the routing data that count (the business header's, where it wins).

use super::keys::{self, KeyEnvironment};
use super::model::{Difference, HeaderField, PartyRule, Profile, Severity};
use super::names;
use crate::fault::{Code, codes};
use crate::model::{BusinessScenario, ContentAttrs, Meta, Party};
use crate::xml::scan::{ScanResult, ScanSpec};
use crate::xml::{Element, XmlError};

const META: &str = "/Envelope/Header/MessageMetaData";
const QUAL: &str = "/Envelope/Header/MessageMetaData/Qualifier";
const CONTAINER: &str = "/Envelope/Body/GenericContentContainer/ContentContainer";

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Error,
    Warning,
    Note,
}

/// One rule's outcome.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub level: Level,
    /// The fault code when the level is `Error`.
    #[serde(skip)]
    pub code: Code,
    pub rule: String,
    pub location: Option<String>,
    pub message: String,
    pub passage: Option<String>,
}

impl Finding {
    pub fn diagnosis(&self) -> sim_kit::Diagnosis {
        let mut d = sim_kit::Diagnosis::new(self.rule.clone(), self.message.clone());
        d.location = self.location.clone();
        d.seed = self.passage.clone();
        d
    }
}

/// The routing data the server uses.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Routing {
    pub author: String,
    pub reader: String,
    pub service: String,
    pub message_type: String,
}

/// An attachment as the checks see it.
#[derive(Clone, Debug)]
pub struct AttachmentFacts {
    pub attrs: ContentAttrs,
    /// The first bytes of the decoded content.
    pub head: Vec<u8>,
}

/// Everything the checks look at.
pub struct Facts<'a> {
    pub meta: &'a Meta,
    /// None for an encrypted container.
    pub message: Option<&'a ContentAttrs>,
    pub message_head: &'a [u8],
    /// The scan of the Message (see [`scan_spec`]); None when not scanned.
    pub scan: Option<&'a Result<ScanResult, XmlError>>,
    pub attachments: &'a [AttachmentFacts],
    pub encrypted: bool,
    /// Decoded bytes of Message and attachments.
    pub total_bytes: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Verdict {
    pub findings: Vec<Finding>,
    pub routing: Routing,
    pub author_environment: Option<KeyEnvironment>,
    pub reader_environment: Option<KeyEnvironment>,
}

impl Verdict {
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.level == Level::Error)
    }
    pub fn has_warnings(&self) -> bool {
        self.findings.iter().any(|f| f.level == Level::Warning)
    }
}

/// What to scan the Message for: the header element and the proof-name elements.
pub fn scan_spec(p: &Profile) -> Option<ScanSpec> {
    let mut spec = ScanSpec::default();
    if let Some(h) = &p.header {
        spec.capture.push(h.element.0.clone());
    }
    if let Some(a) = &p.attachments {
        spec.collect
            .extend(a.proof_elements.iter().map(|l| l.0.clone()));
    }
    (p.message.xml || !spec.capture.is_empty() || !spec.collect.is_empty()).then_some(spec)
}

struct Ctx<'p> {
    p: &'p Profile,
    out: Verdict,
}

impl Ctx<'_> {
    fn add(
        &mut self,
        level: Level,
        code: Code,
        rule: &str,
        location: Option<String>,
        message: String,
        passage: Option<&String>,
    ) {
        self.out.findings.push(Finding {
            level,
            code,
            rule: rule.to_string(),
            location,
            message,
            passage: passage.cloned(),
        });
    }
    fn error(&mut self, rule: &str, loc: &str, message: String, passage: Option<&String>) {
        self.add(
            Level::Error,
            codes::PROFILE_VIOLATION,
            rule,
            Some(loc.to_string()),
            message,
            passage,
        );
    }
    fn severity(
        &mut self,
        sev: Severity,
        rule: &str,
        loc: &str,
        message: String,
        passage: Option<&String>,
    ) {
        let level = match sev {
            Severity::Error => Level::Error,
            Severity::Warning => Level::Warning,
        };
        self.add(
            level,
            codes::PROFILE_VIOLATION,
            rule,
            Some(loc.to_string()),
            message,
            passage,
        );
    }
}

/// Apply the profile.
pub fn check(p: &Profile, f: &Facts<'_>) -> Verdict {
    let mut cx = Ctx {
        p,
        out: Verdict {
            routing: Routing {
                author: f.meta.author.id.clone(),
                reader: f.meta.reader.id.clone(),
                service: f.meta.service.clone(),
                message_type: f.meta.message_type.code.clone(),
            },
            ..Verdict::default()
        },
    };
    service(
        &mut cx,
        &f.meta.service,
        &format!("{QUAL}/Service"),
        "MessageMetaData",
    );
    message_type(&mut cx, f.meta);
    business_scenario(&mut cx, f.meta);
    cx.out.author_environment = party(
        &mut cx,
        &f.meta.author,
        p.author.as_ref(),
        &format!("{META}/Originators/Author/Identifier"),
    );
    cx.out.reader_environment = party(
        &mut cx,
        &f.meta.reader,
        p.reader.as_ref(),
        &format!("{META}/Destinations/Reader/Identifier"),
    );
    if f.encrypted {
        cx.severity(
            p.encrypted_container,
            "profile.encrypted-container",
            "/Envelope/Body/GenericContentContainer/EncryptedData",
            format!(
                "the container is end-to-end encrypted (xenc:EncryptedData): profile {} needs the ContentContainer to check it",
                p.id
            ),
            p.message.passage.as_ref(),
        );
    } else {
        message(&mut cx, f);
        if let Some(Ok(scan)) = f.scan {
            header(&mut cx, f.meta, scan);
        }
        attachments(&mut cx, f);
    }
    compression(&mut cx, f);
    if let Some(m) = &p.max_size
        && f.total_bytes > m.bytes()
    {
        cx.add(
                Level::Error,
                codes::TOO_LARGE,
                "profile.max-size",
                Some(CONTAINER.into()),
                format!("the message (Message and attachments, decoded) has {} bytes; the profile allows {} ({} × {})", f.total_bytes, m.bytes(), m.megabytes, unit_text(m.unit)),
                m.passage.as_ref(),
            );
    }
    cx.out
}

pub fn unit_text(u: super::SizeUnit) -> &'static str {
    match u {
        super::SizeUnit::Mebibyte => "2^20 bytes",
        super::SizeUnit::Megabyte => "10^6 bytes",
    }
}

fn service(cx: &mut Ctx<'_>, value: &str, loc: &str, where_: &str) {
    let s = &cx.p.service;
    if value == s.uri {
        return;
    }
    if let Some(v) = s.variants.iter().find(|v| v.uri == value).cloned() {
        cx.severity(
            v.severity,
            "profile.service.variant",
            loc,
            format!(
                "{where_} names the service '{value}'; the correct spelling is '{}'",
                s.uri
            ),
            v.passage.as_ref().or(s.passage.as_ref()),
        );
        return;
    }
    let passage = s.passage.clone();
    cx.error(
        "profile.service",
        loc,
        format!(
            "{where_} names the service '{value}'; profile {} requires '{}'",
            cx.p.id, s.uri
        ),
        passage.as_ref(),
    );
}

fn message_type(cx: &mut Ctx<'_>, m: &Meta) {
    let Some(r) = cx.p.message_type.clone() else {
        return;
    };
    let loc = format!("{QUAL}/MessageType");
    let pass = r.passage.as_ref();
    if let Some(code) = &r.code
        && m.message_type.code != *code
    {
        cx.error(
            "profile.message-type.code",
            &format!("{loc}/code"),
            format!(
                "MessageType code '{}' where the profile requires '{code}'",
                m.message_type.code
            ),
            pass,
        );
    }
    if m.message_type.list_uri != r.list_uri {
        cx.error(
            "profile.message-type.list",
            &format!("{loc}/@listURI"),
            format!(
                "MessageType listURI '{}' where the profile requires '{}'",
                m.message_type.list_uri, r.list_uri
            ),
            pass,
        );
    }
    if m.message_type.list_version_id != r.list_version_id {
        cx.error(
            "profile.message-type.list",
            &format!("{loc}/@listVersionID"),
            format!(
                "MessageType listVersionID '{}' where the profile requires '{}'",
                m.message_type.list_version_id, r.list_version_id
            ),
            pass,
        );
    }
    if let Some(ps) = &r.payload_schema
        && m.payload_schema != *ps
    {
        cx.error(
            "profile.message-type.payload-schema",
            &format!("{loc}/@payloadSchema"),
            format!(
                "payloadSchema '{}' where the profile requires '{ps}'",
                m.payload_schema
            ),
            pass,
        );
    }
}

fn business_scenario(cx: &mut Ctx<'_>, m: &Meta) {
    let Some(r) = cx.p.business_scenario.clone() else {
        return;
    };
    let loc = format!("{QUAL}/BusinessScenario");
    let pass = r.passage.as_ref();
    match &m.business_scenario {
        BusinessScenario::Undefined(v) => cx.error(
            "profile.business-scenario",
            &format!("{loc}/Undefined"),
            format!("BusinessScenario is Undefined ('{v}'); the profile requires Defined with code {} from {}", r.code.as_deref().unwrap_or("a code"), r.list_uri),
            pass,
        ),
        BusinessScenario::Defined(k) => {
            if let Some(code) = &r.code
                && k.code != *code {
                    cx.error("profile.business-scenario", &format!("{loc}/Defined/code"), format!("BusinessScenario code '{}' where the profile requires '{code}'", k.code), pass);
                }
            if k.list_uri != r.list_uri || k.list_version_id != r.list_version_id {
                cx.error(
                    "profile.business-scenario",
                    &format!("{loc}/Defined"),
                    format!("BusinessScenario list {} {} where the profile requires {} {}", k.list_uri, k.list_version_id, r.list_uri, r.list_version_id),
                    pass,
                );
            }
        }
    }
}

/// Key rules and identifier attributes of one party; returns the key's environment.
fn party(
    cx: &mut Ctx<'_>,
    who: &Party,
    rule: Option<&PartyRule>,
    loc: &str,
) -> Option<KeyEnvironment> {
    if let Some(t) = cx.p.identifier_type.clone()
        && who.id_type != t.value
    {
        cx.severity(
            t.severity,
            "profile.identifier-type",
            &format!("{loc}/@type"),
            format!(
                "Identifier type '{}' where '{}' is expected",
                who.id_type, t.value
            ),
            t.passage.as_ref(),
        );
    }
    let rule = rule?.clone();
    let env = key_rules(cx, &who.id, &rule, loc, "MessageMetaData");
    if let (Some(cat), Some(sent)) = (&rule.category, &who.category)
        && sent != cat
    {
        let (level, msg) = if rule.category_variants.contains(sent) {
            (
                Level::Note,
                format!(
                    "{} category '{sent}' is a variant spelling of '{cat}'",
                    rule.role
                ),
            )
        } else {
            (
                Level::Warning,
                format!(
                    "{} category '{sent}' where the profile's organisation category is '{cat}'",
                    rule.role
                ),
            )
        };
        cx.add(
            level,
            codes::PROFILE_VIOLATION,
            "profile.party.category-name",
            Some(format!("{loc}/@category")),
            msg,
            rule.passage.as_ref(),
        );
    }
    env
}

fn key_rules(
    cx: &mut Ctx<'_>,
    id: &str,
    rule: &PartyRule,
    loc: &str,
    where_: &str,
) -> Option<KeyEnvironment> {
    match keys::check(id, rule) {
        Ok(env) => {
            if env == Some(KeyEnvironment::Production) {
                cx.add(
                    Level::Note,
                    codes::PROFILE_VIOLATION,
                    "profile.key.production",
                    Some(loc.to_string()),
                    format!("{where_}: {} key '{id}' is a production key (positions 11-12 = 00) used against a test server", rule.role),
                    rule.passage.as_ref(),
                );
            }
            env
        }
        Err(e) => {
            cx.error(
                e.rule,
                loc,
                format!("{where_}: {}", e.message),
                rule.passage.as_ref(),
            );
            None
        }
    }
}

fn same_encoding(a: &str, b: &str) -> bool {
    let n = |s: &str| s.trim().to_ascii_lowercase().replace(['-', '_'], "");
    n(a) == n(b)
}

fn message(cx: &mut Ctx<'_>, f: &Facts<'_>) {
    let r = cx.p.message.clone();
    let loc = format!("{CONTAINER}/Message");
    if let (Some(want), Some(attrs)) = (&r.encoding, f.message)
        && let Some(enc) = &attrs.encoding
        && !same_encoding(enc, want)
    {
        cx.add(
            Level::Error,
            codes::WRONG_ENCODING,
            "profile.message.encoding",
            Some(format!("{loc}/@encoding")),
            format!("Message encoding '{enc}'; the profile requires {want}"),
            r.passage.as_ref(),
        );
    }
    if !r.xml {
        return;
    }
    match f.scan {
        Some(Err(e)) => {
            let (code, rule) = if e.rule == "xml.encoding" {
                (codes::WRONG_ENCODING, "profile.message.encoding")
            } else {
                (codes::NOT_SCHEMA_VALID, "profile.message.xml")
            };
            let mut l = loc.clone();
            if let Some(inner) = &e.location {
                l.push_str(" → ");
                l.push_str(inner);
            }
            cx.add(
                Level::Error,
                code,
                rule,
                Some(l),
                format!("the Message is not usable XML: {}", e.reason),
                r.passage.as_ref(),
            );
        }
        Some(Ok(s)) => {
            if let (Some(want), Some(decl)) = (&r.encoding, &s.declared_encoding)
                && !same_encoding(decl, want)
            {
                cx.add(Level::Error, codes::WRONG_ENCODING, "profile.message.encoding", Some(loc.clone()), format!("the Message's XML declaration says encoding '{decl}'; the profile requires {want}"), r.passage.as_ref());
            }
        }
        None => {}
    }
    if let Some(a) = f.message {
        let ct = a.content_type.to_ascii_lowercase();
        if !(ct.contains("xml")) {
            cx.add(
                Level::Note,
                codes::PROFILE_VIOLATION,
                "profile.message.content-type",
                Some(format!("{loc}/@contentType")),
                format!(
                    "the Message is XML but declared contentType '{}'",
                    a.content_type
                ),
                r.passage.as_ref(),
            );
        }
    }
}

/// Text of the single element at `path` below `el`: Ok(None) when absent, Err(count) when repeated.
fn field<'e>(el: &'e Element, path: &[String]) -> Result<Option<&'e Element>, usize> {
    let mut cur = el;
    for step in path {
        let mut matches = cur.children.iter().filter(|c| c.local == *step);
        let Some(first) = matches.next() else {
            return Ok(None);
        };
        let more = matches.count();
        if more > 0 {
            return Err(more + 1);
        }
        cur = first;
    }
    Ok(Some(cur))
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn header(cx: &mut Ctx<'_>, m: &Meta, scan: &ScanResult) {
    let Some(h) = cx.p.header.clone() else { return };
    let pass = h.passage.as_ref();
    let msg_loc = format!("{CONTAINER}/Message");
    let Some(cap) = scan.captured.get(&h.element.0) else {
        cx.error("profile.header.missing", &msg_loc, format!("the Message holds no business message header {} (searched by local name at any depth)", h.element.0), pass);
        return;
    };
    if cap.occurrences > 1 {
        cx.error(
            "profile.header.repeated",
            &format!("{msg_loc} → {}", cap.path),
            format!(
                "the Message holds {} headers {}; exactly one is expected",
                cap.occurrences, h.element.0
            ),
            pass,
        );
    }
    for fr in &h.fields {
        let loc = format!("{msg_loc} → {}/{}", cap.path, fr.path.0.join("/"));
        let value = match field(&cap.element, &fr.path.0) {
            Ok(Some(e)) => e.trimmed().to_string(),
            Ok(None) => {
                cx.error(
                    "profile.header.field-missing",
                    &loc,
                    format!(
                        "header field {} ({}) is missing",
                        fr.name,
                        fr.path.0.join("/")
                    ),
                    pass,
                );
                continue;
            }
            Err(n) => {
                cx.error(
                    "profile.header.field-repeated",
                    &loc,
                    format!(
                        "header field {} ({}) occurs {n} times; the structure allows one",
                        fr.name,
                        fr.path.0.join("/")
                    ),
                    pass,
                );
                continue;
            }
        };
        header_field(
            cx,
            m,
            fr.maps_to,
            &fr.name,
            &value,
            &loc,
            h.on_routing_difference,
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn header_field(
    cx: &mut Ctx<'_>,
    m: &Meta,
    to: HeaderField,
    name: &str,
    value: &str,
    loc: &str,
    on_diff: Difference,
) {
    let pass = cx.p.header.as_ref().and_then(|h| h.passage.clone());
    let note = |cx: &mut Ctx<'_>, msg: String| {
        cx.add(
            Level::Note,
            codes::PROFILE_VIOLATION,
            "profile.header.name-differs",
            Some(loc.to_string()),
            msg,
            pass.as_ref(),
        );
    };
    let (meta_value, meta_loc): (Option<String>, String) = match to {
        HeaderField::MessageUuid => {
            if !is_uuid(value) {
                cx.add(
                    Level::Warning,
                    codes::PROFILE_VIOLATION,
                    "profile.header.uuid",
                    Some(loc.into()),
                    format!("header field {name} '{value}' is not a UUID"),
                    pass.as_ref(),
                );
            }
            return;
        }
        HeaderField::CreatedAt => {
            if crate::model::xsd_time::parse_datetime(value).is_none() {
                cx.add(
                    Level::Warning,
                    codes::PROFILE_VIOLATION,
                    "profile.header.datetime",
                    Some(loc.into()),
                    format!("header field {name} '{value}' is not an xs:dateTime"),
                    pass.as_ref(),
                );
            }
            return;
        }
        HeaderField::AuthorName
        | HeaderField::ReaderName
        | HeaderField::AuthorCategory
        | HeaderField::ReaderCategory => {
            let p = if matches!(to, HeaderField::AuthorName | HeaderField::AuthorCategory) {
                &m.author
            } else {
                &m.reader
            };
            let sent = if matches!(to, HeaderField::AuthorName | HeaderField::ReaderName) {
                &p.name
            } else {
                &p.category
            };
            if let Some(s) = sent
                && normalise_space(s) != normalise_space(value)
            {
                note(
                    cx,
                    format!(
                        "header field {name} '{}' differs from the MessageMetaData Identifier's '{}' (names are compared for a diagnosis only)",
                        normalise_space(value),
                        s
                    ),
                );
            }
            return;
        }
        HeaderField::MessageType => (
            Some(m.message_type.code.clone()),
            format!("{QUAL}/MessageType/code"),
        ),
        HeaderField::Service => {
            service(cx, value, loc, "the business message header");
            (Some(m.service.clone()), format!("{QUAL}/Service"))
        }
        HeaderField::Author => {
            if let Some(r) = cx.p.author.clone() {
                key_rules(cx, value, &r, loc, "business message header");
            }
            (
                Some(m.author.id.clone()),
                format!("{META}/Originators/Author/Identifier"),
            )
        }
        HeaderField::Reader => {
            if let Some(r) = cx.p.reader.clone() {
                key_rules(cx, value, &r, loc, "business message header");
            }
            (
                Some(m.reader.id.clone()),
                format!("{META}/Destinations/Reader/Identifier"),
            )
        }
    };
    let Some(mv) = meta_value else { return };
    if mv == value {
        return;
    }
    let what =
        format!("header field {name} '{value}' differs from MessageMetaData '{mv}' ({meta_loc})");
    match on_diff {
        Difference::Reject => cx.error(
            "profile.header.routing-differs",
            loc,
            format!("{what}; the profile requires them to be congruent"),
            pass.as_ref(),
        ),
        Difference::HeaderWins => {
            cx.add(
                Level::Warning,
                codes::PROFILE_VIOLATION,
                "profile.header.routing-differs",
                Some(loc.to_string()),
                format!(
                    "{what}; the header is authoritative, so the message is routed by '{value}'"
                ),
                pass.as_ref(),
            );
            let r = &mut cx.out.routing;
            match to {
                HeaderField::MessageType => r.message_type = value.to_string(),
                HeaderField::Service => r.service = value.to_string(),
                HeaderField::Author => r.author = value.to_string(),
                HeaderField::Reader => r.reader = value.to_string(),
                _ => {}
            }
        }
    }
}

fn normalise_space(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn attachments(cx: &mut Ctx<'_>, f: &Facts<'_>) {
    let Some(r) = cx.p.attachments.clone() else {
        return;
    };
    let pass = r.passage.as_ref();
    let mut seen: Vec<(String, usize)> = Vec::new();
    for (i, a) in f.attachments.iter().enumerate() {
        let loc = format!("{CONTAINER}/Attachment[{}]", i + 1);
        let Some(name) = a.attrs.filename.as_deref() else {
            if r.filename_required {
                cx.error(
                    "profile.attachment.filename-missing",
                    &format!("{loc}/@filename"),
                    format!("attachment {} has no filename", i + 1),
                    pass,
                );
            }
            continue;
        };
        if let Some(max) = r.max_filename_chars {
            let n = name.chars().count();
            if n > max {
                cx.error("profile.attachment.filename-length", &format!("{loc}/@filename"), format!("file name '{name}' has {n} characters; at most {max} are allowed (extension included)"), pass);
            }
        }
        if let Some(set) = &r.filename_chars {
            let bad = names::disallowed_chars(name, set);
            if !bad.is_empty() {
                let shown: Vec<String> = bad.iter().map(|c| names::show_char(*c)).collect();
                cx.error(
                    "profile.attachment.filename-chars",
                    &format!("{loc}/@filename"),
                    format!(
                        "file name '{name}' contains {}; allowed are {}",
                        shown.join(", "),
                        set.spec
                    ),
                    pass,
                );
            }
        }
        if let Some((_, first)) = seen.iter().find(|(n, _)| n == name) {
            if r.unique {
                cx.error(
                    "profile.attachment.filename-unique",
                    &format!("{loc}/@filename"),
                    format!(
                        "file name '{name}' is used by attachments {first} and {}",
                        i + 1
                    ),
                    pass,
                );
            }
        } else {
            seen.push((name.to_string(), i + 1));
        }
    }
    if r.proof_elements.is_empty() {
        return;
    }
    let Some(Ok(scan)) = f.scan else { return };
    let mut proofs: Vec<(String, String)> = Vec::new();
    for el in &r.proof_elements {
        proofs.extend(scan.texts.get(&el.0).cloned().unwrap_or_default());
    }
    let elements = r
        .proof_elements
        .iter()
        .map(|l| l.0.as_str())
        .collect::<Vec<_>>()
        .join("/");
    if r.proof_names_unique {
        let mut dup: Vec<&str> = Vec::new();
        for (i, (v, _)) in proofs.iter().enumerate() {
            if proofs[..i].iter().any(|(w, _)| w == v) && !dup.contains(&v.as_str()) {
                dup.push(v);
            }
        }
        for d in dup {
            let loc = proofs
                .iter()
                .rfind(|(v, _)| v == d)
                .map(|(_, p)| p.clone())
                .unwrap_or_default();
            cx.error(
                "profile.attachment.proof-unique",
                &format!("{CONTAINER}/Message → {loc}"),
                format!("proof name '{d}' ({elements}) occurs more than once in the Message"),
                pass,
            );
        }
    }
    for (v, p) in &proofs {
        if !seen.iter().any(|(n, _)| n == v) {
            cx.error("profile.attachment.proof-without-file", &format!("{CONTAINER}/Message → {p}"), format!("the Message names the proof '{v}' ({elements}), but no Attachment has that file name"), pass);
        }
    }
    for (n, i) in &seen {
        if !proofs.iter().any(|(v, _)| v == n) {
            cx.error(
                "profile.attachment.file-without-proof",
                &format!("{CONTAINER}/Attachment[{i}]/@filename"),
                format!("attachment '{n}' is not named by any {elements} element of the Message"),
                pass,
            );
        }
    }
}

fn compression(cx: &mut Ctx<'_>, f: &Facts<'_>) {
    let Some(r) = cx.p.compression.clone() else {
        return;
    };
    if !r.forbidden {
        return;
    }
    if let Some(m) = f.message
        && let Some(kind) = names::compression_of(f.message_head, m.filename.as_deref())
    {
        cx.error(
            "profile.compression",
            &format!("{CONTAINER}/Message"),
            format!("the Message is a compressed {kind} container"),
            r.passage.as_ref(),
        );
    }
    for (i, a) in f.attachments.iter().enumerate() {
        if let Some(kind) = names::compression_of(&a.head, a.attrs.filename.as_deref()) {
            cx.error(
                "profile.compression",
                &format!("{CONTAINER}/Attachment[{}]", i + 1),
                format!(
                    "attachment '{}' is a compressed {kind} container",
                    a.attrs.filename.as_deref().unwrap_or("")
                ),
                r.passage.as_ref(),
            );
        }
    }
}
