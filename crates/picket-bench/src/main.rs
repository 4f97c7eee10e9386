#![forbid(unsafe_code)]
//! `cargo run --release -p picket-bench -- <scenario> [--database-url postgres://…]`
//!
//! Each scenario starts a real Picket server in this process on a fresh database (a temporary
//! SQLite file, or a throw-away schema in the given PostgreSQL), fills it, drives its HTTP API
//! with concurrent clients over loopback, and prints a Markdown table for the README. Client
//! and server share the machine, so figures are conservative.

mod console;
mod delivery;
mod events;
mod foundation;
mod ingest;
mod ingest_data;
mod load;
mod map;
mod network;
mod relevance;
mod reports;

use clap::{Parser, ValueEnum};
use picket::{Application, BuildOptions};
use picket_core::config::Config;

/// The server's allocator (see the `picket` binary), so that figures are the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "picket-bench")]
struct Args {
    scenario: Scenario,
    /// Run against this PostgreSQL (a schema is created and dropped) instead of SQLite.
    #[arg(long)]
    database_url: Option<String>,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Requests per measured endpoint.
    #[arg(long, default_value_t = 5000)]
    requests: usize,
    /// events: tenants.
    #[arg(long, default_value_t = 100)]
    tenants: usize,
    /// events: assets over all tenants.
    #[arg(long, default_value_t = 100_000)]
    assets: usize,
    /// events: corpus events to import and evaluate.
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    /// events: only import the corpus (no tenants, assets, engine or threat reads), to
    /// measure the import alone at full size.
    #[arg(long)]
    import_only: bool,
    /// map: tiles in the fixed sample.
    #[arg(long, default_value_t = 2000)]
    tiles: usize,
    /// map: the PostgreSQL (with PostGIS) where Martin reads its copy of the points.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    martin_database_url: String,
    /// network: fraction of the volumes (1 = 1M network alerts, 1M server alerts,
    /// 5M DNS rows, 5M TCP rows); 0.05 runs at a twentieth.
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// network: network alerts in the tenant, whatever the scale (e.g. 10000000).
    #[arg(long)]
    alerts: Option<u64>,
    /// ingest: syslog lines to generate and ship (EVE events: `--events`).
    #[arg(long, default_value_t = 1_000_000)]
    syslog_lines: u64,
    /// reports: assets of the tenant.
    #[arg(long, default_value_t = 10_000)]
    report_assets: usize,
    /// reports: threats in the landscape's window.
    #[arg(long, default_value_t = 100_000)]
    threats: usize,
    /// reports: also write the landscape PDF here, to look at.
    #[arg(long)]
    save_pdf: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Scenario {
    /// Auth, asset upserts and reads, about: the cost of the shared foundation.
    Foundation,
    /// Tenants and assets, a corpus import, the threat engine, threat lists.
    Events,
    /// Generated network data at volume: lists and searches, a DNS export, a TCP delete.
    Network,
    /// The map layer at a million events: tiles (beside Martin on PostGIS when installed),
    /// at-point, heatmaps, countries, GeoJSON.
    Map,
    /// The web console in a headless Chromium over a million events: first-load bytes of
    /// JavaScript and CSS, and time from sign-in to an interactive map (Performance API).
    Console,
    /// Webhook deliveries queued and sent to a local sink (`--requests` deliveries).
    Delivery,
    /// Generated EVE and syslog files shipped by `picket agent` until queryable, beside
    /// EveBox's SQLite bulk load of the same EVE file when `evebox` is installed.
    Ingest,
    /// A landscape report over 10,000 assets and 100,000 threats: time to ready, HTML, PDF.
    Reports,
    /// Threat relevance: labelled cases from the real feed samples at known distances from
    /// assets; a confusion matrix of severities and the calibration targets.
    Relevance,
}

/// A server for one benchmark run and the database it owns.
pub struct Server {
    pub base: String,
    pub key: String,
    pub state: picket_core::AppState,
    _dir: tempfile::TempDir,
    pg: Option<(String, String)>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Server {
    /// `allow_private`: delivery may reach loopback (the delivery scenario's sink).
    async fn start(pg_base: Option<&str>, allow_private: bool) -> anyhow::Result<Server> {
        let dir = tempfile::tempdir()?;
        let (url, pg) = match pg_base {
            Some(base) => {
                let schema = format!("picket_bench_{}", uuid::Uuid::now_v7().simple());
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(base).await?;
                sqlx::raw_sql(&format!("CREATE SCHEMA {schema}"))
                    .execute(&mut conn)
                    .await?;
                let sep = if base.contains('?') { '&' } else { '?' };
                (
                    format!("{base}{sep}options[search_path]={schema}"),
                    Some((base.to_string(), schema)),
                )
            }
            None => (
                format!("sqlite://{}", dir.path().join("picket.db").display()),
                None,
            ),
        };
        let mut config = Config {
            listen: "127.0.0.1:0".parse()?,
            data_dir: dir.path().join("data"),
            database_url: url,
            ..Config::default()
        };
        config.rate_limit.per_second = 0;
        config.delivery.allow_private_targets = allow_private;
        let app = Application::build(config, BuildOptions::default()).await?;
        let base = format!("http://{}", app.local_addr());
        let key = app.admin_key().unwrap_or_default().to_string();
        let state = app.state().clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));
        Ok(Server {
            base,
            key,
            state,
            _dir: dir,
            pg,
            stop: Some(tx),
        })
    }

