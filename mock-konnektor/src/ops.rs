//! The operations: each validates its request element against the content model of the official XSD
//! (schema errors → 4000 with the validator text), then checks context, card and PIN state, then answers.
//! Responses are written with [`crate::write::W`] using the schema prefixes.

// A fault is the cold path and is rendered right away; boxing OpErr would only add noise.
#![allow(clippy::result_large_err)]

use crate::KonnektorState;
use crate::cards::PinResult;
use crate::config::{PinStatus, can_sign, pin_types};
use crate::fault::{Code, TelFault, codes};
use crate::schema::{self, P, many, ns, opt, req};
use crate::soap::Operation;
use crate::write::W;
use crate::xml::{Element, XmlError};
use serde_json::json;
use sim_kit::Diagnosis;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

const SEED: &str = "002 \"Übergreifende Beispiele\"";

/// A successful answer: the body element, journal data and notes (diagnoses that did not reject).
#[derive(Debug, Default)]
pub struct OpOk {
    pub body: String,
    pub data: Option<serde_json::Value>,
    pub notes: Vec<Diagnosis>,
}

/// A fault with the diagnosis that explains it.
#[derive(Debug)]
pub struct OpErr {
    pub fault: TelFault,
    pub diagnosis: Diagnosis,
}

impl OpErr {
    pub fn new(code: Code, rule: &str, message: impl Into<String>) -> OpErr {
        let message = message.into();
        OpErr {
            fault: TelFault::new(code).detail(message.clone()),
            diagnosis: Diagnosis::new(rule, message),
        }
    }
    pub fn at(mut self, loc: impl Into<String>) -> OpErr {
        self.diagnosis = self.diagnosis.at(loc);
        self
    }
    pub fn hint(mut self, h: impl Into<String>) -> OpErr {
        self.diagnosis = self.diagnosis.hint(h);
        self
    }
}

impl From<XmlError> for OpErr {
    fn from(e: XmlError) -> OpErr {
        let mut d = Diagnosis::new(format!("konnektor.{}", e.rule), e.reason.clone());
        if let Some(l) = &e.location {
            d = d.at(l.clone());
        }
        OpErr {
            fault: TelFault::new(codes::SYNTAX).detail(e.reason),
            diagnosis: d,
        }
    }
}

type R<T> = Result<T, OpErr>;

fn child<'a>(el: &'a Element, m: &[Vec<usize>], i: usize) -> Option<&'a Element> {
    m[i].first().map(|&k| &el.children[k])
}

fn child_path(path: &str, el: &Element, m: &[Vec<usize>], i: usize) -> String {
    match m[i].first() {
        Some(&k) => format!("{path}/{}", schema::step(el, k)),
        None => path.to_string(),
    }
}

/// The call context as sent.
struct Ctx {
    mandant: String,
    client: String,
    workplace: String,
    user: Option<String>,
    path: String,
}

fn parse_context(el: &Element, path: &str) -> R<Ctx> {
    let m = schema::seq(
        el,
        path,
        &[
            req(ns::CONN, "MandantId"),
            req(ns::CONN, "ClientSystemId"),
            req(ns::CONN, "WorkplaceId"),
            opt(ns::CONN, "UserId"),
        ],
    )?;
    let get = |i: usize| -> R<Option<String>> {
        match child(el, &m, i) {
            Some(c) => Ok(Some(schema::max_length(
                c,
                &child_path(path, el, &m, i),
                64,
            )?)),
            None => Ok(None),
        }
    };
    Ok(Ctx {
        mandant: get(0)?.unwrap_or_default(),
        client: get(1)?.unwrap_or_default(),
        workplace: get(2)?.unwrap_or_default(),
        user: get(3)?,
        path: path.to_string(),
    })
}

fn check_context(st: &KonnektorState, c: &Ctx, notes: &mut Vec<Diagnosis>) -> R<()> {
    let cfg = &st.config().context;
    let p = &c.path;
    for (name, v) in [
        ("MandantId", &c.mandant),
        ("ClientSystemId", &c.client),
        ("WorkplaceId", &c.workplace),
    ] {
        if v.trim().is_empty() {
            return Err(OpErr::new(
                codes::CONTEXT_INCOMPLETE,
                "konnektor.context.incomplete",
                format!("{name} is empty"),
            )
            .at(format!("{p}/{name}"))
            .hint(
                "MandantId, ClientSystemId and WorkplaceId are mandatory and must not be empty",
            ));
        }
    }
    let checks = [
        (
            "MandantId",
            &c.mandant,
            &cfg.mandant_id,
            codes::MANDANT,
            "mandant-id",
        ),
        (
            "ClientSystemId",
            &c.client,
            &cfg.client_system_id,
            codes::CLIENT_SYSTEM,
            "client-system-id",
        ),
        (
            "WorkplaceId",
            &c.workplace,
            &cfg.workplace_id,
            codes::WORKPLACE,
            "workplace-id",
        ),
    ];
    for (name, got, want, code, rule) in checks {
        if got != want {
            let near = got.trim() == want.as_str() || got.eq_ignore_ascii_case(want);
            let mut e = OpErr::new(
                code,
                &format!("konnektor.context.{rule}"),
                format!("{name} '{got}' is not configured in this Konnektor"),
            )
            .at(format!("{p}/{name}"));
            e = if near {
                e.hint(format!(
                    "the configured value is '{want}': {name} is compared exactly (case and whitespace matter)"
                ))
            } else {
                e.hint(format!(
                    "the configured value is '{want}' (simulator config `context`)"
                ))
            };
            return Err(e);
        }
    }
    if let (Some(u), Some(want)) = (&c.user, &cfg.user_id) {
        if u != want {
            notes.push(
                Diagnosis::new(
                    "konnektor.context.user-id",
                    format!("UserId '{u}' differs from the configured '{want}' (not checked for SMC-B access)"),
                )
                .at(format!("{p}/UserId")),
            );
        }
    }
    Ok(())
}

