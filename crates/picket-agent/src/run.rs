//! One agent process: positions restored from the checkpoint and the spool, the reader on its
//! own thread (files → batches → spool → checkpoint), the sender as a task (spool → server),
//! and a progress line in the log every few seconds.

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use reqwest::StatusCode;
use tokio::sync::watch;

use crate::args::AgentConfig;
use crate::batch::{self, Header};
use crate::checkpoint::{self, Checkpoint, Position};
use crate::ship::{self, Shipper};
use crate::spool::Spool;
use crate::stats::{self, Stats};
use crate::tail::{self, Limits, Tailer};

/// Runs the agent until `shutdown` resolves (or the reader fails). Returns after the current
/// batch is spooled and the positions are saved.
pub async fn run(
    config: AgentConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let spool = Arc::new(Spool::open(&config.spool, config.spool_max_bytes)?);
    let saved = checkpoint::load(&config.spool)?;
    let spooled = spool.headers()?;
    let limits = Limits {
        batch_lines: config.batch_lines,
        batch_bytes: config.batch_bytes,
        idle_close: config.idle_close,
    };
    let mut tailer = Tailer::new(config.sources.clone(), limits);
    tailer.restore(&merge_positions(saved.files, &spooled));
    // From here on the checkpoint covers every batch already in the spool.
    let covered = spool.last_seq();
    checkpoint::save(
        &config.spool,
        &Checkpoint {
            version: 1,
            covered_seq: covered,
            files: tailer.positions(),
        },
    )
    .with_context(|| format!("cannot save positions in {}", config.spool.display()))?;
    spool.mark_durable(covered);
    for s in tailer.sources() {
        if !s.path().exists() {
            tracing::warn!(path = %s.path().display(), "does not exist yet; it is followed once it appears");
        }
    }

    let client = ship::client()?;
    hello(&client, &config).await?;

    let stats = Arc::new(Stats::default());
    let stop = Arc::new(AtomicBool::new(false));
    let (stop_tx, stop_rx) = watch::channel(false);
    let (reader_done_tx, mut reader_done) = tokio::sync::oneshot::channel();
    let reader = {
        let (spool, stats, stop) = (spool.clone(), stats.clone(), stop.clone());
        let root = config.spool.clone();
        let poll = config.poll;
        std::thread::Builder::new()
            .name("picket-agent-reader".into())
            .spawn(move || {
                read_loop(&mut tailer, &spool, &root, &stats, &stop, poll);
                let _ = reader_done_tx.send(());
            })
            .context("cannot start the reader thread")?
    };
    let shipper = Shipper::new(
        client,
        config.server.clone(),
        config.token_file.clone(),
        config.token.clone(),
        spool.clone(),
        stats.clone(),
        // Zeek lines may grow by the `_path` the reader adds.
        config.batch_bytes * 2 + 1024 * 1024,
    );
    let sender = tokio::spawn(shipper.run(stop_rx.clone()));
    let progress = tokio::spawn(progress_loop(
        stats.clone(),
        spool.clone(),
        config.progress,
        stop_rx,
    ));
    tracing::info!(
        server = %config.server,
        spool = %config.spool.display(),
        sources = config.sources.len(),
        spooled = spool.depth(),
        "agent started"
    );

    tokio::select! {
        _ = shutdown => tracing::info!("stopping: saving positions"),
        _ = &mut reader_done => {}
    }
    stop.store(true, Ordering::Relaxed);
    let _ = stop_tx.send(true);
    let _ = sender.await;
    let _ = progress.await;
    let _ = tokio::task::spawn_blocking(move || reader.join()).await;
    tracing::info!(spool_depth = spool.depth(), "agent stopped");
    Ok(())
}

/// Saved positions, moved forward by batches already in the spool: a crash between spooling
/// a batch and saving the checkpoint must not make the batch's lines be read again (they
/// would go out under another key).
pub fn merge_positions(saved: Vec<Position>, spooled: &[(u64, Header)]) -> Vec<Position> {
    let mut by_file: HashMap<(u32, u64), Position> = HashMap::new();
    for p in saved {
        by_file.insert((p.source, p.ino), p);
    }
    for (_, h) in spooled {
        let p = by_file
            .entry((h.source, h.ino))
            .or_insert_with(|| Position {
                source: h.source,
                path: h.path.clone().into(),
                ino: h.ino,
                gen: h.gen,
                fp: Some(h.fp),
                offset: 0,
            });
        if (h.gen, h.end) > (p.gen, p.offset) {
            p.gen = h.gen;
            p.offset = h.end;
            p.fp = Some(h.fp);
        }
    }
    let mut out: Vec<Position> = by_file.into_values().collect();
    out.sort_by(|a, b| (a.source, &a.path, a.ino).cmp(&(b.source, &b.path, b.ino)));
    out
}

