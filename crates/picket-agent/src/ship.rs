//! The sender: posts spooled batches in order, one at a time, and decides from each answer
//! what happens to the batch.
//!
//! | answer | the batch |
//! |---|---|
//! | 2xx with an ingest report | stored (or already stored: `duplicate`); removed from the spool |
//! | 413 | split in two halves, each sent on its own; a single line too large is refused |
//! | 401, 403, 404, 408, 429, 5xx, no connection | stays; retried with exponential backoff and jitter |
//! | other 4xx | refused: moved to `rejected/` with the reason, and logged |
//!
//! A 2xx that is not an ingest report (a proxy's page, another service at the URL) is not
//! taken as stored.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderValue, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use tokio::sync::watch;

use crate::batch::{self, Format};
use crate::spool::{Spool, Spooled};
use crate::stats::Stats;

/// The server's answer to a batch (`/api/agent/v1/{eve,zeek,syslog}`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Report {
    pub accepted: u64,
    pub skipped: u64,
    pub rejected: u64,
    #[serde(default)]
    pub duplicate: bool,
    #[serde(default)]
    pub errors: Vec<LineError>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct LineError {
    pub line: u64,
    pub error: String,
}

/// What an answer means for the batch.
#[derive(Debug)]
pub enum Answer {
    Stored(Report),
    TooLarge,
    /// The server will never take it as it is.
    Refused(String),
    /// Try again later (at least after the given delay, when the server named one).
    Retry(String, Option<Duration>),
}

/// Exponential backoff with jitter: 0.5 s doubling to `max`, each wait drawn from the upper
/// half of the current step so that many agents do not come back in step.
#[derive(Debug)]
pub struct Backoff {
    step: Duration,
    max: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(500);

    pub fn new(max: Duration) -> Backoff {
        Backoff {
            step: Self::FIRST,
            max,
        }
    }

    pub fn next_wait(&mut self) -> Duration {
        let step = self.step;
        self.step = (self.step * 2).min(self.max);
        let half = step / 2;
        half + half.mul_f64(fastrand::f64())
    }

    pub fn reset(&mut self) {
        self.step = Self::FIRST;
    }
}

#[derive(Debug)]
pub struct Shipper {
    client: reqwest::Client,
    base: Url,
    token_file: PathBuf,
    token: String,
    spool: Arc<Spool>,
    stats: Arc<Stats>,
    /// Largest body a split may decompress (the reader's batch limit, with room for the
    /// `_path` the reader adds to Zeek lines).
    max_body: usize,
}