/// Index of an inserted card, or 4008.
fn inserted_card(st: &KonnektorState, handle: &str, path: &str) -> R<usize> {
    let inner = st.inner();
    let idx = inner.cards.iter().position(|c| c.cfg.handle == handle);
    let state = st.lock();
    match idx {
        Some(i) if state[i].inserted => Ok(i),
        Some(_) => Err(OpErr::new(
            codes::CARD_NOT_INSERTED,
            "konnektor.card.not-inserted",
            format!("card '{handle}' is not inserted"),
        )
        .at(path.to_string())
        .hint(
            "insert it with PUT /__konform/cards/{handle}/inserted, or use a handle GetCards lists",
        )),
        None => {
            let known: Vec<&str> = inner
                .cards
                .iter()
                .zip(state.iter())
                .filter(|(_, s)| s.inserted)
                .map(|(c, _)| c.cfg.handle.as_str())
                .collect();
            let near = known.iter().find(|k| k.eq_ignore_ascii_case(handle.trim()));
            let hint = match near {
                Some(k) => format!("did you mean '{k}'? Card handles are compared exactly"),
                None => format!(
                    "take the CardHandle from GetCards; inserted cards: {}",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            };
            Err(OpErr::new(
                codes::CARD_NOT_INSERTED,
                "konnektor.card.unknown-handle",
                format!("no inserted card has the handle '{handle}'"),
            )
            .at(path.to_string())
            .hint(hint))
        }
    }
}

/// Signing needs the card's PIN to be VERIFIED.
fn require_verified(st: &KonnektorState, i: usize, path: &str, op: &str) -> R<()> {
    let s = st.lock()[i].pin;
    let handle = &st.inner().cards[i].cfg.handle;
    match s {
        PinStatus::Verified => Ok(()),
        PinStatus::Blocked => Err(OpErr::new(
            codes::PIN_BLOCKED,
            "konnektor.pin.blocked",
            format!("{op}: the PIN of card '{handle}' is blocked"),
        )
        .at(path.to_string())
        .hint("unblock it through the admin API (PUT /__konform/cards/{handle}/pin)")),
        PinStatus::TransportPin => Err(OpErr::new(
            codes::TRANSPORT_PIN,
            "konnektor.pin.transport",
            format!("{op}: card '{handle}' still has its transport PIN"),
        )
        .at(path.to_string())),
        PinStatus::Verifiable => Err(OpErr::new(
            codes::ACCESS_CONDITIONS,
            "konnektor.pin.not-verified",
            format!("{op}: the PIN of card '{handle}' has not been verified"),
        )
        .at(path.to_string())
        .hint("call CardService VerifyPin (PinTyp PIN.SMC) for this card first")
        .seed_hint()),
    }
}

trait SeedHint {
    fn seed_hint(self) -> Self;
}
impl SeedHint for OpErr {
    fn seed_hint(mut self) -> Self {
        self.diagnosis = self
            .diagnosis
            .seed(format!("{SEED}: Freigabe der SMC-B durch Eingabe der PIN"));
        self
    }
}

fn status_ok(w: &mut W) {
    w.open("CONN:Status", &[])
        .leaf("CONN:Result", "OK")
        .close("CONN:Status");
}

fn card_handle(el: &Element, path: &str) -> R<String> {
    Ok(schema::max_length(el, path, 128)?)
}

fn mandant_wide(el: &Element, path: &str) -> R<bool> {
    schema::allowed_attrs(el, path, &["mandant-wide"])?;
    match el.attr("mandant-wide") {
        None => Ok(false),
        Some(v) => match schema::collapse(v).as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            other => Err(XmlError::new(
                "schema.datatype",
                format!(
                    "cvc-datatype-valid.1.2.1: '{other}' is not a valid value for 'boolean' (attribute 'mandant-wide')."
                ),
            )
            .at(path.to_string())
            .into()),
        },
    }
}

/// Run one operation.
pub fn execute(
    st: &KonnektorState,
    op: &Operation,
    el: &Element,
    corrupt_signature: bool,
) -> R<OpOk> {
    let path = format!("/Envelope/Body/{}", el.qname);
    match op.name {
        "GetCards" => get_cards(st, el, &path),
        "GetCardTerminals" => get_card_terminals(st, el, &path),
        "VerifyPin" => verify_pin(st, el, &path),
        "GetPinStatus" => get_pin_status(st, el, &path),
        "ReadCardCertificate" => read_card_certificate(st, el, &path),
        "VerifyCertificate" => verify_certificate(st, el, &path),
        "SignDocument" => sign_document(st, el, &path, corrupt_signature),
        "GetJobNumber" => get_job_number(st, el, &path),
        "ExternalAuthenticate" => external_authenticate(st, el, &path, corrupt_signature),
        other => Err(OpErr::new(
            codes::INTERNAL,
            "konnektor.not-implemented",
            format!("{other} is not implemented"),
        )),
    }
}

// ---------------------------------------------------------------- EventService

fn terminal_visible(st: &KonnektorState, ct_id: &str, workplace: &str, wide: bool) -> bool {
    wide || st
        .config()
        .terminals
        .iter()
        .find(|t| t.ct_id == ct_id)
        .is_some_and(|t| t.workplaces.is_empty() || t.workplaces.iter().any(|w| w == workplace))
}

