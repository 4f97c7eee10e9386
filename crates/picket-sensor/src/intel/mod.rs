//! Threat intelligence (§10.4): Tor relay addresses and MISP indicators, imported from files
//! (`picket import intel`) or polled from URLs (`[[intel]]`), and looked up by the detections
//! once per ingest batch.
//!
//! The lists are global, like the event corpus: an operator chooses them for the server, and
//! every tenant's traffic is checked against them (a tenant cannot see or change them; About
//! shows when each was last refreshed). Each list is the union of its *sources*: an import
//! names its source (`--name`, default the format's name; a polled list, its `name`), and a
//! new import of a source replaces that source's entries in one transaction, so a shrinking
//! feed drops what it dropped. A body with no usable entry but some refused ones changes
//! nothing (an error page is not an empty list).
//!
//! 1. [`tor`] and [`misp`]: the four formats into [`Entries`], one refusal per bad record.
//! 2. [`store`]: the tables, replacing a source, the lookup of keys, About's figures.
//! 3. [`cache`]: every listed key in memory, so a batch meeting no list costs no lookup.
//! 4. [`import`]: a file or a fetched body into a source (the CLI and the poller).
//! 5. [`poll`]: the `[[intel]]` lists, fetched when due.

pub mod cache;
pub mod import;
pub mod misp;
pub mod poll;
pub mod store;
pub mod tor;

use std::net::IpAddr;

use picket_core::config::IntelConfig;
use picket_core::db::schema::Table;
use picket_core::jobs::JobRegistry;

pub use cache::KeyCache;
pub use import::{import_bytes, import_path, Report};
pub use store::{lookup, Listed, MispHit, TorRelay};

pub const TABLES: &[Table] = &[
    store::TorRelays::DECLARED,
    store::MispIps::DECLARED,
    store::MispDomains::DECLARED,
    store::IntelLists::DECLARED,
    poll::IntelState::DECLARED,
];

pub fn register_jobs(r: &mut JobRegistry) {
    poll::register(r);
}

/// The process's copy of the listed keys, and About's hook: its `tor_relays` and `misp_*`
/// figures come from these tables (About lives in `picket-netmon`, which cannot depend on
/// this crate).
pub fn extensions(ext: &mut axum::http::Extensions) {
    ext.insert(KeyCache::default());
    ext.insert(picket_netmon::about::IntelLists {
        tables: store::LIST_TABLES,
        updated: |db| Box::pin(store::updated(db)),
    });
}

/// An intel file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Tor's `exit-addresses` (`ExitNode`/`ExitAddress` lines), or one address per line
    /// (`torbulkexitlist`).
    TorExits,
    /// An Onionoo `details` document (`relays[].or_addresses`, `exit_addresses`).
    Onionoo,
    /// MISP JSON: a feed's `manifest.json` with its event files, one event, or a REST search
    /// answer.
    MispJson,
    /// MISP CSV with a header (`uuid,event_id,category,type,value,comment,to_ids,date`).
    MispCsv,
}

impl Format {
    pub const ALL: [Format; 4] = [
        Format::TorExits,
        Format::Onionoo,
        Format::MispJson,
        Format::MispCsv,
    ];

    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::TorExits => "tor-exits",
            Format::Onionoo => "onionoo",
            Format::MispJson => "misp-json",
            Format::MispCsv => "misp-csv",
        }
    }

    /// The names, for messages.
    pub fn names() -> String {
        Format::ALL.map(Format::as_str).join(", ")
    }

    /// The lists a source of this format makes up.
    pub fn lists(self) -> &'static [List] {
        match self {
            Format::TorExits | Format::Onionoo => &[List::Tor],
            Format::MispJson | Format::MispCsv => &[List::MispIp, List::MispDns],
        }
    }
}

/// The three lists About reports on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    Tor,
    MispIp,
    MispDns,
}

impl List {
    pub const ALL: [List; 3] = [List::Tor, List::MispIp, List::MispDns];

    pub fn as_str(self) -> &'static str {
        match self {
            List::Tor => "tor_relays",
            List::MispIp => "misp_ip_records",
            List::MispDns => "misp_dns_records",
        }
    }
}

/// A Tor relay address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TorEntry {
    pub ip: IpAddr,
    pub fingerprint: String,
    pub nickname: String,
    /// An exit relay (listed in `exit-addresses`, or with the `Exit` flag).
    pub exit: bool,
}

/// A MISP indicator: an IP address, or a domain or host name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MispEntry {
    /// The canonical address, or the lower-case name without a trailing dot.
    pub value: String,
    /// The MISP attribute type (`ip-dst`, `domain`, `hostname`, …).
    pub kind: String,
    /// The event's id, or its UUID when the source gives no id.
    pub event: String,
    pub info: String,
    pub category: String,
    pub comment: String,
    /// A `domain` indicator also matches its subdomains; a `hostname` only itself.
    pub subdomains: bool,
}

