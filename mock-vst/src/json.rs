//! A small strict JSON parser for the VST's request bodies ("Festlegungen zu den JSON-Daten").
//!
//! Works on the body bytes and borrows every string that has no escape sequence, so a delivery of
//! 100,000 records is parsed without copying its values. Rejects, with the JSON pointer of the spot:
//!
//! - comments (`//`, `/* */`) — the seed: "es werden keine Kommentare in den JSON-Daten akzeptiert";
//! - duplicate keys at any depth, compared case-insensitively (names are matched case-insensitively,
//!   so `Signatur` and `signatur` would name the same property);
//! - invalid UTF-8 (inside strings; any other non-ASCII byte is a syntax error anyway), lone surrogates;
//! - nesting deeper than [`Limits::max_depth`], number literals longer than [`Limits::max_number_len`]
//!   or outside the range of an IEEE double;
//! - trailing commas, control characters in strings, trailing bytes after the value, an empty body;
//! - more values than the body's size allows for the VST's documents ([`Limits::min_bytes_per_value`]):
//!   a parsed value costs about 32 bytes, so `[0,0,…]` would cost 16× its body; the budget keeps the
//!   tree below ~3× the body (issue 8, finding 2), while every real delivery (encrypted values of ~100
//!   bytes and more) stays far below it.
//!
//! No I/O, no panics on any input (see the fuzz target `fuzz/fuzz_targets/vst_json.rs`).
//! Long because the strict parser is one recursive descent over one cursor; ~125 lines are its unit tests.

use std::borrow::Cow;
use std::collections::HashSet;

/// A parsed JSON value. Strings borrow from the input unless they contain escapes.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    /// The number literal as written (already checked for syntax, length and range).
    Number(&'a str),
    String(Cow<'a, str>),
    Array(Vec<Value<'a>>),
    /// Members in document order (keys are unique, case-insensitively).
    Object(Vec<(Cow<'a, str>, Value<'a>)>),
}

impl Value<'_> {
    /// The JSON type name, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }
}

/// Parser limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Maximum nesting of arrays and objects (the VST's documents need 3).
    pub max_depth: usize,
    /// Maximum length of a number literal in bytes.
    pub max_number_len: usize,
    /// At most one value per this many body bytes (plus [`MIN_VALUE_BUDGET`]), so the parsed tree stays
    /// within a small multiple of the body. 0 = no budget.
    pub min_bytes_per_value: usize,
}

/// Values every document may have whatever its size (small bodies, registrations).
pub const MIN_VALUE_BUDGET: usize = 4096;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 32,
            max_number_len: 40,
            min_bytes_per_value: 24,
        }
    }
}

/// Why a body is not acceptable JSON. `rule` is stable (see `docs/vst.md`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    pub rule: &'static str,
    /// JSON pointer of the value being parsed when the error occurred (`""` = the document).
    pub pointer: String,
    /// Byte offset in the body.
    pub offset: usize,
    pub message: String,
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at {} (byte {}): {}",
            self.rule,
            if self.pointer.is_empty() {
                "/"
            } else {
                &self.pointer
            },
            self.offset,
            self.message
        )
    }
}

impl std::error::Error for JsonError {}

/// Rule names of the parser.
pub mod rules {
    pub const SYNTAX: &str = "json.syntax";
    pub const EMPTY: &str = "json.empty";
    pub const COMMENT: &str = "json.comment";
    pub const DUPLICATE_KEY: &str = "json.duplicate-key";
    pub const UTF8: &str = "json.utf8";
    pub const DEPTH: &str = "json.depth";
    pub const NUMBER: &str = "json.number";
    pub const TRUNCATED: &str = "json.truncated";
    pub const TOO_MANY_VALUES: &str = "json.too-many-values";
}

#[derive(Clone, Debug)]
enum Tok<'a> {
    Key(Cow<'a, str>),
    Index(usize),
}

/// Render a JSON pointer from path tokens.
fn render(path: &[Tok<'_>]) -> String {
    let mut s = String::new();
    for t in path {
        s.push('/');
        match t {
            Tok::Key(k) => s.push_str(&k.replace('~', "~0").replace('/', "~1")),
            Tok::Index(i) => s.push_str(&i.to_string()),
        }
    }
    s
}

struct Parser<'a> {
    b: &'a [u8],
    pos: usize,
    path: Vec<Tok<'a>>,
    limits: Limits,
    /// Values still allowed ([`Limits::min_bytes_per_value`]).
    values_left: usize,
}

