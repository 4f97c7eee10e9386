//! Configuration: built-in defaults, then `picket.toml`, then `PICKET_*` environment variables,
//! then command-line flags — each layer overrides the one before it.
//!
//! Secrets (database passwords inside URLs) are never printed: [`Config::redacted_database_url`]
//! is what logs show.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

/// The server's whole configuration, one value passed into the app state (never a global).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// Directory for the SQLite database, the admin key file and other local state.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; empty means `sqlite://<data_dir>/picket.db`.
    pub database_url: String,
    /// Maximum pooled database connections.
    pub database_max_connections: u32,
    /// A read replica of `database_url` for list and search endpoints; empty means none.
    pub database_read_url: String,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: usize,
    /// Per-request time limit, in seconds.
    pub request_timeout_secs: u64,
    /// IANA timezone used by the network surface for every time in and out.
    pub timezone: String,
    /// Log format: `text` or `json`.
    pub log_format: LogFormat,
    /// Background job workers started inside `serve` (0 disables them there).
    pub workers: usize,
    /// Per-key rate limit on the API surfaces.
    pub rate_limit: RateLimit,
    /// Event feeds polled by the workers (`[[feeds]]` tables; only from the config file).
    pub feeds: Vec<FeedConfig>,
    /// Notification delivery: the SMTP relay, the SMS gateway, private targets.
    #[serde(default)]
    pub delivery: DeliveryConfig,
    /// `[detect]`: detection settings of sensor ingest (port scans, brute force).
    #[serde(default)]
    pub detect: DetectConfig,
    /// `[retention]`: days each network dataset is kept.
    #[serde(default)]
    pub retention: RetentionConfig,
    /// Threat-intelligence lists polled by the workers (`[[intel]]`; only from the config file).
    #[serde(default)]
    pub intel: Vec<IntelConfig>,
    /// `[syslog]`: the server's own syslog listener and which agent each sender is.
    #[serde(default)]
    pub syslog: SyslogConfig,
}

/// Top-level keys that `PICKET_<KEY>` environment variables may set.
const ENV_KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "database_url",
    "database_max_connections",
    "database_read_url",
    "body_limit_bytes",
    "request_timeout_secs",
    "timezone",
    "log_format",
    "workers",
    "rate_limit",
    "delivery",
    "detect",
    "retention",
    "syslog",
];

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[serde(alias = "TEXT")]
    Text,
    #[serde(alias = "JSON")]
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Sustained requests per second per API key; 0 turns the limit off.
    pub per_second: u32,
    /// Requests a key may make in a burst above the sustained rate.
    pub burst: u32,
}

/// `[delivery]`: how notifications leave the server.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// `[delivery.smtp]`: the relay e-mail goes through; no `host`, no e-mail.
    pub smtp: SmtpConfig,
    /// `[delivery.sms]`: the SMS gateway; no `provider`, no SMS.
    pub sms: SmsConfig,
    /// Let webhook, Slack and SMS targets reach loopback, private, link-local, unique-local,
    /// CGNAT and metadata addresses (off by default: a tenant must not make the server call
    /// internal services).
    pub allow_private_targets: bool,
}

/// `[detect]`: settings of the detections sensor ingest runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// `[detect.portscan]`.
    pub portscan: PortscanConfig,
    /// `[detect.bruteforce]`.
    pub bruteforce: BruteforceConfig,
}

/// One source reaching at least `ports` distinct destination ports, or at least `hosts`
/// distinct destination hosts, within `window_secs` is a port scan.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PortscanConfig {
    pub ports: u32,
    pub hosts: u32,
    pub window_secs: u64,
}

impl Default for PortscanConfig {
    fn default() -> Self {
        PortscanConfig {
            ports: 20,
            hosts: 20,
            window_secs: 60,
        }
    }
}

/// At least `failures` authentication failures from one source within `window_secs` is a
/// brute-force attempt (one alert per burst).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BruteforceConfig {
    pub failures: u32,
    pub window_secs: u64,
}

