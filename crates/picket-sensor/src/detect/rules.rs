//! The syslog rule pack (§11.12): which log lines are server alerts, of what `type`, level and
//! title, and which of them are authentication attempts that count towards brute force.
//!
//! Pure: a line in, a [`Hit`] (or nothing) out. Lines are recognised by the text the programs
//! write (OpenSSH, sudo, util-linux and shadow `su`, Linux-PAM, shadow's `useradd` and
//! `groupadd`, Windows Security events forwarded by NXLog, Snare or similar), so a line whose
//! tag the relay lost is still recognised.
//!
//! Counting attempts: one failed try is often logged twice (PAM and the program itself), so
//! only one of the two counts: for `sshd` the program's own line (`Failed password`, `Invalid
//! user`), for `su` and `sudo` the PAM line (one per try; their own lines summarise). An
//! `Invalid user` line and the `Failed password for invalid user` lines of the same `sshd`
//! process are one attempt when only one password was tried ([`Credit`]).

use std::net::IpAddr;

use crate::record::Syslog;

/// One rule of the pack: its `type`, level and what it matches, for the documentation table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub kind: &'static str,
    pub level: i64,
    pub counts: bool,
}

pub const SSHD_FAILED_PASSWORD: Rule = Rule {
    kind: "sshd_failed_password",
    level: 10,
    counts: true,
};
pub const SSHD_INVALID_USER: Rule = Rule {
    kind: "sshd_invalid_user",
    level: 10,
    counts: true,
};
pub const SSHD_TOO_MANY_FAILURES: Rule = Rule {
    kind: "sshd_too_many_failures",
    level: 20,
    counts: false,
};
pub const SSHD_NO_IDENTIFICATION: Rule = Rule {
    kind: "sshd_no_identification",
    level: 10,
    counts: false,
};
pub const SUDO_AUTH_FAILURE: Rule = Rule {
    kind: "sudo_auth_failure",
    level: 20,
    counts: false,
};
pub const SUDO_NOT_IN_SUDOERS: Rule = Rule {
    kind: "sudo_not_in_sudoers",
    level: 30,
    counts: false,
};
pub const SU_FAILURE: Rule = Rule {
    kind: "su_failure",
    level: 20,
    counts: false,
};
pub const PAM_AUTH_FAILURE: Rule = Rule {
    kind: "pam_auth_failure",
    level: 10,
    counts: true,
};
pub const USER_CREATED: Rule = Rule {
    kind: "user_created",
    level: 20,
    counts: false,
};
pub const GROUP_CREATED: Rule = Rule {
    kind: "group_created",
    level: 10,
    counts: false,
};
pub const WINDOWS_LOGON_FAILURE: Rule = Rule {
    kind: "windows_logon_failure",
    level: 10,
    counts: true,
};

/// Every rule, in the order of the documentation's table.
pub const ALL: &[Rule] = &[
    SSHD_FAILED_PASSWORD,
    SSHD_INVALID_USER,
    SSHD_TOO_MANY_FAILURES,
    SSHD_NO_IDENTIFICATION,
    SUDO_AUTH_FAILURE,
    SUDO_NOT_IN_SUDOERS,
    SU_FAILURE,
    PAM_AUTH_FAILURE,
    USER_CREATED,
    GROUP_CREATED,
    WINDOWS_LOGON_FAILURE,
];

/// What a line matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub rule: Rule,
    pub title: String,
    /// Set when the line is a failed authentication that counts towards brute force.
    pub attempt: Option<Attempt>,
}

/// Who failed to authenticate, from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The remote address, when the line names one.
    pub ip: Option<IpAddr>,
    /// The account tried.
    pub user: String,
    /// The local account that tried (`su`, `sudo`), when there is no remote address.
    pub by: String,
    /// Tries the line stands for (`message repeated 3 times: [ … ]` is three).
    pub count: u32,
    pub credit: Credit,
    /// The logging process (`sshd[pid]`), which pairs an `Invalid user` line with its
    /// `Failed password for invalid user` lines.
    pub pid: Option<u32>,
}

/// How an attempt pairs with another line of the same `sshd` process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credit {
    /// Counts on its own.
    None,
    /// `Invalid user`: counts, and its process's first `Failed … for invalid user` does not.
    Gives,
    /// `Failed … for invalid user`: does not count if its process's `Invalid user` did.
    Takes,
}

