//! Operations endpoints outside both API surfaces: `/healthz`, `/readyz`, `/metrics`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde_json::json;

use crate::db::migrate::applied_fingerprint;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// The process is up and serving.
async fn healthz() -> impl IntoResponse {
    axum::Json(json!({"status": "ok"}))
}

/// The database answers and carries the schema this binary declares.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let expected = state.schema.fingerprint();
    let not_ready = |reason: String| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "unavailable", "reason": reason})),
        )
    };
    if let Err(e) = state.db.ping().await {
        tracing::warn!(error = %e, "readiness: database unreachable");
        return not_ready("database unreachable".into());
    }
    // Lists and searches read the replica: one that is down, or has not replayed this
    // build's migrations yet, would fail them.
    if state.db.has_replica() {
        match applied_fingerprint(state.db.reader()).await {
            Ok(Some(f)) if f == expected => {}
            Ok(_) => {
                return not_ready("the read replica does not carry this build's schema yet".into())
            }
            Err(e) => {
                tracing::warn!(error = %e, "readiness: read replica unreachable");
                return not_ready("read replica unreachable".into());
            }
        }
    }
    match applied_fingerprint(&state.db).await {
        Ok(Some(f)) if f == expected => (
            StatusCode::OK,
            axum::Json(json!({"status": "ready", "schema": f})),
        ),
        Ok(Some(f)) => not_ready(format!(
            "database schema {f} differs from this build's {expected}; run `picket migrate`"
        )),
        Ok(None) => not_ready("database is not migrated; run `picket migrate`".into()),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: schema check failed");
            not_ready("schema check failed".into())
        }
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let counts = match crate::jobs::counts(&state.db).await {
        Ok(c) => c.into_iter().map(|c| (c.status, c.n)).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: job counts unavailable");
            Vec::new()
        }
    };
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(&counts),
    )
}
