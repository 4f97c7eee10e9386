//! Queue storage: enqueue, claim, complete, fail.

use sea_query::{Expr, OnConflict, Order, Query, Values};
use serde::Serialize;

use crate::db::{placeholder, Backend, Db, DbResult, Tx};
use crate::time::now_ms;

crate::table! {
    pub(crate) enum Jobs in "jobs" {
        Id: Serial,
        Kind: Text,
        Payload: Text,
        Status: Text,
        Attempts: BigInt .default("0"),
        MaxAttempts: BigInt,
        RunAt: BigInt,
        LockedBy: Text .nullable(),
        LockedAt: BigInt .nullable(),
        LastError: Text .nullable(),
        DedupeKey: Text .nullable(),
        CreatedAt: BigInt,
        UpdatedAt: BigInt,
        FinishedAt: BigInt .nullable(),
    }
    indexes {
        index jobs_due (Status, RunAt),
        unique jobs_dedupe (DedupeKey),
    }
}

pub type JobId = i64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[derive(strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Dead,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub payload: serde_json::Value,
    /// Not before this time (Unix ms); default now.
    pub run_at: Option<i64>,
    pub max_attempts: i64,
    /// At most one queued or running job per key; a second enqueue is a no-op.
    pub dedupe_key: Option<String>,
}

impl NewJob {
    pub fn new(kind: impl Into<String>, payload: serde_json::Value) -> NewJob {
        NewJob {
            kind: kind.into(),
            payload,
            run_at: None,
            max_attempts: 5,
            dedupe_key: None,
        }
    }

    pub fn dedupe(mut self, key: impl Into<String>) -> NewJob {
        self.dedupe_key = Some(key.into());
        self
    }

    pub fn max_attempts(mut self, n: i64) -> NewJob {
        self.max_attempts = n.max(1);
        self
    }

    pub fn run_at(mut self, at_ms: i64) -> NewJob {
        self.run_at = Some(at_ms);
        self
    }
}

/// A claimed job.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
    pub max_attempts: i64,
}

fn insert_stmt(job: &NewJob) -> sea_query::InsertStatement {
    let now = now_ms();
    Query::insert()
        .into_table(Jobs::table())
        .columns([
            Jobs::Kind,
            Jobs::Payload,
            Jobs::Status,
            Jobs::MaxAttempts,
            Jobs::RunAt,
            Jobs::DedupeKey,
            Jobs::CreatedAt,
            Jobs::UpdatedAt,
        ])
        .values_panic([
            job.kind.clone().into(),
            job.payload.to_string().into(),
            JobStatus::Queued.as_str().into(),
            job.max_attempts.into(),
            job.run_at.unwrap_or(now).into(),
            job.dedupe_key.clone().into(),
            now.into(),
            now.into(),
        ])
        .on_conflict(OnConflict::column(Jobs::DedupeKey).do_nothing().to_owned())
        .returning_col(Jobs::Id)
        .to_owned()
}

/// Enqueues a job; `None` when a job with the same dedupe key is already pending.
pub async fn enqueue(db: &Db, job: &NewJob) -> DbResult<Option<JobId>> {
    let row: Option<(i64,)> = db.fetch_optional(&insert_stmt(job)).await?;
    Ok(row.map(|r| r.0))
}

/// Enqueues inside a caller's transaction, so the job exists exactly when the change does.
pub async fn enqueue_tx(tx: &mut Tx, job: &NewJob) -> DbResult<Option<JobId>> {
    let row: Option<(i64,)> = tx.fetch_optional(&insert_stmt(job)).await?;
    Ok(row.map(|r| r.0))
}

/// The claim statement: the one dialect branch of the queue.
fn claim_sql(backend: Backend, kinds: usize) -> String {
    let p = |n| placeholder(backend, n);
    let kind_list: Vec<String> = (0..kinds).map(|i| p(i + 3)).collect();
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    format!(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = {w}, \
         locked_at = {now}, updated_at = {now} \
         WHERE status = 'queued' AND id = (SELECT id FROM jobs WHERE status = 'queued' \
         AND run_at <= {now} AND kind IN ({kinds}) ORDER BY run_at, id LIMIT 1{lock}) \
         RETURNING id, kind, payload, attempts, max_attempts",
        w = p(1),
        now = p(2),
        kinds = kind_list.join(", "),
    )
}

/// Claims the oldest due job of one of `kinds` for `worker`.
pub async fn claim(db: &Db, worker: &str, kinds: &[String]) -> DbResult<Option<Job>> {
    if kinds.is_empty() {
        return Ok(None);
    }
    let sql = claim_sql(db.backend(), kinds.len());
    let now = now_ms();
    let mut values: Vec<sea_query::Value> = vec![worker.into(), now.into()];
    values.extend(kinds.iter().map(|k| sea_query::Value::from(k.clone())));
    let mut attempt = 0;
    loop {
        match db
            .fetch_optional_sql::<Job>(&sql, Values(values.clone()))
            .await
        {
            Err(e) if e.is_transient() && attempt < 20 => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(5 * attempt)).await;
            }
            other => return other,
        }
    }
}

/// Records a job's success. Only the worker that holds the job may: a worker whose lease ran
/// out and whose job another worker has taken over changes nothing (`Ok(false)`).
pub async fn complete(db: &Db, id: JobId, worker: &str) -> DbResult<bool> {
    let now = now_ms();
    let q = Query::update()
        .table(Jobs::table())
        .values([
            (Jobs::Status, JobStatus::Done.as_str().into()),
            (Jobs::FinishedAt, now.into()),
            (Jobs::UpdatedAt, now.into()),
            (Jobs::DedupeKey, Option::<String>::None.into()),
        ])
        .and_where(Expr::col(Jobs::Id).eq(id))
        .and_where(Expr::col(Jobs::Status).eq(JobStatus::Running.as_str()))
        .and_where(Expr::col(Jobs::LockedBy).eq(worker))
        .to_owned();
    Ok(db.execute(&q).await? == 1)
}

