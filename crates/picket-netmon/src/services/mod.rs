//! Services (`/api/v1/services`): the ip:port/proto responders sensors discover, grouped by IP,
//! and the policy that says which of them are authorized — allowed-service entries (an address,
//! block or `*` with a port and protocol) minus exclude rules. `authorized` and `name` are
//! computed on every read, never stored. Sensor ingest records services through
//! [`observe_service`].

mod handlers;
mod policy;
mod policy_handlers;
mod policy_store;
pub mod policy_wire;
mod schema;
mod store;
mod view;
pub mod wire;

pub use schema::TABLES;
pub use store::{
    observe_service, observe_services, CreatedService, ObservedService, ServiceSighting,
};
pub use wire::Proto;

use picket_core::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::listing::route::documented;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list_services, handlers::create_service))
        .routes(documented::<handlers::SearchServices, _, _>(
            handlers::list_services,
        ))
        .routes(routes!(handlers::patch_service, handlers::delete_service))
        .routes(documented::<handlers::PutService, _, _>(
            handlers::patch_service,
        ))
        .routes(routes!(handlers::authorize_service))
        .routes(routes!(policy_handlers::authorize_fields))
        .routes(routes!(policy_handlers::list_allowed))
        .routes(routes!(policy_handlers::delete_allowed))
        .routes(routes!(
            policy_handlers::list_excludes,
            policy_handlers::create_exclude
        ))
        .routes(routes!(policy_handlers::delete_exclude))
}
