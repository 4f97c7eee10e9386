//! `ingest`: a generated Suricata EVE file and a generated syslog file shipped by `picket agent`
//! (a separate process, as on a sensor) over loopback into the server of this process, timed
//! from the agent's start until every line is stored and queryable; and, side by side in the
//! same run, the same EVE file loaded by EveBox into SQLite with its bulk path
//! (`evebox sqlite load --input FILE DB`) when `evebox` is installed.
//!
//! Lines count as done when the server's ingest counters (`/metrics`) have seen every line of
//! the file: a batch's rows are committed before its lines are counted, so counted lines are
//! queryable. Batch latency is the server's histogram (time from the request's arrival to its
//! answer); memory is peak resident memory of each process.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use picket_core::identity::store;
use picket_core::time::now_ms;

use crate::ingest_data::{write_eve, write_syslog};
use crate::{peak_private_mb, peak_rss_mb, Server};

#[derive(Debug, Clone)]
pub struct Options {
    /// EVE events to generate and ship.
    pub events: u64,
    /// Syslog lines to generate and ship.
    pub syslog: u64,
}

pub async fn run(server: &Server, opts: &Options) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let eve = dir.path().join("eve.json");
    let syslog = dir.path().join("auth.log");
    let t = Instant::now();
    let end = now_ms();
    let mix = write_eve(&eve, opts.events, end, 11)?;
    let failures = write_syslog(&syslog, opts.syslog, end, 12)?;
    println!(
        "generated {} EVE events ({} flow, {} dns, {} http, {} tls, {} dhcp, {} alert; {:.0} MB) \
         and {} syslog lines ({} authentication failures) in {:.1} s",
        mix.total(),
        mix.flow,
        mix.dns,
        mix.http,
        mix.tls,
        mix.dhcp,
        mix.alert,
        std::fs::metadata(&eve)?.len() as f64 / 1e6,
        opts.syslog,
        failures,
        t.elapsed().as_secs_f64()
    );

    let tenant = store::tenant_by_name(&server.state.db, "default")
        .await?
        .ok_or_else(|| anyhow::anyhow!("no default tenant"))?
        .id;
    let (_, token) = store::create_agent(&server.state.db, tenant, "bench-sensor").await?;
    let token_file = dir.path().join("agent.token");
    std::fs::write(&token_file, &token)?;

    println!();
    println!("| step | lines | seconds | lines/s | server batch p99 | agent peak RSS |");
    println!("|---|---|---|---|---|---|");
    let eve_run = ship(
        server,
        &token_file,
        dir.path(),
        "eve",
        &["--eve".into(), eve.display().to_string()],
        mix.total(),
    )
    .await?;
    eve_run.row("EVE through `picket agent`", mix.total());
    let stored = stored_rows(server).await?;
    anyhow::ensure!(
        stored == mix.stored(),
        "stored {stored} rows from the EVE file, expected {} (every event but TLS)",
        mix.stored()
    );
    let syslog_run = ship(
        server,
        &token_file,
        dir.path(),
        "syslog",
        &["--syslog".into(), syslog.display().to_string()],
        opts.syslog,
    )
    .await?;
    syslog_run.row("syslog through `picket agent`", opts.syslog);
    println!(
        "server peak RSS {:.0} MB, peak private memory {:.0} MB",
        peak_rss_mb(),
        peak_private_mb()
    );

    match evebox_load(&eve, dir.path()) {
        Ok(secs) => {
            let theirs = mix.total() as f64 / secs;
            let ours = mix.total() as f64 / eve_run.secs;
            println!();
            println!("| EVE, {} events | seconds | events/s |", mix.total());
            println!("|---|---|---|");
            println!(
                "| Picket (`picket agent` → HTTP → SQLite, queryable) | {:.1} | {:.0} |",
                eve_run.secs, ours
            );
            println!(
                "| EveBox 0.30 (`evebox sqlite load --input FILE DB`) | {secs:.1} | {theirs:.0} |"
            );
            println!("ratio Picket / EveBox: {:.2}×", ours / theirs);
        }
        Err(e) => println!("\nEveBox side skipped: {e}"),
    }
    Ok(())
}

struct Shipped {
    secs: f64,
    batch_p99: Option<f64>,
    agent_rss_mb: f64,
}

impl Shipped {
    fn row(&self, name: &str, lines: u64) {
        println!(
            "| {name} | {lines} | {:.1} | {:.0} | {} | {:.0} MB |",
            self.secs,
            lines as f64 / self.secs,
            self.batch_p99
                .map_or("n/a".to_string(), |s| format!("≤ {:.0} ms", s * 1000.0)),
            self.agent_rss_mb
        );
    }
}

