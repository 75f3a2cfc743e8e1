//! The transport profile file format (YAML; documented in docs/xta.md, "Transport profile files"). Every
//! value that needs more than a type (digit ranges, character sets, element paths) is validated while it is
//! read, so a mistake comes back with the file, line and column of the offending value.

use serde::{Deserialize, Serialize};

/// How serious a rule's violation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The send is refused with a fault.
    Error,
    /// The send is accepted; the transport report turns yellow and a diagnosis names the rule.
    Warning,
}

/// One transport profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Stable identifier, e.g. `fim-versammlungsanzeige-1.4`.
    pub id: String,
    pub title: String,
    /// Where the rules come from (shown in diagnoses).
    #[serde(default)]
    pub source: Option<String>,
    pub service: ServiceRule,
    #[serde(default)]
    pub message_type: Option<MessageTypeRule>,
    #[serde(default)]
    pub business_scenario: Option<CodeRule>,
    #[serde(default)]
    pub identifier_type: Option<ValueRule>,
    #[serde(default)]
    pub author: Option<PartyRule>,
    #[serde(default)]
    pub reader: Option<PartyRule>,
    #[serde(default)]
    pub header: Option<HeaderRule>,
    #[serde(default)]
    pub message: MessageRule,
    #[serde(default)]
    pub attachments: Option<AttachmentRule>,
    #[serde(default)]
    pub compression: Option<CompressionRule>,
    #[serde(default)]
    pub max_size: Option<SizeRule>,
    /// End-to-end encrypted containers (`xenc:EncryptedData`): the profile's checks cannot look inside.
    #[serde(default = "reject")]
    pub encrypted_container: Severity,
}

fn reject() -> Severity {
    Severity::Error
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceRule {
    pub uri: String,
    #[serde(default)]
    pub passage: Option<String>,
    /// Other spellings a client may send; each accepted with a diagnosis or refused.
    #[serde(default)]
    pub variants: Vec<ServiceVariant>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceVariant {
    pub uri: String,
    pub severity: Severity,
    #[serde(default)]
    pub passage: Option<String>,
}

/// A code from a code list (XÖV `KeyCodeType`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeRule {
    /// Required code; any code when absent.
    #[serde(default)]
    pub code: Option<String>,
    pub list_uri: String,
    pub list_version_id: String,
    #[serde(default)]
    pub passage: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageTypeRule {
    #[serde(default)]
    pub code: Option<String>,
    pub list_uri: String,
    pub list_version_id: String,
    #[serde(default)]
    pub payload_schema: Option<String>,
    #[serde(default)]
    pub passage: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueRule {
    pub value: String,
    pub severity: Severity,
    #[serde(default)]
    pub passage: Option<String>,
}

/// Rules for the author or reader: DVDV organisation category (prefix) and key structure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyRule {
    /// `Autor` / `Leser`, as the seed calls them.
    pub role: String,
    /// Organisation category prefix, e.g. `ehp`.
    pub prefix: String,
    /// Category name (DVDV-Organisationskategorie), compared with `Identifier/@category` if sent.
    #[serde(default)]
    pub category: Option<String>,
    /// Other accepted spellings of the category name (diagnosed).
    #[serde(default)]
    pub category_variants: Vec<String>,
    #[serde(default)]
    pub passage: Option<String>,
    #[serde(default)]
    pub key: Option<KeyRule>,
}

/// The structure of a DVDV organisation key after `prefix:`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRule {
    pub digits: usize,
    #[serde(default)]
    pub segments: Vec<Segment>,
    #[serde(default)]
    pub environment: Option<EnvironmentSegment>,
}

/// Positions `from..=to` (1-based, as the seed counts "Stelle 1-2") with the values they may take.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    pub from: usize,
    pub to: usize,
    pub name: String,
    /// Allowed values as numbers or ranges (`"01-16"`); any digits when empty.
    #[serde(default)]
    pub allowed: Vec<DigitRange>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentSegment {
    pub from: usize,
    pub to: usize,
    pub production: Vec<DigitRange>,
    pub test: Vec<DigitRange>,
}

/// `"07"` or `"01-16"`: an inclusive range of same-width numbers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DigitRange {
    pub low: u64,
    pub high: u64,
    pub width: usize,
}

