//! The report table: one row per report, pending → ready | failed, with what it was asked for
//! (`params`) and, once ready, its content as JSON. The content is written once and never
//! recomputed, so a report stays as it was generated.

use picket_core::db::json::JsonText;
use picket_core::db::schema::OnDelete;
use picket_core::db::table::TenantTable;
use picket_core::db::{Db, DbResult, Tx};
use picket_core::identity::TenantId;
use picket_core::jobs::NewJob;
use picket_core::time::now_ms;
use picket_report_render::Content;
use sea_query::{Alias, Asterisk, Expr, Order, Query};
use serde::{Deserialize, Serialize};

use super::GENERATE;

picket_core::table! {
    pub(crate) enum Reports in "reports", tenant_owned {
        Id: Text .primary_key(),
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        Type: Text,
        Title: Text,
        Status: Text,
        // What the report covers (`Params` as JSON).
        Params: Text,
        // The generated content (`Content` as JSON); null until ready.
        Content: Text .nullable(),
        Error: Text .nullable(),
        // The schedule that asked for it, if any.
        ScheduleId: Text .nullable(),
        CreatedAt: BigInt,
        FinishedAt: BigInt .nullable(),
    }
    indexes {
        // Newest first, read off the index.
        index reports_tenant_created_id (TenantId, CreatedAt, Id),
    }
}

/// What a report covers, fixed when it is asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Params {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threat_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<String>,
    /// Landscape scope: server ids of the assets; `None` = every asset of the tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_uuids: Option<Vec<String>>,
    /// Landscape window, Unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReportRow {
    pub id: String,
    pub tenant_id: i64,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: String,
    pub params: JsonText<Params>,
    /// Absent from list reads.
    #[sqlx(default)]
    pub content: Option<JsonText<Content>>,
    pub error: Option<String>,
    pub schedule_id: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

const COLUMNS: [Reports; 11] = [
    Reports::Id,
    Reports::TenantId,
    Reports::Type,
    Reports::Title,
    Reports::Status,
    Reports::Params,
    Reports::Content,
    Reports::Error,
    Reports::ScheduleId,
    Reports::CreatedAt,
    Reports::FinishedAt,
];

/// A report to ask for.
#[derive(Debug, Clone)]
pub struct NewReport {
    pub kind: &'static str,
    pub title: String,
    pub params: Params,
    pub schedule_id: Option<String>,
}

/// Records a pending report and enqueues its generation, in the caller's transaction.
pub async fn insert_tx(tx: &mut Tx, tenant: TenantId, new: &NewReport) -> DbResult<ReportRow> {
    let id = uuid::Uuid::now_v7().to_string();
    let now = now_ms();
    let q = Reports::insert(
        tenant,
        vec![
            (Reports::Id, id.clone().into()),
            (Reports::Type, new.kind.into()),
            (Reports::Title, new.title.clone().into()),
            (Reports::Status, "pending".into()),
            (Reports::Params, JsonText::encode(&new.params).into()),
            (Reports::ScheduleId, new.schedule_id.clone().into()),
            (Reports::CreatedAt, now.into()),
        ],
    );
    tx.execute(&q).await?;
    // One attempt: a failure is recorded on the report, and the client asks again.
    let job = NewJob::new(GENERATE, serde_json::json!({ "report_id": id })).max_attempts(1);
    picket_core::jobs::enqueue_tx(tx, &job).await?;
    Ok(ReportRow {
        id,
        tenant_id: tenant.0,
        kind: new.kind.to_string(),
        title: new.title.clone(),
        status: "pending".into(),
        params: JsonText(new.params.clone()),
        content: None,
        error: None,
        schedule_id: new.schedule_id.clone(),
        created_at: now,
        finished_at: None,
    })
}

/// A tenant's report, or `None` (unknown or another tenant's).
pub async fn get(db: &Db, tenant: TenantId, id: &str) -> DbResult<Option<ReportRow>> {
    let q = Reports::select(tenant)
        .columns(COLUMNS)
        .and_where(Expr::col(Reports::Id).eq(id))
        .to_owned();
    db.fetch_optional(&q).await
}

/// A report of any tenant, for its generation job (named by the report id alone).
pub async fn find(db: &Db, id: &str) -> DbResult<Option<ReportRow>> {
    let q = Query::select()
        .columns(COLUMNS)
        // Across tenants: the generation job is named by the report's id alone, and the row
        // it finds carries the tenant the job then works for.
        .from(Reports::across_tenants())
        .and_where(Expr::col(Reports::Id).eq(id))
        .to_owned();
    db.fetch_optional(&q).await
}

#[derive(sqlx::FromRow)]
struct Count {
    n: i64,
}

/// One page of a tenant's reports, newest first, and the count of all. The list leaves the
/// content out (it can be large): ask for one report to read it.
pub async fn list(
    db: &Db,
    tenant: TenantId,
    limit: u64,
    offset: u64,
) -> DbResult<(Vec<ReportRow>, i64)> {
    let mut q = Reports::select(tenant);
    q.columns(COLUMNS.into_iter().filter(|c| *c != Reports::Content))
        .order_by(Reports::CreatedAt, Order::Desc)
        .order_by(Reports::Id, Order::Desc)
        .limit(limit)
        .offset(offset);
    let rows: Vec<ReportRow> = db.fetch_all(&q).await?;
    let len = rows.len() as u64;
    if len < limit && (len > 0 || offset == 0) {
        return Ok((rows, (offset + len) as i64));
    }
    let count = Reports::select(tenant)
        .expr_as(Expr::col(Asterisk).count(), Alias::new("n"))
        .to_owned();
    let total = db.fetch_one::<Count>(&count).await?.n;
    Ok((rows, total))
}

/// The report is ready with `content`.
pub async fn mark_ready(db: &Db, tenant: TenantId, id: &str, content: &Content) -> DbResult<()> {
    let q = Reports::update(tenant)
        .values([
            (Reports::Status, "ready".into()),
            (Reports::Content, JsonText::encode(content).into()),
            (Reports::FinishedAt, now_ms().into()),
        ])
        .and_where(Expr::col(Reports::Id).eq(id))
        .to_owned();
    db.execute(&q).await.map(|_| ())
}

/// The report failed; `error` is shown to the client.
pub async fn mark_failed(db: &Db, tenant: TenantId, id: &str, error: &str) -> DbResult<()> {
    let q = Reports::update(tenant)
        .values([
            (Reports::Status, "failed".into()),
            (Reports::Error, error.into()),
            (Reports::FinishedAt, now_ms().into()),
        ])
        .and_where(Expr::col(Reports::Id).eq(id))
        .to_owned();
    db.execute(&q).await.map(|_| ())
}
