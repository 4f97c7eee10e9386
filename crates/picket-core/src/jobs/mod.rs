//! The durable job queue: a table in the same database, claimed safely by any number of workers
//! in any number of processes.
//!
//! * Claiming is one `UPDATE … RETURNING` of the oldest due row. PostgreSQL adds
//!   `FOR UPDATE SKIP LOCKED` so concurrent workers take different rows without waiting; SQLite
//!   runs the statement under its single writer lock, and a worker that loses the race for the
//!   write lock simply tries again. Either way, two workers never run the same job.
//! * A failed job is retried with exponential backoff until `max_attempts`, then left `dead`
//!   with its last error. A job whose worker vanished (crash, kill) is re-queued once its lease
//!   expires, so shutdown never loses work.
//! * Periodic jobs are enqueued once per period across every process that runs a scheduler:
//!   the period is taken with a conditional update of a shared row ([`schedule`]).
//! * `serve` runs workers in-process; `picket worker` runs only workers. Tests call
//!   [`run_pending_jobs`] to drain the queue deterministically.

mod queue;
pub mod schedule;
mod worker;

pub use queue::{
    claim, complete, counts, enqueue, enqueue_tx, fail, heartbeat, reclaim_stale, release_worker,
    Job, JobId, JobStatus, NewJob,
};

/// The queue's tables: the jobs, and the periodic kinds' shared schedule.
pub const TABLES: &[crate::db::schema::Table] =
    &[queue::Jobs::DECLARED, schedule::JobSchedules::DECLARED];
pub use worker::{run_pending_jobs, run_worker, spawn_workers, JobRegistry, WorkerHandle};
