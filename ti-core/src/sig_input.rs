//! The byte strings the IRD signatures are computed over ("Signaturbildung der Eingangsdaten",
//! "Signierung der Ausgangsdaten"). The seed's prose templates drop separators and fields; its hex dumps
//! agree on one rule, which is the canonical form here:
//!
//! - every value in document order, joined by `|` (0x7C), no leading or trailing separator;
//! - plaintext fields (IdDatenlieferung, IdDatensatz, Code) as their UTF-8 bytes;
//! - `Format: Byte` fields as their **base64-decoded** bytes;
//! - an absent optional field (IdVersicherterAlt) contributes nothing (no empty segment).
//!
//! Inputs are described as borrowed [`Segment`]s so a 100,000-record delivery is hashed without copies.
//! [`Variant`]s are the mistakes clients make; the VST compares their digests with the CMS messageDigest
//! to name the one a client made (near-miss diagnosis).

use crate::Error;
use base64::Engine;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// How a field enters the signature input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentKind {
    /// UTF-8 bytes of the JSON string.
    Plain,
    /// base64-decoded bytes of the JSON string (`Format: Byte`).
    Byte,
}

/// One field's contribution to a signature input.
#[derive(Clone, Copy, Debug)]
pub struct Segment<'a> {
    /// Property name as in the seed (IdDatensatz, IdVersicherter, …).
    pub field: &'static str,
    /// Index in `Meldungen` / `Fehler` / `Anfragen`, `None` for bundle-level fields.
    pub record: Option<usize>,
    /// The JSON string value as sent; `None` for an absent optional field.
    pub value: Option<&'a str>,
    pub kind: SegmentKind,
}

impl<'a> Segment<'a> {
    pub fn plain(field: &'static str, record: Option<usize>, v: &'a str) -> Self {
        Segment {
            field,
            record,
            value: Some(v),
            kind: SegmentKind::Plain,
        }
    }
    pub fn byte(field: &'static str, record: Option<usize>, v: &'a str) -> Self {
        Segment {
            field,
            record,
            value: Some(v),
            kind: SegmentKind::Byte,
        }
    }
    pub fn absent_byte(field: &'static str, record: Option<usize>) -> Self {
        Segment {
            field,
            record,
            value: None,
            kind: SegmentKind::Byte,
        }
    }
}

/// One record of a vital status delivery (values as sent: base64 text for Byte fields).
#[derive(Clone, Copy, Debug)]
pub struct VitalStatusRecord<'a> {
    pub id_datensatz: &'a str,
    pub id_versicherter: &'a str,
    pub vitalstatus: &'a str,
    pub sterbedatum: &'a str,
}

/// One record of an insurance update delivery.
#[derive(Clone, Copy, Debug)]
pub struct InsuranceUpdateRecord<'a> {
    pub id_datensatz: &'a str,
    pub id_versicherter: &'a str,
    pub id_versicherter_alt: Option<&'a str>,
    pub ik_alt: &'a str,
}

/// `IdDatenlieferung|IdDatensatz1|IdVersicherter1|Vitalstatus1|Sterbedatum1|IdDatensatz2|…`
pub fn vitalstatus_segments<'a>(
    id_datenlieferung: &'a str,
    records: &[VitalStatusRecord<'a>],
) -> Vec<Segment<'a>> {
    let mut s = Vec::with_capacity(1 + records.len() * 4);
    s.push(Segment::plain("IdDatenlieferung", None, id_datenlieferung));
    for (i, r) in records.iter().enumerate() {
        s.push(Segment::plain("IdDatensatz", Some(i), r.id_datensatz));
        s.push(Segment::byte("IdVersicherter", Some(i), r.id_versicherter));
        s.push(Segment::byte("Vitalstatus", Some(i), r.vitalstatus));
        s.push(Segment::byte("Sterbedatum", Some(i), r.sterbedatum));
    }
    s
}

