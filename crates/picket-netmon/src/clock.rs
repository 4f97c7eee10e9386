//! The network surface's time format: `YYYY-MM-DD HH:MM:SS` in the configured IANA timezone,
//! with no offset, for every time in and out.

use chrono::{LocalResult, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

pub const FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Unix milliseconds → server-local text.
pub fn format(ms: i64, tz: Tz) -> String {
    picket_core::time::to_datetime(ms)
        .with_timezone(&tz)
        .format(FORMAT)
        .to_string()
}

/// Which end of a range an input bound is: a lower bound starts at the given instant, an upper
/// bound covers the whole day (date only) or minute (`HH:MM`) it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Lower,
    Upper,
}

/// Parses `YYYY-MM-DD`, `YYYY-MM-DD HH:MM` or `YYYY-MM-DD HH:MM:SS` in `tz` into Unix ms.
/// An upper bound is the last millisecond of the day or minute it names.
pub fn parse(input: &str, tz: Tz, bound: Bound) -> Result<i64, String> {
    let s = input.trim();
    let (naive, span_ms) = if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        (d.and_hms_opt(0, 0, 0).unwrap_or_default(), 86_400_000)
    } else if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S") {
        (t, 1000)
    } else if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M") {
        (t, 60_000)
    } else {
        return Err(format!(
            "`{input}` is not a time; use YYYY-MM-DD, YYYY-MM-DD HH:MM or YYYY-MM-DD HH:MM:SS"
        ));
    };
    let start = match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => t,
        // Clocks went back: the earlier instant for a lower bound, the later for an upper.
        LocalResult::Ambiguous(a, b) => {
            if bound == Bound::Lower {
                a
            } else {
                b
            }
        }
        LocalResult::None => {
            return Err(format!(
                "`{input}` does not exist in timezone {tz} (clocks skipped it)"
            ))
        }
    };
    let ms = start.timestamp_millis();
    Ok(match bound {
        Bound::Lower => ms,
        Bound::Upper => ms + span_ms - 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_the_server_timezone() {
        let ms = 1_780_308_000_000; // 2026-06-01 10:00:00 UTC
        assert_eq!(format(ms, chrono_tz::UTC), "2026-06-01 10:00:00");
        assert_eq!(format(ms, chrono_tz::Europe::Berlin), "2026-06-01 12:00:00");
    }

    #[test]
    fn parses_the_three_forms_with_inclusive_upper_bounds() {
        let tz = chrono_tz::Europe::Berlin;
        let day = parse("2026-06-01", tz, Bound::Lower).unwrap();
        assert_eq!(format(day, tz), "2026-06-01 00:00:00");
        let end = parse("2026-06-01", tz, Bound::Upper).unwrap();
        assert_eq!(end - day, 86_400_000 - 1);
        let minute_end = parse("2026-06-01 10:30", tz, Bound::Upper).unwrap();
        assert_eq!(format(minute_end, tz), "2026-06-01 10:30:59");
        assert!(parse("2026-06-01T10:30", tz, Bound::Lower)
            .unwrap_err()
            .contains("YYYY-MM-DD"));
        assert!(parse("2026-03-29 02:30", tz, Bound::Lower).is_err());
    }
}
