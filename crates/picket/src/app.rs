//! The application: one state, both surfaces' routers, the operations endpoints, and the
//! background workers, built from a [`Config`]. Tests build it on port 0 and drive it over HTTP.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use picket_core::config::Config;
use picket_core::db::migrate::{migrate, MigrationReport};
use picket_core::db::{ConnectOptions, Db, Schema};
use picket_core::identity::store;
use picket_core::jobs::{spawn_workers, JobRegistry, WorkerHandle};
use picket_core::AppState;
use picket_sensor::listener::{Listener as SyslogListener, Transport};
use tokio::net::TcpListener;

/// The whole declared schema, core tables first (others reference tenants).
pub fn schema() -> Schema {
    let mut parts = picket_core::tables();
    parts.extend(picket_corpus::tables());
    parts.extend(picket_watch::tables());
    parts.extend(picket_netmon::tables());
    parts.extend(picket_notify::tables());
    parts.extend(picket_sensor::tables());
    let mut counted = picket_watch::counted();
    counted.extend(picket_netmon::counted());
    Schema::new(&parts)
        .counting(&counted)
        .watching(&picket_watch::watched())
        .partitioning(&picket_netmon::partitioned())
}

/// Job kinds of every slice, and the periodic ones.
pub fn job_registry() -> JobRegistry {
    let mut r = JobRegistry::new();
    picket_corpus::register_jobs(&mut r);
    picket_watch::register_jobs(&mut r);
    picket_notify::register_jobs(&mut r);
    picket_sensor::register_jobs(&mut r);
    r.register(DB_STATISTICS, |s, _| async move {
        picket_core::db::stats::refresh_planner_statistics(&s.db)
            .await
            .map_err(Into::into)
    });
    r.every(DB_STATISTICS, std::time::Duration::from_secs(3600));
    r
}

/// Hourly: fresh planner statistics, so queries keep their plans as tables grow.
pub const DB_STATISTICS: &str = "db.statistics";

/// Knobs for embedding the application (tests, the worker command).
#[derive(Debug, Default)]
pub struct BuildOptions {
    /// Replaces the job registry (tests register their own kinds).
    pub jobs: Option<JobRegistry>,
    /// Start the configured number of in-process workers.
    pub start_workers: bool,
}

/// Opens the database and builds the state (no migrations, no listener).
pub async fn open_state(config: Config, jobs: JobRegistry) -> anyhow::Result<AppState> {
    picket_corpus::feeds::check_config(&config.feeds).map_err(anyhow::Error::msg)?;
    picket_sensor::intel::check_config(&config.intel).map_err(anyhow::Error::msg)?;
    if config.database_url.is_empty() {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!("cannot create data directory {}", config.data_dir.display())
        })?;
    }
    let opts = ConnectOptions {
        url: config.database_url(),
        max_connections: config.database_max_connections,
    };
    let mut db = Db::connect(&opts)
        .await
        .with_context(|| format!("cannot open database {}", config.redacted_database_url()))?;
    if let Some(label) = config.redacted_database_read_url() {
        let replica = ConnectOptions {
            url: config.database_read_url.clone(),
            ..opts
        };
        let replica = Db::connect(&replica)
            .await
            .with_context(|| format!("cannot open the read replica {label}"))?;
        db = db.with_reader(replica)?;
    }
    let mut ext = axum::http::Extensions::new();
    picket_corpus::extensions(&mut ext);
    picket_netmon::extensions(&mut ext);
    picket_sensor::extensions(&mut ext);
    let state = AppState::new(config, db, schema(), jobs, ext);
    picket_sensor::register_metrics(&state);
    Ok(state)
}

/// Applies migrations to the state's database.
pub async fn migrate_state(state: &AppState) -> anyhow::Result<MigrationReport> {
    migrate(&state.db, &state.schema)
        .await
        .context("migration failed")
}

/// Jobs a starting server or worker process queues at once rather than a period later: the
/// week partitions of today and the next days on PostgreSQL (deduplicated, so processes that
/// start together queue it once).
pub async fn enqueue_start_jobs(state: &AppState) -> anyhow::Result<()> {
    if state.db.backend() == picket_core::db::Backend::Postgres {
        picket_core::jobs::enqueue(&state.db, &picket_sensor::retention::partitions_job())
            .await
            .context("cannot queue the partition job")?;
    }
    Ok(())
}

