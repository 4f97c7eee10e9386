//! Sensor formats into [`Record`](crate::record::Record)s, one line at a time: a bad line is an
//! error naming the problem and never stops the lines after it.
//!
//! - [`eve`]: Suricata EVE JSON (`alert`, `anomaly`, `flow`, `dns`, `http`, `dhcp`; every other
//!   event type is skipped).
//! - [`zeek`]: Zeek JSON log lines, by `_path` (`conn`, `dns`, `dhcp`, `http`; other logs are
//!   skipped).
//! - [`syslog`]: RFC 3164 and RFC 5424 lines.
//!
//! JSON lines are read into typed structures that borrow from the line, never into a document
//! tree: parsing is most of the CPU an ingest batch costs.

pub mod eve;
mod fields;
pub mod syslog;
pub mod time;
pub mod zeek;

use chrono_tz::Tz;

use crate::record::Parsed;

/// The sensor format of an ingest body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Suricata EVE JSON lines.
    Eve,
    /// Zeek JSON log lines with `_path`.
    Zeek,
    /// Raw syslog lines, RFC 3164 or RFC 5424.
    Syslog,
}

impl Format {
    /// The endpoint's last path segment, and the `source` label of the ingest metrics.
    pub fn name(self) -> &'static str {
        match self {
            Format::Eve => "eve",
            Format::Zeek => "zeek",
            Format::Syslog => "syslog",
        }
    }

    pub const ALL: [Format; 3] = [Format::Eve, Format::Zeek, Format::Syslog];
}

/// Parses one line of `format`; `now_ms` resolves syslog's missing year. RFC 3164 times (which
/// carry no zone) are read as UTC; [`line_in`] reads them in a given timezone.
pub fn line(format: Format, line: &str, now_ms: i64) -> Result<Parsed, String> {
    line_in(format, line, now_ms, Tz::UTC)
}

/// [`line`], with RFC 3164 times read in `tz` (the server's configured timezone).
pub fn line_in(format: Format, line: &str, now_ms: i64, tz: Tz) -> Result<Parsed, String> {
    match format {
        Format::Eve => eve::parse(line),
        Format::Zeek => zeek::parse(line),
        Format::Syslog => syslog::parse(line, now_ms, tz),
    }
}
