#![forbid(unsafe_code)]
//! `picket`: the command line. Everything it does lives in the library.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use picket::admin::{self, AdminCommand};
use picket::app::{self, Application, BuildOptions};
use picket::import::ImportCommand;
use picket_core::config::{Config, LogFormat, Overrides};
use picket_core::db::Backend;

/// mimalloc for the whole process: Rust's allocations here, and (its `override` feature) the C
/// `malloc` SQLite calls. glibc's malloc and free were about a quarter of the CPU samples of the
/// engine at full size and of a threat list page.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Picket: self-hostable security monitoring — events monitoring (/v1) and network
/// monitoring (/api/v1) in one server.
///
/// Configuration layers, later ones winning: built-in defaults, `picket.toml` (or --config),
/// `PICKET_*` environment variables, then flags.
#[derive(Debug, Parser)]
#[command(name = "picket", version, propagate_version = true)]
struct Cli {
    /// Config file (default: ./picket.toml when present).
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        help_heading = "Global options"
    )]
    config: Option<PathBuf>,
    /// Data directory for the SQLite database and admin.key [env: PICKET_DATA_DIR] [default: ./picket-data].
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        help_heading = "Global options"
    )]
    data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://USER@HOST/DB [env: PICKET_DATABASE_URL] [default: SQLite picket.db in the data directory].
    #[arg(
        long,
        global = true,
        value_name = "URL",
        help_heading = "Global options"
    )]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server and in-process background workers.
    Serve {
        /// Address to listen on [env: PICKET_LISTEN] [default: 127.0.0.1:8080].
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
        /// Also receive syslog from hosts, e.g. udp://0.0.0.0:514,tcp://0.0.0.0:601; senders are
        /// mapped to agents by [[syslog.agents]] in picket.toml [env: PICKET_SYSLOG__LISTEN]
        /// [default: the `[syslog] listen` setting; none].
        #[arg(long, value_name = "SPEC")]
        syslog_listen: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate {
        /// Print the schema DDL for the selected database instead of applying it.
        #[arg(long)]
        print_sql: bool,
    },
    /// Run background job workers only (no HTTP), for scaling out.
    Worker {
        /// Number of concurrent workers [default: the `workers` setting].
        #[arg(long)]
        concurrency: Option<usize>,
    },
    /// Manage tenants, users, API keys and agent tokens.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Import data from files (events into the corpus, threat-intelligence lists).
    #[command(subcommand)]
    Import(ImportCommand),
    /// Tail sensor files (Suricata EVE, Zeek, syslog) and ship them to a Picket server.
    ///
    /// Run on the sensor. Follows each file through rotation and truncation, posts whole lines
    /// in gzip batches to the server's /api/agent/v1 endpoints with the agent token, keeps
    /// batches in the spool directory while the server is unreachable, and remembers its
    /// positions there, so that after a restart or crash of either side every line is stored
    /// exactly once. Needs neither a database nor picket.toml. Logs go to standard error
    /// (PICKET_LOG_FORMAT=json for JSON, RUST_LOG to filter).
    Agent(picket_agent::AgentArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(mut cli: Cli) -> anyhow::Result<()> {
    cli.command = match cli.command {
        Command::Agent(args) => return agent(args).await,
        other => other,
    };
    let (listen, syslog_listen) = match &cli.command {
        Command::Serve {
            listen,
            syslog_listen,
        } => (*listen, syslog_listen.clone()),
        _ => (None, None),
    };
    let overrides = Overrides {
        listen,
        data_dir: cli.data_dir.clone(),
        database_url: cli.database_url.clone(),
    };
    let mut config = Config::load(cli.config.as_deref(), &overrides)?;
    if let Some(spec) = syslog_listen {
        config.syslog.listen = spec;
    }
    picket::logging::init(
        config.log_format,
        matches!(cli.command, Command::Serve { .. } | Command::Worker { .. }),
    );

    match cli.command {
        Command::Serve { .. } => serve(config).await,
        Command::Migrate { print_sql } => {
            if print_sql {
                let backend = if config.database_url().starts_with("sqlite:") {
                    Backend::Sqlite
                } else {
                    Backend::Postgres
                };
                print!("{}", app::schema().ddl(backend));
                return Ok(());
            }
            let state = app::open_state(config, app::job_registry()).await?;
            let report = app::migrate_state(&state).await?;
            println!(
                "database at schema {} ({} tables created, {} columns added{})",
                report.fingerprint,
                report.tables_created.len(),
                report.columns_added.len(),
                if report.changed {
                    ""
                } else {
                    ", already current"
                }
            );
            state.db.close().await;
            Ok(())
        }
        Command::Worker { concurrency } => {
            let n = concurrency.unwrap_or(config.workers).max(1);
            let state = app::open_state(config, app::job_registry()).await?;
            app::migrate_state(&state).await?;
            app::enqueue_start_jobs(&state).await?;
            tracing::info!(workers = n, kinds = ?state.jobs.kinds(), "workers started");
            let handle = picket_core::jobs::spawn_workers(&state, n, &app::worker_prefix());
            app::shutdown_signal().await;
            handle.shutdown(std::time::Duration::from_secs(30)).await;
            state.db.close().await;
            Ok(())
        }
        Command::Admin(cmd) => {
            let state = app::open_state(config, app::job_registry()).await?;
            app::migrate_state(&state).await?;
            let mut out = std::io::stdout().lock();
            let result = admin::run(&state.db, cmd, &mut out).await;
            out.flush().ok();
            drop(out);
            state.db.close().await;
            result
        }
        Command::Agent(args) => agent(args).await,
        Command::Import(cmd) => {
            let state = app::open_state(config, app::job_registry()).await?;
            app::migrate_state(&state).await?;
            let mut out = std::io::stdout().lock();
            let mut err = std::io::stderr().lock();
            let result = picket::import::run(&state.db, cmd, &mut out, &mut err).await;
            out.flush().ok();
            drop(out);
            drop(err);
            state.db.close().await;
            result
        }
    }
}

/// The agent runs on sensors: no server configuration, no database.
async fn agent(args: picket_agent::AgentArgs) -> anyhow::Result<()> {
    picket::logging::init(agent_log_format(), true);
    let config = args.check()?;
    picket_agent::run(config, app::shutdown_signal()).await
}

/// `PICKET_LOG_FORMAT=json` switches the agent's log to JSON, as it does the server's.
fn agent_log_format() -> LogFormat {
    match std::env::var("PICKET_LOG_FORMAT") {
        Ok(v) if v.trim().eq_ignore_ascii_case("json") => LogFormat::Json,
        _ => LogFormat::Text,
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let db_label = config.redacted_database_url();
    let app = Application::build(
        config,
        BuildOptions {
            start_workers: true,
            ..Default::default()
        },
    )
    .await?;
    if let Some(key) = app.admin_key() {
        let mut out = std::io::stdout().lock();
        writeln!(out, "admin API key: {key}").context("cannot print the admin key")?;
        out.flush().ok();
        tracing::info!(
            file = %app.state().config.data_dir.join("admin.key").display(),
            "first start: created tenant `default`, user `admin` and an API key (also saved to the file)"
        );
    }
    app::enqueue_start_jobs(app.state()).await?;
    tracing::info!(address = %app.local_addr(), database = %db_label, "picket is listening");
    app.run_until(app::shutdown_signal()).await
}
