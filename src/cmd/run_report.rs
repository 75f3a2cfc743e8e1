//! `konform run --serve-report[=DATA_DIR]`: the HTML report also goes where `konform up`'s dashboard lists
//! reports (`DATA_DIR/reports/`, `.konform` by default), under a name that sorts by time.

use std::path::{Path, PathBuf};

/// `DATA_DIR/reports/run-YYYYMMDD-HHMMSS-PID.html`.
pub fn path(data_dir: &Path) -> PathBuf {
    let fmt = time::macros::format_description!("[year][month][day]-[hour][minute][second]");
    let stamp = time::OffsetDateTime::now_utc()
        .format(&fmt)
        .unwrap_or_default();
    data_dir
        .join("reports")
        .join(format!("run-{stamp}-{}.html", std::process::id()))
}

/// The line telling the user where to look.
pub fn announce(p: &Path) {
    eprintln!(
        "HTML report: {} (listed by the dashboard of `konform up` at http://127.0.0.1:8090/reports)",
        p.display()
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn reports_go_under_the_data_dir() {
        let p = super::path(std::path::Path::new(".konform"));
        assert!(p.starts_with(".konform/reports"));
        assert!(p.extension().is_some_and(|e| e == "html"));
    }
}
