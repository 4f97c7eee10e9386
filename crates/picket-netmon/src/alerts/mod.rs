//! Network alerts (`/api/v1/networkalerts`) and server alerts (`/api/v1/serveralerts`): list,
//! search and delete, plus the capture of a network alert. Alerts are written by detections
//! through [`insert_network_alert`], [`insert_pcap`] and [`insert_server_alert`]; the API only
//! reads and deletes them.
//!
//! How the filters meet the indexes (declared with the tables in [`crate::datasets`]): every
//! query is scoped by `tenant_id`, and every index leads with it. Filters whose values have one
//! stored spelling — IP addresses (canonical text), MAC addresses (upper-case colon form),
//! agent hashes and types (lower case), levels and ports — compare the column directly, so
//! their `(tenant_id, column, …)` index serves them. Free-text filters (hostnames, titles,
//! subjects, `search`, wildcard patterns) are case-insensitive `LOWER(col) LIKE`, which no
//! plain index can serve; they are evaluated on the rows the tenant, time range and the
//! exact filters select. `search` first narrows the rows through the tables' trigram
//! indexes ([`crate::listing::matching::text_prefilter`]), and the same LIKE decides. Every sort but the log line / message reads an index, and the
//! sorts name `ts` before the final `id` tiebreaker so that the `(tenant_id, field, ts)`
//! indexes deliver rows already in order.

pub(crate) mod filters;
pub mod network;
pub mod server;

/// The stores' searches, for tests that compare the text index with LIKE alone
/// ([`crate::listing::matching::TextPath`]).
pub use network::store::search as search_network_alerts;
pub use network::store::{
    insert_network_alert, insert_network_alerts, insert_pcap, InsertedAlert, NewNetworkAlert,
};
pub use server::store::search as search_server_alerts;
pub use server::store::{
    insert_server_alert, insert_server_alerts, NewServerAlert, ServerAlertRow,
};

use picket_core::AppState;
use utoipa_axum::router::OpenApiRouter;

pub fn router() -> OpenApiRouter<AppState> {
    network::router().merge(server::router())
}
