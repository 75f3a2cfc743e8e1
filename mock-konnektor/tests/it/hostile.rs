//! Hostile sizes: a huge element name, attribute, value or entity name is never stored or echoed in full —
//! the diagnosis (location and message), the journal entry and the fault body quote it cut short with its
//! full size noted (`…(4,000,000 bytes)`).

use crate::support::*;
use mock_konnektor::DEFAULT_CARD_HANDLE;
use sim_kit::Simulator;

const HUGE: usize = 4_000_000;

fn huge(c: char) -> String {
    std::iter::repeat_n(c, HUGE).collect()
}

/// Every trace of the request the simulator keeps or sends is small.
#[track_caller]
fn assert_small(r: &Resp, st: &mock_konnektor::KonnektorState, what: &str) {
    assert!(
        r.body.len() < 8_000,
        "{what}: fault body of {} bytes",
        r.body.len()
    );
    for d in &r.diagnoses {
        assert!(
            d.len() < 4_000,
            "{what}: diagnosis header of {} bytes",
            d.len()
        );
    }
    let journal = serde_json::to_string(&st.kit().journal().all()).unwrap();
    assert!(
        journal.len() < 8_000,
        "{what}: journal of {} bytes",
        journal.len()
    );
    assert!(
        r.body.contains("4,000,0") || r.diagnoses.iter().any(|d| d.contains("4,000,0")),
        "{what}: the size is noted: {:?} {}",
        r.diagnoses,
        r.body
    );
    st.kit().journal().clear();
}

#[tokio::test]
async fn huge_names_and_values_are_quoted_short() {
    let (app, st) = default_sim();
    let good = verify_pin_request(DEFAULT_CARD_HANDLE);
    let name = huge('n');
    let cases = [
        (
            "element name (unexpected element)",
            good.replace("<ns5:PinTyp>", &format!("<ns5:{name}/><ns5:PinTyp>")),
        ),
        (
            "element name (unbound prefix)",
            good.replace("<ns5:PinTyp>", &format!("<{name}:x/><ns5:PinTyp>")),
        ),
        (
            "attribute name",
            good.replace("<ns4:VerifyPin>", &format!("<ns4:VerifyPin {name}=\"1\">")),
        ),
        (
            "value (maxLength)",
            good.replace("Mandant1<", &format!("{}<", huge('M'))),
        ),
        ("card handle", good.replace(DEFAULT_CARD_HANDLE, &huge('H'))),
        (
            "entity name",
            good.replace("PIN.SMC", &format!("&{};", huge('e'))),
        ),
        ("unclosed element", format!("<{name}>")),
    ];
    for (what, body) in cases {
        let r = soap(&app, "/Konnektorservice", Some(A_VERIFY_PIN), &body).await;
        r.assert_fault(4000);
        assert_small(&r, &st, what);
    }
    // A huge SOAPAction is quoted short too.
    let r = soap(&app, "/Konnektorservice", Some(&huge('a')[..60_000]), &good).await;
    assert!(r.body.len() < 8_000 && r.has_diag("konnektor.soap.unknown-action"));
}
