//! Network alerts (`/api/v1/networkalerts`): list, search, delete, and the capture download.

mod enrich;
mod handlers;
pub(crate) mod store;
pub mod wire;

pub use enrich::is_public_ip;
pub use store::{flow_alerts, FlowAlert};

use chrono_tz::Tz;
use picket_core::db::{DbResult, Tx};
use picket_core::identity::TenantId;
use picket_core::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::listing::route::documented;

/// The tenant's alerts `ids` as the API answers them (device and network names derived from
/// what the transaction sees), for notices sent with the alerts.
pub async fn described(
    tx: &mut Tx,
    tenant: TenantId,
    ids: &[i64],
    tz: Tz,
) -> DbResult<Vec<wire::NetworkAlert>> {
    let rows = store::find_many(tx, tenant, ids).await?;
    let e = enrich::Enricher::load_in(tx, tenant, &rows, tz).await?;
    Ok(rows.iter().map(|r| e.alert(r)).collect())
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list_network_alerts))
        .routes(documented::<handlers::SearchNetworkAlerts, _, _>(
            handlers::list_network_alerts,
        ))
        .routes(routes!(handlers::delete_network_alert))
        .routes(routes!(handlers::network_alert_pcap))
}
