//! Scans (`POST /v1/threats/scan`, `GET /v1/threats/scans/{scan_id}`): on-demand evaluation
//! of one tenant's recent events against all or some of its assets, run as an `engine.scan`
//! job and tracked on a scan row: queued → running → done | failed. Asset changes start scans
//! of the changed assets through a job of their own ([`crate::assets::CHANGED`]).
//!
//! [`handlers`] answer the routes, [`store`] holds the scan table, [`job`] runs scans through
//! the engine's evaluation step ([`crate::evaluation`]).

mod handlers;
mod job;
pub mod store;
pub mod wire;

pub use store::TABLES;

use picket_core::jobs::JobRegistry;
use picket_core::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The job that runs one scan.
pub const SCAN: &str = "engine.scan";

pub fn register(r: &mut JobRegistry) {
    r.register(SCAN, |s, p| async move { job::run(&s, &p).await });
    r.register(crate::assets::CHANGED, |s, p| async move {
        job::assets_changed(&s, &p).await
    });
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::start_scan))
        .routes(routes!(handlers::scan_status))
}
