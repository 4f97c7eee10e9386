//! Networks (`/api/v1/networks`): list, search, create, update, delete. A network names a CIDR
//! block of the tenant, its gateway and the level of new-device alerts on it; devices derive
//! their `network` and `is_gateway` from these rows.

mod handlers;
pub(crate) mod store;
pub mod wire;

pub use store::{all, all_in, NetworkRow, TABLES};

use picket_core::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::listing::route::documented;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list_networks, handlers::create_network))
        .routes(documented::<handlers::SearchNetworks, _, _>(
            handlers::list_networks,
        ))
        .routes(routes!(handlers::patch_network, handlers::delete_network))
        .routes(documented::<handlers::PutNetwork, _, _>(
            handlers::patch_network,
        ))
}
