//! Sensor timestamps into Unix ms. Suricata writes `2017-01-30T16:12:36.066011+0100` (offset
//! without a colon), Zeek ISO 8601 with `Z` or epoch seconds; both are read here by hand, since
//! every line carries at least one and a format-string parser costs more than the rest of the
//! line.

use chrono::NaiveDate;

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')))
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z|±HH|±HHMM|±HH:MM]` into Unix ms; no zone means UTC.
pub fn iso_ms(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = digits(&b[0..4])? as i32;
    let (month, day) = (digits(&b[5..7])?, digits(&b[8..10])?);
    let (hour, min, sec) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    let mut rest = &b[19..];
    let mut ms = 0i64;
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        // Milliseconds from the first three digits (padded); finer digits are dropped.
        let mut three = [b'0'; 3];
        for (i, d) in frac[..n.min(3)].iter().enumerate() {
            three[i] = *d;
        }
        ms = i64::from(digits(&three)?);
        rest = &frac[n..];
    }
    let offset_secs: i64 = match rest {
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), tail @ ..] => {
            let (h, m) = match tail {
                [h1, h2] => (digits(&[*h1, *h2])?, 0),
                [h1, h2, m1, m2] => (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?),
                [h1, h2, b':', m1, m2] => (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let secs = i64::from(h * 3600 + m * 60);
            if *sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        _ => return None,
    };
    // A leap second (`:60`) counts as the last millisecond of its minute.
    let (sec, ms) = if sec == 60 { (59, 999) } else { (sec, ms) };
    let t = NaiveDate::from_ymd_opt(year, month, day)?.and_hms_opt(hour, min, sec)?;
    Some(t.and_utc().timestamp_millis() + ms - offset_secs * 1000)
}

/// Epoch seconds with a fraction (Zeek's default JSON `ts`) into Unix ms; an integer above
/// 10^11 is taken as already in ms (Zeek's `JSON::TS_MILLIS`).
pub fn epoch_ms(v: f64) -> Option<i64> {
    if !v.is_finite() || v < 0.0 {
        return None;
    }
    if v >= 1e11 {
        return (v < 1e15).then(|| v.round() as i64);
    }
    // Whole microseconds first (what Zeek writes), then truncated to ms like ISO fractions.
    let micros = (v * 1e6).round();
    (micros < 1e18).then(|| (micros as i64).div_euclid(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suricata_and_zeek_spellings() {
        // 2017-01-30 15:12:36.066 UTC.
        let want = 1_485_789_156_066;
        for s in [
            "2017-01-30T16:12:36.066011+0100",
            "2017-01-30T16:12:36.066+01:00",
            "2017-01-30T15:12:36.066Z",
            "2017-01-30 15:12:36.066",
            "2017-01-30T14:12:36.0669-01",
        ] {
            assert_eq!(iso_ms(s), Some(want), "{s}");
        }
        assert_eq!(iso_ms("2017-01-30T15:12:36"), Some(want - 66));
        assert_eq!(iso_ms("2016-12-31T23:59:60Z"), Some(1_483_228_799_999));
        for bad in [
            "",
            "2017-01-30",
            "2017-02-30T00:00:00Z",
            "2017-01-30T25:00:00Z",
            "2017-01-30T15:12:36.+0100",
            "2017-01-30T15:12:36+1",
            "2017-01-30T15:12:36 UTC",
            "yesterday at noon sharp",
        ] {
            assert_eq!(iso_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn epochs_in_seconds_or_ms() {
        assert_eq!(epoch_ms(1_485_789_156.066_011), Some(1_485_789_156_066));
        assert_eq!(epoch_ms(1_591_367_999.305_988), Some(1_591_367_999_305));
        assert_eq!(epoch_ms(1_591_367_999.305), Some(1_591_367_999_305));
        assert_eq!(epoch_ms(1_485_789_156_066.0), Some(1_485_789_156_066));
        assert_eq!(epoch_ms(-1.0), None);
        assert_eq!(epoch_ms(f64::NAN), None);
    }
}
