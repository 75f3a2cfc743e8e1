//! Reporters: console (a line per scenario, failures with expected vs actual and the diagnosis), JUnit XML
//! (one testcase per scenario, steps in system-out), JSON, and a self-contained HTML conformance report.

pub mod console;
pub mod html;
pub mod junit;
pub mod merge;
pub mod provenance;

use crate::event::{Event, Reporter, RunInfo, ScenarioResult, Summary};
use std::path::PathBuf;

/// Collects everything, then writes a file at the end of the run.
pub struct FileReporter {
    path: PathBuf,
    kind: FileKind,
    info: Option<RunInfo>,
    results: Vec<ScenarioResult>,
}

#[derive(Clone, Copy, Debug)]
pub enum FileKind {
    Json,
    Junit,
    Html,
}

impl FileReporter {
    pub fn new(path: PathBuf, kind: FileKind) -> FileReporter {
        FileReporter {
            path,
            kind,
            info: None,
            results: Vec::new(),
        }
    }
}

impl Reporter for FileReporter {
    fn event(&mut self, e: &Event) -> std::io::Result<()> {
        match e {
            Event::RunStarted(i) => self.info = Some(i.clone()),
            Event::ScenarioFinished(r) => self.results.push((**r).clone()),
            Event::RunFinished { summary } => {
                let info = self.info.clone().unwrap_or_else(|| RunInfo {
                    client: "?".into(),
                    started: String::new(),
                    packs: vec![],
                    scenarios: 0,
                    jobs: 1,
                    konform_version: env!("CARGO_PKG_VERSION").into(),
                    obligations: None,
                    partition: None,
                    merged_from: vec![],
                });
                let text = match self.kind {
                    FileKind::Json => json(&info, &self.results, summary),
                    FileKind::Junit => junit::render(&info, &self.results, summary),
                    FileKind::Html => html::render(&info, &self.results, summary),
                };
                if let Some(parent) = self.path.parent()
                    && !parent.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&self.path, text)?;
            }
        }
        Ok(())
    }
}

pub fn json(info: &RunInfo, results: &[ScenarioResult], summary: &Summary) -> String {
    serde_json::to_string_pretty(&serde_json::json!({
        "format": "konform-report/1",
        "run": info,
        "summary": summary,
        "scenarios": results,
    }))
    .expect("report serialises")
        + "\n"
}

/// Escape text for XML/HTML content and attributes; drop characters XML 1.0 forbids.
pub fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            '\t' | '\n' | '\r' => o.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => o.push(c),
        }
    }
    o
}
