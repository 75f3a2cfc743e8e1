//! Attachment file names and compressed containers.

use super::model::CharSet;

/// The characters of `name` the set does not allow, in order of appearance, each once.
pub fn disallowed_chars(name: &str, set: &CharSet) -> Vec<char> {
    let mut out: Vec<char> = Vec::new();
    for c in name.chars() {
        if !set.contains(c) && !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// How a character looks in a diagnosis: itself when visible, else its code point.
pub fn show_char(c: char) -> String {
    if c.is_control() || c.is_whitespace() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("'{c}' (U+{:04X})", c as u32)
    }
}

/// A compressed container recognised by its first bytes or its file name extension.
pub fn compression_of(head: &[u8], filename: Option<&str>) -> Option<&'static str> {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"PK\x03\x04", "ZIP"),
        (b"PK\x05\x06", "ZIP"),
        (b"\x1f\x8b", "gzip"),
        (b"7z\xbc\xaf\x27\x1c", "7z"),
        (b"Rar!\x1a\x07", "RAR"),
        (b"BZh", "bzip2"),
        (b"\xfd7zXZ\x00", "xz"),
        (b"\x28\xb5\x2f\xfd", "zstd"),
    ];
    if let Some((_, n)) = MAGIC.iter().find(|(m, _)| head.starts_with(m)) {
        return Some(n);
    }
    let ext = filename?.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "zip" => "ZIP",
        "gz" | "tgz" => "gzip",
        "7z" => "7z",
        "rar" => "RAR",
        "bz2" => "bzip2",
        "xz" => "xz",
        "zst" => "zstd",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fim_charset() {
        let set = CharSet::try_from("A-Za-zÄäÖöÜüß0-9_.-".to_string()).unwrap();
        assert!(disallowed_chars("Lageplan_Größe-2.pdf", &set).is_empty());
        assert_eq!(
            disallowed_chars("Plan (1) é.pdf", &set),
            vec![' ', '(', ')', 'é']
        );
        assert_eq!(
            compression_of(b"PK\x03\x04rest", Some("a.pdf")),
            Some("ZIP")
        );
        assert_eq!(compression_of(b"%PDF", Some("a.TAR.GZ")), Some("gzip"));
        assert_eq!(compression_of(b"%PDF", Some("a.pdf")), None);
    }
}
