//! Parsing and checking one scenario file. Line numbers come from serde-saphyr's spans: the file is read
//! a second time into [`Spans`], a skeleton that records where each part of the scenario starts.

use super::{Check, Scenario, Step};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::path::Path;

/// A scenario file error: file, line when known, and what is wrong.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{file}{}: {message}", .line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ScenarioError {
    pub file: String,
    pub line: Option<u64>,
    pub message: String,
}

type At = Option<Spanned<IgnoredAny>>;

/// Where the parts of a scenario are (1-based lines); everything else is ignored.
#[derive(Deserialize, Default)]
struct Spans {
    #[serde(default)]
    id: At,
    #[serde(default)]
    spec: At,
    #[serde(default)]
    tags: At,
    #[serde(default)]
    given: Option<BTreeMap<String, Spanned<IgnoredAny>>>,
    #[serde(default)]
    when: Option<Spanned<Vec<Spanned<IgnoredAny>>>>,
    #[serde(default)]
    then: Option<Spanned<Vec<Spanned<IgnoredAny>>>>,
}

fn line(at: &Option<Spanned<IgnoredAny>>) -> Option<u64> {
    at.as_ref().map(|s| s.referenced.line())
}

impl Spans {
    fn read(text: &str) -> Spans {
        serde_saphyr::from_str(text).unwrap_or_default()
    }
    fn given(&self, sim: &str) -> Option<u64> {
        self.given
            .as_ref()
            .and_then(|g| g.get(sim))
            .map(|s| s.referenced.line())
    }
    fn when(&self, i: usize) -> Option<u64> {
        let w = self.when.as_ref()?;
        Some(
            w.value
                .get(i)
                .map(|s| s.referenced.line())
                .unwrap_or(w.referenced.line()),
        )
    }
    fn then(&self, i: usize) -> Option<u64> {
        let t = self.then.as_ref()?;
        Some(
            t.value
                .get(i)
                .map(|s| s.referenced.line())
                .unwrap_or(t.referenced.line()),
        )
    }
}

/// Parse a scenario from text; `file` names it in errors.
pub fn parse_scenario(text: &str, file: &Path, pack: &str) -> Result<Scenario, ScenarioError> {
    let fname = file.display().to_string();
    let mut sc: Scenario = serde_saphyr::from_str(text).map_err(|e| ScenarioError {
        file: fname.clone(),
        line: e.location().map(|l| l.line()).filter(|l| *l > 0),
        message: e.to_string(),
    })?;
    sc.file = file.to_path_buf();
    sc.pack = pack.to_string();
    sc.sha256 = crate::report::provenance::sha256_hex(text.as_bytes());
    let spans = Spans::read(text);
    check(&sc, &spans).map_err(|(line, message)| ScenarioError {
        file: fname,
        line,
        message,
    })?;
    Ok(sc)
}

type Invalid = (Option<u64>, String);

fn check(sc: &Scenario, spans: &Spans) -> Result<(), Invalid> {
    if sc.id.trim().is_empty() || sc.id.contains(char::is_whitespace) {
        return Err((
            line(&spans.id),
            "field `id`: must be non-empty without spaces".into(),
        ));
    }
    if sc.spec.trim().is_empty() {
        return Err((
            line(&spans.spec),
            "field `spec`: name the seed passage this scenario checks".into(),
        ));
    }
    for t in &sc.tags {
        if let Some(d) = t.strip_prefix("defect:")
            && crate::client::Defect::from_name(d).is_none()
        {
            return Err((
                line(&spans.tags),
                format!(
                    "field `tags`: `{t}` names no defect of the reference client (see `konform client x --list-defects`)"
                ),
            ));
        }
    }
    for (name, given) in &sc.given {
        let plugin = crate::sims::find(name).ok_or_else(|| {
            (
                spans.given(name),
                format!(
                    "field `given.{name}`: no such simulator (known: {})",
                    crate::sims::names().join(", ")
                ),
            )
        })?;
        plugin
            .check_given(given)
            .map_err(|e| e.message())
            .map_err(|e| (spans.given(name), format!("field `given.{name}`: {e}")))?;
    }
    if sc.when.is_empty() {
        return Err((
            spans.when.as_ref().map(|w| w.referenced.line()),
            "field `when`: at least one step is needed".into(),
        ));
    }
    for (i, st) in sc.when.iter().enumerate() {
        check_step(i, st).map_err(|m| (spans.when(i), m))?;
    }
    for (i, c) in sc.then.iter().enumerate() {
        check_check(i, c, sc).map_err(|m| (spans.then(i), m))?;
    }
    Ok(())
}

fn known_sim(field: &str, name: &str) -> Result<(), String> {
    if crate::sims::find(name).is_none() {
        return Err(format!(
            "field `{field}`: no such simulator `{name}` (known: {})",
            crate::sims::names().join(", ")
        ));
    }
    Ok(())
}