/// The rule pack: the [`Hit`] of one syslog line, if any.
pub fn classify(s: &Syslog) -> Option<Hit> {
    let (message, repeated) = unrepeat(s.message.trim());
    let hit = pam(message)
        .or_else(|| sshd(message))
        .or_else(|| sudo(message))
        .or_else(|| su(message))
        .or_else(|| accounts(message))
        .or_else(|| windows(message))?;
    let (rule, title, attempt) = hit;
    Some(Hit {
        rule,
        title,
        attempt: attempt.map(|mut a| {
            a.count = repeated;
            a.pid = s.pid;
            a
        }),
    })
}

type Found = (Rule, String, Option<Attempt>);

/// rsyslog folds repeats into `message repeated N times: [ <message>]`.
fn unrepeat(message: &str) -> (&str, u32) {
    let Some(rest) = message.strip_prefix("message repeated ") else {
        return (message, 1);
    };
    let Some((n, rest)) = rest.split_once(" times: [") else {
        return (message, 1);
    };
    match n.trim().parse::<u32>() {
        Ok(n) if n > 0 => (rest.trim().trim_end_matches(']').trim(), n),
        _ => (message, 1),
    }
}

fn attempt(ip: Option<IpAddr>, user: &str, by: &str, credit: Credit) -> Option<Attempt> {
    Some(Attempt {
        ip,
        user: user.to_string(),
        by: by.to_string(),
        count: 1,
        credit,
        pid: None,
    })
}

/// The word after `marker` (up to a space, `;` or `,`).
fn word_after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    let at = text.find(marker)? + marker.len();
    let rest = &text[at..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == ';' || c == ',')
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// An address in `text` (an IPv6 address may come bracketed), or `None`.
fn ip(text: &str) -> Option<IpAddr> {
    let t = text.trim_matches(|c| c == '[' || c == ']');
    t.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

/// `<who> from <ip>`: the user and the address of OpenSSH's `for X from IP port N` phrasing.
fn user_from(text: &str) -> Option<(&str, Option<IpAddr>)> {
    let (user, rest) = text.rsplit_once(" from ")?;
    let addr = rest.split_whitespace().next().and_then(ip);
    Some((user.trim(), addr))
}

fn from_text(ip: Option<IpAddr>) -> String {
    ip.map(|ip| format!(" from {ip}")).unwrap_or_default()
}

/// A `key=value` field of a PAM line (`rhost=`, `user=`, `ruser=`, `logname=`).
fn pam_field<'a>(text: &'a str, key: &str) -> &'a str {
    text.split(|c: char| c.is_whitespace() || c == ';')
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or("")
}

/// Linux-PAM modules: `pam_unix(sshd:auth): authentication failure; … rhost=IP user=U`.
fn pam(m: &str) -> Option<Found> {
    let start = m.find("pam_")?;
    let rest = &m[start..];
    let (module, rest) = rest.split_once('(')?;
    let (service, rest) = rest.split_once(':')?;
    let rest = rest.strip_prefix("auth):")?;
    if !rest.trim_start().starts_with("authentication failure") {
        return None;
    }
    let user = pam_field(rest, "user");
    let rhost = pam_field(rest, "rhost");
    let by = match pam_field(rest, "ruser") {
        "" => pam_field(rest, "logname"),
        r => r,
    };
    let remote = ip(rhost);
    let title = format!(
        "PAM authentication failure for {} ({service}, {module}){}",
        if user.is_empty() {
            "an unknown user"
        } else {
            user
        },
        match (remote, rhost) {
            (Some(ip), _) => format!(" from {ip}"),
            (None, "") => String::new(),
            (None, host) => format!(" from {host}"),
        }
    );
    // sshd logs each try itself; su and sudo only summarise, so their PAM line is the count.
    let counted = !service.starts_with("sshd");
    let attempt = counted
        .then(|| attempt(remote, user, by, Credit::None))
        .flatten();
    Some((PAM_AUTH_FAILURE, title, attempt))
}

const SSH_METHODS: &[&str] = &[
    "password",
    "keyboard-interactive/pam",
    "keyboard-interactive",
];

