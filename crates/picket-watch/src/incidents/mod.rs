//! Incidents (`/v1/incidents`): related threats grouped into one operational story, with a
//! timeline of what was linked, unlinked and how the linked threats changed.
//!
//! Analysts create `investigation` (or `aggregate`) incidents and link threats over HTTP
//! ([`handlers`], shapes in [`wire`]); the engine opens and extends `aggregate` incidents
//! itself when related threats cluster ([`auto`] in the engine's transaction, deciding with
//! the pure [`cluster`]). An incident's `started_at` is the earliest `observed_at` of its
//! linked threats, kept current as links change. The timeline ([`activity`]) merges the
//! stored link and unlink items with the linked threats' versions, read through
//! [`crate::threats`]. Every statement on the incident tables is in [`store`].

pub(crate) mod activity;
pub mod auto;
pub mod cluster;
mod handlers;
pub mod store;
pub mod wire;

pub use handlers::touched_notices;
pub use store::TABLES;

use picket_core::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list_incidents, handlers::create_incident))
        .routes(routes!(handlers::get_incident, handlers::patch_incident))
        .routes(routes!(handlers::link_threats))
        .routes(routes!(handlers::unlink_threat))
        .routes(routes!(handlers::incident_activity))
}
