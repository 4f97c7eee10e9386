//! Assets (`/v1/assets`): list, bulk upsert, create, get, patch, delete.
//!
//! An asset is addressed by its server `id` (UUID) or the client's `asset_id`; the uuid is tried
//! first. Input is parsed into [`wire::AssetInput`] and validated into [`wire::AssetData`] before
//! anything is written; a bulk upsert with one bad item writes nothing.
//!
//! A write that adds or changes monitorable assets enqueues [`CHANGED`] in its transaction;
//! [`crate::scans`] runs it, so a new or moved asset sees the threats already around it.

mod handlers;
pub mod store;
pub mod wire;

pub use store::{AssetRow, TABLES};

use picket_core::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The job an asset write enqueues for the monitorable assets it changed:
/// `{"tenant_id", "asset_ids" (server ids), "lookback_hours"}`.
pub const CHANGED: &str = "assets.changed";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            handlers::list_assets,
            handlers::upsert_assets,
            handlers::create_asset
        ))
        .routes(routes!(
            handlers::get_asset,
            handlers::patch_asset,
            handlers::delete_asset
        ))
}
