//! HTTP plumbing shared by both surfaces: the middleware stack every request passes through,
//! request tracing, metrics, and the operations endpoints.

pub mod metrics;
pub mod ops;

use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tower_http::CompressionLevel;
use tracing::field::Empty;

use crate::error::{render_errors, route_not_found};
use crate::AppState;

fn is_ops_path(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
}

fn route_of(req: &Request) -> String {
    req.extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string())
}

/// Records request count and latency by route template (never the raw path: ids would explode
/// the label set).
async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_string();
    let route = route_of(&req);
    let res = next.run(req).await;
    state
        .metrics
        .observe_request(&method, &route, res.status().as_u16(), started.elapsed());
    res
}

/// Wraps the composed routes with the stack every request passes through, outermost first:
/// trace span → compression → error rendering per surface → metrics → timeout → panic catcher
/// → body limit. Unknown routes fall back to a 404 in the surface's shape.
pub fn finish(router: Router<AppState>, state: AppState) -> Router {
    let body_limit = state.config.body_limit_bytes;
    let timeout = state.config.request_timeout();
    router
        .merge(ops::router())
        .fallback(route_not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(CatchPanicLayer::new())
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .layer(middleware::from_fn(render_errors))
        // Fastest gzip: deflate at the default level cost more CPU than building a page of
        // threats; level 1 still shrinks JSON several-fold.
        .layer(CompressionLayer::new().quality(CompressionLevel::Fastest))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let route = route_of(req);
                    if is_ops_path(req.uri().path()) {
                        tracing::debug_span!("request", method = %req.method(), route, tenant = Empty, status = Empty, latency_ms = Empty)
                    } else {
                        tracing::info_span!("request", method = %req.method(), route, tenant = Empty, status = Empty, latency_ms = Empty)
                    }
                })
                .on_request(())
                .on_response(|res: &Response, latency: std::time::Duration, span: &tracing::Span| {
                    span.record("status", res.status().as_u16());
                    span.record("latency_ms", latency.as_secs_f64() * 1000.0);
                    // Operations probes (debug spans, usually filtered out) log at debug.
                    if span.metadata().is_some_and(|m| *m.level() == tracing::Level::INFO) {
                        tracing::info!("response");
                    } else {
                        tracing::debug!("response");
                    }
                }),
        )
        .with_state(state)
}
