//! Scans: on-demand evaluation of one tenant's recent events (`POST /v1/threats/scan`), run as
//! an `engine.scan` job and tracked on a scan row: queued → running → done | failed.

use picket_core::db::schema::{ColType, Column, Index, OnDelete, Table};
use picket_core::db::{Db, DbResult, Tx};
use picket_core::identity::TenantId;
use picket_core::time::{now_ms, serde_rfc3339};
use picket_core::AppState;
use sea_query::{Expr, Iden, Query};
use serde::Serialize;
use utoipa::ToSchema;

use super::run::{evaluate_batch, events_for_scan, load_index, Pass};

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

pub const TABLES: &[Table] = &[
    Table {
        name: "threat_scans",
        columns: &[
            Column::new("id", ColType::Text).primary_key(),
            Column::new("tenant_id", ColType::BigInt).references(
                "tenants",
                "id",
                OnDelete::Cascade,
            ),
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
    },
    Table {
        name: "engine_cursors",
        columns: &[
            Column::new("name", ColType::Text).primary_key(),
            Column::new("value", ColType::BigInt),
        ],
        indexes: &[],
    },
];

#[derive(Debug, Clone, sqlx::FromRow)]
struct ScanRow {
    id: String,
    tenant_id: i64,
    status: String,
    asset_ids: Option<String>,
    lookback_hours: i64,
    events_examined: i64,
    threats_created: i64,
    threats_updated: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    error: Option<String>,
}

/// Scan progress (§10.10).
#[derive(Debug, Serialize, ToSchema)]
pub struct ScanStatus {
    pub scan_id: String,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    pub events_examined: i64,
    pub threats_created: i64,
    pub threats_updated: i64,
    #[serde(serialize_with = "serde_rfc3339::option::serialize")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<i64>,
    #[serde(serialize_with = "serde_rfc3339::option::serialize")]
    #[schema(value_type = Option<String>, format = DateTime)]
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
    let job =
        picket_core::jobs::NewJob::new(super::run::SCAN, serde_json::json!({ "scan_id": id }));
    picket_core::jobs::enqueue_tx(tx, &job).await?;
    Ok(id)
}

async fn find(db: &Db, id: &str) -> DbResult<Option<ScanRow>> {
    let q = Query::select()
        .columns(COLUMNS)
        .from(ThreatScans::Table)
        .and_where(Expr::col(ThreatScans::Id).eq(id))
        .to_owned();
    db.fetch_optional(&q).await
}

/// A tenant's scan, or `None` (unknown or another tenant's).
pub async fn status(db: &Db, tenant: TenantId, id: &str) -> DbResult<Option<ScanStatus>> {
    Ok(find(db, id)
        .await?
        .filter(|r| r.tenant_id == tenant.0)
        .map(|r| ScanStatus {
            scan_id: r.id,
            status: r.status,
            events_examined: r.events_examined,
            threats_created: r.threats_created,
            threats_updated: r.threats_updated,
            started_at: r.started_at,
            finished_at: r.finished_at,
            error: r.error,
        }))
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

/// The `engine.scan` job. A failure is recorded on the scan and not retried: the client asked
/// for one scan and sees its outcome.
pub async fn run(state: &AppState, payload: &serde_json::Value) -> anyhow::Result<()> {
    let id = payload["scan_id"].as_str().unwrap_or_default().to_string();
    let Some(scan) = find(&state.db, &id).await? else {
        anyhow::bail!("scan {id} does not exist");
    };
    let now = now_ms();
    mark(
        &state.db,
        &id,
        vec![
            (ThreatScans::Status, "running".into()),
            (ThreatScans::StartedAt, now.into()),
        ],
    )
    .await?;
    match scan_pass(&state.db, &scan, now).await {
        Ok(p) => {
            mark(
                &state.db,
                &id,
                vec![
                    (ThreatScans::Status, "done".into()),
                    (ThreatScans::EventsExamined, (p.examined as i64).into()),
                    (ThreatScans::ThreatsCreated, (p.created as i64).into()),
                    (ThreatScans::ThreatsUpdated, (p.updated as i64).into()),
                    (ThreatScans::FinishedAt, now_ms().into()),
                ],
            )
            .await?;
        }
        Err(e) => {
            tracing::warn!(scan = %id, error = %format!("{e:#}"), "scan failed");
            mark(
                &state.db,
                &id,
                vec![
                    (ThreatScans::Status, "failed".into()),
                    (
                        ThreatScans::Error,
                        "the scan could not complete; see the server log".into(),
                    ),
                    (ThreatScans::FinishedAt, now_ms().into()),
                ],
            )
            .await?;
        }
    }
    Ok(())
}

async fn scan_pass(db: &Db, scan: &ScanRow, now: i64) -> anyhow::Result<Pass> {
    let tenant = TenantId(scan.tenant_id);
    let only: Option<Vec<String>> = scan
        .asset_ids
        .as_deref()
        .map(serde_json::from_str)
        .transpose()?;
    let index = load_index(db, Some(tenant), only.as_deref()).await?;
    let since = now - scan.lookback_hours * 3_600_000;
    let mut total = Pass::default();
    let mut after = (i64::MIN, String::new());
    loop {
        let batch = events_for_scan(db, tenant, since, (after.0, &after.1)).await?;
        let Some(last) = batch.last() else { break };
        after = (last.updated_at, last.id.clone());
        let p = evaluate_batch(db, &index, &batch, now).await?;
        total.examined += p.examined;
        total.created += p.created;
        total.updated += p.updated;
    }
    Ok(total)
}