impl TryFrom<String> for DigitRange {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let (a, b) = s.split_once('-').unwrap_or((&s, &s));
        let ok = |x: &str| !x.is_empty() && x.len() <= 18 && x.bytes().all(|c| c.is_ascii_digit());
        if !ok(a) || !ok(b) || a.len() != b.len() {
            return Err(format!(
                "`{s}` is not a digit range: write `07` or `01-16` (both ends with the same number of digits)"
            ));
        }
        let (low, high) = (a.parse().unwrap_or(0), b.parse().unwrap_or(0));
        if low > high {
            return Err(format!("`{s}`: the range is empty ({low} > {high})"));
        }
        Ok(DigitRange {
            low,
            high,
            width: a.len(),
        })
    }
}

impl From<DigitRange> for String {
    fn from(r: DigitRange) -> String {
        if r.low == r.high {
            format!("{:0w$}", r.low, w = r.width)
        } else {
            format!("{:0w$}-{:0w$}", r.low, r.high, w = r.width)
        }
    }
}

impl DigitRange {
    pub fn contains(&self, digits: &str) -> bool {
        digits.len() == self.width
            && digits
                .parse::<u64>()
                .is_ok_and(|v| (self.low..=self.high).contains(&v))
    }
}

/// What a routing field of the business message header corresponds to in MessageMetaData.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeaderField {
    MessageType,
    Service,
    Author,
    Reader,
    AuthorName,
    ReaderName,
    AuthorCategory,
    ReaderCategory,
    MessageUuid,
    CreatedAt,
}

impl HeaderField {
    /// Routing data decide where a message goes; the others are compared for a diagnosis only.
    pub fn is_routing(self) -> bool {
        matches!(
            self,
            HeaderField::MessageType
                | HeaderField::Service
                | HeaderField::Author
                | HeaderField::Reader
        )
    }
}

/// When routing data in the header differ from MessageMetaData.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Difference {
    /// The header is authoritative: route by it, diagnose both values, transport report yellow.
    HeaderWins,
    /// Refuse the send (9052).
    Reject,
}

/// The business message header (FIM `G05001479`), found by local name at any depth of the Message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderRule {
    pub element: LocalName,
    #[serde(default)]
    pub passage: Option<String>,
    pub on_routing_difference: Difference,
    pub fields: Vec<HeaderFieldRule>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderFieldRule {
    /// Local names from the header element down, e.g. `G05001480/F05002752`.
    pub path: ElementPath,
    /// The seed's name for the field (`nachrichtentyp`).
    pub name: String,
    pub maps_to: HeaderField,
}

/// An XML local name (no prefix).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LocalName(pub String);

fn is_ncname(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_alphabetic() || f == '_')
        && c.all(|x| x.is_alphanumeric() || "_-.".contains(x))
}

impl TryFrom<String> for LocalName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        if is_ncname(&s) {
            Ok(LocalName(s))
        } else {
            Err(format!(
                "`{s}` is not an XML local name (no prefix, no spaces)"
            ))
        }
    }
}

impl From<LocalName> for String {
    fn from(l: LocalName) -> String {
        l.0
    }
}

/// `A/B/C`: local names separated by `/`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ElementPath(pub Vec<String>);

impl TryFrom<String> for ElementPath {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let parts: Vec<String> = s.split('/').map(str::to_string).collect();
        if parts.iter().all(|p| is_ncname(p)) {
            Ok(ElementPath(parts))
        } else {
            Err(format!(
                "`{s}` is not a path of local names like `G05001480/F05002752`"
            ))
        }
    }
}

impl From<ElementPath> for String {
    fn from(p: ElementPath) -> String {
        p.0.join("/")
    }
}

/// Rules for the `Message` itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageRule {
    /// The Message must be well-formed XML (else 9050).
    #[serde(default)]
    pub xml: bool,
    /// The encoding the Message must use (else 9051), e.g. `UTF-8`.
    #[serde(default)]
    pub encoding: Option<String>,
    #[serde(default)]
    pub passage: Option<String>,
}