fn get_cards(st: &KonnektorState, el: &Element, path: &str) -> R<OpOk> {
    let wide = mandant_wide(el, path)?;
    let m = schema::seq(
        el,
        path,
        &[
            req(ns::CCTX, "Context"),
            opt(ns::CARDCMN, "CtId"),
            opt(ns::CARDCMN, "SlotId"),
            opt(ns::CARDCMN, "CardType"),
        ],
    )?;
    let ctx = parse_context(
        child(el, &m, 0).expect("required"),
        &child_path(path, el, &m, 0),
    )?;
    let ct_filter = match child(el, &m, 1) {
        Some(c) => {
            let v = schema::max_length(c, &child_path(path, el, &m, 1), 64)?;
            if v.is_empty() {
                return Err(XmlError::new(
                    "schema.min-length",
                    "cvc-minLength-valid: Value '' with length = '0' is not facet-valid with respect to minLength '1' for type 'CtIdType'.",
                )
                .at(child_path(path, el, &m, 1))
                .into());
            }
            Some(v)
        }
        None => None,
    };
    let slot_filter = match child(el, &m, 2) {
        Some(c) => Some(schema::positive_integer(c, &child_path(path, el, &m, 2))?),
        None => None,
    };
    let type_filter = match child(el, &m, 3) {
        Some(c) => Some(schema::enumeration(
            c,
            &child_path(path, el, &m, 3),
            crate::config::CARD_TYPES,
            false,
        )?),
        None => None,
    };
    let mut notes = Vec::new();
    check_context(st, &ctx, &mut notes)?;

    let mut w = W::new();
    w.open(
        "EVT:GetCardsResponse",
        &[
            ("xmlns:EVT", ns::EVT),
            ("xmlns:CONN", ns::CONN),
            ("xmlns:CARD", ns::CARD),
            ("xmlns:CARDCMN", ns::CARDCMN),
        ],
    );
    status_ok(&mut w);
    w.open("CARD:Cards", &[]);
    let state = st.lock().clone();
    let mut listed = Vec::new();
    for (c, s) in st.inner().cards.iter().zip(state.iter()) {
        if !s.inserted
            || !terminal_visible(st, &c.cfg.ct_id, &ctx.workplace, wide)
            || ct_filter.as_deref().is_some_and(|f| f != c.cfg.ct_id)
            || slot_filter.is_some_and(|f| f != c.slot_id as u64)
            || type_filter.as_deref().is_some_and(|f| f != c.cfg.card_type)
        {
            continue;
        }
        listed.push(c.cfg.handle.clone());
        w.open("CARD:Card", &[])
            .leaf("CONN:CardHandle", &c.cfg.handle)
            .leaf("CARDCMN:CardType", &c.cfg.card_type)
            .open("CARD:CardVersion", &[]);
        for (name, (a, b, r)) in [
            ("CARD:COSVersion", (4, 6, 0)),
            ("CARD:ObjectSystemVersion", (4, 8, 0)),
        ] {
            w.open(name, &[])
                .leaf("CARD:Major", &a.to_string())
                .leaf("CARD:Minor", &b.to_string())
                .leaf("CARD:Revision", &r.to_string())
                .close(name);
        }
        w.close("CARD:CardVersion")
            .leaf("CARDCMN:Iccsn", &c.iccsn)
            .leaf("CARDCMN:CtId", &c.cfg.ct_id)
            .leaf("CARDCMN:SlotId", &c.slot_id.to_string())
            .leaf("CARD:InsertTime", &c.insert_time)
            .leaf("CARD:CardHolderName", &c.holder)
            .leaf("CARD:CertificateExpirationDate", &c.expiration_date)
            .close("CARD:Card");
    }
    w.close("CARD:Cards").close("EVT:GetCardsResponse");
    Ok(OpOk {
        body: w.buf,
        data: Some(json!({ "cards": listed })),
        notes,
    })
}

fn get_card_terminals(st: &KonnektorState, el: &Element, path: &str) -> R<OpOk> {
    let wide = mandant_wide(el, path)?;
    let m = schema::seq(el, path, &[req(ns::CCTX, "Context")])?;
    let ctx = parse_context(
        child(el, &m, 0).expect("required"),
        &child_path(path, el, &m, 0),
    )?;
    let mut notes = Vec::new();
    check_context(st, &ctx, &mut notes)?;
    let mut w = W::new();
    w.open(
        "EVT:GetCardTerminalsResponse",
        &[
            ("xmlns:EVT", ns::EVT),
            ("xmlns:CONN", ns::CONN),
            ("xmlns:CT", ns::CT),
            ("xmlns:CARDCMN", ns::CARDCMN),
            ("xmlns:PI", ns::PI),
        ],
    );
    status_ok(&mut w);
    w.open("CT:CardTerminals", &[]);
    let now = sim_kit::now_rfc3339();
    for t in &st.config().terminals {
        if !terminal_visible(st, &t.ct_id, &ctx.workplace, wide) {
            continue;
        }
        w.open("CT:CardTerminal", &[]);
        product_information(
            &mut w,
            "PI",
            &now,
            "eHealth-Kartenterminal",
            "KONFT",
            "VTerm",
        );
        w.leaf("CARDCMN:CtId", &t.ct_id)
            .open("CONN:WorkplaceIds", &[]);
        for wp in &t.workplaces {
            w.leaf("CONN:WorkplaceId", wp);
        }
        w.close("CONN:WorkplaceIds")
            .leaf("CT:Name", &t.name)
            .leaf("CT:MacAddress", &t.mac_address);
        if let Some(ip) = &t.ip_address {
            w.open("CT:IPAddress", &[])
                .leaf("CT:IPV4Address", ip)
                .close("CT:IPAddress");
        }
        w.leaf("CT:Slots", &t.slots.to_string())
            .leaf("CT:IS_PHYSICAL", if t.physical { "true" } else { "false" })
            .leaf("CT:Connected", if t.connected { "true" } else { "false" })
            .close("CT:CardTerminal");
    }
    w.close("CT:CardTerminals")
        .close("EVT:GetCardTerminalsResponse");
    Ok(OpOk {
        body: w.buf,
        data: None,
        notes,
    })
}

/// ProductInformation 1.1 (used in GetCardTerminals and connector.sds).
pub fn product_information(
    w: &mut W,
    prefix: &str,
    date: &str,
    product_type: &str,
    product_code: &str,
    name: &str,
) {
    let t = |n: &str| format!("{prefix}:{n}");
    w.open(&t("ProductInformation"), &[])
        .leaf(&t("InformationDate"), date)
        .open(&t("ProductTypeInformation"), &[])
        .leaf(&t("ProductType"), product_type)
        .leaf(&t("ProductTypeVersion"), "5.53.0")
        .close(&t("ProductTypeInformation"))
        .open(&t("ProductIdentification"), &[])
        .leaf(&t("ProductVendorID"), "KONFM")
        .leaf(&t("ProductCode"), product_code)
        .open(&t("ProductVersion"), &[])
        .open(&t("Local"), &[])
        .leaf(&t("HWVersion"), "1.0.0")
        .leaf(&t("FWVersion"), "0.1.0")
        .close(&t("Local"))
        .close(&t("ProductVersion"))
        .close(&t("ProductIdentification"))
        .open(&t("ProductMiscellaneous"), &[])
        .leaf(&t("ProductVendorName"), "konform (simulator, TEST-ONLY)")
        .leaf(&t("ProductName"), &format!("konform {name} simulator"))
        .close(&t("ProductMiscellaneous"))
        .close(&t("ProductInformation"));
}

