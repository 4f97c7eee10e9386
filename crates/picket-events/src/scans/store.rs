//! The scan table: one row per scan, queued → running → done | failed, with its counts.

use picket_core::db::schema::{ColType, Column, Index, OnDelete, Table};
use picket_core::db::{Db, DbResult, Tx};
use picket_core::identity::TenantId;
use picket_core::jobs::NewJob;
use picket_core::time::now_ms;
use picket_core::AppState;
use sea_query::{Expr, Iden, Query};

use super::SCAN;

#[derive(Iden, Clone, Copy)]
enum ThreatScans {
    Table,
    Id,
    TenantId,
    Status,
    AssetIds,
    LookbackHours,
    EventsExamined,
    ThreatsCreated,
    ThreatsUpdated,
    CreatedAt,
    StartedAt,
    FinishedAt,
    Error,
}

pub const TABLES: &[Table] = &[Table {
    name: "threat_scans",
    columns: &[
        Column::new("id", ColType::Text).primary_key(),
        Column::new("tenant_id", ColType::BigInt).references("tenants", "id", OnDelete::Cascade),
        Column::new("status", ColType::Text),
        // JSON array of asset server ids; `null` = every asset of the tenant.
        Column::new("asset_ids", ColType::Text).nullable(),
        Column::new("lookback_hours", ColType::BigInt),
        Column::new("events_examined", ColType::BigInt).default("0"),
        Column::new("threats_created", ColType::BigInt).default("0"),
        Column::new("threats_updated", ColType::BigInt).default("0"),
        Column::new("created_at", ColType::BigInt),
        Column::new("started_at", ColType::BigInt).nullable(),
        Column::new("finished_at", ColType::BigInt).nullable(),
        Column::new("error", ColType::Text).nullable(),
    ],
    indexes: &[Index::new(
        "threat_scans_tenant_created",
        &["tenant_id", "created_at"],
    )],
}];

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
    let q = Query::insert()
        .into_table(ThreatScans::Table)
        .columns([
            ThreatScans::Id,
            ThreatScans::TenantId,
            ThreatScans::Status,
            ThreatScans::AssetIds,
            ThreatScans::LookbackHours,
            ThreatScans::CreatedAt,
        ])
        .values_panic([
            id.clone().into(),
            tenant.into(),
            "queued".into(),
            asset_uuids.map(|a| serde_json::json!(a).to_string()).into(),
            lookback_hours.into(),
            now_ms().into(),
        ])
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
        .from(ThreatScans::Table)
        .and_where(Expr::col(ThreatScans::Id).eq(id))
        .to_owned();
    db.fetch_optional(&q).await
}

/// A tenant's scan, or `None` (unknown or another tenant's).
pub async fn find_owned(db: &Db, tenant: TenantId, id: &str) -> DbResult<Option<ScanRow>> {
    Ok(find(db, id).await?.filter(|r| r.tenant_id == tenant.0))
}

async fn mark(
    db: &Db,
    id: &str,
    values: Vec<(ThreatScans, sea_query::SimpleExpr)>,
) -> DbResult<()> {
    db.execute(
        &Query::update()
            .table(ThreatScans::Table)
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
