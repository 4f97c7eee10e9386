//! `/api/agent/v1`: the ingest endpoints (agent tokens only), their body decoding and limits,
//! idempotent batches, and the batch writer. Read in order:
//!
//! 1. [`handlers`]: the routes; [`body`]: plain or gzip bodies under the body limit.
//! 2. [`ingest`] (below): one batch from parse to commit, which the HTTP endpoints and the
//!    server's syslog listener share; [`lines`] parses the body line by line.
//! 3. The batch writer, in the batch's one transaction: [`rows`] (metadata datasets and the
//!    15-minute aggregates), [`derive`] (devices, services, `new_device`, `new_service`),
//!    `crate::detect::run` (the detections), [`alerts`] (alerts stored, captures attached,
//!    notices to delivery).
//! 4. [`store`]: batch answers kept for retries, captures waiting for their alert;
//!    [`metrics`].

pub mod alerts;
pub mod body;
pub mod derive;
mod handlers;
pub mod lines;
pub mod metrics;
pub mod rows;
pub mod store;

use std::time::{Duration, Instant};

use axum::routing::{get, post};
use axum::Router;
use picket_core::db::schema::Table;
use picket_core::db::DbResult;
use picket_core::error::ApiError;
use picket_core::identity::AgentPrincipal;
use picket_core::time::now_ms;
use picket_core::AppState;
use serde::Serialize;

use crate::parse::Format;
use crate::record::Record;
use metrics::IngestMetrics;

/// Tables of the ingest path (batch ids for idempotency, pending captures).
pub const TABLES: &[Table] = store::TABLES;

/// The answer to one batch.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct BatchReport {
    pub accepted: u64,
    pub skipped: u64,
    pub rejected: u64,
    pub duplicate: bool,
    /// At most 100, in line order.
    pub errors: Vec<LineError>,
}

/// One rejected line (1-based).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct LineError {
    pub line: u64,
    pub error: String,
}

/// Longest `Idempotency-Key` accepted.
pub const MAX_KEY_LEN: usize = 200;

/// Checks an `Idempotency-Key`: 1 to 200 visible ASCII characters.
pub fn check_key(key: &str) -> Result<(), ApiError> {
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::bad_request(format!(
            "`Idempotency-Key` must be 1 to {MAX_KEY_LEN} visible ASCII characters"
        )));
    }
    Ok(())
}

/// Parses and stores one batch of `format` lines from `agent` (the body already decoded),
/// with its detections, in one transaction; a repeated `idempotency_key` from the same agent
/// stores nothing and answers the first answer with `duplicate: true`. The HTTP endpoints and
/// the server's syslog listener both come here.
pub async fn ingest(
    state: &AppState,
    agent: &AgentPrincipal,
    format: Format,
    body: &[u8],
    idempotency_key: Option<&str>,
) -> Result<BatchReport, ApiError> {
    ingest_batch(state, agent, format, body, idempotency_key, None).await
}

/// [`ingest`] for lines received from one sender (the syslog listener): a syslog message whose
/// header names no host is stored with `sender` (the sender's address) as its host.
pub async fn ingest_from(
    state: &AppState,
    agent: &AgentPrincipal,
    format: Format,
    body: &[u8],
    idempotency_key: Option<&str>,
    sender: &str,
) -> Result<BatchReport, ApiError> {
    ingest_batch(state, agent, format, body, idempotency_key, Some(sender)).await
}

