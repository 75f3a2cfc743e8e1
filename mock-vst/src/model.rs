//! The seed's request types ("VitalStatusNotificationBundle", "InsuranceUpdateNotification…") read from a
//! parsed [`json::Value`](crate::json::Value): property names matched case-insensitively, unknown
//! properties, wrong types, missing required properties and invalid base64 (`Format: Byte`) rejected,
//! each with the JSON pointer of the offending value. Strings stay borrowed from the body.

use crate::json::{Value, names_equal};
use base64::Engine;
use std::borrow::Cow;

/// A field-level error (400) with its JSON pointer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub rule: &'static str,
    pub pointer: String,
    pub message: String,
}

pub mod rules {
    pub const UNKNOWN_PROPERTY: &str = "json.unknown-property";
    pub const TYPE: &str = "json.type";
    pub const REQUIRED: &str = "json.required";
    pub const BASE64: &str = "json.base64";
    pub const EMPTY_STRING: &str = "field.empty";
    pub const EMPTY_DELIVERY: &str = "delivery.empty";
}

fn fe(rule: &'static str, pointer: String, message: impl Into<String>) -> FieldError {
    FieldError {
        rule,
        pointer,
        message: message.into(),
    }
}

/// How a property is typed in the seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `Typ: String`, plaintext.
    Text,
    /// `Typ: String`, `Format: Byte` (base64).
    Byte,
    /// `Typ: Array`.
    Array,
}

/// A property of an object type: name as in the seed, kind, required.
#[derive(Clone, Copy, Debug)]
pub struct Prop {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
}

const fn req(name: &'static str, kind: Kind) -> Prop {
    Prop {
        name,
        kind,
        required: true,
    }
}

pub const VS_BUNDLE: [Prop; 3] = [
    req("IdDatenlieferung", Kind::Text),
    req("Meldungen", Kind::Array),
    req("Signatur", Kind::Byte),
];
pub const VS_RECORD: [Prop; 4] = [
    req("IdDatensatz", Kind::Text),
    req("IdVersicherter", Kind::Byte),
    req("Vitalstatus", Kind::Byte),
    req("Sterbedatum", Kind::Byte),
];
pub const IU_RECORD: [Prop; 4] = [
    req("IdDatensatz", Kind::Text),
    req("IdVersicherter", Kind::Byte),
    Prop {
        name: "IdVersicherterAlt",
        kind: Kind::Byte,
        required: false,
    },
    req("IkAlt", Kind::Byte),
];

/// A vital status record as sent (Byte fields as base64 text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VsRecord<'a> {
    pub id_datensatz: Cow<'a, str>,
    pub id_versicherter: Cow<'a, str>,
    pub vitalstatus: Cow<'a, str>,
    pub sterbedatum: Cow<'a, str>,
}

/// An insurance update record as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IuRecord<'a> {
    pub id_datensatz: Cow<'a, str>,
    pub id_versicherter: Cow<'a, str>,
    pub id_versicherter_alt: Option<Cow<'a, str>>,
    pub ik_alt: Cow<'a, str>,
}

/// A delivery bundle (both POST endpoints share the shape).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundle<'a, R> {
    pub id_datenlieferung: Cow<'a, str>,
    pub meldungen: Vec<R>,
    pub signatur: Cow<'a, str>,
}

/// Validate base64 without keeping the bytes (same engine as the signature input uses).
pub fn check_base64(s: &str) -> Result<(), base64::DecodeError> {
    let engine = &base64::engine::general_purpose::STANDARD;
    let mut stack = [0u8; 512];
    if base64::decoded_len_estimate(s.len()) <= stack.len() {
        match engine.decode_slice(s, &mut stack) {
            Ok(_) => return Ok(()),
            Err(base64::DecodeSliceError::DecodeError(e)) => return Err(e),
            // Cannot happen within the estimate; decode into a vector below.
            Err(base64::DecodeSliceError::OutputSliceTooSmall) => {}
        }
    }
    engine.decode(s).map(|_| ())
}