/// Parse a whole document.
pub fn parse(input: &[u8], limits: Limits) -> Result<Value<'_>, JsonError> {
    let values_left = match limits.min_bytes_per_value {
        0 => usize::MAX,
        n => input.len() / n + MIN_VALUE_BUDGET,
    };
    let mut p = Parser {
        b: input,
        pos: 0,
        path: Vec::new(),
        limits,
        values_left,
    };
    // A UTF-8 byte order mark is tolerated, as common JSON readers do.
    if p.b.starts_with(&[0xEF, 0xBB, 0xBF]) {
        p.pos = 3;
    }
    p.ws()?;
    if p.pos >= p.b.len() {
        return Err(p.err(rules::EMPTY, "the body is empty; a JSON object is expected"));
    }
    let v = p.value(0)?;
    p.ws()?;
    if p.pos < p.b.len() {
        return Err(p.err(
            rules::SYNTAX,
            format!(
                "unexpected {} after the end of the JSON value",
                describe(p.b[p.pos])
            ),
        ));
    }
    Ok(v)
}

fn describe(c: u8) -> String {
    if c.is_ascii_graphic() {
        format!("`{}`", c as char)
    } else {
        format!("byte 0x{c:02x}")
    }
}

/// Case-insensitive equality of property names (ASCII fast path, Unicode lower-casing otherwise).
pub fn names_equal(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

fn fold(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.to_lowercase()
    }
}

impl<'a> Parser<'a> {
    fn err(&self, rule: &'static str, msg: impl Into<String>) -> JsonError {
        JsonError {
            rule,
            pointer: render(&self.path),
            offset: self.pos,
            message: msg.into(),
        }
    }

    fn eof(&self, what: &str) -> JsonError {
        self.err(
            rules::TRUNCATED,
            format!("the body ends in the middle of {what} (truncated?)"),
        )
    }

    /// Skip whitespace; a `/` here is a comment, which the seed forbids.
    fn ws(&mut self) -> Result<(), JsonError> {
        while let Some(&c) = self.b.get(self.pos) {
            match c {
                b' ' | b'\t' | b'\n' | b'\r' => self.pos += 1,
                b'/' if matches!(self.b.get(self.pos + 1), Some(b'/') | Some(b'*')) => {
                    return Err(
                        self.err(rules::COMMENT, "comments are not allowed in the JSON data")
                    );
                }
                _ => break,
            }
        }
        Ok(())
    }

