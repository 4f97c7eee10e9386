//! Assets (`/v1/assets`): list, bulk upsert, create, get, patch, delete.
//!
//! An asset is addressed by its server `id` (UUID) or the client's `asset_id`; the uuid is tried
//! first. Input is parsed into [`wire::AssetInput`] and validated into [`wire::AssetData`] before
//! anything is written; a bulk upsert with one bad item writes nothing.

mod handlers;
pub mod store;
pub mod wire;

pub use store::{AssetRow, TABLES};

use picket_core::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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