/// Seconds before retry `attempt` (1-based): 5, 10, 20, … capped at one hour.
pub fn backoff_secs(attempt: i64) -> i64 {
    let exp = attempt.clamp(1, 20) - 1;
    (5i64 << exp.min(10)).min(3600)
}

/// Records a failure: re-queued with backoff, or `dead` once attempts are spent. As with
/// [`complete`], only the worker holding the job records anything; `Ok(None)` otherwise.
pub async fn fail(db: &Db, job: &Job, worker: &str, error: &str) -> DbResult<Option<JobStatus>> {
    let now = now_ms();
    let dead = job.attempts >= job.max_attempts;
    let status = if dead {
        JobStatus::Dead
    } else {
        JobStatus::Queued
    };
    let mut q = Query::update();
    q.table(Jobs::table())
        .values([
            (Jobs::Status, status.as_str().into()),
            (
                Jobs::LastError,
                error.chars().take(4000).collect::<String>().into(),
            ),
            (Jobs::UpdatedAt, now.into()),
            (Jobs::LockedBy, Option::<String>::None.into()),
        ])
        .and_where(Expr::col(Jobs::Id).eq(job.id))
        .and_where(Expr::col(Jobs::Status).eq(JobStatus::Running.as_str()))
        .and_where(Expr::col(Jobs::LockedBy).eq(worker));
    if dead {
        q.values([
            (Jobs::FinishedAt, now.into()),
            (Jobs::DedupeKey, Option::<String>::None.into()),
        ]);
    } else {
        q.value(Jobs::RunAt, now + backoff_secs(job.attempts) * 1000);
    }
    Ok((db.execute(&q).await? == 1).then_some(status))
}

/// Renews the lease of a job its worker is still running.
pub async fn heartbeat(db: &Db, id: JobId, worker: &str) -> DbResult<()> {
    let now = now_ms();
    let q = Query::update()
        .table(Jobs::table())
        .values([(Jobs::LockedAt, now.into()), (Jobs::UpdatedAt, now.into())])
        .and_where(Expr::col(Jobs::Id).eq(id))
        .and_where(Expr::col(Jobs::LockedBy).eq(worker))
        .and_where(Expr::col(Jobs::Status).eq(JobStatus::Running.as_str()))
        .to_owned();
    db.execute(&q).await.map(|_| ())
}

/// Re-queues running jobs whose lease ran out (their worker died). Returns how many.
pub async fn reclaim_stale(db: &Db, lease_ms: i64) -> DbResult<u64> {
    let now = now_ms();
    let q = Query::update()
        .table(Jobs::table())
        .values([
            (Jobs::Status, JobStatus::Queued.as_str().into()),
            (Jobs::LockedBy, Option::<String>::None.into()),
            (Jobs::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(Jobs::Status).eq(JobStatus::Running.as_str()))
        .and_where(Expr::col(Jobs::LockedAt).lt(now - lease_ms))
        .to_owned();
    db.execute(&q).await
}

/// Puts the given worker's running jobs back in the queue (graceful shutdown).
pub async fn release_worker(db: &Db, worker: &str) -> DbResult<u64> {
    let q = Query::update()
        .table(Jobs::table())
        .values([
            (Jobs::Status, JobStatus::Queued.as_str().into()),
            (Jobs::LockedBy, Option::<String>::None.into()),
            (Jobs::UpdatedAt, now_ms().into()),
        ])
        .and_where(Expr::col(Jobs::Status).eq(JobStatus::Running.as_str()))
        .and_where(Expr::col(Jobs::LockedBy).eq(worker))
        .to_owned();
    db.execute(&q).await
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct StatusCount {
    pub status: String,
    pub n: i64,
}

/// Jobs per status (for `/metrics`).
pub async fn counts(db: &Db) -> DbResult<Vec<StatusCount>> {
    let q = Query::select()
        .column(Jobs::Status)
        .expr_as(Expr::col(Jobs::Id).count(), sea_query::Alias::new("n"))
        .from(Jobs::table())
        .group_by_col(Jobs::Status)
        .order_by(Jobs::Status, Order::Asc)
        .to_owned();
    db.fetch_all(&q).await
}

/// Deletes finished jobs older than `keep_ms`.
pub async fn prune_finished(db: &Db, keep_ms: i64) -> DbResult<u64> {
    let q = Query::delete()
        .from_table(Jobs::table())
        .and_where(
            Expr::col(Jobs::Status).is_in([JobStatus::Done.as_str(), JobStatus::Dead.as_str()]),
        )
        .and_where(Expr::col(Jobs::FinishedAt).lt(now_ms() - keep_ms))
        .to_owned();
    db.execute(&q).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_stored_as_serde_spells_them() {
        for s in [
            JobStatus::Queued,
            JobStatus::Running,
            JobStatus::Done,
            JobStatus::Dead,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(JobStatus::Running.as_str(), "running");
    }

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff_secs(1), 5);
        assert_eq!(backoff_secs(2), 10);
        assert_eq!(backoff_secs(3), 20);
        assert_eq!(backoff_secs(30), 3600);
    }

    #[test]
    fn claim_sql_locks_only_on_postgres() {
        assert!(claim_sql(Backend::Postgres, 2).contains("FOR UPDATE SKIP LOCKED"));
        assert!(claim_sql(Backend::Postgres, 2).contains("kind IN ($3, $4)"));
        assert!(!claim_sql(Backend::Sqlite, 1).contains("SKIP LOCKED"));
    }
}
