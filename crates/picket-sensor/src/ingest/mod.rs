//! `/api/agent/v1`: the ingest endpoints (agent tokens only), their body decoding and limits,
//! idempotent batches, and the batch writer.

use axum::routing::get;
use axum::Router;
use picket_core::db::schema::Table;
use picket_core::error::ApiError;
use picket_core::extract::Json;
use picket_core::identity::AgentPrincipal;
use picket_core::AppState;
use serde::Serialize;
use serde_json::{json, Value};

use crate::parse::Format;

/// Tables of the ingest path (batch ids for idempotency, pending captures).
pub const TABLES: &[Table] = &[];

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
    let _ = (state, agent, format, body, idempotency_key);
    Err(ApiError::internal(anyhow::anyhow!("not yet implemented")))
}

pub fn router() -> Router<AppState> {
    Router::new().route("/api/agent/v1/hello", get(hello))
}

/// Confirms the token and tells the sensor who it is.
async fn hello(agent: AgentPrincipal) -> Json<Value> {
    Json(json!({"agent": agent.agent, "agent_name": agent.name, "tenant_id": agent.tenant_id}))
}
