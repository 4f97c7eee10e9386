//! Running totals of one agent process, and the periodic progress line in the log.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct Stats {
    /// Lines read from files and spooled.
    pub lines_read: AtomicU64,
    /// Batches the server acknowledged (new or duplicate).
    pub batches_sent: AtomicU64,
    /// Of those, batches it had already stored (a resend after a crash or a lost answer).
    pub batches_duplicate: AtomicU64,
    /// The server's counts over acknowledged batches.
    pub lines_accepted: AtomicU64,
    pub lines_skipped: AtomicU64,
    pub lines_rejected: AtomicU64,
    /// Batches moved to `rejected/`.
    pub batches_refused: AtomicU64,
    last_error: Mutex<Option<String>>,
}

/// A copy of the totals at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub lines_read: u64,
    pub batches_sent: u64,
    pub batches_duplicate: u64,
    pub lines_accepted: u64,
    pub lines_skipped: u64,
    pub lines_rejected: u64,
    pub batches_refused: u64,
    pub last_error: Option<String>,
}

impl Stats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn set_error(&self, e: Option<String>) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = e;
    }

    pub fn snapshot(&self) -> Snapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Snapshot {
            lines_read: get(&self.lines_read),
            batches_sent: get(&self.batches_sent),
            batches_duplicate: get(&self.batches_duplicate),
            lines_accepted: get(&self.lines_accepted),
            lines_skipped: get(&self.lines_skipped),
            lines_rejected: get(&self.lines_rejected),
            batches_refused: get(&self.batches_refused),
            last_error: self
                .last_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }
}

/// Logs one progress line: totals, what changed since `before` over `secs`, spool depth.
pub fn log_progress(now: &Snapshot, before: &Snapshot, secs: f64, depth: u64) {
    let rate = |a: u64, b: u64| ((a - b) as f64 / secs.max(0.001)).round() as u64;
    tracing::info!(
        lines_read = now.lines_read,
        lines_accepted = now.lines_accepted,
        lines_skipped = now.lines_skipped,
        lines_rejected = now.lines_rejected,
        batches_sent = now.batches_sent,
        batches_duplicate = now.batches_duplicate,
        batches_refused = now.batches_refused,
        read_per_sec = rate(now.lines_read, before.lines_read),
        accepted_per_sec = rate(now.lines_accepted, before.lines_accepted),
        spool_depth = depth,
        last_error = now.last_error.as_deref().unwrap_or(""),
        "progress"
    );
}