fn sshd(m: &str) -> Option<Found> {
    if let Some(rest) = m.strip_prefix("Failed ") {
        let (method, rest) = rest.split_once(" for ")?;
        if !SSH_METHODS.contains(&method) {
            return None;
        }
        let (who, addr) = user_from(rest)?;
        let (user, credit) = match who.strip_prefix("invalid user ") {
            Some(u) => (u, Credit::Takes),
            None => (who, Credit::None),
        };
        let title = format!("SSH failed {method} for {user}{}", from_text(addr));
        return Some((SSHD_FAILED_PASSWORD, title, attempt(addr, user, "", credit)));
    }
    if let Some(rest) = m.strip_prefix("Invalid user ") {
        let (user, addr) = user_from(rest)?;
        let title = format!("SSH login for invalid user {user}{}", from_text(addr));
        return Some((
            SSHD_INVALID_USER,
            title,
            attempt(addr, user, "", Credit::Gives),
        ));
    }
    if let Some(rest) = m.strip_prefix("Did not receive identification string from ") {
        let addr = rest.split_whitespace().next().and_then(ip);
        let title = format!(
            "SSH connection{} sent no identification string",
            from_text(addr)
        );
        return Some((SSHD_NO_IDENTIFICATION, title, None));
    }
    if m.contains("Too many authentication failures")
        || m.contains("maximum authentication attempts exceeded")
    {
        return Some((SSHD_TOO_MANY_FAILURES, too_many(m), None));
    }
    None
}

/// The user and address of OpenSSH's several "too many failures" phrasings.
fn too_many(m: &str) -> String {
    // `error: maximum authentication attempts exceeded for [invalid user] U from IP port N ssh2`
    if let Some(rest) = m.split_once("exceeded for ").map(|(_, r)| r) {
        if let Some((who, addr)) = user_from(rest) {
            let user = who.strip_prefix("invalid user ").unwrap_or(who);
            return format!(
                "SSH too many authentication failures for {user}{}",
                from_text(addr)
            );
        }
    }
    // `Disconnecting [authenticating|invalid] user U IP port N: Too many …`
    if let Some(rest) = m.split_once(" user ").map(|(_, r)| r) {
        let mut words = rest.split_whitespace();
        if let (Some(user), Some(addr)) = (words.next(), words.next().and_then(ip)) {
            return format!("SSH too many authentication failures for {user} from {addr}");
        }
    }
    // `Received disconnect from IP port N:2: Too many …`
    let addr = word_after(m, "from ").and_then(|w| ip(w.trim_end_matches(':')));
    format!("SSH too many authentication failures{}", from_text(addr))
}

fn sudo(m: &str) -> Option<Found> {
    // `vagrant : 3 incorrect password attempts ; TTY=pts/0 ; PWD=… ; USER=root ; COMMAND=…`
    let (who, rest) = m.split_once(" : ")?;
    let who = who.trim();
    if who.is_empty() || who.contains(' ') {
        return None;
    }
    let detail = rest.split(" ; ").next().unwrap_or("").trim();
    let target = rest
        .split(" ; ")
        .find_map(|f| f.trim().strip_prefix("USER="))
        .unwrap_or("root");
    let command = rest
        .split(" ; ")
        .find_map(|f| f.trim().strip_prefix("COMMAND="))
        .unwrap_or("");
    let command = if command.is_empty() {
        String::new()
    } else {
        format!(": {command}")
    };
    if detail.contains("incorrect password attempt") {
        let n = detail.split_whitespace().next().unwrap_or("1");
        let title = format!(
            "sudo: {n} incorrect password attempt{} by {who} (as {target}){command}",
            if n == "1" { "" } else { "s" }
        );
        return Some((SUDO_AUTH_FAILURE, title, None));
    }
    if detail.eq_ignore_ascii_case("user NOT in sudoers") || detail.contains("NOT in sudoers") {
        let title = format!("sudo: {who} is not in sudoers (as {target}){command}");
        return Some((SUDO_NOT_IN_SUDOERS, title, None));
    }
    None
}

