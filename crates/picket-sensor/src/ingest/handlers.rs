//! The HTTP side of ingest. Every route takes an agent token (an API key is 401); batch routes
//! read `Content-Encoding: gzip` bodies, `Idempotency-Key` and `X-Picket-Spool-Depth`.

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use picket_core::error::ApiError;
use picket_core::extract::{Json, NoQuery, Query};
use picket_core::identity::AgentPrincipal;
use picket_core::time::now_ms;
use picket_core::AppState;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::body::{self, Encoding};
use super::metrics::IngestMetrics;
use super::{alerts, ingest, BatchReport};
use crate::parse::Format;

/// Confirms the token and tells the sensor who it is.
pub async fn hello(agent: AgentPrincipal) -> Json<Value> {
    Json(json!({"agent": agent.agent, "agent_name": agent.name, "tenant_id": agent.tenant_id}))
}

pub async fn eve(
    State(s): State<AppState>,
    agent: AgentPrincipal,
    _: NoQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<BatchReport>, ApiError> {
    batch(&s, &agent, &headers, body, Format::Eve).await
}

pub async fn zeek(
    State(s): State<AppState>,
    agent: AgentPrincipal,
    _: NoQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<BatchReport>, ApiError> {
    batch(&s, &agent, &headers, body, Format::Zeek).await
}

pub async fn syslog(
    State(s): State<AppState>,
    agent: AgentPrincipal,
    _: NoQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<BatchReport>, ApiError> {
    batch(&s, &agent, &headers, body, Format::Syslog).await
}

/// `X-Picket-Spool-Depth: N`, the batches queued on the agent's disk, into its gauge. A value
/// that is not a count is ignored: it is a report, not part of the batch.
fn spool_depth(s: &AppState, agent: &AgentPrincipal, headers: &HeaderMap) {
    let depth = headers
        .get("x-picket-spool-depth")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u32>().ok());
    if let Some(d) = depth {
        IngestMetrics::of(s).spool_depth(&agent.agent, i64::from(d));
    }
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => {
            let key = v.to_str().map_err(|_| {
                ApiError::bad_request("`Idempotency-Key` must be visible ASCII characters")
            })?;
            super::check_key(key)?;
            Ok(Some(key))
        }
    }
}

async fn batch(
    s: &AppState,
    agent: &AgentPrincipal,
    headers: &HeaderMap,
    body: Body,
    format: Format,
) -> Result<Json<BatchReport>, ApiError> {
    spool_depth(s, agent, headers);
    let key = idempotency_key(headers)?;
    let encoding = Encoding::of(headers)?;
    let bytes = body::read(body, encoding, s.config.body_limit_bytes).await?;
    Ok(Json(ingest(s, agent, format, &bytes, key).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PcapQuery {
    /// The sensor's flow id (EVE `flow_id`) of the alert the capture belongs to.
    flow_id: Option<String>,
}

/// The answer to a capture upload.
#[derive(Debug, Serialize)]
pub struct PcapReport {
    pub flow_id: i64,
    /// The alert the capture is now attached to (the flow's first): one id, or none when the
    /// capture waits for its alert or the flow has its capture already.
    pub attached: Vec<i64>,
    /// No alert of that flow yet: the capture waits for one.
    pub pending: bool,
}

/// The pcap (`a1b2c3d4`, `a1b23c4d` in either byte order) and pcapng magic numbers.
fn is_capture(data: &[u8]) -> bool {
    const MAGIC: [[u8; 4]; 5] = [
        [0xd4, 0xc3, 0xb2, 0xa1],
        [0xa1, 0xb2, 0xc3, 0xd4],
        [0x4d, 0x3c, 0xb2, 0xa1],
        [0xa1, 0xb2, 0x3c, 0x4d],
        [0x0a, 0x0d, 0x0d, 0x0a],
    ];
    data.len() >= 24 && MAGIC.iter().any(|m| data[..4] == m[..])
}

/// `POST /api/agent/v1/pcap?flow_id=N`: the capture of the agent's flow `N`, attached to the
/// flow's first alert at once or when that alert arrives.
pub async fn pcap(
    State(s): State<AppState>,
    agent: AgentPrincipal,
    Query(q): Query<PcapQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<PcapReport>, ApiError> {
    spool_depth(&s, &agent, &headers);
    let raw = q
        .flow_id
        .ok_or_else(|| ApiError::bad_request("`flow_id` is required: the alert's EVE flow_id"))?;
    // EVE flow ids are unsigned; one past i64 keeps its bits, as the EVE parser stores it.
    let flow_id = raw
        .trim()
        .parse::<u64>()
        .map(|f| f as i64)
        .or_else(|_| raw.trim().parse::<i64>())
        .map_err(|_| ApiError::bad_request(format!("`flow_id` must be an integer, not `{raw}`")))?;
    let encoding = Encoding::of(&headers)?;
    let data = body::read(body, encoding, s.config.body_limit_bytes).await?;
    if !is_capture(&data) {
        return Err(ApiError::bad_request(
            "the body is not a packet capture (pcap or pcapng)",
        ));
    }
    let mut tx = s.db.begin().await?;
    let (attached, pending) =
        alerts::attach_capture(&mut tx, &s, &agent, flow_id, &data, now_ms()).await?;
    tx.commit().await?;
    Ok(Json(PcapReport {
        flow_id,
        attached,
        pending,
    }))
}
