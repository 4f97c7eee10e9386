#![forbid(unsafe_code)]
//! Infrastructure every Picket slice stands on. Read in this order:

/// Configuration layers: defaults → `picket.toml` → `PICKET_*` → flags.
pub mod config;
/// The database handle over SQLite and PostgreSQL, the declared schema, migrations,
/// `schema_health`, and catalog statistics.
pub mod db;
/// The error policy and per-surface error rendering.
pub mod error;
/// Extractors that turn bad input into precise 400s.
pub mod extract;
/// Middleware stack, tracing, metrics and the operations endpoints.
pub mod http;
/// Tenants, users, permissions, API keys, agent tokens, and the auth extractors.
pub mod identity;
/// The durable job queue and its workers.
pub mod jobs;
/// The state every handler and job receives.
pub mod state;
/// Time as stored (Unix ms) and as shown.
pub mod time;

pub use error::{ApiError, ResultExt, Surface};
pub use state::AppState;

use db::schema::Table;

/// Tables owned by the core (identity and jobs).
pub fn tables() -> Vec<&'static [Table]> {
    vec![identity::store::TABLES, jobs::TABLES]
}
