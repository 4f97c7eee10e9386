//! Tor relay lists: Tor's `exit-addresses` document (and the one-address-per-line
//! `torbulkexitlist`), and Onionoo `details` documents.

use std::net::IpAddr;

use serde::Deserialize;

use super::{Entries, TorEntry};

/// An address as Tor writes it (`203.0.113.5`, `[2001:db8::5]`), canonical.
fn address(text: &str) -> Option<IpAddr> {
    text.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok()
        .map(|ip| ip.to_canonical())
}

/// `exit-addresses`:
///
/// ```text
/// ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E
/// Published 2026-05-01 12:03:21
/// LastStatus 2026-05-01 13:00:00
/// ExitAddress 162.247.74.201 2026-05-01 13:07:02
/// ```
///
/// A line that is only an address (`torbulkexitlist`) is an exit relay without a fingerprint;
/// blank lines and `#` comments are skipped.
pub fn exit_addresses(body: &[u8]) -> Result<Entries, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("not UTF-8 text: {e}"))?;
    let mut out = Entries::default();
    let mut fingerprint = String::new();
    for (i, raw) in text.lines().enumerate() {
        let at = format!("line {}", i + 1);
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        let key = words.next().unwrap_or_default();
        match key {
            "ExitNode" => match words.next() {
                Some(fp) if fp.len() == 40 && fp.chars().all(|c| c.is_ascii_hexdigit()) => {
                    fingerprint = fp.to_ascii_uppercase();
                }
                _ => {
                    fingerprint.clear();
                    out.refuse(at, "`ExitNode` without a 40-digit hex fingerprint");
                }
            },
            "ExitAddress" => match words.next().and_then(address) {
                Some(ip) => out.tor.push(TorEntry {
                    ip,
                    fingerprint: fingerprint.clone(),
                    nickname: String::new(),
                    exit: true,
                }),
                None => out.refuse(
                    at,
                    format!("`{line}`: `ExitAddress` is not followed by an IP address"),
                ),
            },
            "Published" | "LastStatus" => {}
            _ => match address(line) {
                Some(ip) => out.tor.push(TorEntry {
                    ip,
                    fingerprint: String::new(),
                    nickname: String::new(),
                    exit: true,
                }),
                None => out.refuse(
                    at,
                    format!(
                        "`{}` is neither an exit-addresses line nor an IP address",
                        clip(line)
                    ),
                ),
            },
        }
    }
    if out.tor.is_empty() && !out.refused.is_empty() && looks_like_html(text) {
        return Err("the body is an HTML page, not an exit-addresses list".into());
    }
    Ok(out)
}

fn clip(s: &str) -> String {
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(80).collect::<String>())
    } else {
        s.to_string()
    }
}

