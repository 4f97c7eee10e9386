#![forbid(unsafe_code)]
//! The Network Monitoring API (`/api/v1`); sensor ingest, which fills it, is `picket-sensor`.
//! Read in order:

/// `GET /api/v1/about`: version, memory, database figures and schema health.
pub mod about;
/// Addresses at the edge: MAC normalisation and vendor, IP sort keys, canonical CIDRs.
pub mod addr;
/// `/api/v1/networkalerts` and `/api/v1/serveralerts`: detections, their captures, search.
pub mod alerts;
/// Time in and out of this surface: `YYYY-MM-DD HH:MM:SS` in the configured timezone.
pub mod clock;
/// `/api/v1/data`: export as a streamed ZIP of CSVs, delete by filter, 15-minute aggregates.
pub mod data;
/// The stored datasets: network and server alerts, captures, DNS/TCP/DHCP/HTTP metadata.
pub mod datasets;
/// `/api/v1/devices`: devices seen by sensors, with names derived from networks.
pub mod devices;
/// Synthetic data in volume for benchmarks (`picket admin generate network`).
pub mod generate;
/// The list and search conventions shared by every resource: paging, sorting, matching.
pub mod listing;
/// `/api/v1/networks`: the tenant's CIDR blocks, gateways and new-device alert levels.
pub mod networks;
/// `/api/v1/services`: discovered services grouped by IP, allowed services and exclude rules.
pub mod services;

use picket_core::db::schema::Table;
use picket_core::AppState;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

/// Tables owned by this slice.
/// Tables whose rows are counted in `row_counts` (see `picket_core::db::counts`).
pub fn counted() -> Vec<&'static [picket_core::db::counts::Counted]> {
    vec![datasets::COUNTED]
}

/// The datasets partitioned by day on PostgreSQL.
pub fn partitioned() -> Vec<&'static [picket_core::db::partitions::Partitioned]> {
    vec![datasets::PARTITIONED]
}

pub fn tables() -> Vec<&'static [Table]> {
    vec![
        datasets::TABLES,
        data::TABLES,
        networks::TABLES,
        devices::TABLES,
        services::TABLES,
    ]
}

/// Slice state kept in the app state.
pub fn extensions(ext: &mut axum::http::Extensions) {
    ext.insert(about::SizeCache::default());
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Picket Network Monitoring API",
        description = "Devices, networks, network and server alerts, services and metadata datasets. \
                       Compatible with the Intrudect Public API; errors are `{\"error\": \"…\"}`; \
                       times are `YYYY-MM-DD HH:MM:SS` in the server's configured timezone."
    ),
    security(("bearer" = [])),
    components(schemas(picket_core::error::NetworkErrorBody))
)]
struct ApiDoc;

/// The `/api/v1` routes and their OpenAPI document.
pub fn router() -> OpenApiRouter<AppState> {
    let mut doc = ApiDoc::openapi();
    doc.components
        .get_or_insert_with(Default::default)
        .add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    OpenApiRouter::with_openapi(doc)
        .merge(about::router())
        .merge(alerts::router())
        .merge(devices::router())
        .merge(networks::router())
        .merge(services::router())
        .merge(data::router())
}
