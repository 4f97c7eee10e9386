//! Detections over an ingest batch (§10.3): port scans, Tor relays, MISP indicators, the
//! syslog rule pack and brute force. (`new_device` and `new_service` are found where devices
//! and services are derived, in the batch writer.) They run inside the batch's transaction,
//! so an alert exists exactly when the rows it was found in do.

use picket_core::db::{DbResult, Tx};
use picket_core::identity::AgentPrincipal;
use picket_core::AppState;
use picket_netmon::alerts::{NewNetworkAlert, NewServerAlert};

use crate::record::Record;

/// State kept between batches (windows of the port-scan and brute-force detections).
pub fn extensions(ext: &mut axum::http::Extensions) {
    let _ = ext;
}

/// What the detections found in one batch; the batch writer stores them with it.
#[derive(Debug, Default)]
pub struct Found {
    pub network: Vec<NewNetworkAlert>,
    pub server: Vec<NewServerAlert>,
}

/// Runs every detection over `records` of one batch from `agent`.
pub async fn run(
    tx: &mut Tx,
    state: &AppState,
    agent: &AgentPrincipal,
    records: &[Record],
) -> DbResult<Found> {
    let _ = (tx, state, agent, records);
    Ok(Found::default())
}
