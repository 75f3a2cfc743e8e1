//! Who is calling. XTA authenticates by TLS client certificate only (the KoSIT conformance notes for
//! checkAccountActive); the certificate names the account (its DVDV key in the subject `OU`). The identity
//! a request claims — the `oscimeta:Author` header, or the Sender/Author of a transport order — must be that
//! account (else 9014). Over plain HTTP (`--xta-plain`, for local debugging) the claimed identity is taken
//! as it is, and a diagnosis says the request was not authenticated.

use crate::config::AccountConfig;
use crate::fault::{XtaFault, codes};
use crate::model::Party;
use sim_kit::Diagnosis;

/// What the transport says about the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    /// HTTPS with a client certificate: the accounts its subject names, and the subject for messages.
    Certificate {
        accounts: Vec<String>,
        subject: String,
    },
    /// Plain HTTP, or HTTPS without a client certificate.
    Unauthenticated { tls: bool },
}

impl Transport {
    pub fn from_tls(info: Option<&sim_kit::tls::TlsInfo>) -> Transport {
        match info {
            Some(i) => match &i.client_cert_der {
                Some(der) => {
                    let (accounts, subject) = crate::pki::accounts_named_by(der);
                    Transport::Certificate { accounts, subject }
                }
                None => Transport::Unauthenticated { tls: true },
            },
            None => Transport::Unauthenticated { tls: false },
        }
    }
}

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Caller {
    pub account: AccountConfig,
    pub notes: Vec<Diagnosis>,
}

/// Resolve the caller. `claimed` is the identity the request states and `claimed_at` its XPath.
pub fn authenticate(
    transport: &Transport,
    claimed: Option<&Party>,
    claimed_at: &str,
    lookup: impl Fn(&str) -> Option<AccountConfig>,
) -> Result<Caller, XtaFault> {
    let mut notes = Vec::new();
    let id = match transport {
        Transport::Certificate { accounts, subject } => {
            let Some(cert_id) = accounts
                .iter()
                .find(|a| lookup(a).is_some())
                .or(accounts.first())
            else {
                return Err(XtaFault::of(
                    codes::NO_ACCOUNT,
                    "xta.auth.certificate-account",
                    format!("the client certificate ({subject}) names no XTA account (no OU with a DVDV key)"),
                )
                .hint("use the account's certificate from the test PKI: xta/<prefix>_<key>.pem"));
            };
            if let Some(c) = claimed
                && c.id != *cert_id
            {
                return Err(XtaFault::of(
                        codes::CERT_MISMATCH,
                        "xta.auth.certificate-mismatch",
                        format!(
                            "the client certificate belongs to account '{cert_id}', but the request names '{}'",
                            c.id
                        ),
                    )
                    .at(claimed_at.to_string())
                    .hint("send with the certificate of the account the request names (PKI xta/<prefix>_<key>.pem)"));
            }
            cert_id.clone()
        }
        Transport::Unauthenticated { tls } => {
            let Some(c) = claimed else {
                return Err(XtaFault::of(
                    codes::NO_ACCOUNT,
                    "xta.auth.no-identity",
                    if *tls {
                        "no client certificate and no identity in the request: XTA authenticates by client certificate"
                    } else {
                        "plain HTTP and no identity in the request: without a client certificate the Author header (oscimeta:Author) names the account"
                    },
                )
                .at(claimed_at.to_string()));
            };
            notes.push(Diagnosis::new(
                "xta.auth.unauthenticated",
                format!(
                    "{}: the account '{}' is taken from {claimed_at} without authentication; a real XTA server identifies the account by its TLS client certificate",
                    if *tls { "HTTPS without client certificate" } else { "plain HTTP" },
                    c.id
                ),
            ));
            c.id.clone()
        }
    };
    let Some(account) = lookup(&id) else {
        return Err(XtaFault::of(
            codes::NO_ACCOUNT,
            "xta.auth.unknown-account",
            format!("there is no XTA account '{id}' on this server"),
        )
        .at(claimed_at.to_string())
        .hint("configured accounts: see GET /__konform/xta/accounts"));
    };
    if account.locked {
        return Err(XtaFault::of(
            codes::ACCOUNT_LOCKED,
            "xta.auth.locked",
            format!("the XTA account '{id}' is locked"),
        ));
    }
    Ok(Caller { account, notes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn party(id: &str) -> Party {
        Party {
            id: id.into(),
            id_type: "xoev".into(),
            name: None,
            category: None,
        }
    }

    #[test]
    fn certificate_wins_and_must_match() {
        let cfg = crate::config::XtaConfig::default();
        let lookup = |id: &str| cfg.account(id).cloned();
        let cert = Transport::Certificate {
            accounts: vec!["ehp:010100100001".into()],
            subject: "CN=x".into(),
        };
        assert_eq!(
            authenticate(&cert, None, "/", lookup).unwrap().account.id,
            "ehp:010100100001"
        );
        let e = authenticate(&cert, Some(&party("vbe:010510440199")), "/h", lookup).unwrap_err();
        assert_eq!(e.code_number(), Some(9014));
        let none = Transport::Certificate {
            accounts: vec![],
            subject: "CN=x".into(),
        };
        assert_eq!(
            authenticate(&none, None, "/", lookup)
                .unwrap_err()
                .code_number(),
            Some(9012)
        );
        let plain = Transport::Unauthenticated { tls: false };
        let c = authenticate(&plain, Some(&party("vbe:010510440199")), "/h", lookup).unwrap();
        assert_eq!(c.notes[0].rule, "xta.auth.unauthenticated");
        assert_eq!(
            authenticate(&plain, Some(&party("vbe:1")), "/h", lookup)
                .unwrap_err()
                .code_number(),
            Some(9012)
        );
        assert_eq!(
            authenticate(&plain, None, "/h", lookup)
                .unwrap_err()
                .code_number(),
            Some(9012)
        );
        let mut locked = cfg.clone();
        locked.accounts[0].locked = true;
        let l = |id: &str| locked.account(id).cloned();
        assert_eq!(
            authenticate(&cert, None, "/", l).unwrap_err().code_number(),
            Some(9011)
        );
    }
}