/// The composed router: both surfaces, their OpenAPI documents, sensor ingest, the web console
/// (`/` and `/assets/…`), operations.
pub fn router(state: AppState) -> Router {
    let (events, events_doc) = picket_watch::router().split_for_parts();
    let (network, network_doc) = picket_netmon::router().split_for_parts();
    // Rendered once, held as shared bytes: a handler is cloned with the router for every
    // connection, and a document tree held by value was deep-copied each time.
    let json = |doc: &utoipa::openapi::OpenApi| {
        let body = axum::body::Bytes::from(serde_json::to_vec(doc).unwrap_or_default());
        get(move || {
            let body = body.clone();
            std::future::ready(
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    body,
                )
                    .into_response(),
            )
        })
    };
    let docs = Router::new()
        .route("/v1/openapi.json", json(&events_doc))
        .route("/api/v1/openapi.json", json(&network_doc));
    let routes = events
        .merge(network)
        .merge(picket_sensor::router())
        .merge(docs)
        .merge(picket_console::router());
    picket_core::http::finish(routes, state)
}

/// The events and network OpenAPI documents, as served.
pub fn openapi_documents() -> (utoipa::openapi::OpenApi, utoipa::openapi::OpenApi) {
    (
        picket_watch::router().split_for_parts().1,
        picket_netmon::router().split_for_parts().1,
    )
}

/// A bound, migrated, bootstrapped server, ready to run.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    workers: Option<WorkerHandle>,
    admin_key: Option<String>,
    syslog: Option<SyslogListener>,
}

impl Application {
    /// Opens and migrates the database, bootstraps the first tenant on an empty one, binds the
    /// listener (port 0 picks a free port) and the syslog listener when one is configured, and
    /// starts workers if asked.
    pub async fn build(config: Config, opts: BuildOptions) -> anyhow::Result<Application> {
        let listen = config.listen;
        let state = open_state(config, opts.jobs.unwrap_or_else(job_registry)).await?;
        migrate_state(&state).await?;
        let admin_key = store::bootstrap(&state.db)
            .await
            .context("first-start bootstrap failed")?;
        if let Some(key) = &admin_key {
            write_admin_key(&state.config.data_dir, key)?;
        }
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let syslog = picket_sensor::listener::start(&state)
            .await
            .context("syslog listener")?;
        let workers = (opts.start_workers && state.config.workers > 0)
            .then(|| spawn_workers(&state, state.config.workers, &worker_prefix()));
        Ok(Application {
            listener,
            state,
            workers,
            admin_key,
            syslog,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The syslog listener's bound address of `transport`, when it listens on one.
    pub fn syslog_addr(&self, transport: Transport) -> Option<SocketAddr> {
        self.syslog.as_ref()?.local_addr(transport)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The admin key created on this start, if this start bootstrapped the database.
    pub fn admin_key(&self) -> Option<&str> {
        self.admin_key.as_deref()
    }

    /// Serves until `shutdown` resolves, lets in-flight requests finish, stores what the
    /// syslog listener received, then stops the workers (a job still running after the grace
    /// period is re-queued).
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let app = router(self.state.clone());
        axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .context("server error")?;
        if let Some(l) = self.syslog {
            l.shutdown().await;
        }
        if let Some(w) = self.workers {
            w.shutdown(Duration::from_secs(30)).await;
        }
        self.state.db.close().await;
        Ok(())
    }
}

/// A worker-name prefix unique to this process, so one process never releases another's jobs.
pub fn worker_prefix() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        &picket_core::identity::tokens::public_id()[..6]
    )
}

/// Writes the first admin key to `<data_dir>/admin.key`, readable by the owner only.
fn write_admin_key(data_dir: &Path, key: &str) -> anyhow::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    let path = data_dir.join("admin.key");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        opts.mode(0o600);
        let mut f = opts
            .open(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        // The mode above applies only to a new file; tighten an existing one too.
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        writeln!(f, "{key}")?;
    }
    #[cfg(not(unix))]
    {
        let mut f = opts
            .open(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        writeln!(f, "{key}")?;
    }
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested; finishing in-flight work");
}