impl Default for BruteforceConfig {
    fn default() -> Self {
        BruteforceConfig {
            failures: 5,
            window_secs: 300,
        }
    }
}

/// `[retention]`: how many days each network dataset is kept; `0` keeps it forever.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// DNS, TCP, DHCP and HTTP metadata (and their aggregates).
    pub metadata_days: u32,
    /// Network and server alerts.
    pub alerts_days: u32,
    /// Captures attached to network alerts.
    pub captures_days: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            metadata_days: 30,
            alerts_days: 365,
            captures_days: 30,
        }
    }
}

/// One polled threat-intelligence list (`[[intel]]`), like a `[[feeds]]` entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct IntelConfig {
    /// Unique name; keys the list's polling state.
    pub name: String,
    /// `http://` or `https://` URL.
    pub url: String,
    /// `tor-exits`, `onionoo`, `misp-json` or `misp-csv`.
    pub format: String,
    /// Time between polls.
    pub interval: Span,
    /// Limit for one fetch; default 30 s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Span>,
}

/// `[syslog]`: the listener `serve --syslog-listen` starts, and the agent each sender's
/// address stands for.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyslogConfig {
    /// `udp://ADDR:PORT,tcp://ADDR:PORT`; empty: no listener.
    pub listen: String,
    /// Sender address (an IP or a CIDR) → agent name of the sender's tenant's registered agent.
    /// Lines from a sender that no entry matches are dropped and counted.
    pub agents: Vec<SyslogAgent>,
    /// A sender's lines are stored in a batch when it holds this many lines…
    pub batch_lines: usize,
    /// …or when its first line is this old (whole seconds).
    pub batch_age: Span,
    /// Bytes of messages held at once (queued, gathered or being stored): past it, UDP
    /// messages are dropped and counted, and TCP senders wait.
    pub buffer_bytes: usize,
    /// TCP connections open at once; more are closed at once and counted.
    pub max_connections: usize,
}

impl Default for SyslogConfig {
    fn default() -> Self {
        SyslogConfig {
            listen: String::new(),
            agents: Vec::new(),
            batch_lines: 5_000,
            batch_age: Span(Duration::from_secs(1)),
            buffer_bytes: 32 * 1024 * 1024,
            max_connections: 1024,
        }
    }
}

/// One `[[syslog.agents]]` entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SyslogAgent {
    /// An IP address or CIDR block.
    pub source: String,
    /// The registered agent's id (`picket admin agent list`).
    pub agent_id: i64,
}

/// A password or token: kept out of `Debug` output and so out of logs.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(#[serde(deserialize_with = "lenient_string")] pub String);

