//! The environment of an adapter's commands, defined (and documented in `docs/conformance.md`,
//! "The command environment"):
//!
//! 1. **Inherited**: everything `konform run` itself was started with (`PATH`, `HOME`, `JAVA_HOME`,
//!    proxies, …), so vendor tools run as they do in the vendor's shell.
//! 2. **Adapter `env:`**, then the **action's `env:`**, in key order; each value is expanded against
//!    what is defined so far (1, the runner's variables, earlier entries).
//! 3. **The runner's `KONFORM_*` variables** (simulator URLs, PKI, scenario, `KONFORM_ACTION`,
//!    `KONFORM_INPUT`, `KONFORM_OUTPUT`) last: they win over inherited ones of the same name, and an
//!    `env:` key starting with `KONFORM_` is refused when the adapter is loaded.
//!
//! `${VAR}` is expanded by konform in `run:` arguments, `env:` values and `http:` URLs and headers,
//! against that final environment; `$${` is a literal `${`; an unset variable is an error (the step
//! errors), never an empty string. `shell:` lines are not touched: `sh -c` expands `$VAR` from the same
//! environment.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("`${{{0}}}` is not set (inherited, adapter env or KONFORM_* variables)")]
    Unset(String),
    #[error("`${{` without a closing `}}` in `{0}`")]
    Unclosed(String),
}

/// An `env:` key: a shell-style name, not in the runner's `KONFORM_` namespace.
pub fn check_name(k: &str) -> Result<(), String> {
    let valid = !k.is_empty()
        && !k.starts_with(|c: char| c.is_ascii_digit())
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!("`{k}` is not a variable name"));
    }
    if k.starts_with("KONFORM_") {
        return Err(format!(
            "`{k}`: KONFORM_* variables are set by the runner and cannot be overridden"
        ));
    }
    Ok(())
}

/// Replace `${VAR}` from `env`; `$${` stands for a literal `${`.
pub fn expand(s: &str, env: &BTreeMap<String, String>) -> Result<String, EnvError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        if rest[..i].ends_with('$') {
            out.push_str(&rest[..i - 1]);
            out.push_str("${");
            rest = &rest[i + 2..];
            continue;
        }
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let j = after
            .find('}')
            .ok_or_else(|| EnvError::Unclosed(s.to_string()))?;
        let name = &after[..j];
        let v = env
            .get(name)
            .ok_or_else(|| EnvError::Unset(name.to_string()))?;
        out.push_str(v);
        rest = &after[j + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The complete environment of one command: `inherited`, then the adapter's and the action's `env:`
/// (expanded in order), then `runner` (the `KONFORM_*` variables).
pub fn build(
    inherited: impl IntoIterator<Item = (String, String)>,
    runner: &BTreeMap<String, String>,
    adapter_env: &BTreeMap<String, String>,
    action_env: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, EnvError> {
    let mut env: BTreeMap<String, String> = inherited.into_iter().collect();
    env.extend(runner.clone());
    for layer in [adapter_env, action_env] {
        for (k, v) in layer {
            let value = expand(v, &env)?;
            env.insert(k.clone(), value);
        }
    }
    // The runner's variables win, whatever an env: entry did.
    env.extend(runner.clone());
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn expands_set_variables_and_refuses_unset_ones() {
        let env = map(&[("A", "1"), ("HOME", "/home/v")]);
        assert_eq!(expand("x${A}y${HOME}z", &env).unwrap(), "x1y/home/vz");
        assert_eq!(expand("$${A} and ${A}", &env).unwrap(), "${A} and 1");
        assert_eq!(expand("no vars $A", &env).unwrap(), "no vars $A");
        assert_eq!(
            expand("${B}", &env).unwrap_err(),
            EnvError::Unset("B".into())
        );
        assert!(matches!(expand("${A", &env), Err(EnvError::Unclosed(_))));
    }

    #[test]
    fn layers_in_order_and_the_runner_wins() {
        let inherited = map(&[
            ("HOME", "/home/v"),
            ("PATH", "/bin"),
            ("KONFORM_VST_URL", "stale"),
        ]);
        let runner = map(&[
            ("KONFORM_VST_URL", "http://127.0.0.1:1"),
            ("KONFORM_INPUT", "/w/in.json"),
        ]);
        let adapter = map(&[
            ("ACME_HOME", "${HOME}/acme"),
            ("ACME_URL", "${KONFORM_VST_URL}"),
        ]);
        let action = map(&[
            ("ACME_LOG", "${ACME_HOME}/log"),
            ("PATH", "/opt/acme/bin:${PATH}"),
        ]);
        let env = build(inherited, &runner, &adapter, &action).unwrap();
        assert_eq!(env["ACME_HOME"], "/home/v/acme");
        assert_eq!(
            env["ACME_URL"], "http://127.0.0.1:1",
            "runner vars are visible"
        );
        assert_eq!(
            env["ACME_LOG"], "/home/v/acme/log",
            "action env sees adapter env"
        );
        assert_eq!(env["PATH"], "/opt/acme/bin:/bin");
        assert_eq!(env["KONFORM_VST_URL"], "http://127.0.0.1:1", "runner wins");
        let bad = map(&[("X", "${NOPE}")]);
        assert!(build(map(&[]), &runner, &bad, &map(&[])).is_err());
    }

    #[test]
    fn env_keys_are_names_outside_the_runner_namespace() {
        assert!(check_name("ACME_HOME").is_ok());
        assert!(check_name("KONFORM_VST_URL").is_err());
        assert!(check_name("1X").is_err());
        assert!(check_name("A-B").is_err());
    }
}
