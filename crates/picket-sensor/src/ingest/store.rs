//! The ingest path's own tables: the first answer to each batch that carried an
//! `Idempotency-Key` (per agent), and captures uploaded before their alert.

use picket_core::db::schema::{OnDelete, Table};
use picket_core::db::table::TenantTable;
use picket_core::db::{Db, DbResult, Tx};
use picket_core::identity::{AgentId, TenantId};
use sea_query::{Expr, OnConflict};

picket_core::table! {
    /// One row per batch that carried an `Idempotency-Key`: written in the batch's own
    /// transaction (so a failed batch leaves none), answered again to a retry.
    pub enum SensorBatches in "sensor_batches", tenant_owned {
        Id: Serial,
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        AgentId: BigInt .references("agents", "id", OnDelete::Cascade),
        IdempotencyKey: Text,
        /// The first answer (`BatchReport` JSON).
        Report: Text,
        CreatedAt: BigInt,
    }
    indexes {
        unique sensor_batches_agent_key (AgentId, IdempotencyKey),
        // Serves the pruning of old keys each batch does.
        index sensor_batches_agent_created (AgentId, CreatedAt),
    }
}

picket_core::table! {
    /// A capture uploaded before the alert of its flow: attached when that alert arrives.
    pub enum SensorPendingPcaps in "sensor_pending_pcaps", tenant_owned {
        Id: Serial,
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        /// The uploading agent's public hash, as alerts store it.
        Agent: Text,
        FlowId: BigInt,
        Data: Bytes,
        CreatedAt: BigInt,
    }
    indexes {
        unique sensor_pending_pcaps_agent_flow (TenantId, Agent, FlowId),
        index sensor_pending_pcaps_tenant_created (TenantId, CreatedAt),
    }
}

pub const TABLES: &[Table] = &[SensorBatches::DECLARED, SensorPendingPcaps::DECLARED];

/// How long a batch's answer is kept for retries: far longer than an agent keeps retrying.
pub const KEY_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

#[derive(sqlx::FromRow)]
struct ReportRow {
    report: String,
}

/// The stored answer to `agent`'s batch `key`, if it was stored.
pub async fn answered(
    db: &Db,
    tenant: TenantId,
    agent: AgentId,
    key: &str,
) -> DbResult<Option<String>> {
    let q = SensorBatches::select(tenant)
        .column(SensorBatches::Report)
        .and_where(Expr::col(SensorBatches::AgentId).eq(agent.0))
        .and_where(Expr::col(SensorBatches::IdempotencyKey).eq(key))
        .and_where(Expr::col(SensorBatches::Report).ne(""))
        .to_owned();
    Ok(db.fetch_optional::<ReportRow>(&q).await?.map(|r| r.report))
}

/// Forgets `agent`'s batch keys older than [`KEY_TTL_MS`]. The first statement of every batch
/// transaction: being a write, it also takes SQLite's write lock before the batch reads
/// anything, so a concurrent batch cannot make this one's snapshot stale.
pub async fn forget_old(tx: &mut Tx, tenant: TenantId, agent: AgentId, now: i64) -> DbResult<()> {
    let q = SensorBatches::delete(tenant)
        .and_where(Expr::col(SensorBatches::AgentId).eq(agent.0))
        .and_where(Expr::col(SensorBatches::CreatedAt).lt(now - KEY_TTL_MS))
        .to_owned();
    tx.execute(&q).await?;
    Ok(())
}

/// Claims `key` for this batch; `false` when the agent's earlier batch with it is stored (a
/// concurrent one with the same key waits for that one to commit or roll back).
pub async fn claim(
    tx: &mut Tx,
    tenant: TenantId,
    agent: AgentId,
    key: &str,
    now: i64,
) -> DbResult<bool> {
    let q = SensorBatches::insert(
        tenant,
        vec![
            (SensorBatches::AgentId, agent.0.into()),
            (SensorBatches::IdempotencyKey, key.into()),
            (SensorBatches::Report, "".into()),
            (SensorBatches::CreatedAt, now.into()),
        ],
    )
    .on_conflict(
        OnConflict::columns([SensorBatches::AgentId, SensorBatches::IdempotencyKey])
            .do_nothing()
            .to_owned(),
    )
    .to_owned();
    Ok(tx.execute(&q).await? == 1)
}

