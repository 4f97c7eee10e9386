#![forbid(unsafe_code)]
//! Sensor ingest (`/api/agent/v1`): what sensors report becomes the network surface's rows.
//! Read in order:
//!
//! 1. [`record`]: one sensor observation, whatever the sensor (EVE, Zeek, syslog).
//! 2. [`parse`]: lines of each sensor format into records, one error per bad line.
//! 3. [`ingest`]: the HTTP endpoints, body decoding and limits, idempotent batches, and the
//!    batch writer (datasets, devices, services, live aggregates, detections' alerts).
//! 4. [`detect`]: detections over a batch (port scan, Tor, MISP, syslog rules, brute force).
//! 5. [`intel`]: Tor relay and MISP indicator lists, imported from files or polled.
//! 6. [`retention`]: the background pruning of old rows.
//! 7. [`listener`]: the server's own syslog listener (UDP, TCP with RFC 6587 framing).

pub mod detect;
pub mod ingest;
pub mod intel;
pub mod listener;
pub mod parse;
pub mod record;
pub mod retention;

use picket_core::db::schema::Table;
use picket_core::jobs::JobRegistry;
use picket_core::AppState;

/// Tables owned by this slice.
pub fn tables() -> Vec<&'static [Table]> {
    vec![ingest::TABLES, intel::TABLES]
}

/// Slice state kept in the app state (detection windows, About's intel hook).
pub fn extensions(ext: &mut axum::http::Extensions) {
    ext.insert(std::sync::Arc::new(
        ingest::metrics::IngestMetrics::default(),
    ));
    detect::extensions(ext);
    intel::extensions(ext);
}

/// Registers the slice's metrics with the server's registry, so `/metrics` shows them from
/// the start (they would otherwise appear with the first batch).
pub fn register_metrics(state: &AppState) {
    ingest::metrics::IngestMetrics::of(state);
}

/// Job kinds: retention, intel polling.
pub fn register_jobs(r: &mut JobRegistry) {
    retention::register_jobs(r);
    intel::register_jobs(r);
}

/// The ingest routes (agent tokens only; not part of either public document).
pub fn router() -> axum::Router<AppState> {
    ingest::router()
}
