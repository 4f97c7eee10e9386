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
use picket_core::config::{Config, Overrides};
use picket_core::db::Backend;

/// Picket: self-hostable security monitoring — events monitoring (/v1) and network
/// monitoring (/api/v1) in one server.
///
/// Configuration layers, later ones winning: built-in defaults, `picket.toml` (or --config),
/// `PICKET_*` environment variables, then flags.
#[derive(Debug, Parser)]
#[command(name = "picket", version, propagate_version = true)]
struct Cli {
    /// Config file (default: ./picket.toml when present).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Data directory for the SQLite database and admin.key [env: PICKET_DATA_DIR] [default: ./picket-data].
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://USER@HOST/DB [env: PICKET_DATABASE_URL] [default: SQLite picket.db in the data directory].
    #[arg(long, global = true, value_name = "URL")]
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

async fn run(cli: Cli) -> anyhow::Result<()> {
    let listen = match &cli.command {
        Command::Serve { listen } => *listen,
        _ => None,
    };
    let overrides = Overrides {
        listen,
        data_dir: cli.data_dir.clone(),
        database_url: cli.database_url.clone(),
    };
    let config = Config::load(cli.config.as_deref(), &overrides)?;
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
    tracing::info!(address = %app.local_addr(), database = %db_label, "picket is listening");
    app.run_until(app::shutdown_signal()).await
}
