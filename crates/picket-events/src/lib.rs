#![forbid(unsafe_code)]
//! The Events Monitoring API (`/v1`). Read in this order:

/// Assets: the places a tenant monitors, with coordinates and monitoring configuration.
pub mod assets;
/// The world-event corpus: storage, importers of public feeds, and `/v1/events`.
pub mod corpus;
/// The threat engine's pure core: matching events to assets and scoring them.
pub mod engine;
/// Polled event feeds: fetch configured URLs when due and import them like files.
pub mod feeds;
mod grid;
/// The one event taxonomy: categories with their default radius and maximum age.
pub mod taxonomy;
/// Threats: what the engine concluded, with triage, versions and developments.
pub mod threats;

use picket_core::db::schema::Table;
use picket_core::AppState;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

/// Job kinds of this slice.
pub fn register_jobs(r: &mut picket_core::jobs::JobRegistry) {
    engine::run::register(r);
    feeds::register(r);
    r.every(engine::run::EXPIRE, std::time::Duration::from_secs(300));
    // Safety net: threats catch up with the corpus even if an import's enqueue was lost.
    r.every(engine::run::EVALUATE, std::time::Duration::from_secs(60));
}

/// Tables owned by this slice.
pub fn tables() -> Vec<&'static [Table]> {
    vec![
        assets::TABLES,
        corpus::TABLES,
        threats::TABLES,
        engine::scans::TABLES,
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
        .merge(corpus::router())
}
