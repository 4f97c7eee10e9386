//! Brute force (§10.3): at least `failures` failed authentications from one source within
//! `window_secs`, one alert per burst. A source is the remote address of the attempts, or,
//! for local attempts (`su`, `sudo`), the local account on its host. A burst ends when the
//! source has been quiet for a whole window; its next failures start a new one.
//!
//! Pure state over record times (not the clock), so batches replayed from an agent's spool
//! count as they happened. Memory is bounded: a source keeps at most `failures` times, and a
//! tenant at most [`MAX_SOURCES`] sources (the quietest are forgotten first).

use std::collections::{HashMap, VecDeque};

use super::rules::{Attempt, Credit};
use super::window::{self, At};

/// Sources kept per tenant before the quietest are forgotten.
pub const MAX_SOURCES: usize = 100_000;
/// Users named in an alert.
const MAX_USERS: usize = 8;
/// Unpaired `Invalid user` lines kept per source.
const MAX_CREDITS: usize = 64;

#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub failures: usize,
    pub window_ms: i64,
}

impl Settings {
    pub fn from_config(c: &picket_core::config::BruteforceConfig) -> Settings {
        Settings {
            failures: (c.failures as usize).max(1),
            window_ms: window::ms(c.window_secs),
        }
    }
}

/// One failed attempt as the tracker sees it.
#[derive(Debug, Clone)]
pub struct Failure<'a> {
    pub ts: i64,
    pub hostname: &'a str,
    pub attempt: &'a Attempt,
}

impl Failure<'_> {
    /// The source key: the remote address, else the local account (or the account tried) on
    /// its host.
    pub fn source(&self) -> String {
        match self.attempt.ip {
            Some(ip) => ip.to_string(),
            None => {
                let who = if self.attempt.by.is_empty() {
                    &self.attempt.user
                } else {
                    &self.attempt.by
                };
                format!("{who} on {}", self.hostname)
            }
        }
    }
}

/// A burst that reached the threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Burst {
    pub source: String,
    pub ts: i64,
    /// Failures in the window when it was reached.
    pub failures: usize,
    /// Accounts tried, first seen first.
    pub users: Vec<String>,
    /// Hosts the failures were logged on, first seen first.
    pub hosts: Vec<String>,
}

/// An `Invalid user` line of an sshd process, and the `Failed … for invalid user` line that
/// was paired with it, if any.
#[derive(Debug)]
struct Pairing {
    host: String,
    pid: u32,
    ts: i64,
    taken_by: Option<At>,
}

#[derive(Debug, Default)]
struct Source {
    last_ts: i64,
    alerted: bool,
    /// The failure that made this burst alert, and its burst (to alert again on a retry).
    crossed: Option<(At, Burst)>,
    /// The newest failures (time, record, repeat), ascending by time, at most `failures`.
    times: VecDeque<(i64, At, u32)>,
    users: Vec<String>,
    hosts: Vec<String>,
    credits: Vec<Pairing>,
}

/// The brute-force windows of one tenant.
#[derive(Debug, Default)]
pub struct Tracker {
    sources: HashMap<String, Source>,
    newest: i64,
}

impl Tracker {
    /// Counts `f` (record `at`); returns the burst when this failure makes it reach the
    /// threshold. A failure seen again (a retried batch) is not counted again, and the one
    /// that made a burst alert alerts again.
    pub fn observe(&mut self, s: &Settings, f: &Failure, at: At) -> Option<Burst> {
        let key = f.source();
        self.newest = self.newest.max(f.ts);
        let src = self.sources.entry(key.clone()).or_default();
        if let Some((crossed, burst)) = &src.crossed {
            if *crossed == at {
                return Some(burst.clone());
            }
        }
        if !src.times.is_empty() && f.ts < src.last_ts - s.window_ms {
            // Older than the source's window: it can no longer make a burst.
            return None;
        }
        if src.alerted && f.ts - src.last_ts > s.window_ms {
            *src = Source::default();
        }
        src.last_ts = src.last_ts.max(f.ts);
        let a = f.attempt;
        // Pair an sshd process's `Invalid user` with its first `Failed … for invalid user`.
        let horizon = src.last_ts - s.window_ms;
        src.credits.retain(|c| c.ts >= horizon);
        let mut count = a.count.max(1);
        match (a.credit, a.pid) {
            (Credit::Gives, Some(pid)) => {
                let same = |c: &Pairing| c.pid == pid && c.host == f.hostname;
                match src.credits.iter().position(same) {
                    // The same line again (a retry) keeps its pairing.
                    Some(i) if src.credits[i].ts == f.ts => {}
                    // The pid of an earlier connection, reused.
                    Some(i) => {
                        src.credits[i].ts = f.ts;
                        src.credits[i].taken_by = None;
                    }
                    None => {
                        if src.credits.len() >= MAX_CREDITS {
                            src.credits.remove(0);
                        }
                        src.credits.push(Pairing {
                            host: f.hostname.to_string(),
                            pid,
                            ts: f.ts,
                            taken_by: None,
                        });
                    }
                }
            }
            (Credit::Takes, Some(pid)) => {
                let open = src.credits.iter_mut().find(|c| {
                    c.pid == pid
                        && c.host == f.hostname
                        && (c.taken_by.is_none() || c.taken_by == Some(at))
                });
                if let Some(c) = open {
                    c.taken_by = Some(at);
                    count -= 1;
                }
            }
            _ => {}
        }
        if count == 0 {
            return None;
        }
        remember(&mut src.users, &a.user);
        remember(&mut src.hosts, f.hostname);
        for k in 0..count.min(s.failures as u32) {
            if src.times.iter().any(|(_, a, r)| *a == at && *r == k) {
                continue;
            }
            let i = src.times.partition_point(|(t, _, _)| *t <= f.ts);
            src.times.insert(i, (f.ts, at, k));
            if src.times.len() > s.failures {
                src.times.pop_front();
            }
        }
        let in_window = src.times.iter().filter(|(t, _, _)| *t >= horizon).count();
        let burst = if !src.alerted && in_window >= s.failures {
            let b = Burst {
                source: key,
                ts: f.ts,
                failures: in_window,
                users: src.users.clone(),
                hosts: src.hosts.clone(),
            };
            src.alerted = true;
            src.crossed = Some((at, b.clone()));
            Some(b)
        } else {
            None
        };
        if self.sources.len() > MAX_SOURCES {
            self.forget_quiet(s.window_ms);
        }
        burst
    }

