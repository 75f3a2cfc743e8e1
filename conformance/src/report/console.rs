//! Console reporter: one line per scenario, failure details indented below it.

use crate::event::{Event, Reporter, Verdict};
use std::io::Write;

pub struct Console<W: Write + Send> {
    out: W,
    verbose: bool,
}

impl<W: Write + Send> Console<W> {
    pub fn new(out: W, verbose: bool) -> Self {
        Console { out, verbose }
    }
}

impl<W: Write + Send> Reporter for Console<W> {
    fn event(&mut self, e: &Event) -> std::io::Result<()> {
        match e {
            Event::RunStarted(i) => {
                let packs: Vec<String> = i
                    .packs
                    .iter()
                    .map(|p| format!("{} {} ({})", p.name, p.version, p.scenarios))
                    .collect();
                writeln!(
                    self.out,
                    "konform {}: {} scenarios from {} with client `{}` ({} jobs){}",
                    i.konform_version,
                    i.scenarios,
                    packs.join(", "),
                    i.client,
                    i.jobs,
                    i.partition
                        .as_ref()
                        .map(|p| format!(", partition {p}"))
                        .unwrap_or_default()
                )?;
            }
            Event::ScenarioFinished(r) => {
                let tag = match r.verdict {
                    Verdict::Passed => "PASS ",
                    Verdict::Failed => "FAIL ",
                    Verdict::Error => "ERROR",
                    Verdict::Skipped => "SKIP ",
                };
                writeln!(
                    self.out,
                    "{tag} {:<48} {:>7.0} ms  {}",
                    r.id, r.duration_ms, r.title
                )?;
                if r.verdict != Verdict::Passed || self.verbose {
                    writeln!(self.out, "      spec: {}   file: {}", r.spec, r.file)?;
                    for f in &r.failures {
                        writeln!(self.out, "      ✗ {}", f.check)?;
                        writeln!(self.out, "          expected: {}", f.expected)?;
                        writeln!(self.out, "          actual:   {}", f.actual)?;
                        for d in f.diagnoses.iter().take(5) {
                            writeln!(self.out, "          diagnosis: {d}")?;
                        }
                    }
                    if r.verdict != Verdict::Passed {
                        for s in r.steps.iter().filter(|s| !s.ok || self.verbose) {
                            let tail: String = s
                                .stderr
                                .lines()
                                .rev()
                                .take(3)
                                .collect::<Vec<_>>()
                                .into_iter()
                                .rev()
                                .collect::<Vec<_>>()
                                .join(" | ");
                            if !tail.is_empty() {
                                writeln!(
                                    self.out,
                                    "      step {} `{}` stderr: {tail}",
                                    s.index, s.label
                                )?;
                            }
                        }
                    }
                }
            }
            Event::RunFinished { summary } => {
                writeln!(
                    self.out,
                    "\n{} passed, {} failed, {} errors, {} skipped of {} in {:.2} s",
                    summary.passed,
                    summary.failed,
                    summary.errors,
                    summary.skipped,
                    summary.total,
                    summary.duration_ms / 1000.0
                )?;
            }
        }
        self.out.flush()
    }
}