// ---------------------------------------------------------------- CardService

const PIN_REQ: &[P] = &[
    req(ns::CCTX, "Context"),
    req(ns::CONN, "CardHandle"),
    req(ns::CARDCMN, "PinTyp"),
];

fn pin_request(st: &KonnektorState, el: &Element, path: &str) -> R<(usize, Vec<Diagnosis>)> {
    let m = schema::seq(el, path, PIN_REQ)?;
    let ctx = parse_context(
        child(el, &m, 0).expect("required"),
        &child_path(path, el, &m, 0),
    )?;
    let handle_path = child_path(path, el, &m, 1);
    let handle = card_handle(child(el, &m, 1).expect("required"), &handle_path)?;
    let pin_path = child_path(path, el, &m, 2);
    let pin_typ = schema::max_length(child(el, &m, 2).expect("required"), &pin_path, 64)?;
    let mut notes = Vec::new();
    check_context(st, &ctx, &mut notes)?;
    let i = inserted_card(st, &handle, &handle_path)?;
    let card = &st.inner().cards[i];
    let allowed = pin_types(&card.cfg.card_type);
    if !allowed.contains(&pin_typ.as_str()) {
        return Err(OpErr::new(
            codes::PIN_TYPE,
            "konnektor.pin.type",
            format!(
                "PinTyp '{pin_typ}' does not exist on a {} card",
                card.cfg.card_type
            ),
        )
        .at(pin_path)
        .hint(if allowed.is_empty() {
            "this card type has no PIN".to_string()
        } else {
            format!("use {}", allowed.join(" or "))
        }));
    }
    Ok((i, notes))
}

fn verify_pin(st: &KonnektorState, el: &Element, path: &str) -> R<OpOk> {
    let (i, notes) = pin_request(st, el, path)?;
    let result = {
        let mut state = st.lock();
        if state[i].pin == PinStatus::TransportPin {
            drop(state);
            return Err(OpErr::new(
                codes::TRANSPORT_PIN,
                "konnektor.pin.transport",
                format!(
                    "card '{}' still has its transport PIN: it must be changed before it can be verified",
                    st.inner().cards[i].cfg.handle
                ),
            )
            .at(path.to_string()));
        }
        state[i].verify()
    };
    let mut w = W::new();
    w.open(
        "CARD:VerifyPinResponse",
        &[
            ("xmlns:CARD", ns::CARD),
            ("xmlns:CONN", ns::CONN),
            ("xmlns:CARDCMN", ns::CARDCMN),
        ],
    );
    status_ok(&mut w);
    w.leaf("CARDCMN:PinResult", result.as_str());
    if let Some(n) = result.left_tries() {
        w.leaf("CARDCMN:LeftTries", &n.to_string());
    }
    w.close("CARD:VerifyPinResponse");
    let mut notes = notes;
    if !matches!(result, PinResult::Ok) {
        notes.push(Diagnosis::new(
            "konnektor.pin.result",
            format!(
                "VerifyPin answered {} (scripted through the admin API)",
                result.as_str()
            ),
        ));
    }
    Ok(OpOk {
        body: w.buf,
        data: Some(
            json!({ "card": st.inner().cards[i].cfg.handle, "pin_result": result.as_str() }),
        ),
        notes,
    })
}

fn get_pin_status(st: &KonnektorState, el: &Element, path: &str) -> R<OpOk> {
    let (i, notes) = pin_request(st, el, path)?;
    let s = st.lock()[i].clone();
    let mut w = W::new();
    w.open(
        "CARD:GetPinStatusResponse",
        &[("xmlns:CARD", ns::CARD), ("xmlns:CONN", ns::CONN)],
    );
    status_ok(&mut w);
    w.leaf("CARD:PinStatus", s.pin.as_str());
    if let Some(n) = s.status_left_tries() {
        w.leaf("CARD:LeftTries", &n.to_string());
    }
    w.close("CARD:GetPinStatusResponse");
    Ok(OpOk {
        body: w.buf,
        data: Some(json!({ "card": st.inner().cards[i].cfg.handle, "pin_status": s.pin.as_str() })),
        notes,
    })
}

// ---------------------------------------------------------------- CertificateService