    fn value(&mut self, depth: usize) -> Result<Value<'a>, JsonError> {
        let Some(&c) = self.b.get(self.pos) else {
            return Err(self.eof("a value"));
        };
        if self.values_left == 0 {
            return Err(self.err(
                rules::TOO_MANY_VALUES,
                format!(
                    "more JSON values than a VST document of {} bytes can hold (at most one per {} bytes \
                     and {MIN_VALUE_BUDGET}); the VST's documents carry encrypted values of ~100 bytes each",
                    self.b.len(),
                    self.limits.min_bytes_per_value
                ),
            ));
        }
        self.values_left -= 1;
        match c {
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b'"' => Ok(Value::String(self.string()?)),
            b't' => self.literal("true", Value::Bool(true)),
            b'f' => self.literal("false", Value::Bool(false)),
            b'n' => self.literal("null", Value::Null),
            b'-' | b'0'..=b'9' => self.number(),
            b'/' => Err(self.err(rules::SYNTAX, "unexpected `/`")),
            _ => Err(self.err(
                rules::SYNTAX,
                format!("unexpected {} where a value is expected", describe(c)),
            )),
        }
    }

    fn literal(&mut self, word: &'static str, v: Value<'a>) -> Result<Value<'a>, JsonError> {
        let end = self.pos + word.len();
        match self.b.get(self.pos..end) {
            Some(s) if s == word.as_bytes() => {
                self.pos = end;
                Ok(v)
            }
            Some(_) => Err(self.err(
                rules::SYNTAX,
                format!("invalid literal (expected `{word}`)"),
            )),
            None if word.as_bytes().starts_with(&self.b[self.pos..]) => Err(self.eof("a literal")),
            None => Err(self.err(
                rules::SYNTAX,
                format!("invalid literal (expected `{word}`)"),
            )),
        }
    }

    fn number(&mut self) -> Result<Value<'a>, JsonError> {
        let start = self.pos;
        let b = self.b;
        let mut i = self.pos;
        let digits = |i: &mut usize| {
            let s = *i;
            while *i < b.len() && b[*i].is_ascii_digit() {
                *i += 1;
            }
            *i - s
        };
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                digits(&mut i);
            }
            None => {
                self.pos = i;
                return Err(self.eof("a number"));
            }
            _ => {
                self.pos = i;
                return Err(self.err(rules::SYNTAX, "invalid number"));
            }
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            if digits(&mut i) == 0 {
                self.pos = i;
                return Err(if i >= b.len() {
                    self.eof("a number")
                } else {
                    self.err(rules::SYNTAX, "a digit must follow the decimal point")
                });
            }
        }
        if matches!(b.get(i), Some(b'e') | Some(b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+') | Some(b'-')) {
                i += 1;
            }
            if digits(&mut i) == 0 {
                self.pos = i;
                return Err(if i >= b.len() {
                    self.eof("a number")
                } else {
                    self.err(rules::SYNTAX, "a digit must follow the exponent")
                });
            }
        }
        let lit = &b[start..i];
        // ASCII digits, sign, dot and exponent only: valid UTF-8 by construction.
        let lit = std::str::from_utf8(lit).expect("number literal is ASCII");
        if lit.len() > self.limits.max_number_len {
            return Err(self.err(
                rules::NUMBER,
                format!(
                    "number literal of {} characters exceeds the limit of {}",
                    lit.len(),
                    self.limits.max_number_len
                ),
            ));
        }
        match lit.parse::<f64>() {
            Ok(f) if f.is_finite() => {}
            _ => {
                return Err(self.err(rules::NUMBER, format!("number `{lit}` is out of range")));
            }
        }
        self.pos = i;
        Ok(Value::Number(lit))
    }

    /// A string starting at the opening quote. Borrowed when it has no escapes.
    fn string(&mut self) -> Result<Cow<'a, str>, JsonError> {
        debug_assert_eq!(self.b[self.pos], b'"');
        self.pos += 1;
        let start = self.pos;
        let b = self.b;
        let mut i = start;
        // Fast scan to the closing quote, a backslash or a control character.
        while i < b.len() {
            let c = b[i];
            if c == b'"' || c == b'\\' || c < 0x20 {
                break;
            }
            i += 1;
        }
        if i >= b.len() {
            self.pos = i;
            return Err(self.eof("a string"));
        }
        if b[i] == b'"' {
            let s = self.utf8(start, i)?;
            self.pos = i + 1;
            return Ok(Cow::Borrowed(s));
        }
        if b[i] < 0x20 {
            self.pos = i;
            return Err(self.err(
                rules::SYNTAX,
                format!(
                    "control character 0x{:02x} in a string must be escaped",
                    b[i]
                ),
            ));
        }
        // Escapes: build an owned string.
        let mut out = String::with_capacity(i - start + 16);
        out.push_str(self.utf8(start, i)?);
        loop {
            // b[i] is a backslash here.
            self.pos = i;
            let Some(&e) = b.get(i + 1) else {
                return Err(self.eof("a string"));
            };
            i += 2;
            match e {
                b'"' => out.push('"'),
                b'\\' => out.push('\\'),
                b'/' => out.push('/'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => {
                    let hi = self.hex4(i)?;
                    i += 4;
                    let ch = if (0xD800..0xDC00).contains(&hi) {
                        if b.get(i) == Some(&b'\\') && b.get(i + 1) == Some(&b'u') {
                            let lo = self.hex4(i + 2)?;
                            if !(0xDC00..0xE000).contains(&lo) {
                                self.pos = i;
                                return Err(self.err(
                                    rules::UTF8,
                                    "a high surrogate escape must be followed by a low surrogate",
                                ));
                            }
                            i += 6;
                            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                        } else {
                            self.pos = i;
                            return Err(self.err(rules::UTF8, "lone high surrogate escape"));
                        }
                    } else if (0xDC00..0xE000).contains(&hi) {
                        return Err(self.err(rules::UTF8, "lone low surrogate escape"));
                    } else {
                        hi
                    };
                    match char::from_u32(ch) {
                        Some(c) => out.push(c),
                        None => return Err(self.err(rules::UTF8, "invalid \\u escape")),
                    }
                }
                other => {
                    return Err(self.err(
                        rules::SYNTAX,
                        format!("invalid escape sequence `\\{}`", other.escape_ascii()),
                    ));
                }
            }
            let run = i;
            while i < b.len() {
                let c = b[i];
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                i += 1;
            }
            out.push_str(self.utf8(run, i)?);
            if i >= b.len() {
                self.pos = i;
                return Err(self.eof("a string"));
            }
            match b[i] {
                b'"' => {
                    self.pos = i + 1;
                    return Ok(Cow::Owned(out));
                }
                b'\\' => continue,
                c => {
                    self.pos = i;
                    return Err(self.err(
                        rules::SYNTAX,
                        format!("control character 0x{c:02x} in a string must be escaped"),
                    ));
                }
            }
        }
    }

    fn hex4(&mut self, at: usize) -> Result<u32, JsonError> {
        let Some(h) = self.b.get(at..at + 4) else {
            self.pos = at;
            return Err(self.eof("a \\u escape"));
        };
        let mut v = 0u32;
        for &c in h {
            let d = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => {
                    self.pos = at;
                    return Err(self.err(rules::SYNTAX, "\\u must be followed by four hex digits"));
                }
            };
            v = v * 16 + d as u32;
        }
        Ok(v)
    }

    fn utf8(&mut self, from: usize, to: usize) -> Result<&'a str, JsonError> {
        let b: &'a [u8] = self.b;
        std::str::from_utf8(&b[from..to]).map_err(|e| {
            self.pos = from + e.valid_up_to();
            self.err(
                rules::UTF8,
                format!(
                    "invalid UTF-8 byte 0x{:02x} in a string; the body must be UTF-8",
                    b[from + e.valid_up_to()]
                ),
            )
        })
    }

    fn enter(&mut self, depth: usize) -> Result<(), JsonError> {
        if depth > self.limits.max_depth {
            return Err(self.err(
                rules::DEPTH,
                format!(
                    "nesting deeper than {} levels is not accepted",
                    self.limits.max_depth
                ),
            ));
        }
        Ok(())
    }

    fn array(&mut self, depth: usize) -> Result<Value<'a>, JsonError> {
        self.enter(depth)?;
        self.pos += 1; // [
        let mut items = Vec::new();
        self.ws()?;
        match self.b.get(self.pos) {
            None => return Err(self.eof("an array")),
            Some(b']') => {
                self.pos += 1;
                return Ok(Value::Array(items));
            }
            _ => {}
        }
        loop {
            self.path.push(Tok::Index(items.len()));
            self.ws()?;
            if self.b.get(self.pos) == Some(&b']') {
                self.path.pop();
                return Err(self.err(rules::SYNTAX, "trailing comma in an array"));
            }
            let v = self.value(depth)?;
            self.ws()?;
            self.path.pop();
            items.push(v);
            match self.b.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                Some(&c) => {
                    return Err(self.err(
                        rules::SYNTAX,
                        format!("expected `,` or `]` in an array, found {}", describe(c)),
                    ));
                }
                None => return Err(self.eof("an array")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value<'a>, JsonError> {
        self.enter(depth)?;
        self.pos += 1; // {
        let mut members: Vec<(Cow<'a, str>, Value<'a>)> = Vec::new();
        // Folded names, built once an object grows beyond a handful of members.
        let mut folded: Option<HashSet<String>> = None;
        self.ws()?;
        match self.b.get(self.pos) {
            None => return Err(self.eof("an object")),
            Some(b'}') => {
                self.pos += 1;
                return Ok(Value::Object(members));
            }
            _ => {}
        }
        loop {
            self.ws()?;
            match self.b.get(self.pos) {
                Some(b'"') => {}
                Some(b'}') => return Err(self.err(rules::SYNTAX, "trailing comma in an object")),
                Some(&c) => {
                    return Err(self.err(
                        rules::SYNTAX,
                        format!(
                            "expected a property name in double quotes, found {}",
                            describe(c)
                        ),
                    ));
                }
                None => return Err(self.eof("an object")),
            }
            let key_at = self.pos;
            let key = self.string()?;
            let dup = match &mut folded {
                Some(set) => !set.insert(fold(&key)),
                None => {
                    let d = members.iter().any(|(k, _)| names_equal(k, &key));
                    if !d && members.len() >= 8 {
                        let mut set: HashSet<String> =
                            members.iter().map(|(k, _)| fold(k)).collect();
                        set.insert(fold(&key));
                        folded = Some(set);
                    }
                    d
                }
            };
            self.path.push(Tok::Key(key.clone()));
            if dup {
                self.pos = key_at;
                let first = members
                    .iter()
                    .find(|(k, _)| names_equal(k, &key))
                    .map(|(k, _)| k.to_string())
                    .unwrap_or_default();
                return Err(self.err(
                    rules::DUPLICATE_KEY,
                    if first == *key {
                        format!("duplicate property `{key}`")
                    } else {
                        format!(
                            "duplicate property `{key}` (same name as `{first}`: names are compared case-insensitively)"
                        )
                    },
                ));
            }
            self.ws()?;
            match self.b.get(self.pos) {
                Some(b':') => self.pos += 1,
                Some(&c) => {
                    return Err(self.err(
                        rules::SYNTAX,
                        format!("expected `:` after a property name, found {}", describe(c)),
                    ));
                }
                None => return Err(self.eof("an object")),
            }
            self.ws()?;
            let v = self.value(depth)?;
            self.ws()?;
            self.path.pop();
            members.push((key, v));
            match self.b.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(members));
                }
                Some(&c) => {
                    return Err(self.err(
                        rules::SYNTAX,
                        format!("expected `,` or `}}` in an object, found {}", describe(c)),
                    ));
                }
                None => return Err(self.eof("an object")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Value<'_>, JsonError> {
        parse(s.as_bytes(), Limits::default())
    }

    fn rule(s: &[u8]) -> (&'static str, String) {
        let e = parse(s, Limits::default()).unwrap_err();
        (e.rule, e.pointer)
    }

    #[test]
    fn values_borrow_unless_escaped() {
        let v = p(r#"{"a":"x","b":"y\nz","c":[1,-2.5e3,true,false,null]}"#).unwrap();
        let Value::Object(m) = v else { panic!() };
        assert!(matches!(&m[0].1, Value::String(Cow::Borrowed("x"))));
        assert!(matches!(&m[1].1, Value::String(Cow::Owned(s)) if s == "y\nz"));
        assert_eq!(
            m[2].1,
            Value::Array(vec![
                Value::Number("1"),
                Value::Number("-2.5e3"),
                Value::Bool(true),
                Value::Bool(false),
                Value::Null
            ])
        );
        assert_eq!(
            p(r#""\u00fc\ud83d\ude00""#).unwrap(),
            Value::String("ü😀".into())
        );
    }

    #[test]
    fn errors_carry_rule_and_pointer() {
        assert_eq!(rule(b"{\"a\": // x\n 1}"), (rules::COMMENT, "/a".into()));
        assert_eq!(rule(b"{\"a\": 1 /* x */}"), (rules::COMMENT, "/a".into()));
        assert_eq!(
            rule(br#"{"M":[{"x":1,"X":2}]}"#),
            (rules::DUPLICATE_KEY, "/M/0/X".into())
        );
        assert_eq!(
            rule(br#"{"a":1,"a":2}"#),
            (rules::DUPLICATE_KEY, "/a".into())
        );
        assert_eq!(rule(b"{\"a\":\"\xff\"}"), (rules::UTF8, "/a".into()));
        assert_eq!(rule(br#"{"a":"\ud800"}"#), (rules::UTF8, "/a".into()));
        assert_eq!(rule(br#"{"a":[1,]}"#).0, rules::SYNTAX);
        assert_eq!(rule(br#"{"a":1,}"#).0, rules::SYNTAX);
        assert_eq!(rule(br#"{"a":1} x"#).0, rules::SYNTAX);
        assert_eq!(rule(br#"{"a":"#).0, rules::TRUNCATED);
        assert_eq!(rule(br#"{"a":"abc"#).0, rules::TRUNCATED);
        assert_eq!(rule(b"  ").0, rules::EMPTY);
        assert_eq!(rule(br#"{"a":01}"#).0, rules::SYNTAX);
        assert_eq!(rule(br#"{"a":1e999}"#), (rules::NUMBER, "/a".into()));
        let long = format!(r#"{{"a":{}}}"#, "9".repeat(41));
        assert_eq!(rule(long.as_bytes()), (rules::NUMBER, "/a".into()));
        let deep = "[".repeat(33) + &"]".repeat(33);
        assert_eq!(rule(deep.as_bytes()).0, rules::DEPTH);
        let ok = "[".repeat(32) + &"]".repeat(32);
        assert!(p(&ok).is_ok());
        assert_eq!(rule(b"{\"a\":\"x\ty\"}").0, rules::SYNTAX);
        assert_eq!(
            rule(br#"{"a/b~":{"c":tru}}"#),
            (rules::SYNTAX, "/a~1b~0/c".into())
        );
    }

    #[test]
    fn duplicate_detection_in_large_objects() {
        let mut s = String::from("{");
        for i in 0..100 {
            s.push_str(&format!("\"k{i}\":{i},"));
        }
        s.push_str("\"K57\":1}");
        assert_eq!(rule(s.as_bytes()), (rules::DUPLICATE_KEY, "/K57".into()));
        // Non-ASCII names fold too.
        assert_eq!(
            rule("{\"Ä\":1,\"ä\":2}".as_bytes()),
            (rules::DUPLICATE_KEY, "/ä".into())
        );
    }

    #[test]
    fn value_budget_bounds_tiny_values() {
        // A body of 200,000 `0,` pairs: 200,001 values in 400,001 bytes, far over one per 24 bytes.
        let body = format!("[{}0]", "0,".repeat(200_000));
        let e = parse(body.as_bytes(), Limits::default()).unwrap_err();
        assert_eq!(e.rule, rules::TOO_MANY_VALUES);
        assert!(e.offset < body.len(), "{e}");
        // The same number of values with realistic (long) strings fits.
        let item = format!("\"{}\",", "A".repeat(100));
        let body = format!("[{}0]", item.repeat(20_000));
        assert!(parse(body.as_bytes(), Limits::default()).is_ok());
        // Small documents always fit.
        assert!(parse(b"[0,0,0,0,0,0,0,0]", Limits::default()).is_ok());
        // 0 switches the budget off.
        let body = format!("[{}0]", "0,".repeat(10_000));
        let off = Limits {
            min_bytes_per_value: 0,
            ..Limits::default()
        };
        assert!(parse(body.as_bytes(), off).is_ok());
    }

    #[test]
    fn bom_is_tolerated() {
        assert!(parse(b"\xEF\xBB\xBF{}", Limits::default()).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_errors_point_into_the_body(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            if let Err(e) = parse(&data, Limits::default()) {
                proptest::prop_assert!(e.offset <= data.len());
                proptest::prop_assert!(e.pointer.is_empty() || e.pointer.starts_with('/'));
            }
        }

        #[test]
        fn token_soup(tokens in proptest::collection::vec(proptest::sample::select(vec![
            "{", "}", "[", "]", ",", ":", "\"a\"", "\"A\"", "\"\\u00e4\"", "1", "-0.5e3", "true", "null", " ", "//", "/*", "\"\\ud800\"",
        ]), 0..60)) {
            let s: String = tokens.concat();
            match parse(s.as_bytes(), Limits { max_depth: 8, max_number_len: 10, min_bytes_per_value: 0 }) {
                Ok(v) => {
                    // Whatever parses must round-trip through serde_json with the same structure.
                    fn to_serde(v: &Value<'_>) -> serde_json::Value {
                        match v {
                            Value::Null => serde_json::Value::Null,
                            Value::Bool(b) => (*b).into(),
                            Value::Number(n) => serde_json::from_str(n).unwrap(),
                            Value::String(s) => s.to_string().into(),
                            Value::Array(a) => a.iter().map(to_serde).collect(),
                            Value::Object(m) => m.iter().map(|(k, v)| (k.to_string(), to_serde(v))).collect::<serde_json::Map<_, _>>().into(),
                        }
                    }
                    let ours = to_serde(&v);
                    let theirs: serde_json::Value = serde_json::from_str(&s).unwrap();
                    proptest::prop_assert_eq!(ours, theirs);
                }
                Err(e) => proptest::prop_assert!(e.offset <= s.len()),
            }
        }
    }
}
