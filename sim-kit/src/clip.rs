//! Bounding text quoted from requests. A hostile client sends a 4 MB element name or a 50 MiB JSON
//! property name; a simulator that quotes it in a diagnosis, a fault body or the journal must not keep (or
//! echo) it whole. [`clip`] cuts a value and notes its full size: `AAAA…(4,194,304 bytes)`.
//!
//! Use [`quote`] whenever a message quotes a value from the request (a name, a value, a header):
//! `format!("unknown property `{}`", clip::quote(name))`. [`crate::Diagnosis`] applies [`clip`] with the
//! larger [`MAX_MESSAGE`] / [`MAX_LOCATION`] bounds to its fields by itself, as a safety net for every
//! simulator — but a message clipped there loses its tail, so quote with [`quote`] first.

use std::borrow::Cow;

/// Bytes of a value kept by [`quote`].
pub const QUOTE_LEN: usize = 64;
/// Bound of a diagnosis location (JSON pointer, XPath).
pub const MAX_LOCATION: usize = 512;
/// Bound of a diagnosis message and hint.
pub const MAX_MESSAGE: usize = 2048;
/// Bound of any other short text the kit journals (method, path, operation, fault description).
pub const MAX_FIELD: usize = 2048;

/// `s` if it has at most `max` bytes; otherwise its first bytes (cut at a character boundary) followed by
/// `…(N bytes)` naming the full size, the whole at most `max` bytes long (unless `max` is smaller than
/// the note itself).
pub fn clip(s: &str, max: usize) -> Cow<'_, str> {
    if s.len() <= max {
        return Cow::Borrowed(s);
    }
    let note = format!("…({} bytes)", thousands(s.len() as u64));
    let keep = floor_char_boundary(s, max.saturating_sub(note.len()));
    let mut out = String::with_capacity(keep + note.len());
    out.push_str(&s[..keep]);
    out.push_str(&note);
    Cow::Owned(out)
}

/// A request value to quote in a message: at most [`QUOTE_LEN`] bytes of it, plus its full size when cut.
pub fn quote(s: &str) -> Cow<'_, str> {
    clip(s, QUOTE_LEN + 24)
}

/// Like [`quote`] for raw bytes (a name that is not UTF-8 is shown lossily).
pub fn quote_bytes(b: &[u8]) -> String {
    let head = &b[..b.len().min(QUOTE_LEN * 4)];
    let text = String::from_utf8_lossy(head);
    if b.len() <= QUOTE_LEN + 24 && head.len() == b.len() {
        return text.into_owned();
    }
    let keep = floor_char_boundary(&text, QUOTE_LEN);
    format!("{}…({} bytes)", &text[..keep], thousands(b.len() as u64))
}

/// Clip an owned string in place (no copy when it is short enough).
pub fn clip_in_place(s: &mut String, max: usize) {
    if s.len() > max {
        *s = clip(s, max).into_owned();
    }
}

/// `4194304` → `4,194,304`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn short_values_stay_borrowed() {
        assert!(matches!(clip("abc", 10), Cow::Borrowed("abc")));
        assert_eq!(quote("Meldungen"), "Meldungen");
    }

    #[test]
    fn long_values_name_their_size() {
        let big = "A".repeat(4_194_304);
        let q = quote(&big);
        assert!(q.ends_with("…(4,194,304 bytes)"), "{q}");
        assert!(q.len() <= QUOTE_LEN + 24, "{}", q.len());
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(52_428_800), "52,428,800");
        assert_eq!(
            quote_bytes(&[0xff; 1000]),
            format!("{}…(1,000 bytes)", "\u{fffd}".repeat(21))
        );
    }

    proptest! {
        #[test]
        fn clip_is_bounded_and_a_prefix(s in "\\PC{0,300}", max in 20usize..200) {
            let c = clip(&s, max);
            prop_assert!(c.len() <= max);
            if s.len() <= max {
                prop_assert_eq!(c.as_ref(), s.as_str());
            } else {
                let cut = c.find('…').unwrap_or(c.len());
                prop_assert!(s.starts_with(&c[..cut]));
                let note = format!("…({} bytes)", thousands(s.len() as u64));
                prop_assert!(c.ends_with(&note));
            }
        }
    }
}
