//! The server's syslog listener (`serve --syslog-listen udp://ADDR:PORT,tcp://ADDR:PORT`):
//! UDP datagrams and TCP streams (RFC 6587 octet counting or newline framing), each sender
//! mapped to an agent by `[[syslog.agents]]`, fed to [`crate::ingest::ingest_from`] in
//! batches.
//!
//! ```text
//! UDP socket ─┐                       ┌─ per sender: `batch_lines` lines or `batch_age` ─┐
//! TCP conns ──┴─ sender → agent ─ queue ─ batcher ────────────────────────────────────────── flusher → ingest
//! ```
//!
//! Batches are gathered per sender address, so that a message whose header names no host
//! (devices that send `<PRI>TIMESTAMP TAG: text`) is stored with the sender's address as its
//! host, as syslog relays do.
//!
//! Memory is bounded by one byte budget (`[syslog] buffer_bytes`) shared by the queue, the
//! batches being gathered and the batch being stored: a UDP message that does not fit is
//! dropped and counted (UDP senders expect loss), a TCP connection waits for room (TCP senders
//! queue on their side). Messages from senders no `[[syslog.agents]]` entry matches are
//! dropped and counted, as are messages over 64 KiB, and lines of an agent that was revoked
//! since the server started.

pub mod framing;
pub mod senders;

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use picket_core::identity::{store, AgentPrincipal};
use picket_core::ids::AgentId;
use picket_core::AppState;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

use crate::parse::Format;
use framing::{Framer, Next, MAX_MESSAGE};
pub use senders::{parse_listen, SenderMap, Transport};

