//! Periodic jobs, enqueued once per period however many processes run schedulers.
//!
//! Each periodic kind has one row in `job_schedules` with the time it is next due. A scheduler
//! whose own clock says a kind is due moves that row forward by one period with a conditional
//! `UPDATE … WHERE next_at <= now`; only the process whose update changed the row enqueues the
//! job, in the same transaction, so the move and the job exist together or not at all. The
//! others see the new `next_at` and sleep until then. Two enqueues of a kind are therefore at
//! least one period apart (by the database writers' clocks), on either backend; a dedupe key
//! (the kind) still keeps a single pending job when a run outlasts its period.
//!
//! A kind seen for the first time is due one period after that first sighting; a process that
//! joins later adopts the shared time instead of starting a period of its own, and a shorter
//! period in a newer version pulls a too-distant `next_at` in.

use std::time::Duration;

use sea_query::{Expr, OnConflict, Query};

use super::queue::{enqueue_tx, NewJob};
use crate::db::{Db, DbResult};
use crate::time::now_ms;

crate::table! {
    pub(crate) enum JobSchedules in "job_schedules" {
        Kind: Text .primary_key(),
        /// Unix ms when the kind is next due.
        NextAt: BigInt,
        /// When and by which worker prefix the last job of the kind was enqueued.
        LastEnqueuedAt: BigInt .nullable(),
        LastEnqueuedBy: Text .nullable(),
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX).max(1)
}

/// Makes sure `kind` has its row (due one period from now when new), and that a stored time
/// further out than one period (the period was shortened) comes in to one period.
pub async fn ensure(db: &Db, kind: &str, every: Duration) -> DbResult<()> {
    let now = now_ms();
    let every = ms(every);
    let insert = Query::insert()
        .into_table(JobSchedules::table())
        .columns([JobSchedules::Kind, JobSchedules::NextAt])
        .values_panic([kind.into(), (now + every).into()])
        .on_conflict(
            OnConflict::column(JobSchedules::Kind)
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    db.execute(&insert).await?;
    let pull_in = Query::update()
        .table(JobSchedules::table())
        .value(JobSchedules::NextAt, now + every)
        .and_where(Expr::col(JobSchedules::Kind).eq(kind))
        .and_where(Expr::col(JobSchedules::NextAt).gt(now + every))
        .to_owned();
    db.execute(&pull_in).await?;
    Ok(())
}

/// What one attempt at a due kind found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tick {
    /// This process moved the schedule and enqueued the job (or found one still pending).
    Enqueued,
    /// Not due at `now`: another process took this period, or it is not time yet.
    NotDue,
}

/// Takes the current period of `kind` if it is due and enqueues its job; `by` is recorded.
pub async fn tick(db: &Db, kind: &str, every: Duration, by: &str) -> DbResult<Tick> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    let take = Query::update()
        .table(JobSchedules::table())
        .values([
            (JobSchedules::NextAt, (now + ms(every)).into()),
            (JobSchedules::LastEnqueuedAt, now.into()),
            (JobSchedules::LastEnqueuedBy, by.into()),
        ])
        .and_where(Expr::col(JobSchedules::Kind).eq(kind))
        .and_where(Expr::col(JobSchedules::NextAt).lte(now))
        .to_owned();
    if tx.execute(&take).await? != 1 {
        return Ok(Tick::NotDue);
    }
    let job = NewJob::new(kind, serde_json::json!({})).dedupe(kind);
    enqueue_tx(&mut tx, &job).await?;
    tx.commit().await?;
    Ok(Tick::Enqueued)
}

/// When `kind` is next due (Unix ms), as stored.
pub async fn next_at(db: &Db, kind: &str) -> DbResult<Option<i64>> {
    let q = Query::select()
        .column(JobSchedules::NextAt)
        .from(JobSchedules::table())
        .and_where(Expr::col(JobSchedules::Kind).eq(kind))
        .to_owned();
    let row: Option<(i64,)> = db.fetch_optional(&q).await?;
    Ok(row.map(|r| r.0))
}
