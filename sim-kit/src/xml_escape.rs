//! The one XML escaper for everything konform writes as XML (SOAP responses and faults of the simulators,
//! the reference client's requests, reports).
//!
//! Whatever the input, the output is well-formed XML 1.0 character data or attribute content: the five
//! markup characters are escaped, a carriage return becomes `&#13;` (so it survives end-of-line
//! normalisation), and characters XML 1.0 cannot carry at all (C0 controls other than tab and line feed,
//! U+FFFE, U+FFFF) are replaced by U+FFFD — there is no way to escape them (`&#1;` is not well-formed).

/// Append `s` escaped for an attribute value in double or single quotes (also fine as character data).
pub fn escape_into(out: &mut String, s: &str) {
    escape_impl(out, s, true);
}

/// Append `s` escaped as character data (quotes need no escaping there).
pub fn escape_text_into(out: &mut String, s: &str) {
    escape_impl(out, s, false);
}

/// `s` escaped for an attribute value or character data.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 8);
    escape_into(&mut o, s);
    o
}

/// Can XML 1.0 carry this character at all (production `Char`)?
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fn escape_impl(out: &mut String, s: &str, quotes: bool) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if quotes => out.push_str("&quot;"),
            '\'' if quotes => out.push_str("&apos;"),
            '\t' | '\n' => out.push(c),
            '\r' => out.push_str("&#13;"),
            c if !is_xml_char(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_quotes_and_control_characters() {
        assert_eq!(
            escape("a<b&c>\"'\u{1}\r\u{FFFE}\t\n"),
            "a&lt;b&amp;c&gt;&quot;&apos;\u{FFFD}&#13;\u{FFFD}\t\n"
        );
        let mut t = String::new();
        escape_text_into(&mut t, "\"x\" & 'y'\u{0}");
        assert_eq!(t, "\"x\" &amp; 'y'\u{FFFD}");
        assert!(is_xml_char('\u{10FFFF}') && !is_xml_char('\u{B}'));
    }
}
