//! The network surface's time format: `YYYY-MM-DD HH:MM:SS` in the configured IANA timezone,
//! with no offset, for every time in and out.

use chrono::{LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone};
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
/// An upper bound is the last millisecond of the day or minute it names. A day is the calendar
/// day in `tz`: on daylight-saving days it is 23 or 25 hours long, and it starts at the first
/// local time that exists when clocks skip its midnight.
pub fn parse(input: &str, tz: Tz, bound: Bound) -> Result<i64, String> {
    let s = input.trim();
    if let Ok(day) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(match bound {
            Bound::Lower => day_start(day, tz),
            Bound::Upper => match day.succ_opt() {
                Some(next) => day_start(next, tz) - 1,
                None => day_start(day, tz) + 86_400_000 - 1,
            },
        });
    }
    let (naive, span_ms) = if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S") {
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

/// The first instant of `day` in `tz`: its midnight, the earlier one where clocks went back
/// over it, or the first local minute that exists where clocks skipped it.
fn day_start(day: NaiveDate, tz: Tz) -> i64 {
    let midnight = day.and_time(NaiveTime::MIN);
    (0..=24 * 60)
        .find_map(|minute| {
            tz.from_local_datetime(&(midnight + TimeDelta::minutes(minute)))
                .earliest()
        })
        .map(|t| t.timestamp_millis())
        // Unreachable: no timezone skips a whole day of minutes; UTC midnight keeps it total.
        .unwrap_or_else(|| midnight.and_utc().timestamp_millis())
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

    /// The calendar day in the server timezone: 23 hours when clocks go forward, 25 when they
    /// go back, and always up to the last millisecond before the next local midnight.
    #[test]
    fn a_date_covers_its_local_day_on_daylight_saving_days() {
        let tz = chrono_tz::Europe::Berlin;
        for (day, hours) in [("2026-03-29", 23), ("2026-10-25", 25), ("2026-06-01", 24)] {
            let start = parse(day, tz, Bound::Lower).unwrap();
            let end = parse(day, tz, Bound::Upper).unwrap();
            assert_eq!(end - start, hours * 3_600_000 - 1, "{day}");
            assert_eq!(format(start, tz), format!("{day} 00:00:00"));
            assert_eq!(format(end, tz), format!("{day} 23:59:59"));
            // The next millisecond is the next day.
            assert!(format(end + 1, tz).ends_with(" 00:00:00"));
            assert!(!format(end + 1, tz).starts_with(day));
        }
        // Time-of-day bounds around the transitions are unchanged.
        let before = parse("2026-03-29 01:59:59", tz, Bound::Upper).unwrap();
        let after = parse("2026-03-29 03:00:00", tz, Bound::Lower).unwrap();
        assert_eq!(after - before, 1);
    }

    /// Where clocks skip midnight the day starts at the first local time that exists; where
    /// midnight repeats it starts at the first one. Cuba changes its clocks at midnight.
    #[test]
    fn a_day_whose_midnight_is_skipped_or_repeated() {
        let tz = chrono_tz::America::Havana;
        let start = parse("2026-03-08", tz, Bound::Lower).unwrap();
        assert_eq!(format(start, tz), "2026-03-08 01:00:00");
        let end_before = parse("2026-03-07", tz, Bound::Upper).unwrap();
        assert_eq!(start - end_before, 1);
        let start = parse("2026-11-01", tz, Bound::Lower).unwrap();
        let end = parse("2026-11-01", tz, Bound::Upper).unwrap();
        assert_eq!(end - start, 25 * 3_600_000 - 1);
        assert_eq!(parse("2026-10-31", tz, Bound::Upper).unwrap(), start - 1);
    }
}
