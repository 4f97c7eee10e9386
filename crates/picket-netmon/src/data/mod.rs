//! Data management (§8): export datasets as a streamed ZIP of CSVs, delete rows by filter, and
//! the 15-minute DNS/TCP aggregates those deletes (and the generator) keep rebuilt.

pub mod aggregates;
mod delete;
mod export;
pub mod filters;
pub mod sets;

pub use aggregates::TABLES;
pub use delete::{delete_rows, DeleteBody, DeleteResult};
pub use export::ExportBody;

use picket_core::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::listing::route::documented;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export::export))
        .routes(routes!(delete::post_delete))
        .routes(documented::<delete::DeleteData, _, _>(delete::post_delete))
}
