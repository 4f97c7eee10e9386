//! Polled intel lists: the `[[intel]]` of `picket.toml`, each a URL fetched when due and
//! imported as its `name`'s source, as `[[feeds]]` are for the event corpus.
//!
//! * A periodic job ([`POLL`], every [`TICK`]) polls each list whose `next_attempt_at` has
//!   passed; `{"list": NAME}` polls that list at once ([`poll_now_job`]). The list's row in
//!   `intel_state` is claimed with a lease first, so with several servers on one database
//!   each list is fetched by one of them at a time.
//! * Fetches are conditional (`If-None-Match`, `If-Modified-Since` from the last answer); a
//!   304, or a body identical to the last one imported (SHA-256), imports nothing and counts
//!   as a refresh of the list.
//! * A MISP feed's URL (ending in `/` or `manifest.json`) is read as a feed: the manifest,
//!   then each event's `<uuid>.json` beside it (eight at a time); an event that cannot be
//!   fetched or read is refused and the others imported.
//! * A failure (connection, timeout, a status other than 2xx/304, a body the format cannot
//!   read or with nothing usable, over [`MAX_BODY_BYTES`]) is recorded with its error, and
//!   after `n` consecutive failures the next try waits `interval × 2^n`, at most the larger
//!   of the interval and 6 hours. The list keeps its entries meanwhile.

use std::time::Duration;

use anyhow::Context;
use futures::StreamExt;
use picket_core::config::{FeedConfig, IntelConfig};
use picket_core::db::{Db, DbResult};
use picket_core::jobs::{JobRegistry, NewJob};
use picket_core::time::now_ms;
use picket_core::AppState;
use sea_query::{Expr, OnConflict, Query, SimpleExpr};
use sha2::{Digest, Sha256};

use super::import::{self, ImportError};
use super::misp::{self, Json};
use super::{Entries, Format};

/// The job kind that polls intel lists.
pub const POLL: &str = "intel.poll";
/// How often the scheduler looks for due lists.
pub const TICK: Duration = Duration::from_secs(30);
/// Largest body accepted from a list (and from each event file of a MISP feed).
pub const MAX_BODY_BYTES: usize = 256 * 1024 * 1024;
const MAX_BACKOFF_MS: i64 = 6 * 3600 * 1000;
/// Event files of a MISP feed fetched at once.
const FEED_CONCURRENCY: usize = 8;

picket_core::table! {
    /// One row per `[[intel]]` list: the last answer's validators and digest, what the last
    /// import did, and when to try next.
    pub(crate) enum IntelState in "intel_state" {
        Name: Text .primary_key(),
        Url: Text,
        Format: Text,
        Etag: Text .nullable(),
        LastModified: Text .nullable(),
        BodySha256: Text .nullable(),
        LastAttemptAt: BigInt .nullable(),
        LastSuccessAt: BigInt .nullable(),
        LastStatus: BigInt .nullable(),
        LastError: Text .nullable(),
        Failures: BigInt .default("0"),
        NextAttemptAt: BigInt,
        LastStored: BigInt .default("0"),
        LastSkipped: BigInt .default("0"),
        LastRefused: BigInt .default("0"),
        /// While a poll holds the row: when its lease ends (Unix ms); null between polls.
        LeasedUntil: BigInt .nullable(),
    }
}

/// A list's polling state as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StateRow {
    pub name: String,
    pub url: String,
    pub format: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub body_sha256: Option<String>,
    pub last_attempt_at: Option<i64>,
    pub last_success_at: Option<i64>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub failures: i64,
    pub next_attempt_at: i64,
    pub last_stored: i64,
    pub last_skipped: i64,
    pub last_refused: i64,
}

pub fn register(r: &mut JobRegistry) {
    r.register(POLL, |s, payload| async move {
        match payload.get("list").and_then(|f| f.as_str()) {
            Some(name) => poll_named(&s, name).await,
            None => poll_due(&s).await.map(|_| ()),
        }
    });
    r.every(POLL, TICK);
}