/// Checks the server and the token once at start: a refused token or a URL that is not a
/// Picket server stops the agent with a clear error; an unreachable server does not (batches
/// wait in the spool).
async fn hello(client: &reqwest::Client, config: &AgentConfig) -> anyhow::Result<()> {
    let url = config
        .server
        .join("api/agent/v1/hello")
        .expect("a base URL ending in / joins a relative path");
    let res = match client
        .get(url.clone())
        .bearer_auth(&config.token)
        .timeout(Duration::from_secs(10))
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(
                server = %config.server,
                error = %ship::chain(&e),
                "server not reachable now; batches are spooled until it is"
            );
            return Ok(());
        }
    };
    match res.status() {
        StatusCode::OK => {
            #[derive(serde::Deserialize)]
            struct Hello {
                agent_name: String,
            }
            match res.json::<Hello>().await {
                Ok(h) => {
                    tracing::info!(agent_name = %h.agent_name, "the server knows this agent");
                    Ok(())
                }
                Err(_) => bail!(
                    "{url} did not answer like a Picket server; --server must be the base URL of a Picket server"
                ),
            }
        }
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => bail!(
            "the server refused the agent token in {} ({}); register the sensor with \
             `picket admin agent create` and put the token it prints in the file",
            config.token_file.display(),
            res.status()
        ),
        StatusCode::NOT_FOUND => {
            bail!("{url} answered 404; --server must be the base URL of a Picket server")
        }
        s => {
            tracing::warn!(server = %config.server, status = %s, "server not ready now; batches are spooled until it is");
            Ok(())
        }
    }
}

/// The reader: one batch per file per round, each spooled and then covered by a saved
/// checkpoint before its file's position moves on.
fn read_loop(
    tailer: &mut Tailer,
    spool: &Spool,
    root: &Path,
    stats: &Stats,
    stop: &AtomicBool,
    poll: Duration,
) {
    let mut dirty = false;
    let mut read_errors: HashMap<std::path::PathBuf, String> = HashMap::new();
    while !stop.load(Ordering::Relaxed) {
        tailer.scan();
        let mut progressed = false;
        for ix in 0..tailer.len() {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            match tailer.read(ix) {
                Ok(tail::Read::Batch(header, body)) => {
                    read_errors.remove(tailer.path(ix));
                    let gz = match batch::gzip(&body) {
                        Ok(gz) => gz,
                        Err(e) => {
                            tracing::error!(error = %e, "cannot compress a batch");
                            continue;
                        }
                    };
                    drop(body);
                    if !spool.wait_for_room(gz.len() as u64, stop) {
                        break;
                    }
                    match spool.write(&header, &gz) {
                        Ok(_) => {
                            tailer.commit(ix, header.end);
                            Stats::add(&stats.lines_read, u64::from(header.lines));
                            dirty = !save(tailer, spool, root);
                            progressed = true;
                        }
                        Err(e) => {
                            tracing::error!(
                                spool = %root.display(),
                                error = %e,
                                "cannot write a batch to the spool; retrying"
                            );
                            stats.set_error(Some(format!("spool: {e}")));
                            pause(stop, Duration::from_secs(1));
                        }
                    }
                }
                Ok(tail::Read::Advanced(end)) => {
                    tailer.commit(ix, end);
                    dirty = true;
                    progressed = true;
                }
                Ok(tail::Read::Nothing) => {}
                Err(e) => {
                    let msg = e.to_string();
                    let path = tailer.path(ix).to_path_buf();
                    if read_errors.get(&path) != Some(&msg) {
                        tracing::warn!(file = %path.display(), error = %msg, "cannot read");
                        read_errors.insert(path, msg);
                    }
                }
            }
        }
        if dirty {
            dirty = !save(tailer, spool, root);
        }
        if !progressed {
            pause(stop, poll);
        }
    }
    save(tailer, spool, root);
}

/// Saves the checkpoint and tells the sender which batches it covers; whether it was saved.
fn save(tailer: &Tailer, spool: &Spool, root: &Path) -> bool {
    let covered = spool.last_seq();
    let cp = Checkpoint {
        version: 1,
        covered_seq: covered,
        files: tailer.positions(),
    };
    match checkpoint::save(root, &cp) {
        Ok(()) => {
            spool.mark_durable(covered);
            true
        }
        Err(e) => {
            tracing::error!(spool = %root.display(), error = %e, "cannot save positions; retrying");
            false
        }
    }
}

/// Sleeps up to `d`, waking early when asked to stop.
fn pause(stop: &AtomicBool, d: Duration) {
    let until = Instant::now() + d;
    while !stop.load(Ordering::Relaxed) {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

async fn progress_loop(
    stats: Arc<Stats>,
    spool: Arc<Spool>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut before = stats.snapshot();
    let mut at = Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
        let now = stats.snapshot();
        let depth = spool.depth();
        let stopping = *stop.borrow();
        // Quiet while nothing happens; a waiting spool is worth a line each time.
        if now != before || depth > 0 || stopping {
            stats::log_progress(&now, &before, at.elapsed().as_secs_f64(), depth);
        }
        before = now;
        at = Instant::now();
        if stopping {
            return;
        }
    }
}