/// Messages queued between the sockets and the batcher.
const QUEUE_MESSAGES: usize = 65_536;
/// A batch is stored when it has `[syslog] batch_lines` lines, this many bytes, or is
/// `batch_age` old.
const BATCH_BYTES: usize = 4 * 1024 * 1024;
/// How often the agents behind the map are read again (a revoked agent stops being stored).
const AGENTS_REFRESH: Duration = Duration::from_secs(30);
/// Attempts to store a batch before its lines are dropped (the database is away).
const INGEST_ATTEMPTS: u32 = 4;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MessageLabels {
    transport: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnectionLabels {
    outcome: &'static str,
}

/// The listener's counters (`picket_syslog_listener_messages_total{transport,outcome}`,
/// `picket_syslog_listener_connections_total{outcome}`).
#[derive(Clone, Debug, Default)]
struct Metrics {
    messages: Family<MessageLabels, Counter>,
    connections: Family<ConnectionLabels, Counter>,
}

/// Outcomes of a message.
mod outcome {
    /// Handed to ingest.
    pub const STORED: &str = "ingested";
    pub const UNMATCHED: &str = "dropped_unmatched_sender";
    pub const QUEUE_FULL: &str = "dropped_queue_full";
    pub const OVERSIZED: &str = "dropped_oversized";
    pub const AGENT: &str = "dropped_agent_unavailable";
    pub const INGEST: &str = "dropped_ingest_failed";
}

impl Metrics {
    fn register(state: &AppState) -> Metrics {
        let m = Metrics::default();
        state.metrics.register(
            "syslog_listener_messages",
            "Syslog listener messages by transport and outcome (ingested, or why dropped)",
            m.messages.clone(),
        );
        state.metrics.register(
            "syslog_listener_connections",
            "Syslog listener TCP connections by outcome",
            m.connections.clone(),
        );
        m
    }

    fn message(&self, transport: Transport, outcome: &'static str, n: u64) {
        if n == 0 {
            return;
        }
        self.messages
            .get_or_create(&MessageLabels {
                transport: transport.as_str(),
                outcome,
            })
            .inc_by(n);
    }

    fn connection(&self, outcome: &'static str) {
        self.connections
            .get_or_create(&ConnectionLabels { outcome })
            .inc();
    }
}

/// One message on its way: whose it is, how it came, the line.
#[derive(Debug)]
struct Line {
    agent: AgentId,
    from: IpAddr,
    transport: Transport,
    text: Vec<u8>,
}

/// What the receivers share.
#[derive(Clone)]
struct Intake {
    map: Arc<SenderMap>,
    tx: mpsc::Sender<Line>,
    budget: Arc<Semaphore>,
    metrics: Metrics,
    warned: Arc<Mutex<HashSet<IpAddr>>>,
}

impl Intake {
    /// Logs an unknown sender once (up to a bound), so a misconfigured relay is noticed
    /// without one log line per message.
    fn warn_unmatched(&self, transport: Transport, ip: IpAddr) {
        let mut w = self.warned.lock().unwrap_or_else(|p| p.into_inner());
        if w.len() < 1000 && w.insert(ip) {
            tracing::warn!(sender = %ip, transport = transport.as_str(), "dropping syslog from a sender no [[syslog.agents]] entry matches");
        }
    }

    /// UDP: queued when there is room, else dropped and counted.
    fn offer(&self, agent: AgentId, from: IpAddr, msg: &[u8]) {
        let Some(text) = framing::to_line(msg) else {
            return;
        };
        if text.len() > MAX_MESSAGE {
            self.metrics.message(Transport::Udp, outcome::OVERSIZED, 1);
            return;
        }
        match self.budget.try_acquire_many(text.len() as u32) {
            Ok(p) => p.forget(),
            Err(_) => {
                self.metrics.message(Transport::Udp, outcome::QUEUE_FULL, 1);
                return;
            }
        }
        let n = text.len();
        let line = Line {
            agent,
            from,
            transport: Transport::Udp,
            text,
        };
        if self.tx.try_send(line).is_err() {
            self.budget.add_permits(n);
            self.metrics.message(Transport::Udp, outcome::QUEUE_FULL, 1);
        }
    }

    /// TCP: waits for room. `false` when the pipeline is gone (shutting down).
    async fn push(&self, agent: AgentId, from: IpAddr, msg: &[u8]) -> bool {
        let Some(text) = framing::to_line(msg) else {
            return true;
        };
        match self.budget.acquire_many(text.len() as u32).await {
            Ok(p) => p.forget(),
            Err(_) => return false,
        }
        let n = text.len();
        let line = Line {
            agent,
            from,
            transport: Transport::Tcp,
            text,
        };
        if self.tx.send(line).await.is_err() {
            self.budget.add_permits(n);
            return false;
        }
        true
    }
}

/// A running listener.
pub struct Listener {
    addrs: Vec<(Transport, SocketAddr)>,
    stop: watch::Sender<bool>,
    receivers: Vec<JoinHandle<()>>,
    pipeline: JoinHandle<()>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("addrs", &self.addrs)
            .finish()
    }
}

impl Listener {
    /// The bound sockets (port 0 in the settings picks a free port).
    pub fn local_addrs(&self) -> &[(Transport, SocketAddr)] {
        &self.addrs
    }

    /// The first bound address of `transport`.
    pub fn local_addr(&self, transport: Transport) -> Option<SocketAddr> {
        self.addrs
            .iter()
            .find(|(t, _)| *t == transport)
            .map(|(_, a)| *a)
    }

    /// Stops receiving, stores what was received, and returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for r in self.receivers {
            let _ = r.await;
        }
        let _ = self.pipeline.await;
    }
}