/// A record a format refused, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Where in the input: `line 7`, `relay 3 (moria1)`, `event … attribute 2`.
    pub at: String,
    pub reason: String,
}

/// What a format made of one input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entries {
    pub tor: Vec<TorEntry>,
    pub misp_ips: Vec<MispEntry>,
    pub misp_domains: Vec<MispEntry>,
    /// Well-formed records of no use here (other MISP types, `to_ids` off, bridges).
    pub skipped: usize,
    pub refused: Vec<Refusal>,
}

impl Entries {
    pub fn len(&self) -> usize {
        self.tor.len() + self.misp_ips.len() + self.misp_domains.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn refuse(&mut self, at: impl Into<String>, reason: impl Into<String>) {
        self.refused.push(Refusal {
            at: at.into(),
            reason: reason.into(),
        });
    }
}

/// Parses a whole input of a single-document format (everything but a MISP feed's
/// manifest, whose event files [`import`] and [`poll`] fetch themselves).
pub fn parse(format: Format, body: &[u8]) -> Result<Entries, String> {
    match format {
        Format::TorExits => tor::exit_addresses(body),
        Format::Onionoo => tor::onionoo(body),
        Format::MispCsv => misp::csv(body),
        Format::MispJson => match misp::json(body)? {
            misp::Json::Entries(e) => Ok(e),
            misp::Json::Manifest(_) => Err(
                "this is a MISP feed's manifest.json: import the feed's directory (or the manifest's path), or poll the feed's URL"
                    .into(),
            ),
        },
    }
}

/// Checks what the core config cannot: unique plain names, http(s) URLs, sane intervals and
/// timeouts, and known formats. The server refuses to start otherwise.
pub fn check_config(lists: &[IntelConfig]) -> Result<(), String> {
    use picket_core::config::FeedConfig;
    let mut names = std::collections::HashSet::new();
    for (i, l) in lists.iter().enumerate() {
        let bad =
            |what: String| format!("invalid configuration: intel[{i}] (`{}`): {what}", l.name);
        if l.name.is_empty()
            || !l
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(bad(
                "`name` must be non-empty letters, digits, `-`, `_` or `.`".into(),
            ));
        }
        if !names.insert(l.name.as_str()) {
            return Err(bad("`name` is used by another list".into()));
        }
        let scheme_ok = l.url.starts_with("http://") || l.url.starts_with("https://");
        if !scheme_ok || l.url.len() <= "https://".len() {
            return Err(bad(format!(
                "`url` must be an http:// or https:// URL, got `{}`",
                l.url
            )));
        }
        if Format::parse(&l.format).is_none() {
            return Err(bad(format!(
                "unknown format `{}`; expected one of {}",
                l.format,
                Format::names()
            )));
        }
        if l.interval.0 < FeedConfig::MIN_INTERVAL {
            return Err(bad(format!(
                "`interval` must be at least {} s",
                FeedConfig::MIN_INTERVAL.as_secs()
            )));
        }
        let t = l.timeout.map_or(FeedConfig::DEFAULT_TIMEOUT, |t| t.0);
        if t.is_zero() || t > FeedConfig::MAX_TIMEOUT {
            return Err(bad(format!(
                "`timeout` must be between 1 s and {} s",
                FeedConfig::MAX_TIMEOUT.as_secs()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use picket_core::config::Span;
    use std::time::Duration;

    fn list(name: &str, url: &str, format: &str, secs: u64) -> IntelConfig {
        IntelConfig {
            name: name.into(),
            url: url.into(),
            format: format.into(),
            interval: Span(Duration::from_secs(secs)),
            timeout: None,
        }
    }

    #[test]
    fn config_is_checked_with_the_offending_entry_named() {
        let ok = list(
            "tor",
            "https://check.torproject.org/exit-addresses",
            "tor-exits",
            3600,
        );
        assert!(check_config(std::slice::from_ref(&ok)).is_ok());
        for (bad, needle) in [
            (
                list("tor", "https://x.example/a", "tor-exits", 60),
                "used by another",
            ),
            (
                list("m", "ftp://x.example/a", "misp-csv", 60),
                "http:// or https://",
            ),
            (
                list("m", "https://x.example/a", "stix", 60),
                "unknown format `stix`",
            ),
            (
                list("m", "https://x.example/a", "onionoo", 5),
                "at least 10 s",
            ),
            (list("a b", "https://x.example/a", "onionoo", 60), "`name`"),
        ] {
            let e = check_config(&[ok.clone(), bad]).unwrap_err();
            assert!(e.contains("intel[1]") && e.contains(needle), "{e}");
        }
    }

    #[test]
    fn formats_round_trip_by_name() {
        for f in Format::ALL {
            assert_eq!(Format::parse(f.as_str()), Some(f));
        }
        assert_eq!(Format::parse("misp"), None);
    }
}