fn read_card_certificate(st: &KonnektorState, el: &Element, path: &str) -> R<OpOk> {
    let m = schema::seq(
        el,
        path,
        &[
            req(ns::CONN, "CardHandle"),
            req(ns::CCTX, "Context"),
            req(ns::CERT, "CertRefList"),
            opt(ns::CERT, "Crypt"),
        ],
    )?;
    let handle_path = child_path(path, el, &m, 0);
    let handle = card_handle(child(el, &m, 0).expect("required"), &handle_path)?;
    let ctx = parse_context(
        child(el, &m, 1).expect("required"),
        &child_path(path, el, &m, 1),
    )?;
    let list = child(el, &m, 2).expect("required");
    let list_path = child_path(path, el, &m, 2);
    let lm = schema::seq(list, &list_path, &[many(ns::CERT, "CertRef", 1)])?;
    let mut refs = Vec::new();
    for &k in &lm[0] {
        refs.push(schema::enumeration(
            &list.children[k],
            &format!("{list_path}/{}", schema::step(list, k)),
            &["C.AUT", "C.ENC", "C.SIG", "C.QES"],
            true,
        )?);
    }
    let crypt_path = child_path(path, el, &m, 3);
    let crypt = match child(el, &m, 3) {
        Some(c) => Some(schema::enumeration(c, &crypt_path, &["RSA", "ECC"], true)?),
        None => None,
    };
    let mut notes = Vec::new();
    check_context(st, &ctx, &mut notes)?;
    let i = inserted_card(st, &handle, &handle_path)?;
    let card = &st.inner().cards[i];
    if crypt.as_deref() == Some("RSA") {
        return Err(OpErr::new(
            codes::NO_CERTIFICATE,
            "konnektor.certificate.crypt",
            format!("card '{handle}' has ECC (brainpoolP256r1) certificates only; Crypt=RSA cannot be served"),
        )
        .at(crypt_path)
        .hint("ask for Crypt=ECC or leave Crypt out"));
    }
    let mut w = W::new();
    w.open(
        "CERT:ReadCardCertificateResponse",
        &[
            ("xmlns:CERT", ns::CERT),
            ("xmlns:CONN", ns::CONN),
            ("xmlns:CERTCMN", ns::CERTCMN),
        ],
    );
    status_ok(&mut w);
    w.open("CERTCMN:X509DataInfoList", &[]);
    let hba = card.cfg.card_type.starts_with("HBA");
    for r in &refs {
        let id = match r.as_str() {
            "C.AUT" => &card.aut,
            "C.SIG" => &card.sig,
            "C.ENC" => &card.enc,
            "C.QES" if hba => &card.sig,
            _ => {
                return Err(OpErr::new(
                    codes::NO_CERTIFICATE,
                    "konnektor.certificate.ref",
                    format!(
                        "card '{handle}' ({}) has no {r} certificate",
                        card.cfg.card_type
                    ),
                )
                .at(list_path.clone())
                .hint("an SMC-B carries C.AUT, C.ENC and C.SIG"));
            }
        };
        let cert = id.cert();
        let tbs = cert.tbs_certificate();
        let serial = big_decimal(tbs.serial_number().as_bytes());
        w.open("CERTCMN:X509DataInfo", &[])
            .leaf("CERTCMN:CertRef", r)
            .open("CERTCMN:X509Data", &[])
            .open("CERTCMN:X509IssuerSerial", &[])
            .leaf("CERTCMN:X509IssuerName", &tbs.issuer().to_string())
            .leaf("CERTCMN:X509SerialNumber", &serial)
            .close("CERTCMN:X509IssuerSerial")
            .leaf("CERTCMN:X509SubjectName", &tbs.subject().to_string())
            .leaf(
                "CERTCMN:X509Certificate",
                &ti_core::b64_encode(&id.cert_der),
            )
            .close("CERTCMN:X509Data")
            .close("CERTCMN:X509DataInfo");
    }
    w.close("CERTCMN:X509DataInfoList")
        .close("CERT:ReadCardCertificateResponse");
    Ok(OpOk {
        body: w.buf,
        data: Some(json!({ "card": handle, "refs": refs })),
        notes,
    })
}

/// Unsigned big-endian bytes as a decimal string.
pub fn big_decimal(bytes: &[u8]) -> String {
    let mut digits: Vec<u8> = vec![0];
    for &b in bytes {
        let mut carry = b as u32;
        for d in digits.iter_mut() {
            let v = (*d as u32) * 256 + carry;
            *d = (v % 10) as u8;
            carry = v / 10;
        }
        while carry > 0 {
            digits.push((carry % 10) as u8);
            carry /= 10;
        }
    }
    while digits.len() > 1 && *digits.last().unwrap_or(&0) == 0 {
        digits.pop();
    }
    digits.iter().rev().map(|d| (b'0' + d) as char).collect()
}

fn verify_certificate(st: &KonnektorState, el: &Element, path: &str) -> R<OpOk> {
    let m = schema::seq(
        el,
        path,
        &[
            req(ns::CCTX, "Context"),
            req(ns::CERTCMN, "X509Certificate"),
            opt(ns::CERT, "VerificationTime"),
        ],
    )?;
    let ctx = parse_context(
        child(el, &m, 0).expect("required"),
        &child_path(path, el, &m, 0),
    )?;
    let der = schema::base64(
        child(el, &m, 1).expect("required"),
        &child_path(path, el, &m, 1),
    )?;
    let at = match child(el, &m, 2) {
        Some(c) => {
            let v = schema::date_time(c, &child_path(path, el, &m, 2))?;
            parse_time(&v).unwrap_or_else(SystemTime::now)
        }
        None => SystemTime::now(),
    };
    let mut notes = Vec::new();
    check_context(st, &ctx, &mut notes)?;
    let (result, reason) = match <x509_cert::Certificate as der::Decode>::from_der(&der) {
        Err(e) => ("INVALID", format!("not an X.509 certificate: {e}")),
        Ok(cert) => match ti_core::pki::verify_chain(&cert, &[], &[st.pki().ca.cert()], at) {
            Ok(()) => ("VALID", "chains to the test CA and is valid".to_string()),
            Err(e) => ("INVALID", e.to_string()),
        },
    };
    if result != "VALID" {
        notes.push(
            Diagnosis::new("konnektor.certificate.invalid", reason.clone())
                .at(child_path(path, el, &m, 1)),
        );
    }
    let mut w = W::new();
    w.open(
        "CERT:VerifyCertificateResponse",
        &[("xmlns:CERT", ns::CERT), ("xmlns:CONN", ns::CONN)],
    );
    status_ok(&mut w);
    w.open("CERT:VerificationStatus", &[])
        .leaf("CERT:VerificationResult", result)
        .close("CERT:VerificationStatus")
        .open("CERT:RoleList", &[])
        .leaf("CERT:Role", "1.2.276.0.76.4.59")
        .close("CERT:RoleList")
        .close("CERT:VerifyCertificateResponse");
    Ok(OpOk {
        body: w.buf,
        data: Some(json!({ "result": result, "reason": reason })),
        notes,
    })
}

fn parse_time(v: &str) -> Option<SystemTime> {
    time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(SystemTime::from)
        .or_else(|| {
            time::PrimitiveDateTime::parse(
                v,
                time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
            )
            .ok()
            .map(|p| SystemTime::from(p.assume_utc()))
        })
}

// ---------------------------------------------------------------- SignatureService

const CMS: &str = "urn:ietf:rfc:5652";
const ECDSA: &str = "urn:bsi:tr:03111:ecdsa";