fn check_step(i: usize, st: &Step) -> Result<(), String> {
    let kinds =
        st.action.is_some() as u8 + st.request.is_some() as u8 + st.sleep_ms.is_some() as u8;
    if kinds != 1 {
        return Err(format!(
            "field `when[{i}]`: a step has exactly one of `action`, `request`, `sleep_ms`"
        ));
    }
    if let Some(a) = &st.action
        && crate::client::action(a).is_none()
    {
        return Err(format!(
            "field `when[{i}].action`: unknown action `{a}` (known: {})",
            crate::client::action_names().join(", ")
        ));
    }
    if st.input.is_some() && st.action.is_none() {
        return Err(format!(
            "field `when[{i}].input`: only actions take an input"
        ));
    }
    if let Some(r) = &st.request {
        known_sim(&format!("when[{i}].request.target"), &r.target)?;
        if r.body.is_some() as u8 + r.json.is_some() as u8 + r.body_base64.is_some() as u8 > 1 {
            return Err(format!(
                "field `when[{i}].request`: one of `body`, `json`, `body_base64`"
            ));
        }
        if let Some(b) = &r.body_base64
            && ti_core::b64_decode(b).is_err()
        {
            return Err(format!(
                "field `when[{i}].request.body_base64`: not valid base64"
            ));
        }
        if !r.path.starts_with('/') {
            return Err(format!(
                "field `when[{i}].request.path`: must start with `/`"
            ));
        }
    }
    if let Some(m) = &st.may_refuse {
        if st.action.is_none() {
            return Err(format!("field `when[{i}].may_refuse`: only for actions"));
        }
        known_sim(&format!("when[{i}].may_refuse.sim"), &m.sim)?;
    }
    if let Some(e) = &st.expect {
        if e.status.is_some() && st.request.is_none() {
            return Err(format!(
                "field `when[{i}].expect.status`: only for raw requests"
            ));
        }
        if e.exit.is_some() && st.action.is_none() {
            return Err(format!("field `when[{i}].expect.exit`: only for actions"));
        }
    }
    Ok(())
}

fn check_check(i: usize, c: &Check, sc: &Scenario) -> Result<(), String> {
    let kinds = c.journal.is_some() as u8
        + c.no_journal.is_some() as u8
        + c.output.is_some() as u8
        + c.sequence.is_some() as u8;
    if kinds != 1 {
        return Err(format!(
            "field `then[{i}]`: a check has exactly one of `journal`, `no_journal`, `output`, `sequence`"
        ));
    }
    for j in c.journal_checks() {
        known_sim(&format!("then[{i}].sim"), &j.sim)?;
    }
    if c.sequence.as_ref().is_some_and(|q| q.len() < 2) {
        return Err(format!(
            "field `then[{i}].sequence`: name at least two entries"
        ));
    }
    if let Some(o) = &c.output {
        if let Some(s) = o.step
            && (s >= sc.when.len() || sc.when[s].action.is_none())
        {
            return Err(format!(
                "field `then[{i}].output.step`: step {s} is not an action step"
            ));
        }
        if !o.pointer.is_empty() && !o.pointer.starts_with('/') {
            return Err(format!(
                "field `then[{i}].output.pointer`: a JSON pointer starts with `/`"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"
id: x
title: t
spec: '002 "X"'
when:
  - action: vst.poll_requests
    expect: { exit: ok }
  - request: { target: vst, path: /x }
    expect: { status: 4xx }
then:
  - journal: { sim: vst, status: 204 }
"#;

    #[test]
    fn parses_and_validates() {
        let s = parse_scenario(OK, Path::new("a.yaml"), "p").unwrap();
        assert_eq!(s.when.len(), 2);
        let st = s.when[1].expect.as_ref().unwrap().status.as_ref().unwrap();
        assert!(st.matches(404));
        assert_eq!(
            s.simulators().into_iter().collect::<Vec<_>>(),
            vec!["vst".to_string()]
        );
    }

    #[test]
    fn unknown_key_names_file_line_and_field() {
        let bad = OK.replace("title: t", "title: t\ntitel: u");
        let e = parse_scenario(&bad, Path::new("s/a.yaml"), "p").unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("s/a.yaml"), "{msg}");
        assert!(msg.contains("titel"), "{msg}");
        assert_eq!(e.line, Some(4), "{msg}");
    }

    #[test]
    fn semantic_errors_point_at_lines() {
        let bad = OK.replace("vst.poll_requests", "vst.poll_nothing");
        let e = parse_scenario(&bad, Path::new("a.yaml"), "p").unwrap_err();
        assert_eq!(e.line, Some(6), "{e}");
        assert!(e.message.contains("when[0].action"), "{e}");
        let bad = OK.replace("target: vst", "target: vts");
        let e = parse_scenario(&bad, Path::new("a.yaml"), "p").unwrap_err();
        assert_eq!(e.line, Some(8), "{e}");
        assert!(e.message.contains("no such simulator `vts`"), "{e}");
        let bad = OK.replace("sim: vst", "sim: nope");
        let e = parse_scenario(&bad, Path::new("a.yaml"), "p").unwrap_err();
        assert_eq!(e.line, Some(11), "{e}");
    }

    #[test]
    fn given_is_checked_by_the_simulator_plugin() {
        let bad = OK.replace(
            "when:",
            "given:\n  konnektor: { pin_status: VERIFIED }\n  vst:\n    enviroment: reference\nwhen:",
        );
        let e = parse_scenario(&bad, Path::new("a.yaml"), "p").unwrap_err();
        // The line where `given.vst`'s value starts.
        assert_eq!(e.line, Some(8), "{e}");
        assert!(
            e.message.contains("given.vst") && e.message.contains("enviroment"),
            "{e}"
        );
        let bad = OK.replace("when:", "given:\n  xyz: {}\nwhen:");
        let e = parse_scenario(&bad, Path::new("a.yaml"), "p").unwrap_err();
        assert_eq!(e.line, Some(6), "{e}");
        let bad = OK.replace(
            "when:",
            "given:\n  konnektor: { pin_status: SLEEPY }\nwhen:",
        );
        let e = parse_scenario(&bad, Path::new("a.yaml"), "p").unwrap_err();
        assert!(e.message.contains("SLEEPY"), "{e}");
    }
}
