//! The Laufzettel (`osci:ProcessCardBundle`) as the library writes it (`ProcessCardBundle.writeXML`):
//! MessageId (base64 of the id), ProcessCard with RecentModification and the Creation / Forwarding /
//! Reception timestamps (plain), Subject, and the InspectionReport with one Inspection per certificate.

use crate::certs::Inspection;
use crate::crypto;
use crate::mailbox::ProcessCard;
use crate::xml::esc;

fn stamp(name: &str, t: &Option<String>, out: &mut String) {
    if let Some(t) = t {
        out.push_str(&format!(
            "<osci:{name}><osci:Plain>{}</osci:Plain></osci:{name}>",
            esc(t)
        ));
    }
}

fn inspection(i: &Inspection, out: &mut String) {
    out.push_str(&format!(
        "<osci:Inspection><osci:Timestamp><osci:Plain>{}</osci:Plain></osci:Timestamp><osci:X509SubjectName>{}</osci:X509SubjectName><osci:X509IssuerName>{}</osci:X509IssuerName><osci:X509SerialNumber>{}</osci:X509SerialNumber><osci:CertType Type=\"{}\"></osci:CertType><osci:MathResult Result=\"{}\"></osci:MathResult><osci:OfflineResult Result=\"{}\"></osci:OfflineResult></osci:Inspection>",
        esc(&i.timestamp),
        esc(&i.subject),
        esc(&i.issuer),
        esc(&i.serial),
        esc(&i.cert_type),
        esc(&i.math_result),
        esc(&i.offline_result)
    ));
}

/// `osci:<name>` (ProcessCardBundle) for a card.
pub fn bundle(name: &str, card: &ProcessCard) -> String {
    let mut s = format!(
        "<osci:{name}><osci:MessageId>{}</osci:MessageId><osci:ProcessCard RecentModification=\"{}\">",
        crypto::b64(card.message_id.as_bytes()),
        esc(&card.recent_modification)
    );
    stamp("Creation", &Some(card.creation.clone()), &mut s);
    stamp("Forwarding", &card.forwarding, &mut s);
    stamp("Reception", &card.reception, &mut s);
    if let Some(sub) = &card.subject {
        s.push_str(&format!("<osci:Subject>{}</osci:Subject>", esc(sub)));
    }
    s.push_str("</osci:ProcessCard><osci:InspectionReport>");
    for i in &card.inspections {
        inspection(i, &mut s);
    }
    s.push_str(&format!("</osci:InspectionReport></osci:{name}>"));
    s
}

/// RFC 3339 UTC with milliseconds, from Unix milliseconds (the plain timestamps' form).
pub fn timestamp(unix_ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(unix_ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&fmt).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps() {
        assert_eq!(super::timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            super::timestamp(1_700_000_000_123),
            "2023-11-14T22:13:20.123Z"
        );
    }
}