/// The scheduled form of the job: polls whichever lists are due.
pub fn poll_due_job() -> NewJob {
    NewJob::new(POLL, serde_json::json!({})).dedupe(POLL)
}

/// Polls one list now, due or not.
pub fn poll_now_job(name: &str) -> NewJob {
    NewJob::new(POLL, serde_json::json!({ "list": name })).dedupe(format!("{POLL}:{name}"))
}

/// Polls every configured list that is due; returns how many were fetched.
pub async fn poll_due(state: &AppState) -> anyhow::Result<usize> {
    let mut polled = 0;
    for list in &state.config.intel {
        if poll(state, list, false).await? {
            polled += 1;
        }
    }
    Ok(polled)
}

async fn poll_named(state: &AppState, name: &str) -> anyhow::Result<()> {
    let Some(list) = state.config.intel.iter().find(|l| l.name == name) else {
        tracing::warn!(list = name, "no such intel list in the configuration");
        return Ok(());
    };
    poll(state, list, true).await.map(|_| ())
}

/// After `failures` consecutive failures: `interval × 2^failures`, at most
/// `max(interval, 6 h)`.
pub fn backoff_ms(interval_ms: i64, failures: i64) -> i64 {
    let cap = interval_ms.max(MAX_BACKOFF_MS);
    let factor = 1i64 << failures.clamp(0, 30);
    interval_ms.saturating_mul(factor).min(cap)
}

fn timeout(list: &IntelConfig) -> Duration {
    list.timeout.map_or(FeedConfig::DEFAULT_TIMEOUT, |t| t.0)
}

/// Fetches and imports one list if it is due (or `force`); `Ok(false)` when not taken.
/// Errors are storage errors only: a failed fetch is recorded on the list.
async fn poll(state: &AppState, list: &IntelConfig, force: bool) -> anyhow::Result<bool> {
    let db = &state.db;
    let format = Format::parse(&list.format).with_context(|| {
        format!(
            "intel list `{}`: unknown format `{}`",
            list.name, list.format
        )
    })?;
    let now = now_ms();
    ensure(db, &list.name, &list.url, &list.format, now).await?;
    let limit = timeout(list);
    // A MISP feed is many fetches; its lease allows for them.
    let lease = now + limit.as_millis() as i64 * 4 + 60_000;
    if !claim(db, &list.name, now, lease, force).await? {
        return Ok(false);
    }
    let row = get(db, &list.name)
        .await?
        .context("the intel row vanished")?;
    let interval_ms = list.interval.0.as_millis() as i64;
    let next = || now_ms() + interval_ms;
    let client = client(limit).map_err(anyhow::Error::msg)?;
    let (url, feed_dir) = feed_urls(format, &list.url);
    let outcome = match fetch(&client, &url, Some(&row)).await {
        Ok(Fetched::NotModified) => Outcome::Unchanged(304),
        Ok(Fetched::Body {
            status,
            etag,
            last_modified,
            body,
        }) => {
            let digest = hex::encode(Sha256::digest(&body));
            if row.body_sha256.as_deref() == Some(digest.as_str()) {
                Outcome::Unchanged(status)
            } else {
                match entries(&client, format, &url, feed_dir, &body).await {
                    Ok(e) => match import::store(db, format, &list.name, e).await {
                        Ok(report) => Outcome::Imported {
                            status,
                            validators: (etag, last_modified),
                            digest,
                            report,
                        },
                        Err(ImportError::Db(e)) => return Err(e.into()),
                        Err(ImportError::Content(msg)) => Outcome::Failed(Some(status), msg),
                    },
                    Err(msg) => Outcome::Failed(Some(status), msg),
                }
            }
        }
        Err((status, msg)) => Outcome::Failed(status, msg),
    };
    match outcome {
        Outcome::Unchanged(status) => {
            tracing::debug!(list = %list.name, "intel list not modified");
            let mut tx = db.begin().await?;
            super::store::mark(&mut tx, format.lists(), now_ms(), false).await?;
            tx.commit().await?;
            record_success(db, &list.name, now, next(), status, None).await?;
        }
        Outcome::Imported {
            status,
            validators,
            digest,
            report,
        } => {
            let s = report.stored;
            tracing::info!(
                list = %list.name,
                tor = s.tor,
                misp_ips = s.misp_ips,
                misp_domains = s.misp_domains,
                skipped = report.skipped,
                refused = report.refused.len(),
                "intel list imported"
            );
            let counts = (
                (s.tor + s.misp_ips + s.misp_domains) as i64,
                report.skipped as i64,
                report.refused.len() as i64,
            );
            let done = Imported {
                validators,
                digest,
                counts,
            };
            record_success(db, &list.name, now, next(), status, Some(&done)).await?;
        }
        Outcome::Failed(status, msg) => {
            let failures = row.failures + 1;
            let at = now_ms() + backoff_ms(interval_ms, failures);
            tracing::warn!(list = %list.name, failures, error = %msg, "intel list poll failed");
            record_failure(db, &list.name, status, &msg, failures, at).await?;
        }
    }
    Ok(true)
}

