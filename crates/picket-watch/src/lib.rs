#![forbid(unsafe_code)]
//! Monitoring on the `/v1` surface: what a tenant watches and what threatens it. The world
//! events come from `picket-corpus`, which this crate reads and never the other way round.
//! Read in this order:
//!
//! 1. [`assets`]: what a tenant monitors.
//! 2. [`engine`]: the pure core that decides which events threaten which assets.
//! 3. [`evaluation`] and [`scans`]: the jobs that feed the engine and write its decisions;
//!    [`threats`]: what they write, read and triaged over HTTP.
//! 4. [`incidents`]: threats grouped by analysts, or by the engine when they cluster.
//!
//! 5. [`alerts`]: rules that turn threats into alerts, evaluated inside the engine's batches.
//!
//! Reports join here as they land.
//!
//! Data flows one way: handlers → feature modules → their stores → `picket_core`; jobs load
//! data, call the pure engine and write what it decides. No module imports another that
//! imports it back (the `module_graph` unit test checks it from the source).

/// Alert rules and triggered alerts: matching and muting (pure), evaluation in the engine's
/// batches, the backfill after a rule change, and the `/v1/alerts` routes.
pub mod alerts;
/// Assets: the places a tenant monitors, with coordinates and monitoring configuration.
pub mod assets;
/// The threat engine's pure core: matching events to assets, scoring them, and the threat
/// drafts that result. No I/O.
pub mod engine;
/// The engine's jobs: evaluate changed events into threats, expire threats.
pub mod evaluation;
/// Incidents: related threats grouped into one story, by analysts or automatically when they
/// cluster; all incident SQL in `incidents::store`.
pub mod incidents;
/// Checks shared by the list queries (paging, timestamps).
mod query;
/// Scans: on-demand evaluation of a tenant's recent events, its table, job and routes.
pub mod scans;
/// Threats: what the engine concluded, with triage, versions and developments; all threat
/// SQL in `threats::store`.
pub mod threats;

use picket_core::db::schema::Table;
use picket_core::AppState;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

/// Job kinds of monitoring.
pub fn register_jobs(r: &mut picket_core::jobs::JobRegistry) {
    evaluation::register(r);
    scans::register(r);
    alerts::register(r);
    r.every(evaluation::EXPIRE, std::time::Duration::from_secs(300));
    // Safety net: threats catch up with the corpus even if an import's enqueue was lost.
    r.every(
        picket_corpus::EVENTS_CHANGED,
        std::time::Duration::from_secs(60),
    );
}

/// Tables owned by monitoring.
pub fn tables() -> Vec<&'static [Table]> {
    vec![
        assets::TABLES,
        threats::TABLES,
        scans::TABLES,
        evaluation::TABLES,
        incidents::TABLES,
        alerts::TABLES,
    ]
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Picket Events Monitoring API",
        description = "Tenant-scoped assets, threats, incidents, alerts, reports and event intelligence. \
                       Compatible with the Intrace Events Monitoring API; errors are \
                       `{\"error\": {\"code\", \"message\", \"retryable\"}}`."
    ),
    security(("api_key" = []), ("bearer" = [])),
    components(schemas(picket_core::error::EventsErrorBody))
)]
struct ApiDoc;

/// The `/v1` routes and their OpenAPI document.
pub fn router() -> OpenApiRouter<AppState> {
    let mut doc: OpenApiDoc = ApiDoc::openapi();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "api_key",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
    );
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    OpenApiRouter::with_openapi(doc)
        .merge(assets::router())
        .merge(threats::router())
        .merge(scans::router())
        .merge(incidents::router())
        .merge(alerts::router())
        .merge(picket_corpus::router())
        .merge(picket_notify::router())
}