/// A string that the environment layer may have read as a number or a boolean (a numeric
/// password): taken as the number's text. A value whose leading `+` or zeros matter is quoted
/// in the environment (`PICKET_DELIVERY__SMS__FROM='"+15005550006"'`).
fn lenient_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Int(i64),
        Float(f64),
        Bool(bool),
    }
    Ok(match Raw::deserialize(d)? {
        Raw::Text(s) => s,
        Raw::Int(n) => n.to_string(),
        Raw::Float(f) => f.to_string(),
        Raw::Bool(b) => b.to_string(),
    })
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP (a relay on the same host or network).
    None,
    /// Plain connection upgraded with `STARTTLS` (required), usually port 587.
    #[default]
    Starttls,
    /// TLS from the first byte ("SMTPS"), usually port 465.
    Tls,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// Relay host name; empty turns e-mail delivery off.
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// Authenticate when set (PLAIN or LOGIN, as the relay offers).
    #[serde(deserialize_with = "lenient_string")]
    pub username: String,
    pub password: Secret,
    /// Sender address, e.g. `Picket <alerts@example.org>`.
    #[serde(deserialize_with = "lenient_string")]
    pub from: String,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: String::new(),
            port: 587,
            tls: SmtpTls::Starttls,
            username: String::new(),
            password: Secret::default(),
            from: String::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmsProvider {
    /// A Twilio-compatible API: form POST to `<url>/2010-04-01/Accounts/<sid>/Messages.json`.
    Twilio,
    /// A JSON (or other) POST of `body_template` to `url`.
    Http,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SmsConfig {
    /// `twilio` or `http`; unset turns SMS delivery off.
    pub provider: Option<SmsProvider>,
    /// Twilio: the API base (default `https://api.twilio.com`); http: the URL posted to.
    pub url: String,
    /// Twilio account SID (basic-auth user).
    #[serde(deserialize_with = "lenient_string")]
    pub account_sid: String,
    /// Twilio auth token (basic-auth password); for `http`, sent as a bearer token when set.
    pub auth_token: Secret,
    /// Sender number or name.
    #[serde(deserialize_with = "lenient_string")]
    pub from: String,
    /// `http`: the body, with `{to}`, `{from}` and `{message}` replaced by the JSON-escaped
    /// values; default `{"to":"{to}","from":"{from}","message":"{message}"}`.
    pub body_template: String,
    /// `http`: the body's content type (default `application/json`).
    pub content_type: String,
}

/// One polled event feed: a URL fetched every `interval` and imported with `format`'s importer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    /// Unique name; keys the feed's polling state.
    pub name: String,
    /// `http://` or `https://` URL of the file.
    pub url: String,
    /// Importer name, as for `picket import events --format` (`usgs`, `gdelt`, …).
    pub format: String,
    /// Time between polls: seconds, or a number with `s`, `m`, `h` or `d` (`"15m"`).
    pub interval: Span,
    /// Limit for one fetch, connection to last byte; default 30 s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Span>,
}

impl FeedConfig {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
    /// Shortest accepted interval: polling faster than this only loads the publisher.
    pub const MIN_INTERVAL: Duration = Duration::from_secs(10);
    pub const MAX_TIMEOUT: Duration = Duration::from_secs(600);

    pub fn timeout(&self) -> Duration {
        self.timeout.map_or(Self::DEFAULT_TIMEOUT, |t| t.0)
    }
}

/// A duration written as seconds (`90`) or with a unit (`"90s"`, `"15m"`, `"6h"`, `"1d"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span(pub Duration);

impl Span {
    pub fn parse(s: &str) -> Result<Span, String> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (digits, unit) = s.split_at(split);
        let n: u64 = digits.parse().map_err(|_| {
            format!("`{s}` is not a duration such as `90`, `30s`, `15m`, `6h` or `1d`")
        })?;
        let per = match unit.trim() {
            "" | "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            other => return Err(format!("unknown unit `{other}` in `{s}`; use s, m, h or d")),
        };
        Ok(Span(Duration::from_secs(n.saturating_mul(per))))
    }
}

impl Serialize for Span {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}s", self.0.as_secs()))
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Span, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Secs(n) => Ok(Span(Duration::from_secs(n))),
            Raw::Text(t) => Span::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./picket-data"),
            database_url: String::new(),
            database_max_connections: 16,
            database_read_url: String::new(),
            body_limit_bytes: 10 * 1024 * 1024,
            request_timeout_secs: 60,
            timezone: "UTC".into(),
            log_format: LogFormat::Text,
            workers: 2,
            rate_limit: RateLimit {
                per_second: 50,
                burst: 100,
            },
            feeds: Vec::new(),
            delivery: DeliveryConfig::default(),
            detect: DetectConfig::default(),
            retention: RetentionConfig::default(),
            intel: Vec::new(),
            syslog: SyslogConfig::default(),
        }
    }
}

