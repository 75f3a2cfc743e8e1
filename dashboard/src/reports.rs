//! Scenario reports (`konform run --html FILE`) in the dashboard: the configured report files and folders
//! (by default `DATA_DIR/reports`, where `konform run --serve-report` writes) are listed, and a report is
//! shown inside the dashboard's frame. Only `.html` files directly in a configured folder, or a configured
//! file itself, are ever read; the report is served sandboxed (no scripts, no requests).

use crate::html::esc;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// One report file.
pub struct Report {
    /// Index of the configured root it was found under.
    pub root: usize,
    pub name: String,
    pub path: PathBuf,
    pub modified: Option<SystemTime>,
    pub size: u64,
}

impl Report {
    pub fn href(&self) -> String {
        format!(
            "/reports/{}/{}",
            self.root,
            crate::filter::url_encode(&self.name)
        )
    }
}

fn is_report(p: &Path) -> bool {
    p.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("html"))
}

fn report(root: usize, path: PathBuf) -> Option<Report> {
    let meta = std::fs::metadata(&path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let name = path.file_name()?.to_str()?.to_string();
    Some(Report {
        root,
        name,
        modified: meta.modified().ok(),
        size: meta.len(),
        path,
    })
}

/// Every report under the configured roots, newest first.
pub fn list(roots: &[PathBuf]) -> Vec<Report> {
    let mut out = Vec::new();
    for (i, r) in roots.iter().enumerate() {
        if r.is_dir() {
            let Ok(rd) = std::fs::read_dir(r) else {
                continue;
            };
            for e in rd.flatten() {
                let p = e.path();
                if is_report(&p) {
                    out.extend(report(i, p));
                }
            }
        } else if is_report(r) {
            out.extend(report(i, r.clone()));
        }
    }
    out.sort_by(|a, b| b.modified.cmp(&a.modified).then(a.name.cmp(&b.name)));
    out
}

/// The report `name` under root `root`, if it is one of the listed files.
pub fn find(roots: &[PathBuf], root: usize, name: &str) -> Option<Report> {
    if name.contains('/') || name.contains('\\') || name.starts_with('.') {
        return None;
    }
    list(roots)
        .into_iter()
        .find(|r| r.root == root && r.name == name)
}

fn age(t: Option<SystemTime>) -> String {
    let Some(t) = t else { return String::new() };
    let secs = SystemTime::now()
        .duration_since(t)
        .map_or(0, |d| d.as_secs());
    match secs {
        0..=59 => format!("{secs} s ago"),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86_399 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86_400),
    }
}

/// The list page's main content.
pub fn index(roots: &[PathBuf]) -> String {
    let mut s = String::from("<h1>Scenario reports</h1>");
    let reports = list(roots);
    if reports.is_empty() {
        s.push_str("<p class=\"empty\">No report yet. Run scenarios with <code>konform run … --serve-report</code>, \
                    or pass a report file or folder to <code>konform up --ui-report PATH</code>.</p>");
    } else {
        s.push_str("<div class=\"scroll\"><table class=\"data\" id=\"reports\"><thead><tr><th scope=\"col\">Report</th>\
                    <th scope=\"col\">Written</th><th scope=\"col\">Size</th></tr></thead><tbody>");
        for r in &reports {
            let _ = write!(
                s,
                "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{} KiB</td></tr>",
                esc(&r.href()),
                esc(&r.name),
                esc(&age(r.modified)),
                r.size.div_ceil(1024)
            );
        }
        s.push_str("</tbody></table></div>");
    }
    s.push_str("<h2>Where reports come from</h2><ul>");
    for r in roots {
        let _ = write!(s, "<li><code>{}</code></li>", esc(&r.display().to_string()));
    }
    s.push_str("</ul>");
    s
}

/// The page around one report.
pub fn frame(r: &Report) -> String {
    format!(
        "<h1>{}</h1><p><a href=\"/reports\">All reports</a> · <a href=\"{}/raw\">open the report alone</a></p>\
         <iframe class=\"report\" src=\"{}/raw\" title=\"Conformance report {}\"></iframe>",
        esc(&r.name),
        esc(&r.href()),
        esc(&r.href()),
        esc(&r.name)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_only_html_files_and_finds_only_listed_ones() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.html"), "<html>").unwrap();
        std::fs::write(d.path().join("b.txt"), "x").unwrap();
        std::fs::create_dir(d.path().join("sub.html")).unwrap();
        let single = d.path().join("single.html");
        std::fs::write(&single, "<html>").unwrap();
        let roots = vec![
            d.path().to_path_buf(),
            single.clone(),
            d.path().join("missing"),
        ];
        let l = list(&roots);
        let names: Vec<_> = l.iter().map(|r| (r.root, r.name.as_str())).collect();
        assert!(names.contains(&(0, "a.html")));
        assert!(names.contains(&(1, "single.html")));
        assert!(!names.iter().any(|(_, n)| *n == "b.txt" || *n == "sub.html"));
        assert!(find(&roots, 0, "a.html").is_some());
        assert!(find(&roots, 0, "../a.html").is_none());
        assert!(find(&roots, 1, "a.html").is_none());
        assert!(index(&roots).contains("a.html"));
    }
}