/// Match an object's members against `props` (case-insensitive names). Returns the values in the
/// order of `props`; `None` for an absent (or `null`) optional property.
fn fields<'a, const N: usize>(
    v: Value<'a>,
    ptr: &str,
    type_name: &str,
    props: &[Prop; N],
) -> Result<[Option<Value<'a>>; N], FieldError> {
    let Value::Object(members) = v else {
        return Err(fe(
            rules::TYPE,
            ptr.to_string(),
            format!("expected an object ({type_name}), found {}", v.type_name()),
        ));
    };
    let mut out: [Option<Value<'a>>; N] = std::array::from_fn(|_| None);
    for (k, val) in members {
        let Some(i) = props.iter().position(|p| names_equal(p.name, &k)) else {
            let known: Vec<&str> = props.iter().map(|p| p.name).collect();
            return Err(fe(
                rules::UNKNOWN_PROPERTY,
                format!("{ptr}/{}", crate::json::pointer_token(&k)),
                format!(
                    "unknown property `{}` in {type_name} (known: {})",
                    sim_kit::clip::quote(&k),
                    known.join(", ")
                ),
            ));
        };
        let p = props[i];
        let here = format!("{ptr}/{}", p.name);
        match (&val, p.kind) {
            (Value::Null, _) if !p.required => continue,
            (Value::Null, _) => {
                return Err(fe(
                    rules::REQUIRED,
                    here,
                    format!("required property `{}` is null", p.name),
                ));
            }
            (Value::String(_), Kind::Text | Kind::Byte) | (Value::Array(_), Kind::Array) => {}
            (other, kind) => {
                return Err(fe(
                    rules::TYPE,
                    here,
                    format!(
                        "`{}` must be {}, found {}",
                        p.name,
                        match kind {
                            Kind::Array => "an array",
                            Kind::Byte => "a string (base64, Format: Byte)",
                            Kind::Text => "a string",
                        },
                        other.type_name()
                    ),
                ));
            }
        }
        if let (Value::String(s), Kind::Byte) = (&val, p.kind) {
            if s.is_empty() {
                return Err(fe(
                    rules::EMPTY_STRING,
                    here,
                    format!("`{}` is empty", p.name),
                ));
            }
            if let Err(e) = check_base64(s) {
                return Err(fe(
                    rules::BASE64,
                    here,
                    format!("`{}` is not valid base64 (Format: Byte): {e}", p.name),
                ));
            }
        }
        if let (Value::String(s), Kind::Text) = (&val, p.kind)
            && s.trim().is_empty()
        {
            return Err(fe(
                rules::EMPTY_STRING,
                here,
                format!("`{}` is empty", p.name),
            ));
        }
        out[i] = Some(val);
    }
    for (i, p) in props.iter().enumerate() {
        if p.required && out[i].is_none() {
            return Err(fe(
                rules::REQUIRED,
                format!("{ptr}/{}", p.name),
                format!("required property `{}` is missing in {type_name}", p.name),
            ));
        }
    }
    Ok(out)
}

fn string(v: Option<Value<'_>>) -> Cow<'_, str> {
    match v {
        Some(Value::String(s)) => s,
        _ => Cow::Borrowed(""),
    }
}

fn bundle<'a, R>(
    doc: Value<'a>,
    record: impl Fn(Value<'a>, &str) -> Result<R, FieldError>,
) -> Result<Bundle<'a, R>, FieldError> {
    let [id, meldungen, sig] = fields(doc, "", "the delivery bundle", &VS_BUNDLE)?;
    let Some(Value::Array(items)) = meldungen else {
        // fields() has checked presence and type; this is only a guard.
        return Err(fe(
            rules::TYPE,
            "/Meldungen".into(),
            "`Meldungen` must be an array",
        ));
    };
    if items.is_empty() {
        return Err(fe(
            rules::EMPTY_DELIVERY,
            "/Meldungen".into(),
            "`Meldungen` is empty; a delivery carries at least one record",
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    let mut ptr = String::with_capacity(24);
    for (i, item) in items.into_iter().enumerate() {
        ptr.clear();
        ptr.push_str("/Meldungen/");
        ptr.push_str(itoa(i).as_str());
        out.push(record(item, &ptr)?);
    }
    Ok(Bundle {
        id_datenlieferung: string(id),
        meldungen: out,
        signatur: string(sig),
    })
}

fn itoa(i: usize) -> String {
    i.to_string()
}

/// A record of either stream: its `IdDatensatz` and the three value slots in the order of the record
/// type's properties after `IdDatensatz` (`None` for an absent optional value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    pub id_datensatz: Cow<'a, str>,
    pub values: [Option<Cow<'a, str>>; 3],
}

/// A delivery body of either POST endpoint, its records typed by `props` (`IdDatensatz` first, then the
/// three value properties; [`VS_RECORD`] or [`IU_RECORD`]).
pub fn delivery<'a>(
    doc: Value<'a>,
    type_name: &str,
    props: &[Prop; 4],
) -> Result<Bundle<'a, Record<'a>>, FieldError> {
    bundle(doc, |v, ptr| {
        let [d, a, b, c] = fields(v, ptr, type_name, props)?;
        Ok(Record {
            id_datensatz: string(d),
            values: [a, b, c].map(|v| v.map(|v| string(Some(v)))),
        })
    })
}

/// `POST /notify/api/v1/vitalstatusnotification` body.
pub fn vitalstatus_bundle(doc: Value<'_>) -> Result<Bundle<'_, VsRecord<'_>>, FieldError> {
    let b = delivery(doc, "a VitalStatusNotification", &VS_RECORD)?;
    Ok(Bundle {
        id_datenlieferung: b.id_datenlieferung,
        meldungen: b
            .meldungen
            .into_iter()
            .map(|r| {
                let [iv, vs, sd] = r.values.map(Option::unwrap_or_default);
                VsRecord {
                    id_datensatz: r.id_datensatz,
                    id_versicherter: iv,
                    vitalstatus: vs,
                    sterbedatum: sd,
                }
            })
            .collect(),
        signatur: b.signatur,
    })
}

/// `POST /notify/api/v1/insuranceupdatenotification` body.
pub fn insurance_update_bundle(doc: Value<'_>) -> Result<Bundle<'_, IuRecord<'_>>, FieldError> {
    let b = delivery(doc, "an InsuranceUpdateNotification", &IU_RECORD)?;
    Ok(Bundle {
        id_datenlieferung: b.id_datenlieferung,
        meldungen: b
            .meldungen
            .into_iter()
            .map(|r| {
                let [iv, alt, ik] = r.values;
                IuRecord {
                    id_datensatz: r.id_datensatz,
                    id_versicherter: iv.unwrap_or_default(),
                    id_versicherter_alt: alt,
                    ik_alt: ik.unwrap_or_default(),
                }
            })
            .collect(),
        signatur: b.signatur,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{Limits, parse};

    fn vs(s: &str) -> Result<usize, FieldError> {
        let v = parse(s.as_bytes(), Limits::default()).unwrap();
        vitalstatus_bundle(v).map(|b| b.meldungen.len())
    }

    const REC: &str =
        r#"{"IdDatensatz":"1","IdVersicherter":"AQ==","Vitalstatus":"AQ==","Sterbedatum":"AQ=="}"#;

    #[test]
    fn case_insensitive_names_and_errors() {
        assert_eq!(
            vs(&format!(
                r#"{{"iddatenlieferung":"x","MELDUNGEN":[{REC}],"signatur":"AQ=="}}"#
            )),
            Ok(1)
        );
        let e = vs(&format!(
            r#"{{"IdDatenlieferung":"x","Meldungen":[{REC},{{"IdDatensatz":"2","IdVersicherter":"AQ==","Vitalstatus":"AQ==","Sterbedatum":"AQ==","Extra":1}}],"Signatur":"AQ=="}}"#
        ))
        .unwrap_err();
        assert_eq!(
            (e.rule, e.pointer.as_str()),
            (rules::UNKNOWN_PROPERTY, "/Meldungen/1/Extra")
        );
        let e = vs(r#"{"IdDatenlieferung":"x","Meldungen":[],"Signatur":"AQ=="}"#).unwrap_err();
        assert_eq!(e.rule, rules::EMPTY_DELIVERY);
        let e = vs(&format!(
            r#"{{"IdDatenlieferung":"x","Meldungen":[{REC}]}}"#
        ))
        .unwrap_err();
        assert_eq!((e.rule, e.pointer.as_str()), (rules::REQUIRED, "/Signatur"));
        let e = vs(&format!(
            r#"{{"IdDatenlieferung":1,"Meldungen":[{REC}],"Signatur":"AQ=="}}"#
        ))
        .unwrap_err();
        assert_eq!(
            (e.rule, e.pointer.as_str()),
            (rules::TYPE, "/IdDatenlieferung")
        );
        let e = vs(&format!(
            r#"{{"IdDatenlieferung":"x","Meldungen":[{}],"Signatur":"AQ=="}}"#,
            REC.replace("\"Vitalstatus\":\"AQ==\"", "\"Vitalstatus\":\"A?==\"")
        ))
        .unwrap_err();
        assert_eq!(
            (e.rule, e.pointer.as_str()),
            (rules::BASE64, "/Meldungen/0/Vitalstatus")
        );
        let e = vs(r#"[]"#).unwrap_err();
        assert_eq!((e.rule, e.pointer.as_str()), (rules::TYPE, ""));
    }
}