/// `IdDatenlieferung|IdDatensatz1|IdVersicherter1|[IdVersicherterAlt1|]IkAlt1|IdDatensatz2|…`
pub fn insurance_update_segments<'a>(
    id_datenlieferung: &'a str,
    records: &[InsuranceUpdateRecord<'a>],
) -> Vec<Segment<'a>> {
    let mut s = Vec::with_capacity(1 + records.len() * 4);
    s.push(Segment::plain("IdDatenlieferung", None, id_datenlieferung));
    for (i, r) in records.iter().enumerate() {
        s.push(Segment::plain("IdDatensatz", Some(i), r.id_datensatz));
        s.push(Segment::byte("IdVersicherter", Some(i), r.id_versicherter));
        s.push(match r.id_versicherter_alt {
            Some(v) => Segment::byte("IdVersicherterAlt", Some(i), v),
            None => Segment::absent_byte("IdVersicherterAlt", Some(i)),
        });
        s.push(Segment::byte("IkAlt", Some(i), r.ik_alt));
    }
    s
}

/// Requests and anonymization notifications: `IdVersicherter1|IdVersicherter2|…`
pub fn id_list_segments<'a>(ids: &[&'a str]) -> Vec<Segment<'a>> {
    ids.iter()
        .enumerate()
        .map(|(i, v)| Segment::byte("IdVersicherter", Some(i), v))
        .collect()
}

/// Processing errors: `IdDatenlieferung1|IdDatensatz1|Code1|IdDatenlieferung2|…`
pub fn processing_error_segments<'a>(errors: &[(&'a str, &'a str, &'a str)]) -> Vec<Segment<'a>> {
    let mut s = Vec::with_capacity(errors.len() * 3);
    for (i, (l, d, c)) in errors.iter().enumerate() {
        s.push(Segment::plain("IdDatenlieferung", Some(i), l));
        s.push(Segment::plain("IdDatensatz", Some(i), d));
        s.push(Segment::plain("Code", Some(i), c));
    }
    s
}

/// Ways a client builds the input wrongly. [`Variant::Canonical`] is the right one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    Canonical,
    /// Byte fields as their base64 text instead of the decoded bytes.
    Base64Text,
    /// Values concatenated without the `|` separator.
    NoSeparator,
    /// An absent optional field as an empty segment (`…|IdVersicherter||IkAlt`).
    EmptySegmentForAbsent,
    /// A separator after the last value.
    TrailingSeparator,
    /// Only the record fields, without the bundle-level IdDatenlieferung.
    WithoutIdDatenlieferung,
    /// Without the IdDatensatz values (the insurance update prose template drops one).
    WithoutIdDatensatz,
    /// Within each record, the Byte fields in reverse order (e.g. Sterbedatum before Vitalstatus).
    ReversedRecordFields,
}

impl Variant {
    pub const MISTAKES: [Variant; 7] = [
        Variant::Base64Text,
        Variant::NoSeparator,
        Variant::EmptySegmentForAbsent,
        Variant::TrailingSeparator,
        Variant::WithoutIdDatenlieferung,
        Variant::WithoutIdDatensatz,
        Variant::ReversedRecordFields,
    ];

    pub fn describe(self) -> &'static str {
        match self {
            Variant::Canonical => "the canonical signature input",
            Variant::Base64Text => {
                "the signature was made over the base64 text of the Byte fields instead of their decoded bytes"
            }
            Variant::NoSeparator => "the values were concatenated without the `|` separator",
            Variant::EmptySegmentForAbsent => {
                "the absent optional IdVersicherterAlt was given an empty segment; it must contribute nothing"
            }
            Variant::TrailingSeparator => "the signature input ends with a trailing `|`",
            Variant::WithoutIdDatenlieferung => {
                "IdDatenlieferung is missing from the signature input"
            }
            Variant::WithoutIdDatensatz => {
                "the IdDatensatz values are missing from the signature input"
            }
            Variant::ReversedRecordFields => {
                "the fields within each record are in the wrong order (document order is required)"
            }
        }
    }
}

