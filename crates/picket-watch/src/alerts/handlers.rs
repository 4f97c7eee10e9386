//! HTTP handlers of `/v1/alerts/rules` and `/v1/alerts`.

use axum::extract::State;
use picket_core::error::EventsErrorBody;
use picket_core::extract::{Json, NoQuery, Path, Query};
use picket_core::identity::{need, Authed, TenantId};
use picket_core::jobs::{enqueue_tx, NewJob};
use picket_core::time::now_ms;
use picket_core::{ApiError, AppState};
use serde_json::json;

use super::store::{self, AlertRow, Filter};
use super::wire::{Alert, AlertList, ListQuery, PatchState, RuleSet, RuleSetInput};
use super::{check, deliveries, BACKFILL};
use crate::query::{page, timestamp};
use picket_core::db::{Conn, Db};

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("no alert `{id}`"))
}

/// Alerts with their deliveries.
async fn with_deliveries(
    db: &Db,
    tenant: TenantId,
    rows: Vec<AlertRow>,
) -> Result<Vec<Alert>, ApiError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut by_alert = deliveries::of(db, tenant, &ids).await?;
    Ok(rows
        .iter()
        .map(|r| r.to_wire(by_alert.remove(&r.id).unwrap_or_default()))
        .collect())
}

async fn rule_set(conn: &mut Conn, tenant: TenantId) -> Result<RuleSet, ApiError> {
    let rules = store::rules(conn, tenant).await?;
    Ok(RuleSet {
        rules: rules.iter().map(|r| r.to_wire()).collect(),
    })
}

/// The tenant's alert rules, in the order they were saved.
#[utoipa::path(get, path = "/v1/alerts/rules", tag = "alerts",
    responses((status = 200, body = RuleSet)))]
pub async fn get_rules(
    State(s): State<AppState>,
    auth: Authed<need::RulesR>,
    _: NoQuery,
) -> Result<Json<RuleSet>, ApiError> {
    Ok(Json(
        rule_set(&mut s.db.conn().await?, auth.tenant_id).await?,
    ))
}

/// Replace the tenant's whole rule set; the active threats are then re-evaluated against it
/// by a job (backfill), without the request waiting for it.
#[utoipa::path(put, path = "/v1/alerts/rules", tag = "alerts", request_body = RuleSetInput,
    responses((status = 200, body = RuleSet), (status = 400, body = EventsErrorBody)))]
pub async fn put_rules(
    State(s): State<AppState>,
    auth: Authed<need::RulesW>,
    _: NoQuery,
    Json(body): Json<RuleSetInput>,
) -> Result<Json<RuleSet>, ApiError> {
    let rules = check::rule_set(body.rules)?;
    let tenant = auth.tenant_id;
    let mut tx = s.db.begin().await?;
    store::replace_rules(&mut tx, tenant, &rules, now_ms()).await?;
    enqueue_tx(
        &mut tx,
        &NewJob::new(BACKFILL, json!({"tenant_id": tenant.0})),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(rule_set(&mut s.db.conn().await?, tenant).await?))
}

impl TryFrom<ListQuery> for Filter {
    type Error = ApiError;

    fn try_from(q: ListQuery) -> Result<Filter, ApiError> {
        let (limit, offset) = page(q.limit, q.offset)?;
        Ok(Filter {
            states: q.state.iter().map(|s| s.as_str().to_string()).collect(),
            severities: q.severity.iter().map(|s| s.as_str().to_string()).collect(),
            rule_id: q.rule_id,
            threat_id: q.threat_id,
            asset_keys: q.asset_id,
            created_from: timestamp("created_from", &q.created_from)?,
            created_to: timestamp("created_to", &q.created_to)?,
            limit,
            offset,
        })
    }
}

/// Triggered alerts, newest first, with filters and paging.
#[utoipa::path(get, path = "/v1/alerts", tag = "alerts", params(ListQuery),
    responses((status = 200, body = AlertList), (status = 400, body = EventsErrorBody)))]
pub async fn list_alerts(
    State(s): State<AppState>,
    auth: Authed<need::RulesR>,
    Query(q): Query<ListQuery>,
) -> Result<Json<AlertList>, ApiError> {
    let filter = Filter::try_from(q)?;
    let mut conn = s.db.reader().conn().await?;
    let (rows, total) = store::list(&mut conn, auth.tenant_id, &filter).await?;
    drop(conn);
    let alerts = with_deliveries(s.db.reader(), auth.tenant_id, rows).await?;
    Ok(Json(AlertList { alerts, total }))
}

async fn load(db: &Db, tenant: TenantId, id: &str) -> Result<Alert, ApiError> {
    let row = store::get(&mut db.conn().await?, tenant, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    let mut alerts = with_deliveries(db, tenant, vec![row]).await?;
    Ok(alerts.remove(0))
}

/// Get one alert.
#[utoipa::path(get, path = "/v1/alerts/{alert_id}", tag = "alerts",
    params(("alert_id" = String, Path)),
    responses((status = 200, body = Alert), (status = 404, body = EventsErrorBody)))]
pub async fn get_alert(
    State(s): State<AppState>,
    auth: Authed<need::RulesR>,
    _: NoQuery,
    Path(id): Path<String>,
) -> Result<Json<Alert>, ApiError> {
    Ok(Json(load(&s.db, auth.tenant_id, &id).await?))
}

/// Change an alert's state; any state may move to any state.
#[utoipa::path(patch, path = "/v1/alerts/{alert_id}/state", tag = "alerts",
    params(("alert_id" = String, Path)), request_body = PatchState,
    responses((status = 200, body = Alert), (status = 400, body = EventsErrorBody), (status = 404, body = EventsErrorBody)))]
pub async fn patch_state(
    State(s): State<AppState>,
    auth: Authed<need::RulesW>,
    _: NoQuery,
    Path(id): Path<String>,
    Json(body): Json<PatchState>,
) -> Result<Json<Alert>, ApiError> {
    let mut conn = s.db.conn().await?;
    if !store::set_state(
        &mut conn,
        auth.tenant_id,
        &id,
        body.state.as_str(),
        now_ms(),
    )
    .await?
    {
        return Err(not_found(&id));
    }
    drop(conn);
    Ok(Json(load(&s.db, auth.tenant_id, &id).await?))
}