/// The HTTP client of the agent.
pub fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .user_agent(concat!("picket-agent/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .build()?)
}

impl Shipper {
    pub fn new(
        client: reqwest::Client,
        base: Url,
        token_file: PathBuf,
        token: String,
        spool: Arc<Spool>,
        stats: Arc<Stats>,
        max_body: usize,
    ) -> Shipper {
        Shipper {
            client,
            base,
            token_file,
            token,
            spool,
            stats,
            max_body,
        }
    }

    /// Sends until `stop` turns true. A request cut short by the stop is harmless: its batch
    /// stays in the spool and is sent again, under the same key, by the next run.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut backoff = Backoff::new(Duration::from_secs(30));
        let mut failing = false;
        loop {
            if *stop.borrow() {
                return;
            }
            let Some(name) = self.spool.first() else {
                tokio::select! {
                    _ = self.spool.changed.notified() => {}
                    _ = stop.changed() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
                continue;
            };
            let spool = self.spool.clone();
            let read = {
                let name = name.clone();
                tokio::task::spawn_blocking(move || spool.read(&name)).await
            };
            let batch = match read {
                Ok(Ok(b)) => b,
                Ok(Err(e)) => {
                    tracing::error!(batch = %name, error = %format!("{e:#}"), "unreadable spooled batch; moving it aside");
                    self.refuse(&name, &format!("{e:#}")).await;
                    continue;
                }
                Err(e) => {
                    tracing::error!(error = %e, "spool read task failed");
                    continue;
                }
            };
            let depth = self.spool.depth().saturating_sub(1);
            let answer = tokio::select! {
                a = self.post(&batch, depth) => a,
                _ = stop.changed() => return,
            };
            match answer {
                Answer::Stored(report) => {
                    if !self.wait_durable(batch.seq, &mut stop).await {
                        return;
                    }
                    if let Err(e) = self.spool.remove(&name) {
                        tracing::error!(batch = %name, error = %e, "cannot remove a sent batch from the spool");
                    }
                    self.acknowledged(&batch, &report);
                    if failing {
                        tracing::info!(
                            spool_depth = self.spool.depth(),
                            "server reachable again; sending spooled batches"
                        );
                        failing = false;
                    }
                    self.stats.set_error(None);
                    backoff.reset();
                }
                Answer::TooLarge => self.split(batch).await,
                Answer::Refused(why) => {
                    tracing::error!(
                        file = %batch.header.path,
                        lines = batch.header.lines,
                        key = %batch.header.key(),
                        reason = %why,
                        "the server refused a batch; it is kept in the spool's rejected/ directory"
                    );
                    Stats::add(&self.stats.batches_refused, 1);
                    self.refuse(&name, &why).await;
                }
                Answer::Retry(why, after) => {
                    if failing {
                        tracing::debug!(error = %why, "still cannot deliver");
                    } else {
                        tracing::warn!(
                            error = %why,
                            spool_depth = self.spool.depth(),
                            "cannot deliver; batches wait in the spool and are sent when the server takes them"
                        );
                        failing = true;
                    }
                    self.stats.set_error(Some(why));
                    let wait = backoff.next_wait().max(after.unwrap_or_default());
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = stop.changed() => return,
                    }
                }
            }
        }
    }

    /// Waits until the saved positions cover batch `seq`, so that removing it cannot make a
    /// restarted agent read its lines again. `false` when stopped meanwhile.
    async fn wait_durable(&self, seq: u64, stop: &mut watch::Receiver<bool>) -> bool {
        while self.spool.durable() < seq {
            tokio::select! {
                _ = self.spool.changed.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                _ = stop.changed() => return false,
            }
        }
        true
    }

    fn acknowledged(&self, batch: &Spooled, r: &Report) {
        let s = &self.stats;
        Stats::add(&s.batches_sent, 1);
        if r.duplicate {
            Stats::add(&s.batches_duplicate, 1);
            tracing::debug!(key = %batch.header.key(), "the server already had this batch");
        }
        Stats::add(&s.lines_accepted, r.accepted);
        Stats::add(&s.lines_skipped, r.skipped);
        Stats::add(&s.lines_rejected, r.rejected);
        if r.rejected > 0 {
            let first: Vec<String> = r
                .errors
                .iter()
                .take(3)
                .map(|e| format!("line {}: {}", e.line, e.error))
                .collect();
            tracing::warn!(
                file = %batch.header.path,
                bytes = %format!("{}-{}", batch.header.start, batch.header.end),
                rejected = r.rejected,
                first = %first.join("; "),
                "the server rejected lines of a batch (line numbers count from the batch's first line)"
            );
        }
    }

    async fn refuse(&self, name: &str, why: &str) {
        let spool = self.spool.clone();
        let (name, why) = (name.to_string(), why.to_string());
        let res = tokio::task::spawn_blocking(move || spool.reject(&name, &why)).await;
        if !matches!(res, Ok(Ok(()))) {
            tracing::error!(?res, "cannot move a refused batch aside");
        }
    }

    /// The server found the batch too large: two halves take its place in the spool.
    async fn split(&self, batch: Spooled) {
        let spool = self.spool.clone();
        let max_body = self.max_body;
        let res = tokio::task::spawn_blocking(move || -> anyhow::Result<bool> {
            let body = batch::gunzip(&batch.gz, max_body)?;
            let Some(halves) = batch::split(&batch.header, &body) else {
                let why = format!(
                    "a single line of {} bytes is larger than the server accepts (its body_limit_bytes)",
                    body.len()
                );
                tracing::error!(file = %batch.header.path, offset = batch.header.start, "{why}; the line is not shipped");
                spool.reject(&batch.name, &why)?;
                return Ok(false);
            };
            let [(ha, a), (hb, b)] = halves;
            let halves = [(ha, batch::gzip(&a)?), (hb, batch::gzip(&b)?)];
            spool.split(&batch.name, halves)?;
            Ok(true)
        })
        .await;
        match res {
            Ok(Ok(true)) => {
                tracing::info!("the server found a batch too large (413); sending it in two halves")
            }
            Ok(Ok(false)) => Stats::add(&self.stats.batches_refused, 1),
            Ok(Err(e)) => tracing::error!(error = %format!("{e:#}"), "cannot split a batch"),
            Err(e) => tracing::error!(error = %e, "split task failed"),
        }
    }

    /// Posts one batch.
    pub async fn post(&mut self, b: &Spooled, depth: u64) -> Answer {
        let url = endpoint(&self.base, b.header.format);
        let key = b.header.key();
        let res = self
            .client
            .post(url.clone())
            .bearer_auth(&self.token)
            .header(CONTENT_ENCODING, "gzip")
            .header(CONTENT_TYPE, b.header.format.content_type())
            .header(
                "Idempotency-Key",
                HeaderValue::from_str(&key).expect("keys are ASCII"),
            )
            .header("X-Picket-Spool-Depth", depth)
            .body(b.gz.clone())
            .send()
            .await;
        let res = match res {
            Ok(r) => r,
            Err(e) => return Answer::Retry(format!("cannot reach {url}: {}", chain(&e)), None),
        };
        let status = res.status();
        let after = res
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = res.text().await.unwrap_or_default();
        let answer = classify(status, &text, after);
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            // The operator may have put a new token in the file: use it for the next try.
            match crate::args::read_token(&self.token_file) {
                Ok(t) => self.token = t,
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "cannot re-read the token file")
                }
            }
        }
        answer
    }
}