/// Feed the signature input for `variant` to `sink`, chunk by chunk. Fails on invalid base64.
pub fn write_input(
    segments: &[Segment<'_>],
    variant: Variant,
    sink: &mut dyn FnMut(&[u8]),
) -> Result<(), Error> {
    let mut first = true;
    let mut scratch = Vec::new();
    let order = ordered(segments, variant);
    for seg in order {
        if variant == Variant::WithoutIdDatenlieferung
            && seg.field == "IdDatenlieferung"
            && seg.record.is_none()
        {
            continue;
        }
        if variant == Variant::WithoutIdDatensatz && seg.field == "IdDatensatz" {
            continue;
        }
        let value = match seg.value {
            Some(v) => v,
            None if variant == Variant::EmptySegmentForAbsent => "",
            None => continue,
        };
        if !first && variant != Variant::NoSeparator {
            sink(b"|");
        }
        first = false;
        match (seg.kind, variant) {
            (SegmentKind::Byte, v) if v != Variant::Base64Text => {
                scratch.clear();
                base64::engine::general_purpose::STANDARD
                    .decode_vec(value, &mut scratch)
                    .map_err(|e| {
                        Error::Input(format!(
                            "{}{} is not valid base64: {e}",
                            seg.field,
                            seg.record.map(|i| format!("[{i}]")).unwrap_or_default()
                        ))
                    })?;
                sink(&scratch);
            }
            _ => sink(value.as_bytes()),
        }
    }
    if variant == Variant::TrailingSeparator && !first {
        sink(b"|");
    }
    Ok(())
}

fn ordered<'s, 'a>(segments: &'s [Segment<'a>], variant: Variant) -> Vec<&'s Segment<'a>> {
    if variant != Variant::ReversedRecordFields {
        return segments.iter().collect();
    }
    // Reverse the run of Byte fields inside each record.
    let mut out: Vec<&Segment> = Vec::with_capacity(segments.len());
    let mut run: Vec<&Segment> = Vec::new();
    for s in segments {
        if s.kind == SegmentKind::Byte {
            run.push(s);
        } else {
            out.extend(run.drain(..).rev());
            out.push(s);
        }
    }
    out.extend(run.drain(..).rev());
    out
}