struct SignReq {
    request_id: String,
    content: Vec<u8>,
    embed: bool,
    short_text: Option<String>,
}

fn sign_request(el: &Element, path: &str) -> R<(SignReq, Option<(String, String)>)> {
    schema::allowed_attrs(el, path, &["RequestID"])?;
    let request_id = schema::required_attr(el, path, "RequestID")?.to_string();
    let m = schema::seq(
        el,
        path,
        &[
            opt(ns::SIG, "OptionalInputs"),
            req(ns::SIG, "Document"),
            req(ns::SIG, "IncludeRevocationInfo"),
        ],
    )?;
    let mut sig_type: Option<(String, String)> = None;
    let mut embed = false;
    if let Some(oi) = child(el, &m, 0) {
        let oi_path = child_path(path, el, &m, 0);
        let om = schema::all(
            oi,
            &oi_path,
            &[
                opt(ns::DSS, "SignatureType"),
                opt(ns::DSS, "Properties"),
                opt(ns::SIG, "IncludeEContent"),
                opt(ns::SIG, "IncludeObjects"),
                opt(ns::DSS, "SignaturePlacement"),
                opt(ns::DSS, "ReturnUpdatedSignature"),
                opt(ns::DSS, "Schemas"),
                opt(ns::SP, "GenerateUnderSignaturePolicy"),
                opt(ns::SIG, "ViewerInfo"),
            ],
        )?;
        if let Some(k) = om[0] {
            let p = format!("{oi_path}/{}", schema::step(oi, k));
            let v = schema::collapse(schema::simple(&oi.children[k], &p)?);
            sig_type = Some((v, p));
        }
        if let Some(k) = om[2] {
            let p = format!("{oi_path}/{}", schema::step(oi, k));
            embed = match schema::boolean(&oi.children[k], &p) {
                Ok(b) => b,
                Err(e) => {
                    let mut err: OpErr = e.into();
                    if oi.children[k].text.trim_start().starts_with('>') {
                        err = err.hint("a stray '>' before the value: the IRD seed's example reads `<ns4:IncludeEContent>>false</ns4:IncludeEContent>`, write `<ns4:IncludeEContent>false</ns4:IncludeEContent>`");
                        err.diagnosis = err
                            .diagnosis
                            .seed(format!("{SEED}: Signierung der Eingangsdaten"));
                    }
                    return Err(err);
                }
            };
        }
    }
    let doc = child(el, &m, 1).expect("required");
    let doc_path = child_path(path, el, &m, 1);
    schema::allowed_attrs(
        doc,
        &doc_path,
        &["ID", "RefURI", "RefType", "SchemaRefs", "ShortText"],
    )?;
    let dm = schema::seq(
        doc,
        &doc_path,
        &[opt(ns::CONN, "Base64XML"), opt(ns::DSS, "Base64Data")],
    )?;
    let content = match (child(doc, &dm, 0), child(doc, &dm, 1)) {
        (Some(x), None) => schema::base64(x, &child_path(&doc_path, doc, &dm, 0))?,
        (None, Some(d)) => {
            let p = child_path(&doc_path, doc, &dm, 1);
            schema::allowed_attrs(d, &p, &["MimeType"])?;
            schema::base64(d, &p)?
        }
        (None, None) => {
            return Err(XmlError::new(
                "schema.missing-element",
                format!(
                    "cvc-complex-type.2.4.b: The content of element '{}' is not complete. One of '{{\"{}\":Base64XML, \"{}\":Base64Data}}' is expected.",
                    doc.qname,
                    ns::CONN,
                    ns::DSS
                ),
            )
            .at(doc_path)
            .into());
        }
        (Some(_), Some(_)) => {
            return Err(XmlError::new(
                "schema.unexpected-element",
                format!(
                    "cvc-complex-type.2.4.d: Invalid content was found starting with element '{}'. No child element is expected at this point.",
                    doc.children[dm[1][0]].qname
                ),
            )
            .at(child_path(&doc_path, doc, &dm, 1))
            .into());
        }
    };
    if let Some(st) = doc.attr("ShortText") {
        if st.chars().count() > 1000 {
            return Err(XmlError::new(
                "schema.max-length",
                "cvc-maxLength-valid: ShortText is longer than 1000 characters.",
            )
            .at(doc_path)
            .into());
        }
    }
    schema::boolean(
        child(el, &m, 2).expect("required"),
        &child_path(path, el, &m, 2),
    )?;
    Ok((
        SignReq {
            request_id,
            content,
            embed,
            short_text: doc.attr("ShortText").map(str::to_string),
        },
        sig_type,
    ))
}

