//! Threat intelligence (§10.4): Tor relay addresses and MISP indicators, imported from files
//! (`picket import intel`) or polled from URLs (`[[intel]]`).

use picket_core::db::schema::Table;
use picket_core::jobs::JobRegistry;

pub const TABLES: &[Table] = &[];

pub fn register_jobs(r: &mut JobRegistry) {
    let _ = r;
}