/// The canonical signature input as bytes.
pub fn build(segments: &[Segment<'_>]) -> Result<Vec<u8>, Error> {
    build_variant(segments, Variant::Canonical)
}

pub fn build_variant(segments: &[Segment<'_>], variant: Variant) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    write_input(segments, variant, &mut |b| out.extend_from_slice(b))?;
    Ok(out)
}

/// SHA-256 of the signature input for `variant`, streamed.
pub fn digest(segments: &[Segment<'_>], variant: Variant) -> Result<[u8; 32], Error> {
    let mut h = Sha256::new();
    write_input(segments, variant, &mut |b| h.update(b))?;
    Ok(h.finalize().into())
}

/// Which mistake, if any, produces `message_digest` (the CMS messageDigest attribute).
/// Variants that give the same bytes as the canonical input (e.g. no absent field) are skipped.
pub fn find_near_miss(segments: &[Segment<'_>], message_digest: &[u8]) -> Option<Variant> {
    let canonical = digest(segments, Variant::Canonical).ok();
    Variant::MISTAKES.into_iter().find(|v| {
        let d = digest(segments, *v).ok();
        d.is_some()
            && d != canonical
            && d.as_ref().map(<[u8; 32]>::as_slice) == Some(message_digest)
    })
}

/// Registration and login: the bytes of `Telematik-ID|Haupt-IK` ("Registrierung an der Schnittstelle").
pub fn registration_input(telematik_id: &str, haupt_ik: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(telematik_id.len() + 1 + haupt_ik.len());
    v.extend_from_slice(telematik_id.as_bytes());
    v.push(b'|');
    v.extend_from_slice(haupt_ik.as_bytes());
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::b64_encode;

    /// The eight hex dumps of seed 002 (`shared/seeds/002_63d74fbbe60b04e8.txt`, "IRD Technische
    /// Spezifikation für Versicherungsträger"), in document order, as our own constants (facts, not
    /// text), so the tests run without the seed; `seed_dumps_match_these_constants` compares them with
    /// the seed itself when it is there.
    const SEED_HEX_DUMPS: [(&str, &str); 8] = [
        (
            r#""Registrierung an der Schnittstelle", hex dump of `Telematik-Id|Haupt-IK`"#,
            "332d31372e322e313233343536373030302e31302e3433327c313233343536373839",
        ),
        (
            r#""Signierung der Eingangsdaten", hex dump of the vital-status example"#,
            concat!(
                "323032342d30317c323032342d30312d3030317c4963682062696e2065696e207665727363686cc3bc737365",
                "6c7465722057657274206465732049645665727369636865727465727c4963682062696e2064657220766572",
                "7363686cc3bc7373656c746520566974616c7374617475737c63682062696e20646173207665727363686cc3",
                "bc7373656c746520537465726265646174756d7c323032342d30312d3030327c4963682062696e2065696e20",
                "616e6465726572207665727363686cc3bc7373656c7465722057657274206465732049645665727369636865",
                "7274656e7c4963682062696e2065696e20616e6465726572207665727363686cc3bc7373656c746572205765",
                "72742064657320566974616c7374617475737c4963682062696e2065696e20616e6465726573207665727363",
                "686cc3bc7373656c74657320537465726265646174756d",
            ),
        ),
        (
            r#"POST /notify/api/v1/vitalstatusnotification, "Signaturbildung der Eingangsdaten", hex dump"#,
            concat!(
                "323032342d30317c323032342d30312d3030317c4963682062696e2065696e207665727363686cc3bc737365",
                "6c7465722057657274206465732049645665727369636865727465727c4963682062696e2064657220766572",
                "7363686cc3bc7373656c746520566974616c7374617475737c63682062696e20646173207665727363686cc3",
                "bc7373656c746520537465726265646174756d7c323032342d30312d3030327c4963682062696e2065696e20",
                "616e6465726572207665727363686cc3bc7373656c7465722057657274206465732049645665727369636865",
                "7274656e7c4963682062696e2065696e20616e6465726572207665727363686cc3bc7373656c746572205765",
                "72742064657320566974616c7374617475737c4963682062696e2065696e20616e6465726573207665727363",
                "686cc3bc7373656c74657320537465726265646174756d",
            ),
        ),
        (
            r#"GET …/vitalstatusnotification/requests, "Signierung der Ausgangsdaten", hex dump"#,
            concat!(
                "4963682062696e2065696e207665727363686cc3bc7373656c74657220576572742064657320496456657273",
                "69636865727465727c4963682062696e2065696e20616e6465726572207665727363686cc3bc7373656c7465",
                "7220576572742064657320496456657273696368657274656e",
            ),
        ),
        (
            r#"GET …/anonymizationnotifications, "Signierung der Ausgangsdaten", hex dump"#,
            concat!(
                "4963682062696e2065696e207665727363686cc3bc7373656c74657220576572742064657320496456657273",
                "69636865727465727c4963682062696e2065696e20616e6465726572207665727363686cc3bc7373656c7465",
                "7220576572742064657320496456657273696368657274656e",
            ),
        ),
        (
            r#"GET …/vitalstatusnotification/processingerrors, "Signierung der Ausgangsdaten", hex dump"#,
            concat!(
                "323032342d30317c323032342d30312d3030317c44656372797074696f6e4572726f727c323032342d30327c",
                "323032342d30322d3030327c57726f6e67466f726d61744964566572736963686572746572",
            ),
        ),
        (
            r#"POST /notify/api/v1/insuranceupdatenotification, "Signaturbildung der Eingangsdaten", hex dump"#,
            concat!(
                "323032342d3030317c323032342d30312d3030317c4963682062696e2065696e207665727363686cc3bc7373",
                "656c7465722057657274206465732049645665727369636865727465727c4963682062696e2065696e207665",
                "7273696368657274657220576572742064657220496b416c747c323032342d30312d3030327c496368206269",
                "6e2065696e207665727363686cc3bc7373656c746572205765727420646573207a77656974656e2049645665",
                "727369636865727465727c4963682062696e2065696e207665727363686cc3bc7373656c7465722057657274",
                "20646573207a77656974656e204964566572736963686572746572416c747c4963682062696e2065696e2076",
                "65727363686cc3bc7373656c746572205765727420646573207a77656974656e20496b416c74",
            ),
        ),
        (
            r#"GET …/insuranceupdatenotification/processingerrors, "Signierung der Ausgangsdaten", hex dump"#,
            concat!(
                "323032342d30317c323032342d30312d3030317c44656372797074696f6e4572726f727c323032342d30327c",
                "323032342d30322d3030327c57726f6e67466f726d61744964566572736963686572746572",
            ),
        ),
    ];

    fn seed_hex_dumps() -> Vec<Vec<u8>> {
        SEED_HEX_DUMPS
            .iter()
            .map(|(_, h)| hex::decode(h).unwrap())
            .collect()
    }

    /// The hex dumps as the seed shows them ("Hexadezimale Darstellung" blocks), in document order.
    fn parse_seed_hex_dumps(text: &str) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut rest = text;
        while let Some(i) = rest.find("Hexadezimale Darstellung") {
            rest = &rest[i + 24..];
            let mut bytes = Vec::new();
            let mut started = false;
            for line in rest.lines().skip(1) {
                let l = line.trim();
                if l.is_empty() || l.starts_with("```") || l.starts_with('(') {
                    if started && !l.starts_with('(') {
                        break;
                    }
                    continue;
                }
                let toks: Vec<&str> = l.split_whitespace().collect();
                if toks
                    .iter()
                    .all(|t| t.len() == 2 && t.chars().all(|c| c.is_ascii_hexdigit()))
                {
                    started = true;
                    bytes.extend(toks.iter().map(|t| u8::from_str_radix(t, 16).unwrap()));
                } else {
                    break;
                }
            }
            out.push(bytes);
        }
        out
    }

    #[test]
    fn seed_dumps_match_these_constants() {
        let Some(text) = test_support::shared::read_to_string("seeds/002_63d74fbbe60b04e8.txt")
        else {
            return;
        };
        let from_seed = parse_seed_hex_dumps(&text);
        assert_eq!(from_seed.len(), SEED_HEX_DUMPS.len());
        for (i, (got, want)) in from_seed.iter().zip(seed_hex_dumps()).enumerate() {
            assert_eq!(got, &want, "dump {i}: {}", SEED_HEX_DUMPS[i].0);
        }
    }

    fn b(s: &str) -> String {
        b64_encode(s.as_bytes())
    }

    #[test]
    fn golden_registration_input() {
        let dumps = seed_hex_dumps();
        let input = registration_input("3-17.2.1234567000.10.432", "123456789");
        assert_eq!(input, dumps[0]);
        assert_eq!(
            b64_encode(&input),
            "My0xNy4yLjEyMzQ1NjcwMDAuMTAuNDMyfDEyMzQ1Njc4OQ=="
        );
        assert_eq!(
            b64_encode(&crate::sha256(&input)),
            "H6KBxNiOgghkEgX2zL5YhGE6F6vkeI63kHKX3htgWyI="
        );
    }

    #[test]
    fn golden_vitalstatus_delivery() {
        let dumps = seed_hex_dumps();
        let v = [
            b("Ich bin ein verschlüsselter Wert des IdVersicherter"),
            b("Ich bin der verschlüsselte Vitalstatus"),
            // The seed's dump itself reads "ch bin das" (its typo); the rule is what matters.
            b("ch bin das verschlüsselte Sterbedatum"),
            b("Ich bin ein anderer verschlüsselter Wert des IdVersicherten"),
            b("Ich bin ein anderer verschlüsselter Wert des Vitalstatus"),
            b("Ich bin ein anderes verschlüsseltes Sterbedatum"),
        ];
        let records = [
            VitalStatusRecord {
                id_datensatz: "2024-01-001",
                id_versicherter: &v[0],
                vitalstatus: &v[1],
                sterbedatum: &v[2],
            },
            VitalStatusRecord {
                id_datensatz: "2024-01-002",
                id_versicherter: &v[3],
                vitalstatus: &v[4],
                sterbedatum: &v[5],
            },
        ];
        let input = build(&vitalstatus_segments("2024-01", &records)).unwrap();
        // The seed shows the same dump twice ("Signierung der Eingangsdaten" and the API section).
        assert_eq!(input, dumps[1]);
        assert_eq!(input, dumps[2]);
    }

    #[test]
    fn golden_id_lists() {
        let dumps = seed_hex_dumps();
        let a = b("Ich bin ein verschlüsselter Wert des IdVersicherter");
        let c = b("Ich bin ein anderer verschlüsselter Wert des IdVersicherten");
        let input = build(&id_list_segments(&[&a, &c])).unwrap();
        assert_eq!(input, dumps[3], "requests");
        assert_eq!(input, dumps[4], "anonymization notifications");
    }

    #[test]
    fn golden_processing_errors() {
        let dumps = seed_hex_dumps();
        let input = build(&processing_error_segments(&[
            ("2024-01", "2024-01-001", "DecryptionError"),
            ("2024-02", "2024-02-002", "WrongFormatIdVersicherter"),
        ]))
        .unwrap();
        assert_eq!(input, dumps[5], "vital status processing errors");
        assert_eq!(input, dumps[7], "insurance update processing errors");
    }

    #[test]
    fn golden_insurance_update_absent_optional_contributes_nothing() {
        let dumps = seed_hex_dumps();
        let v = [
            b("Ich bin ein verschlüsselter Wert des IdVersicherter"),
            b("Ich bin ein versicherter Wert der IkAlt"),
            b("Ich bin ein verschlüsselter Wert des zweiten IdVersicherter"),
            b("Ich bin ein verschlüsselter Wert des zweiten IdVersicherterAlt"),
            b("Ich bin ein verschlüsselter Wert des zweiten IkAlt"),
        ];
        let records = [
            InsuranceUpdateRecord {
                id_datensatz: "2024-01-001",
                id_versicherter: &v[0],
                id_versicherter_alt: None,
                ik_alt: &v[1],
            },
            InsuranceUpdateRecord {
                id_datensatz: "2024-01-002",
                id_versicherter: &v[2],
                id_versicherter_alt: Some(&v[3]),
                ik_alt: &v[4],
            },
        ];
        let segs = insurance_update_segments("2024-001", &records);
        assert_eq!(build(&segs).unwrap(), dumps[6]);
        // Each mistake gives different bytes, and is recognised from its digest.
        for m in Variant::MISTAKES {
            let d = digest(&segs, m).unwrap();
            assert_ne!(d, digest(&segs, Variant::Canonical).unwrap(), "{m:?}");
            assert_eq!(find_near_miss(&segs, &d), Some(m));
        }
        assert_eq!(
            find_near_miss(&segs, &digest(&segs, Variant::Canonical).unwrap()),
            None
        );
    }

    #[test]
    fn bad_base64_is_an_error_not_a_panic() {
        let segs = id_list_segments(&["not base64!"]);
        assert!(build(&segs).is_err());
    }
}
