//! Polled event feeds: the `[[feeds]]` of `picket.toml`, each a URL fetched when due and
//! imported into the global corpus by the same importer `picket import events` uses.
//!
//! * A periodic job ([`POLL`], every [`TICK`]) polls every feed whose `next_attempt_at` has
//!   passed; the same job with `{"feed": NAME}` polls that feed at once ([`poll_now_job`]).
//! * Fetches are conditional: the stored `ETag` and `Last-Modified` go out as `If-None-Match`
//!   and `If-Modified-Since`, and a 304 imports nothing. A 200 whose body is byte-identical to
//!   the last one imported (SHA-256) is not imported again either.
//! * Each fetch has the feed's timeout (default 30 s) and a size cap ([`MAX_BODY_BYTES`]).
//! * A failure (connection, timeout, a status other than 2xx/304, a body no importer can read)
//!   is recorded with its error; after `n` consecutive failures the next try waits
//!   `interval × 2^n`, capped at the larger of the interval and 6 hours ([`backoff_ms`]).
//!   Records the importer refuses one by one are not failures: they are counted.

pub mod store;

use std::time::Duration;

use anyhow::Context;
use picket_core::config::FeedConfig;
use picket_core::jobs::{JobRegistry, NewJob};
use picket_core::time::now_ms;
use picket_core::AppState;
use sha2::{Digest, Sha256};

use crate::import::{self, Format};
use crate::{store_records, Scope};

pub use store::{FeedRow, TABLES};

/// The job kind that polls feeds.
pub const POLL: &str = "events.feeds.poll";
/// How often the scheduler looks for due feeds; an interval is honoured to within this.
pub const TICK: Duration = Duration::from_secs(30);
/// Largest body accepted from a feed.
pub const MAX_BODY_BYTES: usize = 256 * 1024 * 1024;
const MAX_BACKOFF_MS: i64 = 6 * 3600 * 1000;

pub fn register(r: &mut JobRegistry) {
    r.register(POLL, |s, payload| async move {
        match payload.get("feed").and_then(|f| f.as_str()) {
            Some(name) => poll_named(&s, name).await,
            None => poll_due(&s).await.map(|_| ()),
        }
    });
    r.every(POLL, TICK);
}

/// The scheduled form of the job: polls whichever feeds are due.
pub fn poll_due_job() -> NewJob {
    NewJob::new(POLL, serde_json::json!({})).dedupe(POLL)
}

/// Polls one feed now, due or not (after a config change, or from an operator).
pub fn poll_now_job(name: &str) -> NewJob {
    NewJob::new(POLL, serde_json::json!({ "feed": name })).dedupe(format!("{POLL}:{name}"))
}

/// Checks what the core config cannot: that every feed names a known importer.
pub fn check_config(feeds: &[FeedConfig]) -> Result<(), String> {
    for (i, f) in feeds.iter().enumerate() {
        if Format::parse(&f.format).is_none() {
            let names: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
            return Err(format!(
                "invalid configuration: feeds[{i}] (`{}`): unknown format `{}`; expected one of {}",
                f.name,
                f.format,
                names.join(", ")
            ));
        }
    }
    Ok(())
}

/// Polls every configured feed that is due; returns how many were fetched.
pub async fn poll_due(state: &AppState) -> anyhow::Result<usize> {
    let mut polled = 0;
    for feed in &state.config.feeds {
        if poll(state, feed, false).await? {
            polled += 1;
        }
    }
    Ok(polled)
}

async fn poll_named(state: &AppState, name: &str) -> anyhow::Result<()> {
    let Some(feed) = state.config.feeds.iter().find(|f| f.name == name) else {
        // Removed from the config since the job was queued: nothing to do.
        tracing::warn!(feed = name, "no such feed in the configuration");
        return Ok(());
    };
    poll(state, feed, true).await.map(|_| ())
}

/// After `failures` consecutive failures: `interval × 2^failures`, at most
/// `max(interval, 6 h)`.
pub fn backoff_ms(interval_ms: i64, failures: i64) -> i64 {
    let cap = interval_ms.max(MAX_BACKOFF_MS);
    let factor = 1i64 << failures.clamp(0, 30);
    interval_ms.saturating_mul(factor).min(cap)
}

