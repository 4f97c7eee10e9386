//! Server alerts (`/api/v1/serveralerts`): syslog detections; list, search, delete.

mod handlers;
pub(crate) mod store;
pub mod wire;

use picket_core::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::listing::route::documented;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list_server_alerts))
        .routes(documented::<handlers::SearchServerAlerts, _, _>(
            handlers::list_server_alerts,
        ))
        .routes(routes!(handlers::delete_server_alert))
}
