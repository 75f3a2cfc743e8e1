//! Fault injection: "for the next N calls of this path (or operation), answer like this". Path rules are
//! applied by [`crate::kit_layer`] before the handler runs; operation rules (a SOAP action, known only after
//! parsing) are taken by the simulator itself with [`FaultInjector::take_for_operation`].

use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// What to do instead of (or before) the normal answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultAction {
    /// Answer with this status (and body) without processing the request.
    Status {
        status: u16,
        #[serde(default)]
        body: Option<String>,
        #[serde(default)]
        content_type: Option<String>,
    },
    /// Wait, then process normally.
    Delay { ms: u64 },
    /// Close the connection without any response bytes.
    Drop,
    /// Process normally but corrupt the response signature (simulator-specific).
    BadSignature,
    /// A simulator-specific fault code (Konnektor: tel/error code; XTA: error code).
    Fault {
        code: String,
        #[serde(default)]
        text: Option<String>,
    },
}

impl FaultAction {
    pub fn describe(&self) -> String {
        match self {
            FaultAction::Status { status, .. } => format!("injected status {status}"),
            FaultAction::Delay { ms } => format!("injected delay {ms} ms"),
            FaultAction::Drop => "injected connection drop".into(),
            FaultAction::BadSignature => "injected bad response signature".into(),
            FaultAction::Fault { code, .. } => format!("injected fault {code}"),
        }
    }
}

/// One injection rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// Assigned by the injector.
    #[serde(default)]
    pub id: u64,
    /// Request path to match: exact, or a prefix ending in `*`. Query strings are ignored.
    #[serde(default)]
    pub path: Option<String>,
    /// HTTP method to match (any when absent).
    #[serde(default)]
    pub method: Option<String>,
    /// Domain operation to match (SOAP operation name), checked by the simulator.
    #[serde(default)]
    pub operation: Option<String>,
    /// How many matching calls this rule affects.
    #[serde(default = "one")]
    pub times: u32,
    /// Calls to let through unaffected before the rule applies (e.g. fail the second call).
    #[serde(default)]
    pub after: u32,
    /// Delay before the action (or before normal processing when `action` is absent).
    #[serde(default)]
    pub delay_ms: Option<u64>,
    #[serde(default)]
    pub action: Option<FaultAction>,
}

fn one() -> u32 {
    1
}

impl FaultRule {
    fn matches_path(&self, method: &str, path: &str) -> bool {
        let Some(p) = &self.path else { return false };
        if self
            .method
            .as_ref()
            .is_some_and(|m| !m.eq_ignore_ascii_case(method))
        {
            return false;
        }
        match p.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => p == path,
        }
    }

    fn validate(&self) -> Result<(), String> {
        if self.path.is_none() && self.operation.is_none() {
            return Err("a fault rule needs `path` or `operation`".into());
        }
        if self.action.is_none() && self.delay_ms.is_none() {
            return Err("a fault rule needs `action` or `delay_ms`".into());
        }
        if let Some(FaultAction::Status { status, .. }) = &self.action
            && !(100..=599).contains(status)
        {
            return Err(format!("status {status} is not an HTTP status"));
        }
        if self.times == 0 {
            return Err("`times` must be at least 1".into());
        }
        Ok(())
    }
}

/// A fault applied to the current request; handlers find it in the request extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InjectedFault {
    pub rule_id: u64,
    pub delay_ms: Option<u64>,
    pub action: Option<FaultAction>,
}

impl InjectedFault {
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(d) = self.delay_ms {
            parts.push(format!("injected delay {d} ms"));
        }
        if let Some(a) = &self.action {
            parts.push(a.describe());
        }
        format!("{} (rule {})", parts.join(", then "), self.rule_id)
    }
}

#[derive(Default)]
pub struct FaultInjector {
    state: Mutex<(u64, Vec<FaultRule>)>,
}

impl FaultInjector {
    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, Vec<FaultRule>)> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Add a rule; returns it with its id.
    pub fn add(&self, mut rule: FaultRule) -> Result<FaultRule, String> {
        rule.validate()?;
        let mut st = self.lock();
        st.0 += 1;
        rule.id = st.0;
        st.1.push(rule.clone());
        Ok(rule)
    }

    pub fn list(&self) -> Vec<FaultRule> {
        self.lock().1.clone()
    }

    pub fn clear(&self) {
        self.lock().1.clear();
    }

    pub fn remove(&self, id: u64) -> bool {
        let mut st = self.lock();
        let before = st.1.len();
        st.1.retain(|r| r.id != id);
        st.1.len() != before
    }

    fn take(&self, pred: impl Fn(&FaultRule) -> bool) -> Option<InjectedFault> {
        let mut st = self.lock();
        let idx = st.1.iter().position(pred)?;
        let rule = &mut st.1[idx];
        if rule.after > 0 {
            rule.after -= 1;
            return None;
        }
        rule.times -= 1;
        let fault = InjectedFault {
            rule_id: rule.id,
            delay_ms: rule.delay_ms,
            action: rule.action.clone(),
        };
        if rule.times == 0 {
            st.1.remove(idx);
        }
        Some(fault)
    }

    /// The fault for this request path, if a rule matches (consumes one use).
    pub fn take_for_path(&self, method: &str, path: &str) -> Option<InjectedFault> {
        self.take(|r| r.operation.is_none() && r.matches_path(method, path))
    }

    /// The fault for this operation, if a rule matches (consumes one use).
    pub fn take_for_operation(&self, operation: &str) -> Option<InjectedFault> {
        self.take(|r| r.operation.as_deref() == Some(operation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(path: &str, times: u32, after: u32) -> FaultRule {
        FaultRule {
            id: 0,
            path: Some(path.into()),
            method: None,
            operation: None,
            times,
            after,
            delay_ms: None,
            action: Some(FaultAction::Status {
                status: 500,
                body: None,
                content_type: None,
            }),
        }
    }

    #[test]
    fn next_n_calls_then_gone() {
        let f = FaultInjector::default();
        f.add(rule("/a", 2, 1)).unwrap();
        assert!(
            f.take_for_path("GET", "/a").is_none(),
            "first call passes (after=1)"
        );
        assert!(f.take_for_path("GET", "/a").is_some());
        assert!(f.take_for_path("GET", "/b").is_none());
        assert!(f.take_for_path("POST", "/a").is_some());
        assert!(f.take_for_path("GET", "/a").is_none(), "used up");
        assert!(f.list().is_empty());
    }

    #[test]
    fn prefix_and_operation_rules() {
        let f = FaultInjector::default();
        f.add(rule("/notify/*", 1, 0)).unwrap();
        let mut op = rule("/x", 1, 0);
        op.path = None;
        op.operation = Some("SignDocument".into());
        f.add(op).unwrap();
        assert!(f.take_for_path("GET", "/notify/api/v1/x").is_some());
        assert!(
            f.take_for_path("POST", "/Konnektorservice").is_none(),
            "operation rules are not path rules"
        );
        assert!(f.take_for_operation("SignDocument").is_some());
    }

    #[test]
    fn invalid_rules_are_refused() {
        let f = FaultInjector::default();
        let mut r = rule("/a", 1, 0);
        r.path = None;
        assert!(f.add(r).is_err());
        let mut r = rule("/a", 0, 0);
        r.times = 0;
        assert!(f.add(r).is_err());
        let mut r = rule("/a", 1, 0);
        r.action = Some(FaultAction::Status {
            status: 1000,
            body: None,
            content_type: None,
        });
        assert!(f.add(r).is_err());
    }
}