fn sign_document(st: &KonnektorState, el: &Element, path: &str, corrupt: bool) -> R<OpOk> {
    schema::allowed_attrs(el, path, &[])?;
    let m = schema::seq(
        el,
        path,
        &[
            req(ns::CONN, "CardHandle"),
            opt(ns::SIG, "Crypt"),
            req(ns::CCTX, "Context"),
            req(ns::SIG, "TvMode"),
            opt(ns::SIG, "JobNumber"),
            many(ns::SIG, "SignRequest", 1),
        ],
    )?;
    let handle_path = child_path(path, el, &m, 0);
    let handle = card_handle(child(el, &m, 0).expect("required"), &handle_path)?;
    let crypt_path = child_path(path, el, &m, 1);
    let crypt = match child(el, &m, 1) {
        Some(c) => Some(schema::enumeration(
            c,
            &crypt_path,
            &["RSA", "ECC", "RSA_ECC"],
            false,
        )?),
        None => None,
    };
    let ctx = parse_context(
        child(el, &m, 2).expect("required"),
        &child_path(path, el, &m, 2),
    )?;
    schema::enumeration(
        child(el, &m, 3).expect("required"),
        &child_path(path, el, &m, 3),
        &["NONE", "UNCONFIRMED", "CONFIRMED"],
        false,
    )?;
    let mut job = None;
    if let Some(j) = child(el, &m, 4) {
        let p = child_path(path, el, &m, 4);
        let v = schema::simple(j, &p)?;
        let b = v.as_bytes();
        let ok = b.len() == 7
            && b[..3].iter().all(u8::is_ascii_uppercase)
            && b[3] == b'-'
            && b[4..].iter().all(u8::is_ascii_digit);
        if !ok {
            return Err(XmlError::new(
                "schema.pattern",
                format!(
                    "cvc-pattern-valid: Value '{}' is not facet-valid with respect to pattern '[A-Z][A-Z][A-Z]-[0-9][0-9][0-9]' for type of element '{}'.",
                    schema::truncate(v, 40),
                    j.qname
                ),
            )
            .at(p)
            .into());
        }
        job = Some(v.to_string());
    }
    let mut reqs = Vec::new();
    for &k in &m[5] {
        let p = format!("{path}/{}", schema::step(el, k));
        let (r, t) = sign_request(&el.children[k], &p)?;
        reqs.push((r, t, p));
    }
    let mut notes = Vec::new();
    check_context(st, &ctx, &mut notes)?;
    let i = inserted_card(st, &handle, &handle_path)?;
    let card = &st.inner().cards[i];
    if !can_sign(&card.cfg.card_type) {
        return Err(OpErr::new(
            codes::CARD_TYPE,
            "konnektor.card.type",
            format!("a {} card cannot sign documents", card.cfg.card_type),
        )
        .at(handle_path));
    }
    if crypt.as_deref() == Some("RSA") {
        return Err(OpErr::new(
            codes::NO_CERTIFICATE,
            "konnektor.certificate.crypt",
            format!("card '{handle}' has ECC keys only; Crypt=RSA cannot be served"),
        )
        .at(crypt_path)
        .hint("use Crypt=ECC (or RSA_ECC, or leave it out)"));
    }
    for (_, t, p) in &reqs {
        if let Some((v, tp)) = t {
            if v != CMS {
                let hint = if v == ECDSA {
                    "urn:bsi:tr:03111:ecdsa is ExternalAuthenticate's type; SignDocument makes CMS: urn:ietf:rfc:5652".to_string()
                } else {
                    format!(
                        "the IRD signature is CMS: urn:ietf:rfc:5652 (this simulator makes no other type; request at {p})"
                    )
                };
                let mut e = OpErr::new(
                    codes::SIGNATURE_TYPE,
                    "konnektor.sign.signature-type",
                    format!("SignatureType '{v}' is not supported"),
                )
                .at(tp.clone())
                .hint(hint);
                e.diagnosis = e
                    .diagnosis
                    .seed(format!("{SEED}: Signierung der Eingangsdaten"));
                return Err(e);
            }
        }
    }
    require_verified(st, i, &handle_path, "SignDocument")?;
    if card.expiration_date.as_str() < sim_kit::now_rfc3339().get(..10).unwrap_or("") {
        notes.push(
            Diagnosis::new(
                "konnektor.certificate.expired",
                format!(
                    "card '{handle}' signs with a C.SIG certificate that expired on {}",
                    card.expiration_date
                ),
            )
            .hint("the simulator signs anyway so the receiver's expiry check can be tested"),
        );
    }
    let now = SystemTime::now();
    let mut w = W::new();
    w.open(
        "SIG:SignDocumentResponse",
        &[
            ("xmlns:SIG", ns::SIG),
            ("xmlns:CONN", ns::CONN),
            ("xmlns:dss", ns::DSS),
        ],
    );
    let mut data = Vec::new();
    for (r, _, p) in &reqs {
        let mut cms =
            ti_core::cms::sign(&r.content, &card.sig.key, &card.sig.cert_der, r.embed, now)
                .map_err(|e| {
                    OpErr::new(
                        codes::INTERNAL,
                        "konnektor.internal",
                        format!("CMS signing failed: {e}"),
                    )
                    .at(p.clone())
                })?;
        if corrupt {
            if let Some(last) = cms.last_mut() {
                *last ^= 0x01;
            }
        }
        w.open("SIG:SignResponse", &[("RequestID", &r.request_id)]);
        status_ok(&mut w);
        w.open("dss:SignatureObject", &[])
            .leaf_attrs(
                "dss:Base64Signature",
                &[("Type", CMS)],
                &ti_core::b64_encode(&cms),
            )
            .close("dss:SignatureObject")
            .close("SIG:SignResponse");
        data.push(json!({
            "request_id": r.request_id,
            "content_sha256": hex(&ti_core::sha256(&r.content)),
            "content_len": r.content.len(),
            "embedded": r.embed,
            "short_text": r.short_text,
        }));
    }
    w.close("SIG:SignDocumentResponse");
    Ok(OpOk {
        body: w.buf,
        data: Some(
            json!({ "card": handle, "job_number": job, "documents": data, "corrupted": corrupt }),
        ),
        notes,
    })
}

fn get_job_number(st: &KonnektorState, el: &Element, path: &str) -> R<OpOk> {
    let m = schema::seq(el, path, &[req(ns::CCTX, "Context")])?;
    let ctx = parse_context(
        child(el, &m, 0).expect("required"),
        &child_path(path, el, &m, 0),
    )?;
    let mut notes = Vec::new();
    check_context(st, &ctx, &mut notes)?;
    let n = st.inner().job_counter.fetch_add(1, Ordering::Relaxed);
    let letters = n / 1000;
    let l = |k: u64| (b'A' + ((letters / k) % 26) as u8) as char;
    let job = format!("{}{}{}-{:03}", l(676), l(26), l(1), n % 1000);
    let mut w = W::new();
    w.open("SIG:GetJobNumberResponse", &[("xmlns:SIG", ns::SIG)])
        .leaf("SIG:JobNumber", &job)
        .close("SIG:GetJobNumberResponse");
    Ok(OpOk {
        body: w.buf,
        data: Some(json!({ "job_number": job })),
        notes,
    })
}

