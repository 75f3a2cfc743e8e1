//! JUnit XML in the shape GitLab, GitHub (dorny/test-reporter, mikepenz/action-junit-report) and Jenkins
//! read: `testsuites` > `testsuite` per pack > `testcase` per scenario, `failure`/`error`/`skipped`
//! children, steps and diagnoses in `system-out`.

use super::xml_escape as x;
use crate::event::{RunInfo, ScenarioResult, Summary, Verdict};
use std::fmt::Write;

pub fn render(info: &RunInfo, results: &[ScenarioResult], summary: &Summary) -> String {
    let mut s = String::new();
    let _ = writeln!(s, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        s,
        r#"<testsuites name="konform ({})" tests="{}" failures="{}" errors="{}" skipped="{}" time="{:.3}" timestamp="{}">"#,
        x(&info.client),
        summary.total,
        summary.failed,
        summary.errors,
        summary.skipped,
        summary.duration_ms / 1000.0,
        x(&info.started)
    );
    let mut packs: Vec<&str> = results.iter().map(|r| r.pack.as_str()).collect();
    packs.dedup();
    for pack in packs {
        let rs: Vec<&ScenarioResult> = results.iter().filter(|r| r.pack == pack).collect();
        let c = |v| rs.iter().filter(|r| r.verdict == v).count();
        let time: f64 = rs.iter().map(|r| r.duration_ms).sum::<f64>() / 1000.0;
        let _ = writeln!(
            s,
            r#"  <testsuite name="{}" tests="{}" failures="{}" errors="{}" skipped="{}" time="{:.3}">"#,
            x(pack),
            rs.len(),
            c(Verdict::Failed),
            c(Verdict::Error),
            c(Verdict::Skipped),
            time
        );
        for r in rs {
            let _ = writeln!(
                s,
                r#"    <testcase classname="{}" name="{}" file="{}" time="{:.3}">"#,
                x(&r.pack),
                x(&format!("{}: {}", r.id, r.title)),
                x(&r.file),
                r.duration_ms / 1000.0
            );
            let detail: String = r
                .failures
                .iter()
                .map(|f| {
                    let mut t = format!(
                        "{}\n  expected: {}\n  actual:   {}\n",
                        f.check, f.expected, f.actual
                    );
                    for d in &f.diagnoses {
                        t.push_str(&format!("  diagnosis: {d}\n"));
                    }
                    t
                })
                .collect();
            let first = r
                .failures
                .first()
                .map(|f| format!("{}: expected {}, got {}", f.check, f.expected, f.actual))
                .unwrap_or_default();
            match r.verdict {
                Verdict::Passed => {}
                Verdict::Failed => {
                    let _ = writeln!(
                        s,
                        r#"      <failure message="{}" type="conformance">{}</failure>"#,
                        x(&first),
                        x(&detail)
                    );
                }
                Verdict::Error => {
                    let _ = writeln!(
                        s,
                        r#"      <error message="{}" type="setup">{}</error>"#,
                        x(&first),
                        x(&detail)
                    );
                }
                Verdict::Skipped => {
                    let _ = writeln!(s, r#"      <skipped message="{}"/>"#, x(&first));
                }
            }
            let mut out = format!("spec: {}\n", r.spec);
            for st in &r.steps {
                out.push_str(&format!(
                    "step {} {} {}{}{} ({:.0} ms){}\n",
                    st.index,
                    if st.ok { "ok  " } else { "FAIL" },
                    st.label,
                    st.exit_code
                        .map(|c| format!(" exit={c}"))
                        .unwrap_or_default(),
                    st.status
                        .map(|c| format!(" status={c}"))
                        .unwrap_or_default(),
                    st.duration_ms,
                    if st.message.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", st.message)
                    }
                ));
            }
            for d in &r.diagnoses {
                out.push_str(&format!("diagnosis: {d}\n"));
            }
            let _ = writeln!(s, "      <system-out>{}</system-out>", x(&out));
            let stderr: String = r
                .steps
                .iter()
                .filter(|s| !s.stderr.is_empty())
                .map(|s| format!("[step {}] {}\n", s.index, s.stderr))
                .collect();
            if !stderr.is_empty() {
                let _ = writeln!(s, "      <system-err>{}</system-err>", x(&stderr));
            }
            let _ = writeln!(s, "    </testcase>");
        }
        let _ = writeln!(s, "  </testsuite>");
    }
    let _ = writeln!(s, "</testsuites>");
    s
}