async fn ingest_batch(
    state: &AppState,
    agent: &AgentPrincipal,
    format: Format,
    body: &[u8],
    idempotency_key: Option<&str>,
    sender: Option<&str>,
) -> Result<BatchReport, ApiError> {
    let started = Instant::now();
    let m = IngestMetrics::of(state);
    let source = format.name();
    if let Some(key) = idempotency_key {
        check_key(key)?;
        // A retry of a stored batch: answered without parsing it again.
        if let Some(first) = store::answered(&state.db, agent.tenant_id, agent.id, key).await? {
            m.batch(source, "duplicate", started.elapsed());
            return duplicate(&first);
        }
    }
    let now = now_ms();
    let tz = state.tz;
    let owned = body.to_vec();
    let mut parsed = tokio::task::spawn_blocking(move || lines::parse(format, &owned, now, tz))
        .await
        .map_err(ApiError::internal)?;
    if let Some(sender) = sender {
        for r in &mut parsed.records {
            if let Record::Syslog(s) = r {
                if s.hostname.is_empty() {
                    s.hostname = sender.to_string();
                }
            }
        }
    }
    let mut report = BatchReport {
        accepted: parsed.accepted,
        skipped: parsed.skipped,
        rejected: parsed.rejected,
        duplicate: false,
        errors: parsed.errors,
    };
    let mut attempt = 0u32;
    let outcome = loop {
        match write(state, agent, &parsed.records, idempotency_key, &report, now).await {
            Err(e) if e.is_transient() && attempt < 4 => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
            }
            other => break other,
        }
    };
    match outcome {
        Ok(Written::Stored(stored)) => {
            m.lines(source, report.accepted, report.skipped, report.rejected);
            for (_, kind) in &stored.network {
                m.alert("network", kind);
            }
            for (_, kind) in &stored.server {
                m.alert("server", kind);
            }
            m.batch(source, "stored", started.elapsed());
            Ok(report)
        }
        Ok(Written::Duplicate(first)) => {
            m.batch(source, "duplicate", started.elapsed());
            duplicate(&first)
        }
        Err(e) => {
            m.batch(source, "failed", started.elapsed());
            report.errors.clear();
            Err(e.into())
        }
    }
}

fn duplicate(first: &str) -> Result<BatchReport, ApiError> {
    let mut r: BatchReport = serde_json::from_str(first).map_err(|e| {
        ApiError::internal(anyhow::anyhow!("stored batch answer does not decode: {e}"))
    })?;
    r.duplicate = true;
    Ok(r)
}

enum Written {
    Stored(alerts::Stored),
    /// Another batch with the key committed first: its answer.
    Duplicate(String),
}

/// One attempt at the batch's transaction.
async fn write(
    state: &AppState,
    agent: &AgentPrincipal,
    records: &[Record],
    key: Option<&str>,
    report: &BatchReport,
    now: i64,
) -> DbResult<Written> {
    let tenant = agent.tenant_id;
    let t0 = Instant::now();
    let mut tx = state.db.begin().await?;
    store::forget_old(&mut tx, tenant, agent.id, now).await?;
    let locked = t0.elapsed();
    if let Some(key) = key {
        if !store::claim(&mut tx, tenant, agent.id, key, now).await? {
            let first = store::answer_in(&mut tx, tenant, agent.id, key)
                .await?
                .unwrap_or_default();
            return Ok(Written::Duplicate(first));
        }
    }
    let counts = rows::write(&mut tx, tenant, &agent.agent.to_lowercase(), records).await?;
    let rows_done = t0.elapsed();
    let nets = derive::Nets::load(&mut tx, tenant).await?;
    let mut network = alerts::sensor_alerts(records, agent);
    network.extend(derive::devices(&mut tx, agent, records, &nets).await?);
    network.extend(derive::services(&mut tx, agent, records, &nets).await?);
    let derived = t0.elapsed();
    let found = crate::detect::run(&mut tx, state, agent, records).await?;
    let detected = t0.elapsed();
    network.extend(found.network);
    let stored = alerts::store(&mut tx, state, agent, &network, &found.server, now).await?;
    let alerted = t0.elapsed();
    if let Some(key) = key {
        // A struct of numbers and strings always encodes.
        let answer = serde_json::to_string(report).unwrap_or_default();
        store::record_answer(&mut tx, tenant, agent.id, key, &answer).await?;
    }
    tx.commit().await?;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    tracing::debug!(
        records = records.len(),
        dns = counts.dns,
        tcp = counts.tcp,
        http = counts.http,
        dhcp = counts.dhcp,
        network_alerts = stored.network.len(),
        server_alerts = stored.server.len(),
        lock_ms = ms(locked),
        rows_ms = ms(rows_done - locked),
        derive_ms = ms(derived - rows_done),
        detect_ms = ms(detected - derived),
        alerts_ms = ms(alerted - detected),
        commit_ms = ms(t0.elapsed() - alerted),
        "ingest batch stored"
    );
    if !stored.network.is_empty() || !stored.server.is_empty() {
        // Deliveries were queued with the alerts: wake a local worker to send them.
        state.job_signal.notify_one();
    }
    Ok(Written::Stored(stored))
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/agent/v1/hello", get(handlers::hello))
        .route("/api/agent/v1/eve", post(handlers::eve))
        .route("/api/agent/v1/zeek", post(handlers::zeek))
        .route("/api/agent/v1/syslog", post(handlers::syslog))
        .route("/api/agent/v1/pcap", post(handlers::pcap))
}