/// The answer of a batch claimed with [`claim`].
pub async fn record_answer(
    tx: &mut Tx,
    tenant: TenantId,
    agent: AgentId,
    key: &str,
    report: &str,
) -> DbResult<()> {
    let q = SensorBatches::update(tenant)
        .value(SensorBatches::Report, report)
        .and_where(Expr::col(SensorBatches::AgentId).eq(agent.0))
        .and_where(Expr::col(SensorBatches::IdempotencyKey).eq(key))
        .to_owned();
    tx.execute(&q).await?;
    Ok(())
}

/// The answer stored for `key` (after [`claim`] found it taken), read in the transaction.
pub async fn answer_in(
    tx: &mut Tx,
    tenant: TenantId,
    agent: AgentId,
    key: &str,
) -> DbResult<Option<String>> {
    let q = SensorBatches::select(tenant)
        .column(SensorBatches::Report)
        .and_where(Expr::col(SensorBatches::AgentId).eq(agent.0))
        .and_where(Expr::col(SensorBatches::IdempotencyKey).eq(key))
        .to_owned();
    Ok(tx.fetch_optional::<ReportRow>(&q).await?.map(|r| r.report))
}

/// Keeps a capture for `agent`'s flow until its alert arrives; a second upload for the same
/// flow replaces the first. Pending captures older than `max_age_ms` are dropped on the way.
pub async fn keep_pending(
    tx: &mut Tx,
    tenant: TenantId,
    agent: &str,
    flow_id: i64,
    data: &[u8],
    now: i64,
    max_age_ms: Option<i64>,
) -> DbResult<()> {
    if let Some(age) = max_age_ms {
        let prune = SensorPendingPcaps::delete(tenant)
            .and_where(Expr::col(SensorPendingPcaps::CreatedAt).lt(now - age))
            .to_owned();
        tx.execute(&prune).await?;
    }
    let q = SensorPendingPcaps::insert(
        tenant,
        vec![
            (SensorPendingPcaps::Agent, agent.into()),
            (SensorPendingPcaps::FlowId, flow_id.into()),
            (SensorPendingPcaps::Data, data.to_vec().into()),
            (SensorPendingPcaps::CreatedAt, now.into()),
        ],
    )
    .on_conflict(
        OnConflict::columns([
            SensorPendingPcaps::TenantId,
            SensorPendingPcaps::Agent,
            SensorPendingPcaps::FlowId,
        ])
        .update_columns([SensorPendingPcaps::Data, SensorPendingPcaps::CreatedAt])
        .to_owned(),
    )
    .to_owned();
    tx.execute(&q).await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
pub struct Pending {
    pub flow_id: i64,
    pub data: Vec<u8>,
}

/// Takes (reads and deletes) `agent`'s pending captures of `flow_ids`.
pub async fn take_pending(
    tx: &mut Tx,
    tenant: TenantId,
    agent: &str,
    flow_ids: &[i64],
) -> DbResult<Vec<Pending>> {
    if flow_ids.is_empty() {
        return Ok(Vec::new());
    }
    let q = SensorPendingPcaps::select(tenant)
        .columns([SensorPendingPcaps::FlowId, SensorPendingPcaps::Data])
        .and_where(Expr::col(SensorPendingPcaps::Agent).eq(agent))
        .and_where(Expr::col(SensorPendingPcaps::FlowId).is_in(flow_ids.iter().copied()))
        .to_owned();
    let found: Vec<Pending> = tx.fetch_all(&q).await?;
    if !found.is_empty() {
        let del = SensorPendingPcaps::delete(tenant)
            .and_where(Expr::col(SensorPendingPcaps::Agent).eq(agent))
            .and_where(Expr::col(SensorPendingPcaps::FlowId).is_in(found.iter().map(|p| p.flow_id)))
            .to_owned();
        tx.execute(&del).await?;
    }
    Ok(found)
}
