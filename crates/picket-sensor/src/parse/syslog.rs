//! Syslog lines, RFC 3164 (`<PRI>Mmm dd hh:mm:ss host app[pid]: text`, the PRI optional as
//! relays write files) and RFC 5424 (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] text`),
//! through `syslog_loose`. RFC 3164 times carry no zone and no year: they are read in the
//! given timezone (the server's `timezone`), and the year is the one that puts the date most
//! recently in the past (a date up to a day ahead of the server's clock counts as now, for
//! senders whose clocks run a little fast).

use chrono::{Datelike, TimeZone};
use chrono_tz::Tz;
use syslog_loose::{IncompleteDate, ProcId, Variant};

use crate::record::{Parsed, Record, Syslog};

const DAY_MS: i64 = 24 * 3600 * 1000;

/// The year of a year-less date: the latest year in which it exists and is not more than a
/// day after `now_ms` (a 29 February goes back to the last leap year).
fn year_for(date: IncompleteDate, now_ms: i64, tz: Tz) -> i32 {
    let (month, day, hour, min, sec) = date;
    let now_year = tz
        .timestamp_millis_opt(now_ms)
        .single()
        .map_or(1970, |t| t.year());
    let sec = sec.min(59);
    for year in (now_year - 8..=now_year + 1).rev() {
        if let Some(t) = tz
            .with_ymd_and_hms(year, month, day, hour, min, sec)
            .earliest()
        {
            if t.timestamp_millis() <= now_ms + DAY_MS {
                return year;
            }
        }
    }
    now_year
}

/// Parses one syslog line.
pub fn parse(line: &str, now_ms: i64, tz: Tz) -> Result<Parsed, String> {
    let get_year = move |d: IncompleteDate| year_for(d, now_ms, tz);
    let m =
        syslog_loose::parse_message_with_year_exact_tz(line, get_year, Some(tz), Variant::Either)
            .map_err(|_| "not a syslog line (RFC 3164 or RFC 5424 header expected)".to_string())?;
    let ts = m
        .timestamp
        .ok_or("the syslog timestamp is not a valid date")?
        .timestamp_millis();
    let pid = match m.procid {
        Some(ProcId::PID(p)) => u32::try_from(p).ok(),
        _ => None,
    };
    Ok(Parsed::Records(vec![Record::Syslog(Syslog {
        ts,
        hostname: m.hostname.unwrap_or_default().to_string(),
        app: m.appname.unwrap_or_default().to_string(),
        pid,
        message: m.msg.trim().to_string(),
        line: line.trim().to_string(),
    })]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str, now_ms: i64, tz: Tz) -> Syslog {
        match parse(line, now_ms, tz).unwrap() {
            Parsed::Records(mut r) => match r.remove(0) {
                Record::Syslog(s) => s,
                _ => panic!(),
            },
            Parsed::Skipped => panic!(),
        }
    }

    fn utc(s: &str) -> i64 {
        crate::parse::time::iso_ms(s).unwrap()
    }

    /// Devices that send `<PRI>TIMESTAMP TAG: text` name no host: the hostname stays empty
    /// (the listener fills in the sender's address) and the tag is still the app.
    #[test]
    fn a_header_without_a_host_leaves_the_hostname_empty() {
        let now = utc("2026-03-01T12:00:00Z");
        let s = one(
            "<38>Feb 20 08:35:22 sshd[5774]: Failed password for root from 216.160.83.57 port 29160 ssh2",
            now,
            Tz::UTC,
        );
        assert_eq!(
            (s.hostname.as_str(), s.app.as_str(), s.pid),
            ("", "sshd", Some(5774))
        );
        assert!(s.message.starts_with("Failed password for root"));
    }

    #[test]
    fn rfc3164_lines_of_the_real_sample() {
        let now = utc("2026-03-01T12:00:00Z");
        let s = one(
            "Feb 20 08:35:22 slave22 sshd[5774]: Failed password for root from 216.160.83.57 port 29160 ssh2",
            now,
            Tz::UTC,
        );
        assert_eq!(s.ts, utc("2026-02-20T08:35:22Z"));
        assert_eq!(s.hostname, "slave22");
        assert_eq!(s.app, "sshd");
        assert_eq!(s.pid, Some(5774));
        assert_eq!(
            s.message,
            "Failed password for root from 216.160.83.57 port 29160 ssh2"
        );
        let s = one(
            "Feb 24 00:13:02 precise32 sudo:      tsg : user NOT in sudoers ; TTY=pts/1 ; PWD=/home/vagrant ; USER=root ; COMMAND=/bin/ls",
            now,
            Tz::UTC,
        );
        assert_eq!(
            (s.hostname.as_str(), s.app.as_str(), s.pid),
            ("precise32", "sudo", None)
        );
        assert!(
            s.message.starts_with("tsg : user NOT in sudoers"),
            "{}",
            s.message
        );
        // With a PRI, in the server's timezone.
        let s = one(
            "<38>Feb 22 11:47:05 localhost useradd[6995]: new user: name=apache, UID=48",
            now,
            "Europe/Berlin".parse().unwrap(),
        );
        assert_eq!(s.ts, utc("2026-02-22T10:47:05Z"));
    }

    #[test]
    fn a_missing_year_is_the_most_recent_past() {
        let now = utc("2026-01-10T12:00:00Z");
        // December is last year's; a date within the day ahead is this year's.
        assert_eq!(
            one("Dec 31 23:59:59 h app: x", now, Tz::UTC).ts,
            utc("2025-12-31T23:59:59Z")
        );
        assert_eq!(
            one("Jan 10 18:00:00 h app: x", now, Tz::UTC).ts,
            utc("2026-01-10T18:00:00Z")
        );
        assert_eq!(
            one("Jan 12 00:00:00 h app: x", now, Tz::UTC).ts,
            utc("2025-01-12T00:00:00Z")
        );
        // New Year's Eve on the server, the sender already in January.
        let eve = utc("2025-12-31T23:30:00Z");
        assert_eq!(
            one("Jan  1 00:10:00 h app: x", eve, Tz::UTC).ts,
            utc("2026-01-01T00:10:00Z")
        );
        assert_eq!(
            one("Feb 29 10:00:00 h app: x", now, Tz::UTC).ts,
            utc("2024-02-29T10:00:00Z")
        );
    }

    #[test]
    fn rfc5424_lines() {
        let s = one(
            "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed for lonvick on /dev/pts/8",
            utc("2026-01-01T00:00:00Z"),
            Tz::UTC,
        );
        assert_eq!(s.ts, utc("2003-10-11T22:14:15.003Z"));
        assert_eq!(s.hostname, "mymachine.example.com");
        assert_eq!(s.app, "su");
        assert_eq!(s.message, "'su root' failed for lonvick on /dev/pts/8");
        let s = one(
            r#"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - [exampleSDID@32473 iut="3"] An application event"#,
            0,
            Tz::UTC,
        );
        assert_eq!(s.ts, utc("2003-08-24T12:14:15Z"));
        assert_eq!(s.pid, Some(8710));
        assert_eq!(s.message, "An application event");
    }

    #[test]
    fn lines_without_a_header_are_refused() {
        for line in ["hello world", "<13>", "just some text: with a colon"] {
            assert!(parse(line, 0, Tz::UTC).is_err(), "{line}");
        }
    }
}