enum Outcome {
    Unchanged(u16),
    Imported {
        status: u16,
        validators: (Option<String>, Option<String>),
        digest: String,
        report: import::Report,
    },
    Failed(Option<u16>, String),
}

/// The URL to fetch and, for a MISP feed, the directory its event files are in.
fn feed_urls(format: Format, url: &str) -> (String, Option<String>) {
    if format != Format::MispJson {
        return (url.to_string(), None);
    }
    if url.ends_with('/') {
        return (format!("{url}manifest.json"), Some(url.to_string()));
    }
    if let Some(dir) = url.strip_suffix("manifest.json") {
        return (url.to_string(), Some(dir.to_string()));
    }
    (url.to_string(), None)
}

/// The entries of a fetched body; a MISP feed's manifest brings in its event files.
async fn entries(
    client: &reqwest::Client,
    format: Format,
    url: &str,
    feed_dir: Option<String>,
    body: &[u8],
) -> Result<Entries, String> {
    if format != Format::MispJson {
        return super::parse(format, body).map_err(|e| format!("cannot import the body: {e}"));
    }
    let uuids = match misp::json(body).map_err(|e| format!("cannot import the body: {e}"))? {
        Json::Entries(e) => return Ok(e),
        Json::Manifest(uuids) => uuids,
    };
    // A manifest served from a URL of another shape: its events are beside it.
    let dir = feed_dir.unwrap_or_else(|| match url.rfind('/') {
        Some(i) => url[..=i].to_string(),
        None => format!("{url}/"),
    });
    // Each fetch owns what it uses: the stream's futures must be `Send` for any lifetime.
    let fetches = uuids.into_iter().map(|uuid| {
        let client = client.clone();
        let event_url = format!("{dir}{uuid}.json");
        async move {
            let parsed = match fetch(&client, &event_url, None).await {
                Ok(Fetched::Body { body, .. }) => misp::json(&body),
                Ok(Fetched::NotModified) => Err("answered 304 to an unconditional GET".into()),
                Err((_, msg)) => Err(msg),
            };
            (uuid, parsed)
        }
    });
    let mut all = Entries::default();
    let mut results = futures::stream::iter(fetches).buffer_unordered(FEED_CONCURRENCY);
    while let Some((uuid, parsed)) = results.next().await {
        match parsed {
            Ok(Json::Entries(e)) => import::merge(&mut all, e),
            Ok(Json::Manifest(_)) => {
                all.refuse(format!("event {uuid}"), "the event file is a manifest")
            }
            Err(e) => all.refuse(format!("event {uuid}"), e),
        }
    }
    Ok(all)
}

fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .user_agent(concat!(
            "picket/",
            env!("CARGO_PKG_VERSION"),
            " (intel lists)"
        ))
        .timeout(timeout)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

enum Fetched {
    NotModified,
    Body {
        status: u16,
        etag: Option<String>,
        last_modified: Option<String>,
        body: Vec<u8>,
    },
}

/// One GET, conditional when `row` has validators; `Err((status, reason))` on any failure.
async fn fetch(
    client: &reqwest::Client,
    url: &str,
    row: Option<&StateRow>,
) -> Result<Fetched, (Option<u16>, String)> {
    let mut req = client.get(url);
    if let Some(row) = row {
        if let Some(etag) = &row.etag {
            req = req.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        if let Some(m) = &row.last_modified {
            req = req.header(reqwest::header::IF_MODIFIED_SINCE, m);
        }
    }
    let mut res = req.send().await.map_err(|e| (None, describe(&e)))?;
    let status = res.status();
    if status == reqwest::StatusCode::NOT_MODIFIED {
        return Ok(Fetched::NotModified);
    }
    if !status.is_success() {
        return Err((
            Some(status.as_u16()),
            format!("{url}: the server answered {status}"),
        ));
    }
    let header = |name| {
        res.headers()
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    let etag = header(reqwest::header::ETAG);
    let last_modified = header(reqwest::header::LAST_MODIFIED);
    let mut body = Vec::new();
    while let Some(chunk) = res
        .chunk()
        .await
        .map_err(|e| (Some(status.as_u16()), describe(&e)))?
    {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err((
                Some(status.as_u16()),
                format!("{url}: the body is larger than {MAX_BODY_BYTES} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched::Body {
        status: status.as_u16(),
        etag,
        last_modified,
        body,
    })
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".into();
    }
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(&format!(": {s}"));
        source = s.source();
    }
    msg
}

pub async fn get(db: &Db, name: &str) -> DbResult<Option<StateRow>> {
    let q = Query::select()
        .column(sea_query::Asterisk)
        .from(IntelState::table())
        .and_where(Expr::col(IntelState::Name).eq(name))
        .to_owned();
    db.fetch_optional(&q).await
}

/// Makes sure the list has a row, due now when new. A list whose URL or format changed
/// starts afresh: validators, digest and failures belonged to the old source.
async fn ensure(db: &Db, name: &str, url: &str, format: &str, now: i64) -> DbResult<()> {
    let insert = Query::insert()
        .into_table(IntelState::table())
        .columns([
            IntelState::Name,
            IntelState::Url,
            IntelState::Format,
            IntelState::NextAttemptAt,
        ])
        .values_panic([name.into(), url.into(), format.into(), now.into()])
        .on_conflict(OnConflict::column(IntelState::Name).do_nothing().to_owned())
        .to_owned();
    db.execute(&insert).await?;
    let reset = Query::update()
        .table(IntelState::table())
        .values([
            (IntelState::Url, url.into()),
            (IntelState::Format, format.into()),
            (IntelState::Etag, Option::<String>::None.into()),
            (IntelState::LastModified, Option::<String>::None.into()),
            (IntelState::BodySha256, Option::<String>::None.into()),
            (IntelState::Failures, 0i64.into()),
            (IntelState::NextAttemptAt, now.into()),
        ])
        .and_where(Expr::col(IntelState::Name).eq(name))
        .and_where(
            Expr::col(IntelState::Url)
                .ne(url)
                .or(Expr::col(IntelState::Format).ne(format)),
        )
        .to_owned();
    db.execute(&reset).await?;
    Ok(())
}

/// Takes the list for one poll: leases it until `lease_until` (and moves `next_attempt_at`
/// there) if it is due, or with `force` whether due or not, but never while another poll's
/// lease runs. Only the caller that took it polls; should it die, the list is free and due
/// again once the lease runs out. Recording the outcome ends the lease.
async fn claim(db: &Db, name: &str, now: i64, lease_until: i64, force: bool) -> DbResult<bool> {
    let mut q = Query::update()
        .table(IntelState::table())
        .values([
            (IntelState::NextAttemptAt, lease_until.into()),
            (IntelState::LastAttemptAt, now.into()),
            (IntelState::LeasedUntil, lease_until.into()),
        ])
        .and_where(Expr::col(IntelState::Name).eq(name))
        // Not while another poll holds it, forced or not; a dead holder's lease runs out.
        .and_where(
            Expr::col(IntelState::LeasedUntil)
                .is_null()
                .or(Expr::col(IntelState::LeasedUntil).lte(now)),
        )
        .to_owned();
    if !force {
        q.and_where(Expr::col(IntelState::NextAttemptAt).lte(now));
    }
    Ok(db.execute(&q).await? == 1)
}

/// What an import stores on the list's row.
struct Imported {
    validators: (Option<String>, Option<String>),
    digest: String,
    /// (stored, skipped, refused)
    counts: (i64, i64, i64),
}

async fn record_success(
    db: &Db,
    name: &str,
    now: i64,
    next: i64,
    status: u16,
    imported: Option<&Imported>,
) -> DbResult<()> {
    let mut values: Vec<(IntelState, SimpleExpr)> = vec![
        (IntelState::LastSuccessAt, now.into()),
        (IntelState::LastStatus, i64::from(status).into()),
        (IntelState::LastError, Option::<String>::None.into()),
        (IntelState::Failures, 0i64.into()),
        (IntelState::NextAttemptAt, next.into()),
        (IntelState::LeasedUntil, Option::<i64>::None.into()),
    ];
    if let Some(i) = imported {
        let (etag, modified) = &i.validators;
        let (stored, skipped, refused) = i.counts;
        values.extend([
            (IntelState::Etag, etag.clone().into()),
            (IntelState::LastModified, modified.clone().into()),
            (IntelState::BodySha256, i.digest.clone().into()),
            (IntelState::LastStored, stored.into()),
            (IntelState::LastSkipped, skipped.into()),
            (IntelState::LastRefused, refused.into()),
        ]);
    }
    let q = Query::update()
        .table(IntelState::table())
        .values(values)
        .and_where(Expr::col(IntelState::Name).eq(name))
        .to_owned();
    db.execute(&q).await?;
    Ok(())
}

async fn record_failure(
    db: &Db,
    name: &str,
    status: Option<u16>,
    error: &str,
    failures: i64,
    next: i64,
) -> DbResult<()> {
    let q = Query::update()
        .table(IntelState::table())
        .values([
            (IntelState::LastStatus, status.map(i64::from).into()),
            (IntelState::LastError, error.into()),
            (IntelState::Failures, failures.into()),
            (IntelState::NextAttemptAt, next.into()),
            (IntelState::LeasedUntil, Option::<i64>::None.into()),
        ])
        .and_where(Expr::col(IntelState::Name).eq(name))
        .to_owned();
    db.execute(&q).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let min = 60_000;
        assert_eq!(backoff_ms(5 * min, 1), 10 * min);
        assert_eq!(backoff_ms(5 * min, 20), 360 * min);
        assert_eq!(backoff_ms(24 * 60 * min, 4), 24 * 60 * min);
    }

    #[test]
    fn misp_feed_urls() {
        let f = Format::MispJson;
        assert_eq!(
            feed_urls(f, "https://x.test/feed-osint/"),
            (
                "https://x.test/feed-osint/manifest.json".into(),
                Some("https://x.test/feed-osint/".into())
            )
        );
        assert_eq!(
            feed_urls(f, "https://x.test/feed/manifest.json"),
            (
                "https://x.test/feed/manifest.json".into(),
                Some("https://x.test/feed/".into())
            )
        );
        assert_eq!(feed_urls(f, "https://x.test/events.json").1, None);
        assert_eq!(feed_urls(Format::TorExits, "https://x.test/").1, None);
    }
}
