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
/// The id newtypes (tenant, user, API key, agent).
pub mod ids;
/// The durable job queue and its workers.
pub mod jobs;
/// Time as stored (Unix ms) and as shown.
pub mod time;

pub use error::{ApiError, ResultExt, Surface};

use db::schema::Table;

/// Tables owned by the core (identity and jobs).
pub fn tables() -> Vec<&'static [Table]> {
    vec![
        identity::store::TABLES,
        jobs::TABLES,
        db::counts::TABLES,
        db::generation::TABLES,
    ]
}

// The state every handler and job receives, at the crate root: every module uses it, and
// it holds what several of them define (configuration, database, job registry, metrics).
use crate::config::Config;
use crate::db::{Db, Schema};
use crate::http::metrics::Metrics;
use crate::identity::rate::RateLimiter;
use crate::jobs::{JobRegistry, NewJob};
use std::ops::Deref;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Notify;

/// The application state handed to every handler and job: configuration, database, schema,
/// metrics, job registry. Built once at start (tests build their own), never global.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    /// `config.timezone`, parsed once (config load has refused names that do not parse).
    pub tz: chrono_tz::Tz,
    pub db: Db,
    pub schema: Schema,
    pub metrics: Metrics,
    pub jobs: JobRegistry,
    /// Wakes idle in-process workers when a job is enqueued here.
    pub job_signal: Notify,
    pub rate: RateLimiter,
    pub started: Instant,
    /// Slice-specific shared state (caches, indexes), keyed by type.
    pub ext: axum::http::Extensions,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(
        config: Config,
        db: Db,
        schema: Schema,
        jobs: JobRegistry,
        ext: axum::http::Extensions,
    ) -> AppState {
        AppState(Arc::new(Inner {
            rate: RateLimiter::new(&config.rate_limit),
            metrics: Metrics::new(),
            tz: config.tz(),
            config,
            db,
            schema,
            jobs,
            job_signal: Notify::new(),
            started: Instant::now(),
            ext,
        }))
    }

    /// Enqueues a job and wakes a local worker.
    pub async fn enqueue(&self, job: &NewJob) -> crate::db::DbResult<Option<i64>> {
        let id = crate::jobs::enqueue(&self.db, job).await?;
        self.job_signal.notify_one();
        Ok(id)
    }

    /// Slice state inserted at build time; panics only on a wiring mistake caught by any test.
    pub fn ext<T: Send + Sync + 'static>(&self) -> &T {
        self.ext
            .get::<T>()
            .unwrap_or_else(|| panic!("{} missing from the app state", std::any::type_name::<T>()))
    }
}