    async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some((base, schema)) = self.pg.take() {
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&base).await?;
            sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .execute(&mut conn)
                .await?;
        }
        Ok(())
    }
}

/// Peak resident memory of this process (Linux `VmHWM`), else the current figure.
/// The largest private (anonymous) resident memory seen by [`sample_private_memory`], in KiB.
static PEAK_PRIVATE_KB: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn status_kb(field: &str) -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Samples the process's private resident memory every 100 ms for the rest of the run. RSS
/// also counts file pages SQLite maps (once per pooled connection that touched them), which
/// the OS shares and can drop; private memory is what the process itself holds.
fn sample_private_memory() {
    if status_kb("RssAnon:").is_none() {
        return;
    }
    std::thread::spawn(|| loop {
        if let Some(kb) = status_kb("RssAnon:") {
            PEAK_PRIVATE_KB.fetch_max(kb, std::sync::atomic::Ordering::Relaxed);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    });
}

/// Peak private memory in MB (Linux; 0 elsewhere).
pub fn peak_private_mb() -> f64 {
    PEAK_PRIVATE_KB.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1024.0
}

pub fn peak_rss_mb() -> f64 {
    let hwm_kb = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        });
    match hwm_kb {
        Some(kb) => kb / 1024.0,
        None => memory_stats::memory_stats().map_or(0.0, |m| m.physical_mem as f64 / 1_048_576.0),
    }
}

/// `picket-bench agent …`: the `picket agent` command of this executable, which the ingest
/// scenario starts as its own process (the shipper runs apart from the server, as on a sensor).
#[derive(Debug, Parser)]
#[command(name = "picket-bench agent")]
struct AgentCli {
    #[command(flatten)]
    args: picket_agent::AgentArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("agent") {
        let cli = AgentCli::parse_from(std::env::args().skip(1));
        let config = cli.args.check()?;
        let stop = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        return picket_agent::run(config, stop).await;
    }
    let args = Args::parse();
    // Quiet unless asked: `RUST_LOG=picket_sensor=debug` shows each ingest batch's phases.
    if std::env::var_os("RUST_LOG").is_some() {
        picket::logging::init(picket_core::config::LogFormat::Text, false);
    }
    sample_private_memory();
    let delivery = matches!(args.scenario, Scenario::Delivery);
    let server = Server::start(args.database_url.as_deref(), delivery).await?;
    let backend = server.state.db.backend().name();
    println!(
        "picket-bench {:?} on {backend}, {} clients, {} requests per endpoint",
        args.scenario, args.clients, args.requests
    );
    let result = match args.scenario {
        Scenario::Foundation => foundation::run(&server, args.clients, args.requests).await,
        Scenario::Events => {
            let sizes = events::Sizes {
                tenants: args.tenants,
                assets: args.assets,
                events: args.events,
                import_only: args.import_only,
            };
            events::run(&server, &sizes, args.clients, args.requests).await
        }
        Scenario::Network => {
            network::run(
                &server,
                args.scale,
                args.alerts,
                args.clients,
                args.requests,
            )
            .await
        }
        Scenario::Map => {
            let options = map::Options {
                events: args.events,
                tiles: args.tiles,
                martin_database_url: args.martin_database_url.clone(),
            };
            map::run(&server, &options, args.clients, args.requests).await
        }
        Scenario::Console => console::run(&server, args.events).await,
        Scenario::Delivery => delivery::run(&server, args.requests).await,
        Scenario::Ingest => {
            let options = ingest::Options {
                events: args.events as u64,
                syslog: args.syslog_lines,
            };
            ingest::run(&server, &options).await
        }
        Scenario::Reports => {
            let options = reports::Options {
                assets: args.report_assets,
                threats: args.threats,
                save_pdf: args.save_pdf.clone(),
            };
            reports::run(&server, &options).await
        }
        Scenario::Relevance => relevance::run(&server).await,
    };
    server.stop().await?;
    result
}
