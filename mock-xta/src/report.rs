//! Transport reports (`xta:TransportReport`): status 0 open while the message waits in the reader's
//! mailbox, then 1 green, 2 yellow (warnings, e.g. the misspelt FIM service or routing by the business
//! header) or 3 red (errors, a cancelled message) once the reader has confirmed the fetch with `close`.

use crate::db::{MessageRow, Record, RecordKind};
use crate::ns;
use crate::xml::W;

/// The list of record codes (`Code.RecordType`). Its values are not published; konform's records carry
/// the rule names of its diagnoses (docs/xta.md).
pub const RECORD_LIST: &str = "urn:de:xta:codeliste:record.type";
pub const RECORD_LIST_VERSION: &str = "1.0";

pub const OPEN: u8 = 0;
pub const GREEN: u8 = 1;
pub const YELLOW: u8 = 2;
pub const RED: u8 = 3;

/// The status a message's report shows.
pub fn status(m: &MessageRow, records: &[Record]) -> u8 {
    let errors = records.iter().any(|r| r.kind == RecordKind::Error);
    let warnings = records.iter().any(|r| r.kind == RecordKind::Warning);
    if m.cancelled_at.is_some() || errors && m.closed_at.is_some() {
        return RED;
    }
    if m.closed_at.is_none() {
        return OPEN;
    }
    if warnings { YELLOW } else { GREEN }
}

pub fn status_name(s: u8) -> &'static str {
    match s {
        OPEN => "offen",
        GREEN => "grün",
        YELLOW => "gelb",
        _ => "rot",
    }
}

/// The `xta:TransportReport` element.
pub fn transport_report(
    m: &MessageRow,
    report_time: &str,
    records: &[Record],
    server_identity: &str,
) -> String {
    let mut w = W::new();
    w.open("xta:TransportReport", &[("xmlns:xta", ns::XTA)])
        .raw(&m.meta_xml)
        .leaf("xta:ReportTime", report_time)
        .leaf("xta:XTAServerIdentity", server_identity)
        .open("xta:MessageStatus", &[])
        .leaf("xta:Status", &status(m, records).to_string());
    for (kind, list, item) in [
        (RecordKind::Error, "xta:ErrorList", "xta:Error"),
        (RecordKind::Warning, "xta:WarnList", "xta:Warning"),
        (RecordKind::Info, "xta:InfoList", "xta:Info"),
    ] {
        let recs: Vec<&Record> = records.iter().filter(|r| r.kind == kind).collect();
        if recs.is_empty() {
            continue;
        }
        w.open(list, &[]);
        for r in recs {
            w.open(item, &[])
                .leaf("xta:Timestamp", &r.at)
                .open(
                    "xta:Code",
                    &[
                        ("listURI", RECORD_LIST),
                        ("listVersionID", RECORD_LIST_VERSION),
                    ],
                )
                .leaf("code", &r.code)
                .close("xta:Code")
                .leaf("xta:Reason", &r.reason)
                .close(item);
        }
        w.close(list);
    }
    w.close("xta:MessageStatus").close("xta:TransportReport");
    w.buf
}