/// Attachment file names: length, characters, uniqueness, correspondence to proof names in the Message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentRule {
    #[serde(default)]
    pub filename_required: bool,
    #[serde(default)]
    pub max_filename_chars: Option<usize>,
    /// Allowed characters, written as a set: single characters and ranges `A-Z`.
    #[serde(default)]
    pub filename_chars: Option<CharSet>,
    #[serde(default)]
    pub unique: bool,
    /// Local names of Message elements whose text names an attachment (`F60000296`): the set of those
    /// names must equal the set of attachment file names.
    #[serde(default)]
    pub proof_elements: Vec<LocalName>,
    #[serde(default)]
    pub proof_names_unique: bool,
    #[serde(default)]
    pub passage: Option<String>,
}

/// A character set: `A-Za-z0-9_.-ÄäÖöÜüß` (ranges `x-y`; a `-` first or last is itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CharSet {
    pub spec: String,
    pub ranges: Vec<(char, char)>,
}

impl TryFrom<String> for CharSet {
    type Error = String;
    fn try_from(spec: String) -> Result<Self, String> {
        let chars: Vec<char> = spec.chars().collect();
        if chars.is_empty() {
            return Err("an empty character set allows nothing".into());
        }
        let mut ranges = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            if i + 2 < chars.len() && chars[i + 1] == '-' {
                if chars[i] > chars[i + 2] {
                    return Err(format!(
                        "`{}-{}` in `{spec}` is an empty range",
                        chars[i],
                        chars[i + 2]
                    ));
                }
                ranges.push((chars[i], chars[i + 2]));
                i += 3;
            } else {
                ranges.push((chars[i], chars[i]));
                i += 1;
            }
        }
        Ok(CharSet { spec, ranges })
    }
}

impl From<CharSet> for String {
    fn from(c: CharSet) -> String {
        c.spec
    }
}

impl CharSet {
    pub fn contains(&self, c: char) -> bool {
        self.ranges.iter().any(|(a, b)| (*a..=*b).contains(&c))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompressionRule {
    /// Compressed containers (ZIP, gzip, 7z, RAR, bzip2, xz) are refused.
    pub forbidden: bool,
    #[serde(default)]
    pub passage: Option<String>,
}

/// How many bytes "MB" means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SizeUnit {
    /// 2²⁰ bytes.
    Mebibyte,
    /// 10⁶ bytes.
    Megabyte,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizeRule {
    /// Decoded content (Message and attachments together).
    pub megabytes: u64,
    pub unit: SizeUnit,
    #[serde(default)]
    pub passage: Option<String>,
}

impl SizeRule {
    pub fn bytes(&self) -> u64 {
        match self.unit {
            SizeUnit::Mebibyte => self.megabytes.saturating_mul(1 << 20),
            SizeUnit::Megabyte => self.megabytes.saturating_mul(1_000_000),
        }
    }
}

impl Profile {
    /// Checks across fields (serde checked each value on its own).
    pub fn validate(&self) -> Result<(), String> {
        if !crate::model::is_uri(&self.service.uri) {
            return Err(format!("service.uri `{}` is not a URI", self.service.uri));
        }
        for party in [&self.author, &self.reader].into_iter().flatten() {
            if party.prefix.is_empty() || !party.prefix.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(format!(
                    "{}: prefix `{}` must be letters or digits",
                    party.role, party.prefix
                ));
            }
            if let Some(k) = &party.key {
                let check = |from: usize, to: usize, what: &str| -> Result<(), String> {
                    if from == 0 || from > to || to > k.digits {
                        return Err(format!(
                            "{}: {what} positions {from}-{to} do not lie within the {} digits",
                            party.role, k.digits
                        ));
                    }
                    Ok(())
                };
                for s in &k.segments {
                    check(s.from, s.to, &s.name)?;
                    if let Some(r) = s.allowed.iter().find(|r| r.width != s.to - s.from + 1) {
                        return Err(format!(
                            "{}: segment `{}` has {} digits but allows `{}`",
                            party.role,
                            s.name,
                            s.to - s.from + 1,
                            String::from(r.clone())
                        ));
                    }
                }
                if let Some(e) = &k.environment {
                    check(e.from, e.to, "environment")?;
                }
            }
        }
        if let Some(s) = &self.max_size
            && s.megabytes == 0
        {
            return Err("max_size.megabytes must be at least 1".into());
        }
        Ok(())
    }
}
