//! Logging: human-readable text by default, one JSON object per line with
//! `PICKET_LOG_FORMAT=json` (or `log_format = "json"`). `RUST_LOG` filters as usual.

use picket_core::config::LogFormat;
use tracing_subscriber::EnvFilter;

/// Starts logging. A server or worker (`serving`) logs at `info`, slow statements included; one-shot
/// commands log only errors of their own, so their output stays the one line they print
/// (a slow statement on a busy machine is not news to someone running `picket admin`).
pub fn init(format: LogFormat, serving: bool) {
    let default = if serving {
        "info,sqlx=warn,tower_http=warn"
    } else {
        "warn,sqlx=error"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