/// Fetches and imports one feed if it is due (or `force`); `Ok(false)` when it was not taken.
/// Errors are storage errors only: a failed fetch is recorded on the feed, not raised.
async fn poll(state: &AppState, feed: &FeedConfig, force: bool) -> anyhow::Result<bool> {
    let db = &state.db;
    let format = Format::parse(&feed.format)
        .with_context(|| format!("feed `{}`: unknown format `{}`", feed.name, feed.format))?;
    let now = now_ms();
    store::ensure(db, &feed.name, &feed.url, &feed.format, now).await?;
    let timeout = feed.timeout();
    // Long enough that a live poll finishes first; short enough to retry after a crash.
    let lease = now + timeout.as_millis() as i64 + 60_000;
    if !store::claim(db, &feed.name, now, lease, force).await? {
        return Ok(false);
    }
    let row = store::get(db, &feed.name)
        .await?
        .context("the feed row vanished")?;
    let interval_ms = feed.interval.0.as_millis() as i64;
    match fetch(feed, &row, timeout).await {
        Ok(Fetched::NotModified) => {
            tracing::debug!(feed = %feed.name, "feed not modified");
            let s = store::Success {
                status: 304,
                ..Default::default()
            };
            store::record_success(db, &feed.name, now, now_ms() + interval_ms, &s).await?;
        }
        Ok(Fetched::Body {
            status,
            etag,
            last_modified,
            body,
        }) => {
            let digest = hex::encode(Sha256::digest(&body));
            let mut s = store::Success {
                status,
                validators: Some((etag, last_modified)),
                body_sha256: Some(digest.clone()),
                counts: None,
            };
            if row.body_sha256.as_deref() != Some(digest.as_str()) {
                let records = match import::parse(format, &body) {
                    Ok(r) => r,
                    Err(e) => {
                        let msg = format!("cannot import the body: {e}");
                        fail(state, feed, &row, Some(status), &msg, interval_ms).await?;
                        return Ok(true);
                    }
                };
                let report = store_records(db, Scope::Global, records).await?;
                tracing::info!(
                    feed = %feed.name,
                    new = report.new,
                    updated = report.updated,
                    merged = report.merged,
                    rejected = report.rejected.len(),
                    "feed imported"
                );
                s.counts = Some((
                    report.new,
                    report.updated,
                    report.merged,
                    report.rejected.len(),
                ));
            }
            store::record_success(db, &feed.name, now, now_ms() + interval_ms, &s).await?;
        }
        Err((status, msg)) => fail(state, feed, &row, status, &msg, interval_ms).await?,
    }
    Ok(true)
}

async fn fail(
    state: &AppState,
    feed: &FeedConfig,
    row: &FeedRow,
    status: Option<u16>,
    msg: &str,
    interval_ms: i64,
) -> anyhow::Result<()> {
    let failures = row.failures + 1;
    let next = now_ms() + backoff_ms(interval_ms, failures);
    tracing::warn!(feed = %feed.name, failures, error = msg, "feed poll failed");
    store::record_failure(&state.db, &feed.name, status, msg, failures, next).await?;
    Ok(())
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

/// One conditional GET; `Err((status, reason))` on any failure.
async fn fetch(
    feed: &FeedConfig,
    row: &FeedRow,
    timeout: Duration,
) -> Result<Fetched, (Option<u16>, String)> {
    let client = reqwest::Client::builder()
        .user_agent(concat!(
            "picket/",
            env!("CARGO_PKG_VERSION"),
            " (event feeds)"
        ))
        .timeout(timeout)
        .build()
        .map_err(|e| (None, format!("cannot build the HTTP client: {e}")))?;
    let mut req = client.get(&feed.url);
    if let Some(etag) = &row.etag {
        req = req.header(reqwest::header::IF_NONE_MATCH, etag);
    }
    if let Some(m) = &row.last_modified {
        req = req.header(reqwest::header::IF_MODIFIED_SINCE, m);
    }
    let mut res = req.send().await.map_err(|e| (None, describe(&e)))?;
    let status = res.status();
    if status == reqwest::StatusCode::NOT_MODIFIED {
        return Ok(Fetched::NotModified);
    }
    if !status.is_success() {
        return Err((
            Some(status.as_u16()),
            format!("the server answered {status}"),
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
                format!("the body is larger than {MAX_BODY_BYTES} bytes"),
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
    // The cause chain says what actually went wrong (refused, DNS, TLS).
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(&format!(": {s}"));
        source = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let min = 60_000;
        assert_eq!(backoff_ms(5 * min, 1), 10 * min);
        assert_eq!(backoff_ms(5 * min, 3), 40 * min);
        assert_eq!(backoff_ms(5 * min, 20), 360 * min, "capped at 6 h");
        let day = 24 * 60 * min;
        assert_eq!(backoff_ms(day, 4), day, "never sooner than the interval");
    }

    #[test]
    fn formats_are_checked_by_name() {
        let feed = |format: &str| FeedConfig {
            name: "f".into(),
            url: "https://example.org/f".into(),
            format: format.into(),
            interval: picket_core::config::Span(Duration::from_secs(60)),
            timeout: None,
        };
        assert!(check_config(&[feed("gdelt"), feed("acled")]).is_ok());
        let e = check_config(&[feed("gdelt"), feed("rss")]).unwrap_err();
        assert!(e.contains("feeds[1]") && e.contains("`rss`"), "{e}");
    }
}
