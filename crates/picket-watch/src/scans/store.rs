//! The scan table: one row per scan, queued → running → done | failed, with its counts.

use picket_core::db::schema::{OnDelete, Table};
use picket_core::db::table::TenantTable;
use picket_core::db::{Db, DbResult, Tx};
use picket_core::identity::TenantId;
use picket_core::jobs::NewJob;
use picket_core::time::now_ms;
use picket_core::AppState;
use sea_query::{Expr, Query};

use super::SCAN;

picket_core::table! {
    pub(crate) enum ThreatScans in "threat_scans", tenant_owned {
        Id: Text .primary_key(),
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        Status: Text,
        // JSON array of asset server ids; `null` = every asset of the tenant.
        AssetIds: Text .nullable(),
        LookbackHours: BigInt,
        EventsExamined: BigInt .default("0"),
        ThreatsCreated: BigInt .default("0"),
        ThreatsUpdated: BigInt .default("0"),
        CreatedAt: BigInt,
        StartedAt: BigInt .nullable(),
        FinishedAt: BigInt .nullable(),
        Error: Text .nullable(),
    }
    indexes {
        index threat_scans_tenant_created (TenantId, CreatedAt),
    }
}

pub const TABLES: &[Table] = &[ThreatScans::DECLARED];

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScanRow {
    pub id: String,
    pub tenant_id: i64,
    pub status: String,
    /// JSON array of asset server ids; `None` = every asset of the tenant.
    pub asset_ids: Option<String>,
    pub lookback_hours: i64,
    pub events_examined: i64,
    pub threats_created: i64,
    pub threats_updated: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub error: Option<String>,
}

const COLUMNS: [ThreatScans; 11] = [
    ThreatScans::Id,
    ThreatScans::TenantId,
    ThreatScans::Status,
    ThreatScans::AssetIds,
    ThreatScans::LookbackHours,
    ThreatScans::EventsExamined,
    ThreatScans::ThreatsCreated,
    ThreatScans::ThreatsUpdated,
    ThreatScans::StartedAt,
    ThreatScans::FinishedAt,
    ThreatScans::Error,
];

/// Records a queued scan and enqueues its job, in one transaction.
pub async fn start(
    state: &AppState,
    tenant: TenantId,
    asset_uuids: Option<Vec<String>>,
    lookback_hours: i64,
) -> DbResult<String> {
    let mut tx = state.db.begin().await?;
    let id = start_tx(&mut tx, tenant, asset_uuids, lookback_hours).await?;
    tx.commit().await?;
    state.job_signal.notify_one();
    Ok(id)
}

/// Records a queued scan and its job inside the caller's transaction (asset changes scan the
/// changed assets exactly when the change commits).
pub async fn start_tx(
    tx: &mut Tx,
    tenant: TenantId,
    asset_uuids: Option<Vec<String>>,
    lookback_hours: i64,
) -> DbResult<String> {
    let id = uuid::Uuid::now_v7().to_string();
    let q = ThreatScans::insert(
        tenant,
        vec![
            (ThreatScans::Id, id.clone().into()),
            (ThreatScans::Status, "queued".into()),
            (
                ThreatScans::AssetIds,
                asset_uuids.map(|a| serde_json::json!(a).to_string()).into(),
            ),
            (ThreatScans::LookbackHours, lookback_hours.into()),
            (ThreatScans::CreatedAt, now_ms().into()),
        ],
    )
    .to_owned();
    tx.execute(&q).await?;
    let job = NewJob::new(SCAN, serde_json::json!({ "scan_id": id }));
    picket_core::jobs::enqueue_tx(tx, &job).await?;
    Ok(id)
}

/// A scan of any tenant (for its job).
pub async fn find(db: &Db, id: &str) -> DbResult<Option<ScanRow>> {
    let q = Query::select()
        .columns(COLUMNS)
        // Across tenants: the scan job is named by the scan's id alone, and the row it finds
        // carries the tenant the job then works for.
        .from(ThreatScans::across_tenants())
        .and_where(Expr::col(ThreatScans::Id).eq(id))
        .to_owned();
    db.fetch_optional(&q).await
}

/// A tenant's scan, or `None` (unknown or another tenant's).
pub async fn find_owned(db: &Db, tenant: TenantId, id: &str) -> DbResult<Option<ScanRow>> {
    let q = ThreatScans::select(tenant)
        .columns(COLUMNS)
        .and_where(Expr::col(ThreatScans::Id).eq(id))
        .to_owned();
    db.fetch_optional(&q).await
}

async fn mark(
    db: &Db,
    id: &str,
    values: Vec<(ThreatScans, sea_query::SimpleExpr)>,
) -> DbResult<()> {
    db.execute(
        &Query::update()
            // Across tenants: the scan job's progress, by the id of the scan it found.
            .table(ThreatScans::across_tenants())
            .values(values)
            .and_where(Expr::col(ThreatScans::Id).eq(id))
            .to_owned(),
    )
    .await
    .map(|_| ())
}

/// The scan has started.
pub async fn mark_running(db: &Db, id: &str, now: i64) -> DbResult<()> {
    mark(
        db,
        id,
        vec![
            (ThreatScans::Status, "running".into()),
            (ThreatScans::StartedAt, now.into()),
        ],
    )
    .await
}

/// The scan finished, with its counts.
pub async fn mark_done(
    db: &Db,
    id: &str,
    examined: u64,
    created: u64,
    updated: u64,
) -> DbResult<()> {
    mark(
        db,
        id,
        vec![
            (ThreatScans::Status, "done".into()),
            (ThreatScans::EventsExamined, (examined as i64).into()),
            (ThreatScans::ThreatsCreated, (created as i64).into()),
            (ThreatScans::ThreatsUpdated, (updated as i64).into()),
            (ThreatScans::FinishedAt, now_ms().into()),
        ],
    )
    .await
}

/// The scan failed; `error` is shown to the client.
pub async fn mark_failed(db: &Db, id: &str, error: &str) -> DbResult<()> {
    mark(
        db,
        id,
        vec![
            (ThreatScans::Status, "failed".into()),
            (ThreatScans::Error, error.into()),
            (ThreatScans::FinishedAt, now_ms().into()),
        ],
    )
    .await
}