fn external_authenticate(st: &KonnektorState, el: &Element, path: &str, corrupt: bool) -> R<OpOk> {
    schema::allowed_attrs(el, path, &[])?;
    let m = schema::seq(
        el,
        path,
        &[
            req(ns::CONN, "CardHandle"),
            req(ns::CCTX, "Context"),
            opt(ns::SIG, "OptionalInputs"),
            req(ns::SIG, "BinaryString"),
        ],
    )?;
    let handle_path = child_path(path, el, &m, 0);
    let handle = card_handle(child(el, &m, 0).expect("required"), &handle_path)?;
    let ctx = parse_context(
        child(el, &m, 1).expect("required"),
        &child_path(path, el, &m, 1),
    )?;
    let mut sig_type: Option<(String, String)> = None;
    let mut scheme: Option<String> = None;
    if let Some(oi) = child(el, &m, 2) {
        let oi_path = child_path(path, el, &m, 2);
        let om = schema::all(
            oi,
            &oi_path,
            &[
                opt(ns::DSS, "SignatureType"),
                opt(ns::SIG, "SignatureSchemes"),
            ],
        )?;
        if let Some(k) = om[0] {
            let p = format!("{oi_path}/{}", schema::step(oi, k));
            sig_type = Some((schema::collapse(schema::simple(&oi.children[k], &p)?), p));
        }
        if let Some(k) = om[1] {
            let p = format!("{oi_path}/{}", schema::step(oi, k));
            scheme = Some(schema::enumeration(
                &oi.children[k],
                &p,
                &["RSASSA-PSS", "RSASSA-PKCS1-v1_5"],
                false,
            )?);
        }
    }
    let bs = child(el, &m, 3).expect("required");
    let bs_path = child_path(path, el, &m, 3);
    schema::allowed_attrs(bs, &bs_path, &["ID", "RefURI", "RefType", "SchemaRefs"])?;
    let bm = schema::all(bs, &bs_path, &[req(ns::DSS, "Base64Data")])?;
    let data_el = &bs.children[bm[0].expect("required")];
    let data_path = format!("{bs_path}/{}", data_el.qname);
    schema::allowed_attrs(data_el, &data_path, &["MimeType"])?;
    let input = schema::base64(data_el, &data_path)?;

    let mut notes = Vec::new();
    check_context(st, &ctx, &mut notes)?;
    let i = inserted_card(st, &handle, &handle_path)?;
    let card = &st.inner().cards[i];
    if !can_sign(&card.cfg.card_type) {
        return Err(OpErr::new(
            codes::CARD_TYPE,
            "konnektor.card.type",
            format!("a {} card cannot authenticate", card.cfg.card_type),
        )
        .at(handle_path));
    }
    match &sig_type {
        None => notes.push(Diagnosis::new(
            "konnektor.auth.signature-type-default",
            "no SignatureType given: the card is ECC-only, so urn:bsi:tr:03111:ecdsa is used",
        )),
        Some((v, _)) if v == ECDSA => {}
        Some((v, p)) => {
            let hint = if v == "urn:ietf:rfc:3447" {
                "urn:ietf:rfc:3447 is RSA; the test cards are brainpoolP256r1 ECC: use urn:bsi:tr:03111:ecdsa"
            } else if v == CMS {
                "urn:ietf:rfc:5652 is SignDocument's type; ExternalAuthenticate uses urn:bsi:tr:03111:ecdsa"
            } else {
                "use urn:bsi:tr:03111:ecdsa"
            };
            let mut e = OpErr::new(
                codes::SIGNATURE_TYPE,
                "konnektor.auth.signature-type",
                format!("SignatureType '{v}' cannot be used with this ECC card"),
            )
            .at(p.clone())
            .hint(hint);
            e.diagnosis = e
                .diagnosis
                .seed(format!("{SEED}: Operation ExternalAuthenticate"));
            return Err(e);
        }
    }
    if let Some(s) = scheme {
        notes.push(Diagnosis::new(
            "konnektor.auth.signature-scheme-ignored",
            format!("SignatureSchemes '{s}' applies to RSA only and is ignored for ECDSA"),
        ));
    }
    if input.len() != 32 {
        let hint = if input.len() > 32 {
            "send the SHA-256 of the data (32 bytes), not the data itself: urn:bsi:tr:03111:ecdsa signs a hash value"
        } else {
            "urn:bsi:tr:03111:ecdsa signs exactly one 32-byte hash (SHA-256)"
        };
        let mut e = OpErr::new(
            codes::BAD_INPUT_LENGTH,
            "konnektor.auth.input-length",
            format!(
                "BinaryString has {} bytes; ECDSA over brainpoolP256r1 takes a 32-byte hash",
                input.len()
            ),
        )
        .at(data_path)
        .hint(hint);
        e.diagnosis = e
            .diagnosis
            .seed(format!("{SEED}: Operation ExternalAuthenticate"));
        return Err(e);
    }
    require_verified(st, i, &handle_path, "ExternalAuthenticate")?;
    let mut sig = card.aut.key.sign_prehash_der(&input).map_err(|e| {
        OpErr::new(
            codes::INTERNAL,
            "konnektor.internal",
            format!("ECDSA failed: {e}"),
        )
    })?;
    if corrupt {
        if let Some(b) = sig.get_mut(10) {
            *b ^= 0x01;
        }
    }
    let mut w = W::new();
    w.open(
        "SIG:ExternalAuthenticateResponse",
        &[
            ("xmlns:SIG", ns::SIG),
            ("xmlns:CONN", ns::CONN),
            ("xmlns:dss", ns::DSS),
        ],
    );
    status_ok(&mut w);
    w.open("dss:SignatureObject", &[])
        .leaf_attrs(
            "dss:Base64Signature",
            &[("Type", ECDSA)],
            &ti_core::b64_encode(&sig),
        )
        .close("dss:SignatureObject")
        .close("SIG:ExternalAuthenticateResponse");
    Ok(OpOk {
        body: w.buf,
        data: Some(json!({ "card": handle, "input_hex": hex(&input), "corrupted": corrupt })),
        notes,
    })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_serials() {
        assert_eq!(big_decimal(&[0]), "0");
        assert_eq!(big_decimal(&[0x01, 0x00]), "256");
        assert_eq!(big_decimal(&[0x5c, 0x4a, 0x2e, 0xed]), "1548365549");
        assert_eq!(big_decimal(&u64::MAX.to_be_bytes()), u64::MAX.to_string());
    }
}
