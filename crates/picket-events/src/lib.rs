#![forbid(unsafe_code)]
//! The Events Monitoring API (`/v1`). Read in this order:
//!
//! 1. [`taxonomy`] and `grid`: the pure vocabulary everything shares (categories, severities,
//!    distances, grid cells).
//! 2. [`assets`]: what a tenant monitors.
//! 3. [`corpus`] and [`feeds`]: the world events, imported, pushed and polled.
//! 4. [`engine`]: the pure core that decides which events threaten which assets.
//! 5. [`evaluation`] and [`scans`]: the jobs that feed the engine and write its decisions;
//!    [`threats`]: what they write, read and triaged over HTTP.
//!
//! Data flows one way: handlers → feature modules → their stores → `picket_core`; jobs load
//! data, call the pure engine and write what it decides. No module imports another that
//! imports it back (the `module_graph` unit test checks it from the source).

/// Assets: the places a tenant monitors, with coordinates and monitoring configuration.
pub mod assets;
/// The world-event corpus: storage, importers of public feeds, and `/v1/events`; a change
/// feed for the engine's jobs.
pub mod corpus;
/// The threat engine's pure core: matching events to assets, scoring them, and the threat
/// drafts that result. No I/O.
pub mod engine;
/// The engine's jobs: evaluate changed events into threats, expire threats.
pub mod evaluation;
/// Polled event feeds: fetch configured URLs when due and import them like files.
pub mod feeds;
/// Distances on the sphere and the fixed grids that index points by cell (pure).
mod grid;
#[cfg(test)]
mod module_graph;
/// Scans: on-demand evaluation of a tenant's recent events, its table, job and routes.
pub mod scans;
/// The one event taxonomy: categories with their default radius and maximum age.
pub mod taxonomy;
/// Threats: what the engine concluded, with triage, versions and developments; all threat
/// SQL in `threats::store`.
pub mod threats;

use picket_core::db::schema::Table;
use picket_core::AppState;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

/// Job kinds of this slice.
pub fn register_jobs(r: &mut picket_core::jobs::JobRegistry) {
    evaluation::register(r);
    scans::register(r);
    feeds::register(r);
    r.every(evaluation::EXPIRE, std::time::Duration::from_secs(300));
    // Safety net: threats catch up with the corpus even if an import's enqueue was lost.
    r.every(corpus::EVENTS_CHANGED, std::time::Duration::from_secs(60));
}

/// Tables owned by this slice.
pub fn tables() -> Vec<&'static [Table]> {
    vec![
        assets::TABLES,
        corpus::TABLES,
        threats::TABLES,
        scans::TABLES,
        evaluation::TABLES,
        feeds::TABLES,
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
        .merge(corpus::router())
}
