//! The fault shape, pinned as a snapshot (random MessageID/EventID and the timestamp redacted): compare with
//! `reference/konnektor/recorded/responses/soap-error-response.xml`.

use crate::support::*;
use mock_konnektor::DEFAULT_CARD_HANDLE;

fn redact(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    for tag in [
        "GERROR:MessageID",
        "GERROR:Timestamp",
        "GERROR:EventID",
        "GERROR:LogReference",
    ] {
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        if let (Some(a), Some(b)) = (rest.find(&open), rest.find(&close)) {
            out.push_str(&rest[..a + open.len()]);
            out.push_str("[redacted]");
            rest = &rest[b..];
        }
    }
    out.push_str(rest);
    out.replace("><", ">\n<")
}

#[tokio::test]
async fn mandant_fault_shape() {
    let (app, _) = default_sim();
    let r = soap(
        &app,
        "/Konnektorservice",
        Some(A_VERIFY_PIN),
        &verify_pin_request(DEFAULT_CARD_HANDLE).replace("Mandant1<", "Mandant9<"),
    )
    .await;
    r.assert_fault(4004);
    insta::assert_snapshot!(redact(&r.body));
}