/// Starts an agent on one source and waits until the server has counted `lines` lines of
/// `format` more than before.
async fn ship(
    server: &Server,
    token_file: &Path,
    dir: &Path,
    format: &str,
    source: &[String],
    lines: u64,
) -> anyhow::Result<Shipped> {
    let client = reqwest::Client::new();
    let before = scrape(&client, &server.base).await?;
    let base_lines = before.lines(format);
    let spool = dir.join(format!("spool-{format}"));
    std::fs::create_dir_all(&spool)?;
    let t = Instant::now();
    let mut agent = spawn_agent(&server.base, token_file, &spool, source)?;
    let deadline = Instant::now() + Duration::from_secs(3600);
    let mut rss = 0.0f64;
    let done = loop {
        rss = rss.max(child_rss_mb(&agent));
        let m = scrape(&client, &server.base).await?;
        if m.lines(format) >= base_lines + lines as f64 {
            break m;
        }
        if let Some(status) = agent.try_wait()? {
            anyhow::bail!("the agent exited early: {status}");
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{format}: not done within an hour"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let secs = t.elapsed().as_secs_f64();
    rss = rss.max(child_rss_mb(&agent));
    let _ = agent.kill();
    let _ = agent.wait();
    Ok(Shipped {
        secs,
        batch_p99: done.batch_p99(format, &before),
        agent_rss_mb: rss,
    })
}

/// `picket agent` as a child process: this executable's hidden `agent` mode, which runs the
/// same `picket_agent` library the `picket agent` command does.
fn spawn_agent(
    server: &str,
    token_file: &Path,
    spool: &Path,
    source: &[String],
) -> anyhow::Result<Child> {
    let exe = std::env::current_exe()?;
    let child = Command::new(exe)
        .arg("agent")
        .arg("--server")
        .arg(server)
        .arg("--token-file")
        .arg(token_file)
        .arg("--spool")
        .arg(spool)
        .args(source)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    Ok(child)
}

/// Peak resident memory of a child process (Linux `VmHWM`), in MB.
fn child_rss_mb(child: &Child) -> f64 {
    std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The server's ingest metrics of interest, from the Prometheus text.
struct Scrape {
    text: String,
}

async fn scrape(client: &reqwest::Client, base: &str) -> anyhow::Result<Scrape> {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    Ok(Scrape { text })
}

impl Scrape {
    /// Samples of `metric` whose labels contain every one of `labels`.
    fn samples<'a>(
        &'a self,
        metric: &'a str,
        labels: &'a [&'a str],
    ) -> impl Iterator<Item = (&'a str, f64)> + 'a {
        self.text.lines().filter_map(move |l| {
            if l.starts_with('#') {
                return None;
            }
            let (name_labels, value) = l.rsplit_once(' ')?;
            let (name, rest) = name_labels.split_once('{').unwrap_or((name_labels, ""));
            if name != metric || !labels.iter().all(|x| rest.contains(x)) {
                return None;
            }
            Some((rest, value.parse().ok()?))
        })
    }

    /// Lines of `format` the server has counted (accepted, skipped or rejected).
    fn lines(&self, format: &str) -> f64 {
        let label = format!("source=\"{format}\"");
        self.samples(LINES_METRIC, &[&label]).map(|(_, v)| v).sum()
    }

    /// The smallest histogram bound holding 99 % of the batches since `before`, in seconds.
    fn batch_p99(&self, format: &str, before: &Scrape) -> Option<f64> {
        let label = format!("source=\"{format}\"");
        let buckets = |s: &Scrape| -> Vec<(f64, f64)> {
            s.samples(BATCH_METRIC, &[&label])
                .filter_map(|(labels, v)| {
                    let le = labels.split("le=\"").nth(1)?.split('"').next()?;
                    Some((
                        if le == "+Inf" {
                            f64::INFINITY
                        } else {
                            le.parse().ok()?
                        },
                        v,
                    ))
                })
                .collect()
        };
        let (now, then) = (buckets(self), buckets(before));
        let count =
            |bs: &[(f64, f64)], le: f64| bs.iter().find(|(b, _)| *b == le).map_or(0.0, |(_, v)| *v);
        let total = count(&now, f64::INFINITY) - count(&then, f64::INFINITY);
        if total <= 0.0 {
            return None;
        }
        let mut bounds: Vec<f64> = now.iter().map(|(b, _)| *b).collect();
        bounds.sort_by(f64::total_cmp);
        bounds
            .into_iter()
            .find(|&b| count(&now, b) - count(&then, b) >= 0.99 * total)
    }
}

const LINES_METRIC: &str = "picket_ingest_lines_total";
const BATCH_METRIC: &str = "picket_ingest_batch_duration_seconds_bucket";

#[derive(sqlx::FromRow)]
struct Count {
    n: i64,
}

/// Rows of the datasets an EVE file fills (signature alerts, flows, DNS, HTTP, DHCP).
async fn stored_rows(server: &Server) -> anyhow::Result<u64> {
    let mut total = 0;
    // Signature alerts only: detections (new devices and services, scans) add their own.
    for table in [
        "network_alerts WHERE type = 'ids'",
        "tcp_records",
        "dns_records",
        "http_records",
        "dhcp_records",
    ] {
        let c: Option<Count> = server
            .state
            .db
            .fetch_optional_sql(
                &format!("SELECT COUNT(*) AS n FROM {table}"),
                sea_query::Values(vec![]),
            )
            .await?;
        total += c.map_or(0, |c| c.n as u64);
    }
    Ok(total)
}

/// Loads the EVE file into a fresh EveBox SQLite database with its bulk path; the wall time.
fn evebox_load(eve: &Path, dir: &Path) -> anyhow::Result<f64> {
    let db: PathBuf = dir.join("evebox.sqlite");
    let probe = Command::new("evebox").arg("--version").output();
    anyhow::ensure!(
        probe.is_ok_and(|o| o.status.success()),
        "`evebox` is not installed (`apt-get install libpcap-dev`, then \
         `BUILD_REV=0.30.0 cargo install evebox --version 0.30.0 --locked`)"
    );
    let t = Instant::now();
    let out = Command::new("evebox")
        .args(["sqlite", "load", "--input"])
        .arg(eve)
        .arg(&db)
        .output()?;
    let secs = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        out.status.success(),
        "evebox sqlite load failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(secs)
}