fn su(m: &str) -> Option<Found> {
    // util-linux: `FAILED SU (to root) vagrant on pts/0`
    if let Some(rest) = m.strip_prefix("FAILED SU (to ") {
        let (target, rest) = rest.split_once(')')?;
        let by = rest.split_whitespace().next().unwrap_or("");
        let title = format!("su to {target} failed for {by}");
        return Some((SU_FAILURE, title, None));
    }
    // shadow: `FAILED su for root by vagrant`
    if let Some(rest) = m.strip_prefix("FAILED su for ") {
        let (target, by) = rest.split_once(" by ")?;
        let title = format!("su to {} failed for {}", target.trim(), by.trim());
        return Some((SU_FAILURE, title, None));
    }
    // BSD: `'su root' failed for lonvick on /dev/pts/8` (RFC 5424's example),
    // `BAD SU lonvick to root on /dev/ttyp0`
    if let Some(rest) = m.strip_prefix("'su ") {
        let (target, rest) = rest.split_once("' failed for ")?;
        let by = rest.split_whitespace().next().unwrap_or("");
        let target = target.trim().trim_start_matches('-').trim();
        let target = if target.is_empty() { "root" } else { target };
        return Some((SU_FAILURE, format!("su to {target} failed for {by}"), None));
    }
    if let Some(rest) = m.strip_prefix("BAD SU ") {
        let (by, rest) = rest.split_once(" to ")?;
        let target = rest.split_whitespace().next().unwrap_or("root");
        return Some((
            SU_FAILURE,
            format!("su to {target} failed for {}", by.trim()),
            None,
        ));
    }
    None
}

/// The `name=` and number fields of shadow's `new user:` and `new group:` lines.
fn shadow_fields<'a>(rest: &'a str, key: &str) -> &'a str {
    rest.split(',')
        .find_map(|f| f.trim().strip_prefix(key)?.strip_prefix('='))
        .unwrap_or("")
        .trim()
}

fn accounts(m: &str) -> Option<Found> {
    if let Some(rest) = m.strip_prefix("new user: ") {
        let name = shadow_fields(rest, "name");
        let uid = shadow_fields(rest, "UID");
        let title = format!("New user {name} (UID {uid})");
        return Some((USER_CREATED, title, None));
    }
    if let Some(rest) = m.strip_prefix("new group: ") {
        let name = shadow_fields(rest, "name");
        let gid = shadow_fields(rest, "GID");
        let title = format!("New group {name} (GID {gid})");
        return Some((GROUP_CREATED, title, None));
    }
    None
}

/// Windows event 4625 ("An account failed to log on") and its predecessor 529 ("Logon
/// Failure"), as the usual forwarders flatten them into one line: the account after "Account
/// For Which Logon Failed" (the first "Account Name" is the subject's), the address after
/// "Source Network Address".
fn windows(m: &str) -> Option<Found> {
    let failed = m.contains("An account failed to log on")
        || m.contains("Logon Failure:")
        || has_event_id(m, "4625");
    if !failed {
        return None;
    }
    let account_part = m
        .split_once("Account For Which Logon Failed")
        .map_or(m, |(_, r)| r);
    let user = field_value(account_part, "Account Name:")
        .or_else(|| field_value(m, "User Name:"))
        .unwrap_or_default();
    let domain = field_value(account_part, "Account Domain:")
        .or_else(|| field_value(m, "Domain:"))
        .unwrap_or_default();
    let addr = field_value(m, "Source Network Address:").and_then(|v| ip(&v));
    let account = match (domain.as_str(), user.as_str()) {
        (_, "") => "an unknown account".to_string(),
        ("" | "-", u) => u.to_string(),
        (d, u) => format!("{d}\\{u}"),
    };
    let title = format!("Windows logon failure for {account}{}", from_text(addr));
    let user = if user == "-" { String::new() } else { user };
    Some((
        WINDOWS_LOGON_FAILURE,
        title,
        attempt(addr, &user, "", Credit::None),
    ))
}

/// `4625` as the event id of a forwarded record: a word of its own among tab- or
/// space-separated fields, or `EventID=4625` / `EventID: 4625`, together with a failure word.
fn has_event_id(m: &str, id: &str) -> bool {
    if !m.contains(id) {
        return false;
    }
    let lower = m.to_ascii_lowercase();
    let mentions_failure = lower.contains("fail");
    mentions_failure
        && m.split(|c: char| c.is_whitespace() || c == '=' || c == ':' || c == ',' || c == '"')
            .any(|w| w == id)
}