/// `base` + `api/agent/v1/<format>`.
pub fn endpoint(base: &Url, format: Format) -> Url {
    base.join(&format!("api/agent/v1/{}", format.endpoint()))
        .expect("a base URL ending in / joins a relative path")
}

/// What an HTTP answer means for a batch.
pub fn classify(status: StatusCode, body: &str, retry_after: Option<Duration>) -> Answer {
    let msg = || server_message(body);
    match status.as_u16() {
        200..=299 => match serde_json::from_str::<Report>(body) {
            Ok(r) => Answer::Stored(r),
            Err(_) => Answer::Retry(
                format!(
                    "the server answered {status} without an ingest report; is --server the base URL of a Picket server?"
                ),
                None,
            ),
        },
        413 => Answer::TooLarge,
        401 | 403 => Answer::Retry(
            format!("the server refused the agent token ({status}: {}); check --token-file", msg()),
            None,
        ),
        404 => Answer::Retry(
            format!("the ingest endpoint answered 404; is --server the base URL of a Picket server? ({})", msg()),
            None,
        ),
        408 | 429 | 500..=599 => Answer::Retry(format!("server answered {status}: {}", msg()), retry_after),
        _ => Answer::Refused(format!("{status}: {}", msg())),
    }
}

/// The `error` text of a JSON error body, else the body's start.
fn server_message(body: &str) -> String {
    #[derive(Deserialize)]
    struct E {
        error: serde_json::Value,
    }
    if let Ok(E { error }) = serde_json::from_str::<E>(body) {
        if let Some(s) = error.as_str() {
            return s.to_string();
        }
        if let Some(s) = error.get("message").and_then(|m| m.as_str()) {
            return s.to_string();
        }
    }
    let t = body.trim();
    match t.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &t[..i]),
        None if t.is_empty() => "(no message)".into(),
        None => t.to_string(),
    }
}

/// An error with its causes, as one line.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let c_s = c.to_string();
        if !s.contains(&c_s) {
            s.push_str(": ");
            s.push_str(&c_s);
        }
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_mean_what_the_table_says() {
        let ok = r#"{"accepted":2,"skipped":1,"rejected":0,"duplicate":false,"errors":[]}"#;
        assert!(matches!(classify(StatusCode::OK, ok, None), Answer::Stored(r) if r.accepted == 2));
        assert!(matches!(
            classify(StatusCode::OK, "<html>login</html>", None),
            Answer::Retry(m, _) if m.contains("without an ingest report")
        ));
        assert!(matches!(
            classify(StatusCode::PAYLOAD_TOO_LARGE, "", None),
            Answer::TooLarge
        ));
        assert!(matches!(
            classify(StatusCode::UNAUTHORIZED, r#"{"error":"invalid or revoked agent token"}"#, None),
            Answer::Retry(m, _) if m.contains("invalid or revoked") && m.contains("--token-file")
        ));
        assert!(matches!(
            classify(StatusCode::SERVICE_UNAVAILABLE, "", Some(Duration::from_secs(7))),
            Answer::Retry(_, Some(d)) if d == Duration::from_secs(7)
        ));
        assert!(matches!(
            classify(StatusCode::BAD_REQUEST, r#"{"error":"Idempotency-Key is too long"}"#, None),
            Answer::Refused(m) if m.contains("too long")
        ));
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let mut b = Backoff::new(Duration::from_secs(4));
        let waits: Vec<Duration> = (0..6).map(|_| b.next_wait()).collect();
        let steps = [500, 1000, 2000, 4000, 4000, 4000];
        for (w, s) in waits.iter().zip(steps) {
            let s = Duration::from_millis(s);
            assert!(*w >= s / 2 && *w <= s, "{w:?} within [{:?}, {s:?}]", s / 2);
        }
        b.reset();
        assert!(b.next_wait() <= Duration::from_millis(500));
    }

    #[test]
    fn endpoints_keep_a_path_prefix() {
        let base = Url::parse("https://h.example/picket/").unwrap();
        assert_eq!(
            endpoint(&base, Format::Zeek).as_str(),
            "https://h.example/picket/api/agent/v1/zeek"
        );
    }
}