/// Values given on the command line; `None` leaves the lower layers in charge.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Loads the layers. `file` is `--config PATH`; without it `./picket.toml` is read when present.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) if !path.exists() => return Err(ConfigError::MissingFile(path.into())),
            Some(path) => fig = fig.merge(Toml::file_exact(path)),
            None if Path::new("picket.toml").exists() => {
                fig = fig.merge(Toml::file_exact("picket.toml"))
            }
            None => {}
        }
        // `PICKET_RATE_LIMIT__PER_SECOND` reaches nested keys; single underscores stay in names.
        // Only keys of this struct are read, so unrelated `PICKET_*` variables (the test suite's
        // `PICKET_TEST_DATABASE_URL`, say) never make the configuration invalid.
        let env = Env::prefixed("PICKET_").split("__").filter(|key| {
            // figment hands the filter the name before lower-casing it.
            let top = key.as_str().split('.').next().unwrap_or_default();
            ENV_KEYS.iter().any(|k| top.eq_ignore_ascii_case(k))
        });
        fig = fig.merge(env).merge(Serialized::defaults(overrides));
        let config: Config = fig
            .extract()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.timezone.parse::<chrono_tz::Tz>().is_err() {
            return Err(ConfigError::Invalid(format!(
                "timezone `{}` is not an IANA timezone name",
                self.timezone
            )));
        }
        if self.body_limit_bytes == 0 {
            return Err(ConfigError::Invalid("body_limit_bytes must be > 0".into()));
        }
        if self.database_max_connections == 0 {
            return Err(ConfigError::Invalid(
                "database_max_connections must be > 0".into(),
            ));
        }
        let url = self.database_url();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid(
                "database_url must start with sqlite:, postgres:// or postgresql://".into(),
            ));
        }
        if !self.database_read_url.is_empty() {
            let pg = |u: &str| u.starts_with("postgres://") || u.starts_with("postgresql://");
            let same_kind = if pg(&url) {
                pg(&self.database_read_url)
            } else {
                self.database_read_url.starts_with("sqlite:")
            };
            if !same_kind {
                return Err(ConfigError::Invalid(
                    "database_read_url must be a database of the same kind as database_url \
                     (a PostgreSQL replica of a PostgreSQL primary)"
                        .into(),
                ));
            }
        }
        self.validate_feeds()?;
        self.validate_syslog()?;
        self.validate_delivery()
    }

    fn validate_syslog(&self) -> Result<(), ConfigError> {
        let s = &self.syslog;
        let bad = |what: &str| Err(ConfigError::Invalid(format!("syslog: {what}")));
        if s.batch_lines == 0 || s.batch_lines > 100_000 {
            return bad("`batch_lines` must be 1 to 100000");
        }
        if s.batch_age.0.is_zero() || s.batch_age.0 > Duration::from_secs(3600) {
            return bad("`batch_age` must be 1s to 1h");
        }
        // A message may be up to 64 KiB; the buffer holds at least a few of them.
        if s.buffer_bytes < 1024 * 1024 || s.buffer_bytes > u32::MAX as usize {
            return bad("`buffer_bytes` must be 1048576 (1 MiB) to 4294967295");
        }
        if s.max_connections == 0 {
            return bad("`max_connections` must be > 0");
        }
        Ok(())
    }

    fn validate_delivery(&self) -> Result<(), ConfigError> {
        let bad = |what: &str| ConfigError::Invalid(format!("delivery: {what}"));
        let smtp = &self.delivery.smtp;
        if !smtp.host.is_empty() && smtp.from.trim().is_empty() {
            return Err(bad("`smtp.from` is required when `smtp.host` is set"));
        }
        let sms = &self.delivery.sms;
        match sms.provider {
            Some(SmsProvider::Twilio)
                if sms.account_sid.is_empty() || sms.auth_token.0.is_empty() =>
            {
                Err(bad(
                    "`sms.account_sid` and `sms.auth_token` are required for `twilio`",
                ))
            }
            Some(SmsProvider::Http) if sms.url.is_empty() => {
                Err(bad("`sms.url` is required for the `http` provider"))
            }
            Some(_)
                if !(sms.url.is_empty()
                    || sms.url.starts_with("http://")
                    || sms.url.starts_with("https://")) =>
            {
                Err(bad("`sms.url` must be an http:// or https:// URL"))
            }
            _ => Ok(()),
        }
    }

    /// Names unique and plain, URLs http(s), intervals and timeouts in range. Whether `format`
    /// names an importer is checked by the events slice, which owns the importers.
    fn validate_feeds(&self) -> Result<(), ConfigError> {
        let mut names = std::collections::HashSet::new();
        for (i, f) in self.feeds.iter().enumerate() {
            let bad =
                |what: String| ConfigError::Invalid(format!("feeds[{i}] (`{}`): {what}", f.name));
            if f.name.is_empty()
                || !f
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return Err(bad(
                    "`name` must be non-empty letters, digits, `-`, `_` or `.`".into(),
                ));
            }
            if !names.insert(f.name.as_str()) {
                return Err(bad("`name` is used by another feed".into()));
            }
            let scheme_ok = f.url.starts_with("http://") || f.url.starts_with("https://");
            if !scheme_ok || f.url.len() <= "https://".len() {
                return Err(bad(format!(
                    "`url` must be an http:// or https:// URL, got `{}`",
                    f.url
                )));
            }
            if f.interval.0 < FeedConfig::MIN_INTERVAL {
                return Err(bad(format!(
                    "`interval` must be at least {} s",
                    FeedConfig::MIN_INTERVAL.as_secs()
                )));
            }
            let t = f.timeout();
            if t.is_zero() || t > FeedConfig::MAX_TIMEOUT {
                return Err(bad(format!(
                    "`timeout` must be between 1 s and {} s",
                    FeedConfig::MAX_TIMEOUT.as_secs()
                )));
            }
        }
        Ok(())
    }

    /// The effective database URL (the SQLite default lives in the data directory).
    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("picket.db").display())
        } else {
            self.database_url.clone()
        }
    }

    /// The database URL with any password replaced, fit for logs.
    pub fn redacted_database_url(&self) -> String {
        redact_url(&self.database_url())
    }

    /// The read replica's URL with any password replaced, when one is set.
    pub fn redacted_database_read_url(&self) -> Option<String> {
        (!self.database_read_url.is_empty()).then(|| redact_url(&self.database_read_url))
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        self.timezone.parse().unwrap_or(chrono_tz::UTC)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs.max(1))
    }
}

fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
// figment's Jail closures return its large error type by design.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://picket:s3cret@db:5432/picket"),
            "postgres://picket:***@db:5432/picket"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
    }

    #[test]
    fn layers_apply_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "picket.toml",
                "listen = \"127.0.0.1:9000\"\ntimezone = \"Europe/Berlin\"\nworkers = 7\n[rate_limit]\nper_second = 5\nburst = 9\n",
            )?;
            let c = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(c.listen.port(), 9000);
            assert_eq!(c.timezone, "Europe/Berlin");
            assert_eq!(c.rate_limit.burst, 9);

            jail.set_env("PICKET_LISTEN", "127.0.0.1:9100");
            jail.set_env("PICKET_LOG_FORMAT", "json");
            jail.set_env("PICKET_RATE_LIMIT__PER_SECOND", "11");
            jail.set_env("PICKET_TEST_DATABASE_URL", "postgres://unrelated");
            let c = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(c.listen.port(), 9100, "environment beats the file");
            assert_eq!(c.log_format, LogFormat::Json);
            assert_eq!(c.rate_limit.per_second, 11);
            assert_eq!(c.rate_limit.burst, 9, "nested keys merge");
            assert_eq!(c.workers, 7);

            let flags = Overrides {
                listen: Some("127.0.0.1:9200".parse().unwrap()),
                ..Default::default()
            };
            assert_eq!(
                Config::load(None, &flags).unwrap().listen.port(),
                9200,
                "flags beat the environment"
            );

            jail.set_env("PICKET_TIMEZONE", "Mars/Olympus");
            let e = Config::load(None, &Overrides::default()).unwrap_err();
            assert!(e.to_string().contains("Mars/Olympus"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn unknown_file_keys_and_missing_files_are_errors() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("custom.toml", "listn = \"127.0.0.1:1\"\n")?;
            let e =
                Config::load(Some(Path::new("custom.toml")), &Overrides::default()).unwrap_err();
            assert!(e.to_string().contains("listn"), "{e}");
            let e =
                Config::load(Some(Path::new("absent.toml")), &Overrides::default()).unwrap_err();
            assert!(e.to_string().contains("absent.toml"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn feeds_parse_with_durations_and_clear_errors() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "picket.toml",
                "[[feeds]]\nname = \"usgs-week\"\nurl = \"https://example.org/all_week.geojson\"\nformat = \"usgs\"\ninterval = \"15m\"\n\n[[feeds]]\nname = \"gdelt\"\nurl = \"http://127.0.0.1:9/export.tsv\"\nformat = \"gdelt\"\ninterval = 900\ntimeout = \"2m\"\n",
            )?;
            let c = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(c.feeds.len(), 2);
            assert_eq!(c.feeds[0].interval, Span(Duration::from_secs(900)));
            assert_eq!(c.feeds[0].timeout(), FeedConfig::DEFAULT_TIMEOUT);
            assert_eq!(c.feeds[1].interval, c.feeds[0].interval);
            assert_eq!(c.feeds[1].timeout(), Duration::from_secs(120));

            let cases = [
                ("name = \"a b\"", "`name`"),
                ("url = \"ftp://x/y\"", "`url`"),
                ("interval = \"5s\"", "at least 10 s"),
                ("interval = \"15 minutes\"", "unknown unit"),
                ("timeout = \"1h\"", "`timeout`"),
                ("colour = \"red\"", "colour"),
            ];
            for (line, needle) in cases {
                let mut fields = vec![
                    ("name", "name = \"f\""),
                    ("url", "url = \"https://example.org/f\""),
                    ("format", "format = \"usgs\""),
                    ("interval", "interval = \"1h\""),
                ];
                let key = line.split(' ').next().unwrap();
                fields.retain(|(k, _)| *k != key);
                let body: Vec<&str> = fields.iter().map(|(_, l)| *l).chain([line]).collect();
                jail.create_file("picket.toml", &format!("[[feeds]]\n{}\n", body.join("\n")))?;
                let e = Config::load(None, &Overrides::default()).unwrap_err();
                assert!(e.to_string().contains(needle), "{line}: {e}");
            }
            jail.create_file(
                "picket.toml",
                "[[feeds]]\nname = \"f\"\nurl = \"https://a.example/x\"\nformat = \"usgs\"\ninterval = 60\n[[feeds]]\nname = \"f\"\nurl = \"https://b.example/x\"\nformat = \"usgs\"\ninterval = 60\n",
            )?;
            let e = Config::load(None, &Overrides::default()).unwrap_err();
            assert!(e.to_string().contains("feeds[1] (`f`)"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn syslog_listener_limits_have_defaults_and_checked_ranges() {
        figment::Jail::expect_with(|jail| {
            let c = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(c.syslog.batch_lines, 5_000);
            assert_eq!(c.syslog.batch_age, Span(Duration::from_secs(1)));
            assert_eq!(c.syslog.buffer_bytes, 32 * 1024 * 1024);
            assert_eq!(c.syslog.max_connections, 1024);
            jail.create_file(
                "picket.toml",
                "[syslog]\nbatch_lines = 200\nbatch_age = \"5s\"\nbuffer_bytes = 8388608\n",
            )?;
            jail.set_env("PICKET_SYSLOG__MAX_CONNECTIONS", "64");
            let c = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(
                (
                    c.syslog.batch_lines,
                    c.syslog.batch_age.0,
                    c.syslog.buffer_bytes
                ),
                (200, Duration::from_secs(5), 8 * 1024 * 1024)
            );
            assert_eq!(c.syslog.max_connections, 64);
            for (line, needle) in [
                ("batch_lines = 0", "`batch_lines`"),
                ("batch_age = 0", "`batch_age`"),
                ("buffer_bytes = 1000", "`buffer_bytes`"),
            ] {
                jail.create_file("picket.toml", &format!("[syslog]\n{line}\n"))?;
                let e = Config::load(None, &Overrides::default()).unwrap_err();
                assert!(e.to_string().contains(needle), "{line}: {e}");
            }
            Ok(())
        });
    }

    #[test]
    fn a_read_replica_comes_from_the_environment_and_matches_the_primary() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("PICKET_DATABASE_URL", "postgres://picket:pw@primary/picket");
            jail.set_env(
                "PICKET_DATABASE_READ_URL",
                "postgres://picket:secret@replica/picket",
            );
            let c = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(
                c.database_read_url,
                "postgres://picket:secret@replica/picket"
            );
            assert_eq!(
                c.redacted_database_read_url().as_deref(),
                Some("postgres://picket:***@replica/picket")
            );
            jail.set_env("PICKET_DATABASE_READ_URL", "sqlite://replica.db");
            let e = Config::load(None, &Overrides::default()).unwrap_err();
            assert!(e.to_string().contains("database_read_url"), "{e}");
            jail.set_env("PICKET_DATABASE_READ_URL", "");
            let c = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(c.redacted_database_read_url(), None);
            Ok(())
        });
    }

    #[test]
    fn spans_are_seconds_or_one_unit_of_s_m_h_d() {
        let secs = |s: &str| Span::parse(s).map(|span| span.0.as_secs());
        assert_eq!(secs("90"), Ok(90));
        assert_eq!(secs("30s"), Ok(30));
        assert_eq!(secs("15m"), Ok(900));
        assert_eq!(secs(" 6h "), Ok(21_600));
        assert_eq!(secs("2 d"), Ok(172_800));
        assert_eq!(
            secs("15 minutes").unwrap_err(),
            "unknown unit `minutes` in `15 minutes`; use s, m, h or d"
        );
        assert!(secs("1.5h").unwrap_err().contains("unknown unit `.5h`"));
        for bad in ["", "m", "-5s"] {
            assert!(
                secs(bad).unwrap_err().contains("is not a duration"),
                "{bad}"
            );
        }
        assert_eq!(
            serde_json::to_value(Span(Duration::from_secs(900))).unwrap(),
            "900s"
        );
    }

    #[test]
    fn delivery_settings_come_from_file_and_environment_and_hide_secrets() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "picket.toml",
                "[delivery.smtp]\nhost = \"mail.example.org\"\ntls = \"tls\"\nport = 465\nfrom = \"alerts@example.org\"\npassword = \"hunter2\"\n[delivery.sms]\nprovider = \"http\"\nurl = \"https://sms.example.org/send\"\n",
            )?;
            jail.set_env("PICKET_DELIVERY__SMTP__HOST", "relay.example.org");
            jail.set_env("PICKET_DELIVERY__ALLOW_PRIVATE_TARGETS", "true");
            jail.set_env("PICKET_DELIVERY__SMTP__PASSWORD", "123456");
            // A leading `+` or zero would be read as a number's: quoted, it stays text.
            jail.set_env("PICKET_DELIVERY__SMS__FROM", "\"+15005550006\"");
            let c = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(c.delivery.smtp.host, "relay.example.org");
            assert_eq!(c.delivery.smtp.port, 465);
            assert_eq!(c.delivery.smtp.tls, SmtpTls::Tls);
            assert_eq!(c.delivery.sms.provider, Some(SmsProvider::Http));
            assert!(c.delivery.allow_private_targets);
            assert_eq!(c.delivery.smtp.password, Secret("123456".into()));
            assert_eq!(c.delivery.sms.from, "+15005550006");
            assert!(!format!("{c:?}").contains("123456"));

            jail.create_file(
                "picket.toml",
                "[delivery.smtp]\nfrom = \"a@example.org\"\n[delivery.sms]\nprovider = \"twilio\"\n",
            )?;
            let e = Config::load(None, &Overrides::default()).unwrap_err();
            assert!(e.to_string().contains("account_sid"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn default_database_is_sqlite_in_the_data_dir() {
        let c = Config::default();
        assert_eq!(c.database_url(), "sqlite://./picket-data/picket.db");
    }
}
