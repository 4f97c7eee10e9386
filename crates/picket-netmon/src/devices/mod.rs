//! Devices (`/api/v1/devices`): list, search and rename. Devices are created by sensor ingest
//! through [`observe_device`]; the API only reads them and edits their names.

pub(crate) mod derive;
mod handlers;
pub(crate) mod store;
pub mod wire;

pub use store::{
    create_missing, observe_device, observe_devices, DeviceRow, DeviceSighting, TABLES,
};

use picket_core::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::listing::route::documented;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list_devices))
        .routes(documented::<handlers::SearchDevices, _, _>(
            handlers::list_devices,
        ))
        .routes(routes!(handlers::patch_device))
        .routes(documented::<handlers::PutDevice, _, _>(
            handlers::patch_device,
        ))
}
