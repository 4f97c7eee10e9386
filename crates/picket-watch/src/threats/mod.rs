//! Threats (`/v1/threats`): evaluated, asset-relevant records — one per (tenant, event) — with
//! their affected assets (nearest first), scores and rationales, version history and
//! developments.
//!
//! The engine's jobs write threats through [`writer`]; handlers ([`handlers`], with the list
//! query checked in [`filter`]) only read them and apply analysts' triage (status, pinning).
//! A dismissed threat stays dismissed and a pinned one stays pinned when its event updates.
//! Every statement on the threat tables is in [`store`].

mod filter;
mod handlers;
pub(crate) mod history;
pub mod store;
pub mod wire;
pub mod writer;

pub use store::{COUNTED, TABLES};

use picket_core::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list_threats))
        .routes(routes!(handlers::get_threat, handlers::patch_threat))
        .routes(routes!(handlers::threat_versions))
        .routes(routes!(handlers::threat_developments))
}
