//! The log of `konform up`: one line per request (emitted by `sim_kit::kit_layer`, target
//! `konform::request`: simulator, method, path, operation, status, verdict, rule, ms), admin refusals,
//! connection warnings — as text or JSON lines on stderr. `RUST_LOG` overrides the default filter.

/// Without `RUST_LOG`: warnings from everything, and konform's own events (requests) at info.
pub const DEFAULT_FILTER: &str = "warn,konform=info";

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One human-readable line per event
    #[default]
    Text,
    /// One JSON object per line (fields at the top level)
    Json,
}

/// The filter from `RUST_LOG`, or [`DEFAULT_FILTER`]; an invalid `RUST_LOG` is an error (checked
/// before anything is started).
pub fn filter() -> Result<tracing_subscriber::EnvFilter, String> {
    match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => tracing_subscriber::EnvFilter::try_new(&v)
            .map_err(|e| format!("RUST_LOG `{v}` is not a valid filter: {e}")),
        _ => Ok(tracing_subscriber::EnvFilter::new(DEFAULT_FILTER)),
    }
}

/// Install the subscriber for the rest of the process.
pub fn init(format: LogFormat, filter: tracing_subscriber::EnvFilter) {
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
}