/// Starts the listener when `[syslog] listen` (or `serve --syslog-listen`) names sockets:
/// checks the settings and the agents they name, binds, and runs until
/// [`Listener::shutdown`]. `None` when no socket is configured.
pub async fn start(state: &AppState) -> anyhow::Result<Option<Listener>> {
    let cfg = &state.config.syslog;
    if cfg.listen.trim().is_empty() {
        return Ok(None);
    }
    let listen = parse_listen(&cfg.listen).map_err(|e| anyhow!(e))?;
    let map = SenderMap::new(&cfg.agents).map_err(|e| anyhow!(e))?;
    let agents = load_agents(state, &map.agents()).await?;
    for id in map.agents() {
        match agents.get(&id) {
            Some(_) => {}
            None => {
                let known = store::list_agents(&state.db, None)
                    .await?
                    .into_iter()
                    .any(|a| a.id == id);
                return Err(anyhow!(if known {
                    format!("[[syslog.agents]]: agent_id {id} is revoked")
                } else {
                    format!(
                        "[[syslog.agents]]: agent_id {id} is not a registered agent (see `picket admin agent list`)"
                    )
                }));
            }
        }
    }
    if map.is_empty() {
        tracing::warn!("syslog listener without [[syslog.agents]]: every sender is dropped");
    }
    let metrics = Metrics::register(state);
    let (tx, rx) = mpsc::channel(QUEUE_MESSAGES);
    let budget = Arc::new(Semaphore::new(cfg.buffer_bytes));
    let intake = Intake {
        map: Arc::new(map),
        tx,
        budget: budget.clone(),
        metrics: metrics.clone(),
        warned: Arc::default(),
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut addrs = Vec::new();
    let mut receivers = Vec::new();
    for (transport, addr) in listen {
        let url = format!("{}://{addr}", transport.as_str());
        match transport {
            Transport::Udp => {
                let sock = UdpSocket::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen for syslog on {url}"))?;
                addrs.push((transport, sock.local_addr()?));
                receivers.push(tokio::spawn(receive_udp(
                    sock,
                    intake.clone(),
                    stop_rx.clone(),
                )));
            }
            Transport::Tcp => {
                let l = TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen for syslog on {url}"))?;
                addrs.push((transport, l.local_addr()?));
                receivers.push(tokio::spawn(accept_tcp(
                    l,
                    intake.clone(),
                    cfg.max_connections,
                    stop_rx.clone(),
                )));
            }
        }
    }
    drop(intake);
    let (batches_tx, batches_rx) = mpsc::channel(2);
    let limits = BatchLimits {
        lines: cfg.batch_lines,
        bytes: BATCH_BYTES,
        age: cfg.batch_age.0,
    };
    let batcher = tokio::spawn(gather(rx, batches_tx, limits));
    let flusher = tokio::spawn(store_batches(
        state.clone(),
        batches_rx,
        agents,
        budget,
        metrics,
    ));
    let pipeline = tokio::spawn(async move {
        let _ = batcher.await;
        let _ = flusher.await;
    });
    for (t, a) in &addrs {
        tracing::info!(address = %format!("{}://{a}", t.as_str()), "syslog listener is listening");
    }
    Ok(Some(Listener {
        addrs,
        stop: stop_tx,
        receivers,
        pipeline,
    }))
}

/// The agents the map names that may send (not revoked), by id.
async fn load_agents(
    state: &AppState,
    wanted: &[AgentId],
) -> picket_core::db::DbResult<HashMap<AgentId, AgentPrincipal>> {
    Ok(store::list_agents(&state.db, None)
        .await?
        .into_iter()
        .filter(|a| a.revoked_at.is_none() && wanted.contains(&a.id))
        .map(|a| {
            (
                a.id,
                AgentPrincipal {
                    id: a.id,
                    tenant_id: a.tenant_id,
                    name: a.name,
                    agent: a.agent,
                },
            )
        })
        .collect())
}

async fn receive_udp(sock: UdpSocket, intake: Intake, mut stop: watch::Receiver<bool>) {
    let mut buf = vec![0u8; 65_536];
    loop {
        let (n, from) = tokio::select! {
            r = sock.recv_from(&mut buf) => match r {
                Ok(r) => r,
                Err(e) => {
                    // ICMP errors surface here on some systems; the socket stays usable.
                    tracing::debug!(error = %e, "syslog UDP receive error");
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        match intake.map.agent_for(from.ip()) {
            Some(agent) => intake.offer(agent, from.ip(), &buf[..n]),
            None => {
                intake
                    .metrics
                    .message(Transport::Udp, outcome::UNMATCHED, 1);
                intake.warn_unmatched(Transport::Udp, from.ip());
            }
        }
    }
}

async fn accept_tcp(
    listener: TcpListener,
    intake: Intake,
    max_connections: usize,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(max_connections));
    let mut conns = JoinSet::new();
    loop {
        let (stream, from) = tokio::select! {
            r = listener.accept() => match r {
                Ok(r) => r,
                Err(e) => {
                    // Out of descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "syslog TCP accept error");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
            _ = stop.changed() => break,
        };
        let Some(agent) = intake.map.agent_for(from.ip()) else {
            intake.metrics.connection(outcome::UNMATCHED);
            intake.warn_unmatched(Transport::Tcp, from.ip());
            continue;
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            intake.metrics.connection("refused_too_many");
            continue;
        };
        intake.metrics.connection("accepted");
        let (intake, stop) = (intake.clone(), stop.clone());
        conns.spawn(async move {
            receive_tcp(stream, agent, from.ip(), intake, stop).await;
            drop(slot);
        });
    }
    while conns.join_next().await.is_some() {}
}

async fn receive_tcp(
    mut stream: TcpStream,
    agent: AgentId,
    from: IpAddr,
    intake: Intake,
    mut stop: watch::Receiver<bool>,
) {
    let mut framer = Framer::default();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = tokio::select! {
            r = stream.read(&mut buf) => match r {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            },
            _ = stop.changed() => break,
        };
        framer.push(&buf[..n]);
        loop {
            match framer.next_message() {
                Next::Message(m) => {
                    if !intake.push(agent, from, &m).await {
                        return;
                    }
                }
                Next::Oversized => intake
                    .metrics
                    .message(Transport::Tcp, outcome::OVERSIZED, 1),
                Next::NeedMore => break,
            }
        }
    }
    if let Some(m) = framer.finish() {
        intake.push(agent, from, &m).await;
    }
}

/// Lines of one sender, gathered into a body.
#[derive(Debug, Default)]
struct Batch {
    body: Vec<u8>,
    lines: usize,
    udp: u64,
    tcp: u64,
    started: Option<Instant>,
}

/// When a gathered batch is handed on.
#[derive(Debug, Clone, Copy)]
struct BatchLimits {
    lines: usize,
    bytes: usize,
    age: Duration,
}

/// Whose lines a batch holds: the agent the sender maps to, and the sender's address.
type BatchKey = (AgentId, IpAddr);

/// Gathers lines per sender and hands a batch on when it is full or `limits.age` old; at the
/// end of the stream (shutdown), hands on what is left.
async fn gather(
    mut rx: mpsc::Receiver<Line>,
    out: mpsc::Sender<(BatchKey, Batch)>,
    limits: BatchLimits,
) {
    let mut pending: HashMap<BatchKey, Batch> = HashMap::new();
    let mut tick = tokio::time::interval(limits.age / 4);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            line = rx.recv() => {
                let Some(line) = line else { break };
                let key = (line.agent, line.from);
                let b = pending.entry(key).or_default();
                b.started.get_or_insert_with(Instant::now);
                b.body.extend_from_slice(&line.text);
                b.body.push(b'\n');
                b.lines += 1;
                match line.transport {
                    Transport::Udp => b.udp += 1,
                    Transport::Tcp => b.tcp += 1,
                }
                if b.lines >= limits.lines || b.body.len() >= limits.bytes {
                    let b = pending.remove(&key).unwrap_or_default();
                    if out.send((key, b)).await.is_err() {
                        return;
                    }
                }
            }
            _ = tick.tick() => {
                let due: Vec<BatchKey> = pending
                    .iter()
                    .filter(|(_, b)| b.started.is_some_and(|s| s.elapsed() >= limits.age))
                    .map(|(k, _)| *k)
                    .collect();
                for k in due {
                    if let Some(b) = pending.remove(&k) {
                        if out.send((k, b)).await.is_err() {
                            return;
                        }
                    }
                }
            }
        }
    }
    for (k, b) in pending {
        if out.send((k, b)).await.is_err() {
            return;
        }
    }
}

/// Stores batches through [`crate::ingest::ingest`], retrying while the database is away,
/// and gives their bytes back to the budget.
async fn store_batches(
    state: AppState,
    mut rx: mpsc::Receiver<(BatchKey, Batch)>,
    mut agents: HashMap<AgentId, AgentPrincipal>,
    budget: Arc<Semaphore>,
    metrics: Metrics,
) {
    let wanted: Vec<AgentId> = agents.keys().copied().collect();
    let mut refreshed = Instant::now();
    while let Some(((id, from), batch)) = rx.recv().await {
        if refreshed.elapsed() >= AGENTS_REFRESH {
            refreshed = Instant::now();
            match load_agents(&state, &wanted).await {
                Ok(a) => agents = a,
                Err(e) => tracing::warn!(error = %e, "cannot read agents; using the ones known"),
            }
        }
        let outcome = match agents.get(&id) {
            None => {
                tracing::warn!(agent_id = %id, lines = batch.lines, "dropping syslog lines of a revoked or removed agent");
                outcome::AGENT
            }
            Some(agent) => store_one(&state, agent, from, &batch).await,
        };
        metrics.message(Transport::Udp, outcome, batch.udp);
        metrics.message(Transport::Tcp, outcome, batch.tcp);
        budget.add_permits(batch.body.len() - batch.lines);
    }
}

async fn store_one(
    state: &AppState,
    agent: &AgentPrincipal,
    from: IpAddr,
    batch: &Batch,
) -> &'static str {
    let mut wait = Duration::from_millis(500);
    let sender = from.to_canonical().to_string();
    for attempt in 1..=INGEST_ATTEMPTS {
        let stored =
            crate::ingest::ingest_from(state, agent, Format::Syslog, &batch.body, None, &sender);
        match stored.await {
            Ok(report) => {
                if report.rejected > 0 {
                    tracing::debug!(agent = %agent.name, rejected = report.rejected, "syslog lines rejected");
                }
                return outcome::STORED;
            }
            Err(e) if attempt < INGEST_ATTEMPTS => {
                tracing::warn!(agent = %agent.name, error = ?e, attempt, "cannot store syslog lines; retrying");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            Err(e) => {
                tracing::error!(agent = %agent.name, lines = batch.lines, error = ?e, "cannot store syslog lines; dropping them");
            }
        }
    }
    outcome::INGEST
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_intake(budget: usize, queue: usize) -> (Intake, mpsc::Receiver<Line>) {
        let (tx, rx) = mpsc::channel(queue);
        let intake = Intake {
            map: Arc::new(SenderMap::default()),
            tx,
            budget: Arc::new(Semaphore::new(budget)),
            metrics: Metrics::default(),
            warned: Arc::default(),
        };
        (intake, rx)
    }

    fn count(m: &Metrics, transport: Transport, outcome: &'static str) -> u64 {
        m.messages
            .get_or_create(&MessageLabels {
                transport: transport.as_str(),
                outcome,
            })
            .get()
    }

    const MSG: &[u8] = b"<13>Nov 30 10:00:00 host app: forty bytes of message";
    const HOST: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const BUDGET: usize = 32 * 1024 * 1024;

    #[tokio::test]
    async fn a_udp_flood_is_dropped_and_counted_beyond_the_budget() {
        let (intake, mut rx) = new_intake(2 * MSG.len() + 10, 100);
        for _ in 0..10 {
            intake.offer(AgentId(1), HOST, MSG);
        }
        assert_eq!(
            count(&intake.metrics, Transport::Udp, outcome::QUEUE_FULL),
            8
        );
        assert_eq!(rx.recv().await.unwrap().text, MSG);
        assert_eq!(rx.recv().await.unwrap().text, MSG);
        assert!(rx.try_recv().is_err(), "nothing more was queued");
        // The queue's own bound drops too, and gives the bytes back.
        let (intake, _rx) = new_intake(BUDGET, 1);
        intake.offer(AgentId(1), HOST, MSG);
        intake.offer(AgentId(1), HOST, MSG);
        assert_eq!(
            count(&intake.metrics, Transport::Udp, outcome::QUEUE_FULL),
            1
        );
        assert_eq!(intake.budget.available_permits(), BUDGET - MSG.len());
    }

    #[tokio::test]
    async fn a_tcp_sender_waits_for_room_instead_of_losing_lines() {
        let (intake, mut rx) = new_intake(MSG.len(), 100);
        assert!(intake.push(AgentId(1), HOST, MSG).await);
        let second = {
            let intake = intake.clone();
            tokio::spawn(async move { intake.push(AgentId(1), HOST, MSG).await })
        };
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(!second.is_finished(), "held back while the budget is spent");
        // The flusher stored the first line and gives its bytes back.
        rx.recv().await.unwrap();
        intake.budget.add_permits(MSG.len());
        assert!(second.await.unwrap());
        assert_eq!(rx.recv().await.unwrap().text, MSG);
        assert_eq!(
            count(&intake.metrics, Transport::Tcp, outcome::QUEUE_FULL),
            0
        );
    }

    #[tokio::test]
    async fn batches_gather_per_sender_and_flush_at_the_end() {
        let (tx, rx) = mpsc::channel(16);
        let (out_tx, mut out) = mpsc::channel(16);
        let limits = BatchLimits {
            lines: 100,
            bytes: BATCH_BYTES,
            age: Duration::from_secs(60),
        };
        let task = tokio::spawn(gather(rx, out_tx, limits));
        let other: IpAddr = "2001:db8::7".parse().unwrap();
        for (agent, from, text) in [
            (1, HOST, "a1"),
            (2, HOST, "b1"),
            (1, HOST, "a2"),
            (1, other, "c1"),
        ] {
            tx.send(Line {
                agent: AgentId(agent),
                from,
                transport: Transport::Udp,
                text: text.as_bytes().to_vec(),
            })
            .await
            .unwrap();
        }
        drop(tx);
        task.await.unwrap();
        let mut got = Vec::new();
        while let Ok(((agent, from), b)) = out.try_recv() {
            let body = String::from_utf8(b.body).unwrap();
            got.push((agent.0, from.to_string(), body, b.lines, b.udp));
        }
        got.sort();
        assert_eq!(
            got,
            vec![
                (1, "192.0.2.1".into(), "a1\na2\n".into(), 2, 2),
                (1, "2001:db8::7".into(), "c1\n".into(), 1, 1),
                (2, "192.0.2.1".into(), "b1\n".into(), 1, 1),
            ]
        );
    }

    #[tokio::test]
    async fn a_full_batch_is_handed_on_at_the_line_limit() {
        let (tx, rx) = mpsc::channel(16);
        let (out_tx, mut out) = mpsc::channel(16);
        let limits = BatchLimits {
            lines: 2,
            bytes: BATCH_BYTES,
            age: Duration::from_secs(60),
        };
        let task = tokio::spawn(gather(rx, out_tx, limits));
        for text in ["x1", "x2", "x3"] {
            let line = Line {
                agent: AgentId(1),
                from: HOST,
                transport: Transport::Tcp,
                text: text.as_bytes().to_vec(),
            };
            tx.send(line).await.unwrap();
        }
        // The first two go out without waiting for the age or the end of the stream.
        let (_, first) = out.recv().await.unwrap();
        assert_eq!((first.body.as_slice(), first.tcp), (&b"x1\nx2\n"[..], 2));
        drop(tx);
        task.await.unwrap();
        let (_, rest) = out.recv().await.unwrap();
        assert_eq!(rest.body, b"x3\n");
    }
}
