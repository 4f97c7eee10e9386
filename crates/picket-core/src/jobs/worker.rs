//! Workers: claim, run, record; and the registry that maps job kinds to handlers.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::queue::{self, Job, JobStatus};
use super::schedule;
use crate::AppState;

type BoxFuture = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;
type Handler = Arc<dyn Fn(AppState, serde_json::Value) -> BoxFuture + Send + Sync>;

/// Job kinds this process can run. Workers claim only these kinds, so a job enqueued by a newer
/// server version waits for a worker that knows it instead of dying here.
#[derive(Clone, Default)]
pub struct JobRegistry {
    handlers: BTreeMap<String, Handler>,
    /// Kinds enqueued periodically (deduplicated, so many processes enqueue each once).
    schedules: Vec<(String, Duration)>,
}

impl std::fmt::Debug for JobRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.handlers.keys()).finish()
    }
}

impl JobRegistry {
    pub fn new() -> JobRegistry {
        JobRegistry::default()
    }

    /// Registers `handler` for `kind`. The payload is the JSON given at enqueue time.
    pub fn register<F, Fut>(&mut self, kind: &str, handler: F) -> &mut Self
    where
        F: Fn(AppState, serde_json::Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.handlers.insert(
            kind.to_string(),
            Arc::new(move |s, p| Box::pin(handler(s, p))),
        );
        self
    }

    /// Enqueues a `kind` job (empty payload) every `every` while workers run.
    pub fn every(&mut self, kind: &str, every: Duration) -> &mut Self {
        self.schedules.push((kind.to_string(), every));
        self
    }

    pub fn kinds(&self) -> Vec<String> {
        self.handlers.keys().cloned().collect()
    }
}

/// How long a claimed job may run before another worker may take it over.
pub const LEASE_MS: i64 = 15 * 60 * 1000;
const IDLE_POLL: Duration = Duration::from_millis(1000);
const KEEP_FINISHED_MS: i64 = 7 * 24 * 3600 * 1000;

struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How often a worker renews the lease of the job in hand.
const HEARTBEAT: Duration = Duration::from_secs(300);

/// Runs one claimed job to its recorded outcome, renewing its lease while it runs.
async fn execute(state: &AppState, job: Job, worker: &str) -> JobStatus {
    let Some(handler) = state.jobs.handlers.get(&job.kind).cloned() else {
        // Unreachable through `claim`, which filters by registered kinds.
        return JobStatus::Queued;
    };
    let span = tracing::info_span!("job", id = job.id, kind = %job.kind, attempt = job.attempts);
    // A payload that is not JSON fails the attempt with the reason; it never runs the handler
    // with a stand-in value.
    let outcome = match serde_json::from_str::<serde_json::Value>(&job.payload) {
        Err(e) => Err(anyhow::anyhow!("stored job payload is not JSON: {e}")),
        Ok(payload) => {
            let _e = span.enter();
            tracing::debug!("job started");
            drop(_e);
            // A panicking handler is a failed attempt, not a dead worker.
            // Dropping `task` (the worker aborted at shutdown) aborts the handler too, so a job
            // put back in the queue is never still running here.
            let mut task = AbortOnDrop(tokio::spawn(handler(state.clone(), payload)));
            let mut beat =
                tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
            loop {
                tokio::select! {
                    r = &mut task.0 => break match r {
                        Ok(r) => r,
                        Err(e) => Err(anyhow::anyhow!("job panicked: {e}")),
                    },
                    _ = beat.tick() => {
                        if let Err(e) = queue::heartbeat(&state.db, job.id, worker).await {
                            tracing::warn!(job = job.id, error = %e, "could not renew the job lease");
                        }
                    }
                }
            }
        }
    };
    let status = match outcome {
        Ok(()) => match queue::complete(&state.db, job.id, worker).await {
            Ok(true) => JobStatus::Done,
            Ok(false) => {
                tracing::warn!(job = job.id, kind = %job.kind, "job finished after its lease passed to another worker; its outcome is not recorded");
                JobStatus::Running
            }
            Err(e) => {
                tracing::error!(job = job.id, error = %e, "could not record job completion");
                JobStatus::Running
            }
        },
        Err(err) => {
            let msg = format!("{err:#}");
            match queue::fail(&state.db, &job, worker, &msg).await {
                Ok(Some(s)) => {
                    tracing::warn!(job = job.id, kind = %job.kind, attempt = job.attempts, error = %msg, status = s.as_str(), "job failed");
                    s
                }
                Ok(None) => {
                    tracing::warn!(job = job.id, kind = %job.kind, error = %msg, "job failed after its lease passed to another worker; its outcome is not recorded");
                    JobStatus::Running
                }
                Err(e) => {
                    tracing::error!(job = job.id, error = %e, "could not record job failure");
                    JobStatus::Running
                }
            }
        }
    };
    state.metrics.job_finished(&job.kind, status);
    status
}

/// Runs every job that is due now, one at a time, until none is left; returns how many ran.
/// Jobs a job enqueues are run too; retries scheduled for later are not.
pub async fn run_pending_jobs(state: &AppState) -> anyhow::Result<usize> {
    let kinds = state.jobs.kinds();
    let mut ran = 0;
    while let Some(job) = queue::claim(&state.db, "drain", &kinds).await? {
        execute(state, job, "drain").await;
        ran += 1;
    }
    Ok(ran)
}

