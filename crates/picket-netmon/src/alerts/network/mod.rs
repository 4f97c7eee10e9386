//! Network alerts (`/api/v1/networkalerts`): list, search, delete, and the capture download.

mod enrich;
mod handlers;
pub(crate) mod store;
pub mod wire;

pub use enrich::is_public_ip;

use picket_core::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::listing::route::documented;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list_network_alerts))
        .routes(documented::<handlers::SearchNetworkAlerts, _, _>(
            handlers::list_network_alerts,
        ))
        .routes(routes!(handlers::delete_network_alert))
        .routes(routes!(handlers::network_alert_pcap))
}