fn looks_like_html(text: &str) -> bool {
    let head = text
        .trim_start()
        .get(..64)
        .unwrap_or(text)
        .to_ascii_lowercase();
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

#[derive(Deserialize)]
struct Details {
    relays: Option<Vec<Relay>>,
    #[serde(default)]
    bridges: Vec<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct Relay {
    #[serde(default)]
    nickname: String,
    #[serde(default)]
    fingerprint: String,
    #[serde(default)]
    or_addresses: Vec<String>,
    #[serde(default)]
    exit_addresses: Vec<String>,
    #[serde(default)]
    flags: Vec<String>,
}

/// Onionoo `details` (`https://onionoo.torproject.org/details`): every relay's OR addresses
/// (`ip:port`, `[ipv6]:port`) and exit addresses. A relay is an exit relay when it has the
/// `Exit` flag or exit addresses. Bridges carry no addresses and are skipped.
pub fn onionoo(body: &[u8]) -> Result<Entries, String> {
    let doc: Details = serde_json::from_slice(body)
        .map_err(|e| format!("not an Onionoo details document: {e}"))?;
    let relays = doc
        .relays
        .ok_or("not an Onionoo details document: no `relays` array")?;
    let mut out = Entries {
        skipped: doc.bridges.len(),
        ..Entries::default()
    };
    for (i, r) in relays.into_iter().enumerate() {
        let at = if r.nickname.is_empty() {
            format!("relay {}", i + 1)
        } else {
            format!("relay {} ({})", i + 1, r.nickname)
        };
        let exit = r.flags.iter().any(|f| f == "Exit") || !r.exit_addresses.is_empty();
        let mut ips: Vec<IpAddr> = Vec::new();
        let mut bad = Vec::new();
        for a in &r.or_addresses {
            // `ip:port` or `[ipv6]:port`
            let host = match a.rsplit_once(':') {
                Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
                _ => a.as_str(),
            };
            match address(host) {
                Some(ip) => ips.push(ip),
                None => bad.push(a.clone()),
            }
        }
        for a in &r.exit_addresses {
            match address(a) {
                Some(ip) => ips.push(ip),
                None => bad.push(a.clone()),
            }
        }
        if !bad.is_empty() {
            out.refuse(&at, format!("not an address: {}", bad.join(", ")));
        }
        if ips.is_empty() && bad.is_empty() {
            out.refuse(&at, "no `or_addresses` or `exit_addresses`");
        }
        ips.sort_unstable();
        ips.dedup();
        for ip in ips {
            out.tor.push(TorEntry {
                ip,
                fingerprint: r.fingerprint.to_ascii_uppercase(),
                nickname: r.nickname.clone(),
                exit,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_addresses_with_fingerprints_and_bare_lines() {
        let body = b"ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E\n\
Published 2026-05-01 12:03:21\n\
LastStatus 2026-05-01 13:00:00\n\
ExitAddress 198.51.100.7 2026-05-01 13:07:02\n\
ExitAddress 2001:db8::7 2026-05-01 13:07:02\n\
# a comment\n\
\n\
203.0.113.99\n\
ExitNode nothex\n\
ExitAddress 999.1.1.1 2026-05-01\n\
Hello world\n";
        let e = exit_addresses(body).unwrap();
        let ips: Vec<String> = e.tor.iter().map(|t| t.ip.to_string()).collect();
        assert_eq!(ips, ["198.51.100.7", "2001:db8::7", "203.0.113.99"]);
        assert_eq!(
            e.tor[0].fingerprint,
            "0011BD2485AD45D984EC4159C88FC066E5E3300E"
        );
        assert!(e.tor.iter().all(|t| t.exit));
        assert_eq!(e.tor[2].fingerprint, "");
        let at: Vec<&str> = e.refused.iter().map(|r| r.at.as_str()).collect();
        assert_eq!(at, ["line 9", "line 10", "line 11"]);
        assert!(e.refused[1]
            .reason
            .contains("not followed by an IP address"));
    }

    #[test]
    fn an_html_page_is_an_error_not_a_list() {
        let e = exit_addresses(b"<!DOCTYPE html>\n<html><body>Service unavailable</body></html>\n");
        assert!(e.unwrap_err().contains("HTML"));
    }

    #[test]
    fn onionoo_relays_and_their_addresses() {
        let body = br#"{"version":"8.0","relays_published":"2026-05-01 12:00:00",
          "relays":[
            {"nickname":"moria1","fingerprint":"9695dfc35ffeb861329b9f1ab04c46397020ce31",
             "or_addresses":["198.51.100.10:9101","[2001:db8::10]:9101"],"flags":["Fast","Running"]},
            {"nickname":"exitnode","fingerprint":"A0B1","or_addresses":["198.51.100.11:443"],
             "exit_addresses":["198.51.100.12"],"flags":["Exit","Running"]},
            {"nickname":"broken","or_addresses":["nowhere:9001"]}
          ],
          "bridges":[{"nickname":"b","hashed_fingerprint":"00"}]}"#;
        let e = onionoo(body).unwrap();
        let got: Vec<(String, &str, bool)> = e
            .tor
            .iter()
            .map(|t| (t.ip.to_string(), t.nickname.as_str(), t.exit))
            .collect();
        assert_eq!(
            got,
            [
                ("198.51.100.10".to_string(), "moria1", false),
                ("2001:db8::10".to_string(), "moria1", false),
                ("198.51.100.11".to_string(), "exitnode", true),
                ("198.51.100.12".to_string(), "exitnode", true),
            ]
        );
        assert_eq!(
            e.tor[0].fingerprint,
            "9695DFC35FFEB861329B9F1AB04C46397020CE31"
        );
        assert_eq!(e.skipped, 1, "the bridge");
        assert_eq!(e.refused.len(), 1);
        assert_eq!(e.refused[0].at, "relay 3 (broken)");
        assert!(onionoo(b"{\"version\":\"8.0\"}")
            .unwrap_err()
            .contains("relays"));
        assert!(onionoo(b"[1,2]").is_err());
    }
}
