//! A batch body into records, line by line: every line is accepted (it became records),
//! skipped (well-formed, of a kind Picket does not store) or rejected (with its 1-based number
//! and the problem); blank lines are none of these. Large bodies are parsed on both halves at
//! once, since parsing is most of a batch's CPU.

use chrono_tz::Tz;

use super::LineError;
use crate::parse::{self, Format};
use crate::record::{Parsed, Record};

/// Errors listed in one answer; the count of rejected lines is always complete.
pub const MAX_ERRORS: usize = 100;

/// Bodies larger than this are parsed in two halves on two threads.
const SPLIT_AT: usize = 256 * 1024;

/// What the lines of one body became.
#[derive(Debug, Default)]
pub struct Lines {
    pub records: Vec<Record>,
    pub accepted: u64,
    pub skipped: u64,
    pub rejected: u64,
    /// The first [`MAX_ERRORS`] rejections, in line order.
    pub errors: Vec<LineError>,
}

impl Lines {
    fn append(&mut self, mut other: Lines) {
        self.records.append(&mut other.records);
        self.accepted += other.accepted;
        self.skipped += other.skipped;
        self.rejected += other.rejected;
        let room = MAX_ERRORS.saturating_sub(self.errors.len());
        self.errors.extend(other.errors.into_iter().take(room));
    }
}

/// Parses `body` (lines of `format`, decompressed); `now_ms` and `tz` resolve syslog times.
pub fn parse(format: Format, body: &[u8], now_ms: i64, tz: Tz) -> Lines {
    if body.len() < SPLIT_AT {
        return parse_part(format, body, 1, now_ms, tz);
    }
    // Split at the newline nearest the middle; the second half's numbering continues.
    let mid = body.len() / 2;
    let cut = match body[mid..].iter().position(|b| *b == b'\n') {
        Some(i) => mid + i + 1,
        None => body.len(),
    };
    let (a, b) = body.split_at(cut);
    let first_line_of_b = 1 + a.iter().filter(|c| **c == b'\n').count() as u64;
    std::thread::scope(|s| {
        let right = s.spawn(|| parse_part(format, b, first_line_of_b, now_ms, tz));
        let mut left = parse_part(format, a, 1, now_ms, tz);
        let right = right
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        left.append(right);
        left
    })
}

fn parse_part(format: Format, body: &[u8], first_line: u64, now_ms: i64, tz: Tz) -> Lines {
    let mut out = Lines::default();
    let reject = |out: &mut Lines, line: u64, error: String| {
        out.rejected += 1;
        if out.errors.len() < MAX_ERRORS {
            out.errors.push(LineError { line, error });
        }
    };
    for (i, raw) in body.split(|b| *b == b'\n').enumerate() {
        let n = first_line + i as u64;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let Ok(text) = std::str::from_utf8(raw) else {
            reject(&mut out, n, "the line is not valid UTF-8".into());
            continue;
        };
        match parse::line_in(format, text, now_ms, tz) {
            Ok(Parsed::Records(mut r)) => {
                out.accepted += 1;
                out.records.append(&mut r);
            }
            Ok(Parsed::Skipped) => out.skipped += 1,
            Err(e) => reject(&mut out, n, e),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str =
        r#"{"timestamp":"2020-05-01T10:00:00Z","event_type":"http","http":{"hostname":"a"}}"#;
    const SKIP: &str = r#"{"timestamp":"2020-05-01T10:00:00Z","event_type":"stats","stats":{}}"#;

    #[test]
    fn counts_and_numbers_lines() {
        let body = format!("{GOOD}\r\n\n{SKIP}\nnot json\n\u{20}\n{GOOD}\n");
        let mut bytes = body.into_bytes();
        bytes.extend(b"\xff\xfe\n");
        let l = parse(Format::Eve, &bytes, 0, Tz::UTC);
        assert_eq!((l.accepted, l.skipped, l.rejected), (2, 1, 2));
        assert_eq!(l.records.len(), 2);
        let lines: Vec<u64> = l.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [4, 7]);
        assert!(l.errors[1].error.contains("UTF-8"));
    }

    #[test]
    fn halves_number_on_and_errors_stay_bounded() {
        let mut body = String::new();
        for i in 0..20_000 {
            body.push_str(if i % 100 == 7 { "broken\n" } else { GOOD });
            if i % 100 != 7 {
                body.push('\n');
            }
        }
        assert!(body.len() > SPLIT_AT);
        let l = parse(Format::Eve, body.as_bytes(), 0, Tz::UTC);
        assert_eq!(l.accepted, 19_800);
        assert_eq!(l.rejected, 200);
        assert_eq!(l.errors.len(), MAX_ERRORS);
        assert_eq!(l.errors[0].line, 8);
        assert_eq!(l.errors[1].line, 108);
        // The second half's lines keep their numbers in the whole body.
        let whole = parse_part(Format::Eve, body.as_bytes(), 1, 0, Tz::UTC);
        assert_eq!(whole.errors, l.errors);
    }
}