/// One worker loop: claim and run until `shutdown` turns true. The job in hand is finished
/// before the loop exits.
pub async fn run_worker(state: AppState, worker_id: String, mut shutdown: watch::Receiver<bool>) {
    let kinds = state.jobs.kinds();
    if kinds.is_empty() {
        let _ = shutdown.wait_for(|s| *s).await;
        return;
    }
    let mut last_maintenance = std::time::Instant::now() - Duration::from_secs(3600);
    loop {
        if *shutdown.borrow() {
            break;
        }
        if last_maintenance.elapsed() > Duration::from_secs(60) {
            last_maintenance = std::time::Instant::now();
            match queue::reclaim_stale(&state.db, LEASE_MS).await {
                Ok(n) if n > 0 => tracing::warn!(jobs = n, "re-queued jobs whose worker stopped"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not reclaim stale jobs"),
            }
            if let Err(e) = queue::prune_finished(&state.db, KEEP_FINISHED_MS).await {
                tracing::warn!(error = %e, "could not prune finished jobs");
            }
        }
        match queue::claim(&state.db, &worker_id, &kinds).await {
            Ok(Some(job)) => {
                execute(&state, job, &worker_id).await;
            }
            Ok(None) => {
                tokio::select! {
                    _ = state.job_signal.notified() => {}
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                    _ = shutdown.changed() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not claim a job");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }
}

/// A set of running workers and the switch that stops them.
#[derive(Debug)]
pub struct WorkerHandle {
    state: AppState,
    stop: watch::Sender<bool>,
    tasks: Vec<(String, JoinHandle<()>)>,
}

impl WorkerHandle {
    /// Asks every worker to stop after its current job and waits up to `grace` for them; a job
    /// still running then is abandoned and put back in the queue for another worker.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + grace;
        for (id, mut task) in self.tasks {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                task.abort();
                match queue::release_worker(&self.state.db, &id).await {
                    Ok(n) if n > 0 => {
                        tracing::warn!(worker = %id, jobs = n, "job interrupted by shutdown; re-queued")
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!(worker = %id, error = %e, "could not re-queue interrupted job")
                    }
                }
            }
        }
    }
}

/// Enqueues each scheduled kind when it falls due, until shutdown. The period is taken in the
/// shared schedule ([`schedule::tick`]), so with many processes each period enqueues one job;
/// a process that lost a period sleeps until the time the winner stored.
async fn run_scheduler(state: AppState, by: String, mut shutdown: watch::Receiver<bool>) {
    let schedules = state.jobs.schedules.clone();
    if schedules.is_empty() {
        return;
    }
    let start = tokio::time::Instant::now();
    // Until the shared rows are read, each kind is looked at after a period, as it is when new.
    let mut due: Vec<tokio::time::Instant> =
        schedules.iter().map(|(_, every)| start + *every).collect();
    for (i, (kind, every)) in schedules.iter().enumerate() {
        match schedule::ensure(&state.db, kind, *every).await {
            Ok(()) => due[i] = shared_due(&state, kind, *every).await.unwrap_or(due[i]),
            Err(e) => tracing::warn!(kind = %kind, error = %e, "could not read the job schedule"),
        }
    }
    loop {
        let next = due.iter().min().copied().unwrap_or(start);
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
        let now = tokio::time::Instant::now();
        for (i, (kind, every)) in schedules.iter().enumerate() {
            if due[i] > now {
                continue;
            }
            // On a storage error, try again in a period (or sooner, when the row says so).
            due[i] = now + *every;
            match schedule::tick(&state.db, kind, *every, &by).await {
                Ok(schedule::Tick::Enqueued) => state.job_signal.notify_one(),
                Ok(schedule::Tick::NotDue) => {}
                Err(e) => {
                    tracing::warn!(kind = %kind, error = %e, "could not enqueue a scheduled job");
                    continue;
                }
            }
            if let Some(at) = shared_due(&state, kind, *every).await {
                due[i] = at;
            }
        }
    }
}

/// When the shared schedule says `kind` is next due, as an instant of this process's clock
/// (never more than one period away, so a clock far ahead elsewhere cannot starve this one).
async fn shared_due(state: &AppState, kind: &str, every: Duration) -> Option<tokio::time::Instant> {
    let at = match schedule::next_at(&state.db, kind).await {
        Ok(at) => at?,
        Err(e) => {
            tracing::warn!(kind = %kind, error = %e, "could not read the job schedule");
            return None;
        }
    };
    let wait_ms = (at - crate::time::now_ms()).clamp(0, every.as_millis() as i64);
    Some(tokio::time::Instant::now() + Duration::from_millis(wait_ms as u64))
}

/// Starts `n` workers named `<prefix>-<i>`, and the scheduler of periodic jobs.
pub fn spawn_workers(state: &AppState, n: usize, prefix: &str) -> WorkerHandle {
    let (stop, rx) = watch::channel(false);
    let scheduler = (
        format!("{prefix}-scheduler"),
        tokio::spawn(run_scheduler(state.clone(), prefix.to_string(), rx.clone())),
    );
    let tasks = std::iter::once(scheduler)
        .chain((0..n).map(|i| {
            let id = format!("{prefix}-{i}");
            let task = tokio::spawn(run_worker(state.clone(), id.clone(), rx.clone()));
            (id, task)
        }))
        .collect();
    WorkerHandle {
        state: state.clone(),
        stop,
        tasks,
    }
}