/// The value after `label` up to the next run of two spaces, a tab or the next label.
fn field_value(text: &str, label: &str) -> Option<String> {
    let at = text.find(label)? + label.len();
    let rest = text[at..].trim_start_matches([' ', '\t']);
    let end = rest
        .find(['\t', '\r', '\n'])
        .into_iter()
        .chain(rest.find("  "))
        .min()
        .unwrap_or(rest.len());
    let value = rest[..end].trim();
    // A label right after an empty value ("Account Name:  Account Domain: …").
    let value = value.split(" Account ").next().unwrap_or(value).trim();
    (!value.is_empty()).then(|| value.to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Splits an RFC 3164 line the way the syslog parser does (`MMM dd hh:mm:ss host tag[pid]:
    /// message`), enough for the rules, which read only the tag, the pid and the message.
    pub(crate) fn syslog(line: &str) -> Syslog {
        let rest = &line[16..];
        let (hostname, rest) = rest.split_once(' ').unwrap();
        let (tag, message) = rest.split_once(": ").unwrap();
        let (app, pid) = match tag.split_once('[') {
            Some((app, pid)) => (app, pid.trim_end_matches(']').parse().ok()),
            None => (tag, None),
        };
        Syslog {
            ts: 0,
            hostname: hostname.into(),
            app: app.into(),
            pid,
            message: message.into(),
            line: line.into(),
        }
    }

    fn hit(line: &str) -> Option<Hit> {
        classify(&syslog(line))
    }

    fn kind(line: &str) -> Option<&'static str> {
        hit(line).map(|h| h.rule.kind)
    }

    const AUTH_BEATS: &str = include_str!("../../../picket/tests/fixtures/network/auth-beats.log");

    #[test]
    fn the_real_auth_sample() {
        let got: Vec<(Option<&str>, Option<String>)> = AUTH_BEATS
            .lines()
            .map(|l| {
                let h = hit(l);
                (h.as_ref().map(|h| h.rule.kind), h.map(|h| h.title))
            })
            .collect();
        let want: Vec<(Option<&str>, Option<&str>)> = vec![
            (None, None), // Accepted publickey
            (None, None), // Accepted password
            (
                Some("sshd_invalid_user"),
                Some("SSH login for invalid user test from 10.0.2.2"),
            ),
            (
                Some("sshd_failed_password"),
                Some("SSH failed password for root from 216.160.83.57"),
            ),
            (None, None), // sudo ran a command
            (
                Some("sshd_no_identification"),
                Some("SSH connection from 2.125.160.217 sent no identification string"),
            ),
            (None, None),
            (
                Some("sudo_not_in_sudoers"),
                Some("sudo: tsg is not in sudoers (as root): /bin/ls"),
            ),
            (Some("group_created"), Some("New group apache (GID 48)")),
            (Some("user_created"), Some("New user apache (UID 48)")),
        ];
        let got: Vec<(Option<&str>, Option<&str>)> =
            got.iter().map(|(k, t)| (*k, t.as_deref())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn sample_attempts_name_source_and_user() {
        let lines: Vec<&str> = AUTH_BEATS.lines().collect();
        let failed = hit(lines[3]).unwrap().attempt.unwrap();
        assert_eq!(failed.ip, Some("216.160.83.57".parse().unwrap()));
        assert_eq!(failed.user, "root");
        assert_eq!(
            (failed.count, failed.credit, failed.pid),
            (1, Credit::None, Some(5774))
        );
        let invalid = hit(lines[2]).unwrap().attempt.unwrap();
        assert_eq!(invalid.ip, Some("10.0.2.2".parse().unwrap()));
        assert_eq!(
            (invalid.user.as_str(), invalid.credit),
            ("test", Credit::Gives)
        );
        for i in [5, 7, 8, 9] {
            assert!(hit(lines[i]).unwrap().attempt.is_none(), "line {i}");
        }
    }

    #[test]
    fn sshd_variants() {
        let h = hit("Mar  3 10:00:01 web1 sshd[901]: Failed password for invalid user admin from 198.51.100.23 port 50022 ssh2").unwrap();
        assert_eq!(h.rule, SSHD_FAILED_PASSWORD);
        assert_eq!(h.title, "SSH failed password for admin from 198.51.100.23");
        assert_eq!(h.attempt.as_ref().unwrap().credit, Credit::Takes);
        let h = hit("Mar  3 10:00:01 web1 sshd-session[901]: Failed keyboard-interactive/pam for root from 2001:db8::7 port 50022 ssh2").unwrap();
        assert_eq!(h.attempt.unwrap().ip, Some("2001:db8::7".parse().unwrap()));
        assert_eq!(kind("Mar  3 10:00:01 web1 sshd[901]: Failed publickey for git from 198.51.100.23 port 50022 ssh2: RSA SHA256:x"), None);
        assert_eq!(kind("Mar  3 10:00:01 web1 sshd[901]: Failed none for invalid user a from 198.51.100.23 port 50022 ssh2"), None);
        assert_eq!(
            hit(
                "Mar  3 10:00:01 web1 sshd[901]: Invalid user oracle from 198.51.100.23 port 41000"
            )
            .unwrap()
            .title,
            "SSH login for invalid user oracle from 198.51.100.23"
        );
        for (line, title) in [
            ("Mar  3 10:00:01 web1 sshd[901]: error: maximum authentication attempts exceeded for root from 198.51.100.23 port 50022 ssh2 [preauth]",
             "SSH too many authentication failures for root from 198.51.100.23"),
            ("Mar  3 10:00:01 web1 sshd[901]: Disconnecting authenticating user root 198.51.100.23 port 50022: Too many authentication failures [preauth]",
             "SSH too many authentication failures for root from 198.51.100.23"),
            ("Mar  3 10:00:01 web1 sshd[901]: Received disconnect from 198.51.100.23 port 50022:2: Too many authentication failures [preauth]",
             "SSH too many authentication failures from 198.51.100.23"),
            ("Mar  3 10:00:01 web1 sshd[901]: Disconnecting: Too many authentication failures [preauth]",
             "SSH too many authentication failures"),
        ] {
            let h = hit(line).unwrap();
            assert_eq!((h.rule, h.title.as_str()), (SSHD_TOO_MANY_FAILURES, title), "{line}");
            assert!(h.attempt.is_none());
        }
        let h = hit("Mar  3 10:00:01 web1 sshd[901]: Did not receive identification string from 198.51.100.23 port 4444").unwrap();
        assert_eq!(
            h.title,
            "SSH connection from 198.51.100.23 sent no identification string"
        );
    }

    #[test]
    fn repeated_messages_count_every_repeat() {
        let h = hit("Mar  3 10:00:01 web1 sshd[901]: message repeated 4 times: [ Failed password for root from 198.51.100.23 port 50022 ssh2]").unwrap();
        assert_eq!(h.rule, SSHD_FAILED_PASSWORD);
        assert_eq!(h.attempt.unwrap().count, 4);
    }

    #[test]
    fn pam_su_and_sudo() {
        let h = hit("Mar  3 10:00:01 web1 sshd[901]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.23  user=root").unwrap();
        assert_eq!(h.rule, PAM_AUTH_FAILURE);
        assert_eq!(
            h.title,
            "PAM authentication failure for root (sshd, pam_unix) from 198.51.100.23"
        );
        assert!(h.attempt.is_none(), "sshd's own line counts the try");
        let h = hit("Mar  3 10:00:01 web1 su[77]: pam_unix(su-l:auth): authentication failure; logname=alice uid=1000 euid=0 tty=pts/0 ruser=alice rhost=  user=root").unwrap();
        assert_eq!(
            h.title,
            "PAM authentication failure for root (su-l, pam_unix)"
        );
        let a = h.attempt.unwrap();
        assert_eq!(
            (a.ip, a.user.as_str(), a.by.as_str()),
            (None, "root", "alice")
        );
        let h = hit("Mar  3 10:00:01 mail dovecot[5]: pam_sss(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=bob rhost=203.0.113.9 user=bob").unwrap();
        assert_eq!(h.attempt.unwrap().ip, Some("203.0.113.9".parse().unwrap()));
        assert_eq!(kind("Mar  3 10:00:01 web1 sudo[8]: pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)"), None);

        let h = hit("Mar  3 10:00:01 web1 sudo[8]:    alice : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id").unwrap();
        assert_eq!(h.rule, SUDO_AUTH_FAILURE);
        assert_eq!(
            h.title,
            "sudo: 3 incorrect password attempts by alice (as root): /usr/bin/id"
        );
        assert!(h.attempt.is_none(), "the PAM lines count the tries");
        let h = hit("Mar  3 10:00:01 web1 sudo: alice : 1 incorrect password attempt ; TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/sh").unwrap();
        assert_eq!(
            h.title,
            "sudo: 1 incorrect password attempt by alice (as root): /bin/sh"
        );

        let h = hit("Mar  3 10:00:01 web1 su[77]: FAILED SU (to root) alice on pts/0").unwrap();
        assert_eq!(
            (h.rule, h.title.as_str()),
            (SU_FAILURE, "su to root failed for alice")
        );
        let h = hit("Mar  3 10:00:01 web1 su[77]: FAILED su for postgres by alice").unwrap();
        assert_eq!(h.title, "su to postgres failed for alice");
        let h = hit("Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8")
            .unwrap();
        assert_eq!(
            (h.rule, h.title.as_str()),
            (SU_FAILURE, "su to root failed for lonvick")
        );
        let h = hit("Oct 11 22:14:15 bsd1 su: BAD SU lonvick to root on /dev/ttyp0").unwrap();
        assert_eq!(h.title, "su to root failed for lonvick");
    }

    #[test]
    fn windows_logon_failures() {
        // Snare: tab-separated fields, then the event's text with its labels.
        let snare = "Mar  3 10:00:01 DC01 MSWinEventLog: 1\tSecurity\t5120\tTue Mar 03 10:00:01 2026\t4625\tMicrosoft-Windows-Security-Auditing\tN/A\tN/A\tFailure Audit\tDC01\tLogon\t\tAn account failed to log on.    Subject:   Security ID:  S-1-0-0   Account Name:  -   Account Domain:  -   Logon ID:  0x0    Logon Type:   3    Account For Which Logon Failed:   Security ID:  S-1-0-0   Account Name:  administrator   Account Domain:  CORP    Failure Information:   Failure Reason:  Unknown user name or bad password.   Status:   0xC000006D    Network Information:   Workstation Name: KALI   Source Network Address: 203.0.113.50   Source Port:  0";
        let h = hit(snare).unwrap();
        assert_eq!(h.rule, WINDOWS_LOGON_FAILURE);
        assert_eq!(
            h.title,
            "Windows logon failure for CORP\\administrator from 203.0.113.50"
        );
        let a = h.attempt.unwrap();
        assert_eq!(
            (a.ip, a.user.as_str()),
            (Some("203.0.113.50".parse().unwrap()), "administrator")
        );
        // NXLog's BSD output: the event text only.
        let nxlog = "Mar  3 10:00:01 FS02 Microsoft-Windows-Security-Auditing[4]: An account failed to log on.\tSubject:\tAccount Name:\tFS02$\tAccount For Which Logon Failed:\tSecurity ID:\tS-1-0-0\tAccount Name:\tjdoe\tAccount Domain:\tFS02\tNetwork Information:\tSource Network Address:\t-\tSource Port:\t-";
        let h = hit(nxlog).unwrap();
        assert_eq!(h.title, "Windows logon failure for FS02\\jdoe");
        assert_eq!(h.attempt.unwrap().ip, None);
        assert_eq!(
            kind("Mar  3 10:00:01 FS02 winlogbeat: EventID=4624 An account was successfully logged on."),
            None
        );
        assert_eq!(
            kind("Mar  3 10:00:01 FS02 evtsys: EventID=4625 Logon failed Account Name: bob"),
            Some("windows_logon_failure")
        );
    }

    #[test]
    fn ordinary_lines_are_not_alerts() {
        for line in [
            "Mar  3 10:00:01 web1 sshd[901]: Accepted password for alice from 192.0.2.1 port 5000 ssh2",
            "Mar  3 10:00:01 web1 sshd[901]: Connection closed by 198.51.100.23 port 50022 [preauth]",
            "Mar  3 10:00:01 web1 CRON[12]: pam_unix(cron:session): session opened for user root",
            "Mar  3 10:00:01 web1 sudo: alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls",
            "Mar  3 10:00:01 web1 kernel: [ 1.0] Linux version 6.1",
        ] {
            assert_eq!(kind(line), None, "{line}");
        }
    }
}
