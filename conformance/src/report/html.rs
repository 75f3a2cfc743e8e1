//! A self-contained HTML conformance report a vendor can hand to a customer: client, date, pack versions,
//! each scenario with its seed passage and verdict, failures with expected/actual and diagnoses.

use super::xml_escape as x;
use crate::event::{RunInfo, ScenarioResult, Summary, Verdict};
use std::fmt::Write;

const CSS: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222}\
h1{font-size:1.6em}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.35em .5em;text-align:left;vertical-align:top}\
.passed{color:#17692c;font-weight:600}.failed,.error{color:#a4161a;font-weight:600}.skipped{color:#777}\
.meta td{border:none;padding:.1em .8em .1em 0}details{margin:.2em 0}pre{white-space:pre-wrap;background:#f6f6f6;padding:.5em;margin:.3em 0}\
.badge{display:inline-block;padding:.2em .6em;border-radius:.3em;color:#fff}.ok{background:#17692c}.nok{background:#a4161a}";

pub fn render(info: &RunInfo, results: &[ScenarioResult], summary: &Summary) -> String {
    let mut s = String::new();
    let verdict = if summary.all_passed() {
        r#"<span class="badge ok">CONFORMANT</span>"#
    } else {
        r#"<span class="badge nok">NOT CONFORMANT</span>"#
    };
    let _ = write!(
        s,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>konform conformance report — {}</title><style>{CSS}</style></head><body>",
        x(&info.client)
    );
    let _ = write!(
        s,
        "<h1>Conformance report {verdict}</h1><table class=\"meta\">"
    );
    let _ = write!(
        s,
        "<tr><td>Client</td><td><b>{}</b></td></tr>",
        x(&info.client)
    );
    let _ = write!(s, "<tr><td>Date</td><td>{}</td></tr>", x(&info.started));
    let _ = write!(
        s,
        "<tr><td>konform</td><td>{}</td></tr>",
        x(&info.konform_version)
    );
    for p in &info.packs {
        let _ = write!(
            s,
            "<tr><td>Pack</td><td>{} {} ({} scenarios) <small>SHA-256 {}</small></td></tr>",
            x(&p.name),
            x(&p.version),
            p.scenarios,
            x(&p.digest)
        );
    }
    if let Some(o) = &info.obligations {
        let _ = write!(
            s,
            "<tr><td>Obligations</td><td>{} <small>SHA-256 {}</small></td></tr>",
            x(&o.file),
            x(&o.sha256)
        );
    }
    if let Some(p) = &info.partition {
        let _ = write!(s, "<tr><td>Partition</td><td>{}</td></tr>", x(p));
    }
    if !info.merged_from.is_empty() {
        let _ = write!(
            s,
            "<tr><td>Merged from</td><td>{}</td></tr>",
            x(&info.merged_from.join(", "))
        );
    }
    let _ = write!(
        s,
        "<tr><td>Result</td><td>{} passed, {} failed, {} errors, {} skipped of {} ({:.2} s)</td></tr></table>",
        summary.passed,
        summary.failed,
        summary.errors,
        summary.skipped,
        summary.total,
        summary.duration_ms / 1000.0
    );
    let _ = write!(
        s,
        "<h2>Scenarios</h2><table><tr><th>Verdict</th><th>Scenario</th><th>Seed passage</th><th>Details</th></tr>"
    );
    for r in results {
        let (cls, label) = match r.verdict {
            Verdict::Passed => ("passed", "passed"),
            Verdict::Failed => ("failed", "failed"),
            Verdict::Error => ("error", "error"),
            Verdict::Skipped => ("skipped", "skipped"),
        };
        let _ = write!(
            s,
            "<tr><td class=\"{cls}\">{label}</td><td><b>{}</b><br>{}<br><small>{} · {}</small></td><td>{}</td><td>",
            x(&r.id),
            x(&r.title),
            x(&r.pack),
            x(&r.tags.join(", ")),
            x(&r.spec)
        );
        for f in &r.failures {
            let _ = write!(
                s,
                "<pre>{}\nexpected: {}\nactual:   {}{}</pre>",
                x(&f.check),
                x(&f.expected),
                x(&f.actual),
                f.diagnoses
                    .iter()
                    .map(|d| format!("\ndiagnosis: {}", x(d)))
                    .collect::<String>()
            );
        }
        let steps: String = r
            .steps
            .iter()
            .map(|st| {
                format!(
                    "{} {} {}{}{}\n",
                    if st.ok { "✓" } else { "✗" },
                    x(&st.label),
                    st.exit_code
                        .map(|c| format!(" exit={c}"))
                        .unwrap_or_default(),
                    st.status
                        .map(|c| format!(" status={c}"))
                        .unwrap_or_default(),
                    if st.message.is_empty() {
                        String::new()
                    } else {
                        format!(" — {}", x(&st.message))
                    }
                )
            })
            .collect();
        let _ = write!(
            s,
            "<details><summary>{} steps, {:.0} ms</summary><pre>{steps}</pre>",
            r.steps.len(),
            r.duration_ms
        );
        if !r.diagnoses.is_empty() {
            let _ = write!(
                s,
                "<pre>{}</pre>",
                r.diagnoses
                    .iter()
                    .map(|d| x(d))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        let _ = write!(s, "</details></td></tr>");
    }
    let _ = write!(s, "</table>");
    provenance(&mut s, info);
    let _ = writeln!(
        s,
        "<p><small>Generated by konform. Simulators answer as the real services; diagnoses explain each rejection.</small></p></body></html>"
    );
    s
}

/// The hashes a customer checks with `konform report verify REPORT.json --packs DIR…`.
fn provenance(s: &mut String, info: &RunInfo) {
    let _ = write!(
        s,
        "<h2>Provenance</h2><p>Verify that this report was made with unmodified packs: <code>konform report verify report.json --packs scenarios</code> (SHA-256 of every scenario file).</p>"
    );
    for p in &info.packs {
        let _ = write!(
            s,
            "<details><summary>{} {} — {} files, digest <code>{}</code></summary><table>",
            x(&p.name),
            x(&p.version),
            p.files.len(),
            x(&p.digest)
        );
        for f in &p.files {
            let _ = write!(
                s,
                "<tr><td>{}</td><td><code>{}</code></td></tr>",
                x(&f.file),
                x(&f.sha256)
            );
        }
        let _ = write!(s, "</table></details>");
    }
}
