//! `feed_state`: one row per configured feed — what the last fetch returned (validators for
//! the next conditional GET, a digest of the body), what the last import did, and when to try
//! next (`next_attempt_at`, pushed out by backoff after failures).

use picket_core::db::schema::Table;
use picket_core::db::{Db, DbResult};
use sea_query::{Expr, OnConflict, Query, SimpleExpr};

picket_core::table! {
    pub(crate) enum FeedState in "feed_state" {
        Name: Text .primary_key(),
        Url: Text,
        Format: Text,
        Etag: Text .nullable(),
        LastModified: Text .nullable(),
        BodySha256: Text .nullable(),
        LastAttemptAt: BigInt .nullable(),
        LastSuccessAt: BigInt .nullable(),
        LastStatus: BigInt .nullable(),
        LastError: Text .nullable(),
        Failures: BigInt .default("0"),
        NextAttemptAt: BigInt,
        LastNew: BigInt .default("0"),
        LastUpdated: BigInt .default("0"),
        LastMerged: BigInt .default("0"),
        LastRejected: BigInt .default("0"),
        /// While a poll holds the row: when its lease ends (Unix ms); null between polls.
        LeasedUntil: BigInt .nullable(),
    }
}

pub const TABLES: &[Table] = &[FeedState::DECLARED];

/// A feed's polling state as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct FeedRow {
    pub name: String,
    pub url: String,
    pub format: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub body_sha256: Option<String>,
    /// Unix ms.
    pub last_attempt_at: Option<i64>,
    pub last_success_at: Option<i64>,
    /// HTTP status of the last answer (none after a connection error or timeout).
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    /// Consecutive failed polls; 0 after a success.
    pub failures: i64,
    pub next_attempt_at: i64,
    pub last_new: i64,
    pub last_updated: i64,
    pub last_merged: i64,
    pub last_rejected: i64,
}

pub async fn get(db: &Db, name: &str) -> DbResult<Option<FeedRow>> {
    let q = Query::select()
        .column(sea_query::Asterisk)
        .from(FeedState::table())
        .and_where(Expr::col(FeedState::Name).eq(name))
        .to_owned();
    db.fetch_optional(&q).await
}

/// Makes sure the feed has a row, due now when new. A feed whose URL or format changed in the
/// config starts afresh: its validators, digest and failures belong to the old source.
pub async fn ensure(db: &Db, name: &str, url: &str, format: &str, now: i64) -> DbResult<()> {
    let insert = Query::insert()
        .into_table(FeedState::table())
        .columns([
            FeedState::Name,
            FeedState::Url,
            FeedState::Format,
            FeedState::NextAttemptAt,
        ])
        .values_panic([name.into(), url.into(), format.into(), now.into()])
        .on_conflict(OnConflict::column(FeedState::Name).do_nothing().to_owned())
        .to_owned();
    db.execute(&insert).await?;
    let reset = Query::update()
        .table(FeedState::table())
        .values([
            (FeedState::Url, url.into()),
            (FeedState::Format, format.into()),
            (FeedState::Etag, Option::<String>::None.into()),
            (FeedState::LastModified, Option::<String>::None.into()),
            (FeedState::BodySha256, Option::<String>::None.into()),
            (FeedState::Failures, 0i64.into()),
            (FeedState::NextAttemptAt, now.into()),
        ])
        .and_where(Expr::col(FeedState::Name).eq(name))
        .and_where(
            Expr::col(FeedState::Url)
                .ne(url)
                .or(Expr::col(FeedState::Format).ne(format)),
        )
        .to_owned();
    db.execute(&reset).await?;
    Ok(())
}

/// Takes the feed for one poll: leases it until `lease_until` (and moves `next_attempt_at`
/// there) if it is due at `now`, or with `force` whether due or not, but never while another
/// poll's lease runs. Only the caller that took it polls, so several workers or servers never
/// fetch the same feed at once, a forced poll included; should that caller die, the feed is
/// free and due again once the lease runs out. Recording the outcome ends the lease.
pub async fn claim(db: &Db, name: &str, now: i64, lease_until: i64, force: bool) -> DbResult<bool> {
    let mut q = Query::update()
        .table(FeedState::table())
        .values([
            (FeedState::NextAttemptAt, lease_until.into()),
            (FeedState::LastAttemptAt, now.into()),
            (FeedState::LeasedUntil, lease_until.into()),
        ])
        .and_where(Expr::col(FeedState::Name).eq(name))
        // Not while another poll holds it, forced or not; a dead holder's lease runs out.
        .and_where(
            Expr::col(FeedState::LeasedUntil)
                .is_null()
                .or(Expr::col(FeedState::LeasedUntil).lte(now)),
        )
        .to_owned();
    if !force {
        q.and_where(Expr::col(FeedState::NextAttemptAt).lte(now));
    }
    Ok(db.execute(&q).await? == 1)
}

/// What a successful poll stores.
#[derive(Debug, Clone, Default)]
pub struct Success {
    pub status: u16,
    /// New validators; `None` keeps the stored ones (a 304 sends none).
    pub validators: Option<(Option<String>, Option<String>)>,
    pub body_sha256: Option<String>,
    /// `(new, updated, merged, rejected)`; `None` when nothing was imported.
    pub counts: Option<(usize, usize, usize, usize)>,
}

pub async fn record_success(db: &Db, name: &str, now: i64, next: i64, s: &Success) -> DbResult<()> {
    let mut values: Vec<(FeedState, SimpleExpr)> = vec![
        (FeedState::LastSuccessAt, now.into()),
        (FeedState::LastStatus, i64::from(s.status).into()),
        (FeedState::LastError, Option::<String>::None.into()),
        (FeedState::Failures, 0i64.into()),
        (FeedState::NextAttemptAt, next.into()),
        (FeedState::LeasedUntil, Option::<i64>::None.into()),
    ];
    if let Some((etag, modified)) = &s.validators {
        values.push((FeedState::Etag, etag.clone().into()));
        values.push((FeedState::LastModified, modified.clone().into()));
    }
    if let Some(h) = &s.body_sha256 {
        values.push((FeedState::BodySha256, h.clone().into()));
    }
    let (new, updated, merged, rejected) = s.counts.unwrap_or_default();
    values.extend([
        (FeedState::LastNew, (new as i64).into()),
        (FeedState::LastUpdated, (updated as i64).into()),
        (FeedState::LastMerged, (merged as i64).into()),
        (FeedState::LastRejected, (rejected as i64).into()),
    ]);
    let q = Query::update()
        .table(FeedState::table())
        .values(values)
        .and_where(Expr::col(FeedState::Name).eq(name))
        .to_owned();
    db.execute(&q).await?;
    Ok(())
}

/// Records a failed poll: one more consecutive failure, the error, and the backed-off next try.
/// Validators and digest stay, so the next success can still be a cheap 304.
pub async fn record_failure(
    db: &Db,
    name: &str,
    status: Option<u16>,
    error: &str,
    failures: i64,
    next: i64,
) -> DbResult<()> {
    let q = Query::update()
        .table(FeedState::table())
        .values([
            (FeedState::LastStatus, status.map(i64::from).into()),
            (FeedState::LastError, error.into()),
            (FeedState::Failures, failures.into()),
            (FeedState::NextAttemptAt, next.into()),
            (FeedState::LeasedUntil, Option::<i64>::None.into()),
        ])
        .and_where(Expr::col(FeedState::Name).eq(name))
        .to_owned();
    db.execute(&q).await?;
    Ok(())
}
