//! Sensor ingest under `/api/agent/v1`, reachable only with agent tokens. The EVE, Zeek and
//! syslog endpoints arrive with the ingest work; `hello` lets a sensor check its token.

use axum::routing::get;
use axum::Router;
use picket_core::extract::Json;
use picket_core::identity::AgentPrincipal;
use picket_core::AppState;
use serde_json::{json, Value};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/agent/v1/hello", get(hello))
}

/// Confirms the token and tells the sensor who it is.
async fn hello(agent: AgentPrincipal) -> Json<Value> {
    Json(json!({"agent": agent.agent, "agent_name": agent.name, "tenant_id": agent.tenant_id}))
}