    /// Drops sources quiet for a window; if that is not enough, the quieter half.
    fn forget_quiet(&mut self, window_ms: i64) {
        let horizon = self.newest - window_ms;
        self.sources.retain(|_, s| s.last_ts >= horizon);
        window::trim_oldest(&mut self.sources, MAX_SOURCES, |s| s.last_ts);
    }

    /// How many keys are kept (memory is bounded by this).
    pub fn tracked(&self) -> usize {
        self.sources.len()
    }
}

fn remember(list: &mut Vec<String>, value: &str) {
    if !value.is_empty() && list.len() < MAX_USERS && !list.iter().any(|v| v == value) {
        list.push(value.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rules::{classify, Hit};
    use crate::record::{Record, Syslog};

    const S: Settings = Settings {
        failures: 5,
        window_ms: 300_000,
    };

    fn line(ts: i64, pid: u32, message: &str) -> Syslog {
        Syslog {
            ts,
            hostname: "web1".into(),
            app: "sshd".into(),
            pid: Some(pid),
            message: message.into(),
            line: format!("web1 sshd[{pid}]: {message}"),
        }
    }

    /// Runs lines, as one batch, through the rule pack and the tracker; returns the bursts.
    fn run(t: &mut Tracker, lines: &[Syslog]) -> Vec<Burst> {
        let records: Vec<Record> = lines.iter().cloned().map(Record::Syslog).collect();
        let batch = window::batch_id(&records);
        let mut out = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            if let Some(Hit {
                attempt: Some(a), ..
            }) = classify(l)
            {
                let f = Failure {
                    ts: l.ts,
                    hostname: &l.hostname,
                    attempt: &a,
                };
                let at = At {
                    batch,
                    index: i as u32,
                };
                out.extend(t.observe(&S, &f, at));
            }
        }
        out
    }

    #[test]
    fn a_retried_batch_counts_once_and_alerts_where_it_did() {
        let mut t = Tracker::default();
        let ip = "203.0.113.8";
        let mut first = vec![line(0, 400, &format!("Invalid user a from {ip} port 1"))];
        first.push(line(
            1,
            400,
            &format!("Failed password for invalid user a from {ip} port 1 ssh2"),
        ));
        first.push(failed(2, 401, "root", ip));
        assert!(run(&mut t, &first).is_empty());
        assert!(
            run(&mut t, &first).is_empty(),
            "still two attempts, not four"
        );
        let second: Vec<Syslog> = (0..4)
            .map(|i| failed(10 + i, 410 + i as u32, "root", ip))
            .collect();
        let bursts = run(&mut t, &second);
        assert_eq!(bursts.len(), 1);
        assert_eq!(bursts[0].ts, 12, "the third of these is the fifth failure");
        assert_eq!(run(&mut t, &second), bursts, "the retry alerts the same");
        assert!(run(&mut t, &[failed(20, 420, "root", ip)]).is_empty());
    }

    fn failed(ts: i64, pid: u32, user: &str, ip: &str) -> Syslog {
        line(
            ts,
            pid,
            &format!("Failed password for {user} from {ip} port 4{pid} ssh2"),
        )
    }

    #[test]
    fn five_failures_in_five_minutes_make_one_alert_per_burst() {
        let mut t = Tracker::default();
        let ip = "198.51.100.23";
        let lines: Vec<Syslog> = (0..12)
            .map(|i| {
                failed(
                    i * 20_000,
                    100 + i as u32,
                    ["root", "admin"][i as usize % 2],
                    ip,
                )
            })
            .collect();
        let bursts = run(&mut t, &lines);
        assert_eq!(bursts.len(), 1, "{bursts:?}");
        let b = &bursts[0];
        assert_eq!(
            (b.source.as_str(), b.ts, b.failures),
            (ip, 80_000, 5),
            "the fifth failure"
        );
        assert_eq!(b.users, ["root", "admin"]);
        assert_eq!(b.hosts, ["web1"]);
        // Quiet for more than the window, then a new burst.
        let later: Vec<Syslog> = (0..5)
            .map(|i| failed(700_000 + i * 1000, 300 + i as u32, "root", ip))
            .collect();
        assert_eq!(run(&mut t, &later).len(), 1);
    }

    #[test]
    fn slow_failures_never_reach_the_threshold() {
        let mut t = Tracker::default();
        let lines: Vec<Syslog> = (0..20)
            .map(|i| failed(i * 80_000, 100 + i as u32, "root", "198.51.100.23"))
            .collect();
        assert!(run(&mut t, &lines).is_empty(), "4 per 5 minutes at most");
    }

    #[test]
    fn sources_are_counted_apart() {
        let mut t = Tracker::default();
        let lines: Vec<Syslog> = (0..8)
            .map(|i| {
                failed(
                    i * 1000,
                    100 + i as u32,
                    "root",
                    &format!("198.51.100.{}", i % 2),
                )
            })
            .collect();
        assert!(run(&mut t, &lines).is_empty());
        let more: Vec<Syslog> = (8..10)
            .map(|i| {
                failed(
                    i * 1000,
                    100 + i as u32,
                    "root",
                    &format!("198.51.100.{}", i % 2),
                )
            })
            .collect();
        let bursts = run(&mut t, &more);
        assert_eq!(bursts.len(), 2);
        assert_eq!(bursts[0].source, "198.51.100.0");
    }

    #[test]
    fn an_invalid_user_and_its_one_password_are_one_attempt() {
        let mut t = Tracker::default();
        let ip = "203.0.113.7";
        let mut lines = Vec::new();
        for i in 0..4u32 {
            let ts = i64::from(i) * 1000;
            lines.push(line(
                ts,
                200 + i,
                &format!("Invalid user u{i} from {ip} port 5{i}"),
            ));
            lines.push(line(
                ts + 1,
                200 + i,
                &format!("Failed password for invalid user u{i} from {ip} port 5{i} ssh2"),
            ));
        }
        assert!(run(&mut t, &lines).is_empty(), "four attempts, not eight");
        // A second password on the same connection is another attempt.
        let second = line(
            5000,
            203,
            &format!("Failed password for invalid user u3 from {ip} port 53 ssh2"),
        );
        assert_eq!(run(&mut t, &[second]).len(), 1);
    }

    #[test]
    fn repeated_lines_count_each_repeat_and_late_lines_are_ignored() {
        let mut t = Tracker::default();
        let rep = line(
            1_000_000,
            9,
            "message repeated 5 times: [ Failed password for root from 192.0.2.44 port 22 ssh2]",
        );
        assert_eq!(run(&mut t, &[rep]).len(), 1);
        let mut t = Tracker::default();
        let ip = "192.0.2.45";
        let newer: Vec<Syslog> = (0..3).map(|i| failed(1_000_000 + i, 1, "a", ip)).collect();
        assert!(run(&mut t, &newer).is_empty());
        // Two failures from long before the newest: outside its window.
        let old: Vec<Syslog> = (0..2).map(|i| failed(i, 2, "a", ip)).collect();
        assert!(run(&mut t, &old).is_empty());
    }

    #[test]
    fn local_failures_are_keyed_by_account_and_host() {
        let mut t = Tracker::default();
        let lines: Vec<Syslog> = (0..5)
            .map(|i| Syslog {
                ts: i * 1000,
                hostname: "db1".into(),
                app: "su".into(),
                pid: Some(70 + i as u32),
                message: "pam_unix(su:auth): authentication failure; logname=mallory uid=1001 euid=0 tty=pts/1 ruser=mallory rhost=  user=root".into(),
                line: String::new(),
            })
            .collect();
        let bursts = run(&mut t, &lines);
        assert_eq!(bursts.len(), 1);
        assert_eq!(bursts[0].source, "mallory on db1");
        assert_eq!(bursts[0].users, ["root"]);
    }

    #[test]
    fn memory_stays_bounded() {
        let mut t = Tracker::default();
        for i in 0..(MAX_SOURCES as i64 + 10) {
            let a = Attempt {
                ip: Some(std::net::IpAddr::from((i as u32 + 1).to_be_bytes())),
                user: "root".into(),
                by: String::new(),
                count: 1,
                credit: Credit::None,
                pid: None,
            };
            t.observe(
                &S,
                &Failure {
                    ts: i * 10,
                    hostname: "h",
                    attempt: &a,
                },
                At {
                    batch: 1,
                    index: i as u32,
                },
            );
        }
        assert!(t.tracked() <= MAX_SOURCES, "{}", t.tracked());
    }
}
