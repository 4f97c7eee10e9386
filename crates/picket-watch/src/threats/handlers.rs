//! HTTP handlers of `/v1/threats`.

use std::collections::HashMap;

use axum::extract::State;
use picket_core::error::EventsErrorBody;
use picket_core::extract::{Json, NoQuery, Path, Query};
use picket_core::identity::{need, Authed, TenantId};
use picket_core::time::now_ms;
use picket_core::{ApiError, AppState};

use super::history;
use super::store::{self, AssetSummaryRow, Filter, ThreatAssetRow, ThreatRow, Triage};
use super::wire::{
    AssetSummary, Development, DevelopmentList, ListQuery, PatchThreat, Threat, ThreatList,
    ThreatStatus, Version, VersionList,
};

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("no threat `{id}`"))
}

fn with_assets(rows: Vec<ThreatRow>, assets: &[ThreatAssetRow]) -> Vec<Threat> {
    let mut by_threat: HashMap<&str, Vec<&ThreatAssetRow>> = HashMap::with_capacity(rows.len());
    for a in assets {
        by_threat.entry(a.threat_id.as_str()).or_default().push(a);
    }
    rows.into_iter()
        .map(|r| {
            let mine = by_threat.remove(r.id.as_str()).unwrap_or_default();
            r.into_wire(mine)
        })
        .collect()
}

fn summary(a: AssetSummaryRow) -> AssetSummary {
    AssetSummary {
        asset_id: a.asset_id,
        name: a.name,
        asset_type: a.asset_type,
        lat: a.lat,
        lng: a.lng,
        country: a.country,
        address: a.address,
        monitoring_radius_km: a.monitoring_radius_km,
    }
}

/// One threat: both statements on one pooled connection (each checkout costs a round trip).
async fn load(s: &AppState, tenant: TenantId, id: &str) -> Result<Threat, ApiError> {
    let mut conn = s.db.conn().await?;
    let row = store::get_on(&mut conn, tenant, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    let assets = store::affected_on(&mut conn, tenant, std::slice::from_ref(&row.id)).await?;
    Ok(row.into_wire(&assets))
}

/// List threats with filters, sorting and paging, plus summaries of the assets they affect.
#[utoipa::path(get, path = "/v1/threats", tag = "threats", params(ListQuery),
    responses((status = 200, body = ThreatList), (status = 400, body = EventsErrorBody)))]
pub async fn list_threats(
    State(s): State<AppState>,
    auth: Authed<need::ThreatsR>,
    Query(q): Query<ListQuery>,
) -> Result<Json<ThreatList>, ApiError> {
    let filter = Filter::try_from(q)?;
    // The statements share one pooled connection: a checkout is itself a round trip to
    // the connection (the pool pings it), as costly as a small statement.
    let mut conn = s.db.reader().conn().await?;
    let (rows, total) = store::list(&mut conn, auth.tenant_id, &filter).await?;
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let (assets, summaries) =
        store::affected_and_summaries(&mut conn, auth.tenant_id, &ids).await?;
    drop(conn);
    Ok(Json(ThreatList {
        threats: with_assets(rows, &assets),
        total,
        assets: summaries.into_iter().map(summary).collect(),
    }))
}

/// Get one threat.
#[utoipa::path(get, path = "/v1/threats/{threat_id}", tag = "threats",
    params(("threat_id" = String, Path)),
    responses((status = 200, body = Threat), (status = 404, body = EventsErrorBody)))]
pub async fn get_threat(
    State(s): State<AppState>,
    auth: Authed<need::ThreatsR>,
    _: NoQuery,
    Path(id): Path<String>,
) -> Result<Json<Threat>, ApiError> {
    Ok(Json(load(&s, auth.tenant_id, &id).await?))
}

/// Triage: change status (a reason is required to dismiss) or pin.
#[utoipa::path(patch, path = "/v1/threats/{threat_id}", tag = "threats",
    params(("threat_id" = String, Path)), request_body = PatchThreat,
    responses((status = 200, body = Threat), (status = 400, body = EventsErrorBody), (status = 404, body = EventsErrorBody)))]
pub async fn patch_threat(
    State(s): State<AppState>,
    auth: Authed<need::ThreatsW>,
    _: NoQuery,
    Path(id): Path<String>,
    Json(body): Json<PatchThreat>,
) -> Result<Json<Threat>, ApiError> {
    if body.status.is_none() && body.pinned.is_none() && body.dismissal_reason.is_none() {
        return Err(ApiError::bad_request(
            "invalid JSON body: give at least one of `status`, `pinned`, `dismissal_reason`",
        ));
    }
    let reason = body
        .dismissal_reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if body.status == Some(ThreatStatus::Dismissed) && reason.is_none() {
        return Err(ApiError::bad_request(
            "invalid field `dismissal_reason`: required when `status` is `dismissed`",
        ));
    }
    let current = store::get(&s.db, auth.tenant_id, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    let dismissed = body.status.map_or(current.status == "dismissed", |st| {
        st == ThreatStatus::Dismissed
    });
    if body.dismissal_reason.is_some() && !dismissed {
        return Err(ApiError::bad_request(
            "invalid field `dismissal_reason`: only a dismissed threat has one",
        ));
    }
    let change = Triage {
        status: body.status.map(ThreatStatus::as_str),
        dismissal_reason: match (body.status, reason) {
            (_, Some(r)) => Some(Some(r)),
            (Some(st), None) if st != ThreatStatus::Dismissed => Some(None),
            _ => None,
        },
        pinned: body.pinned,
    };
    store::triage(&s.db, auth.tenant_id, &current.id, &change, now_ms()).await?;
    Ok(Json(load(&s, auth.tenant_id, &id).await?))
}

/// The threat's version history, oldest first.
#[utoipa::path(get, path = "/v1/threats/{threat_id}/versions", tag = "threats",
    params(("threat_id" = String, Path)),
    responses((status = 200, body = VersionList), (status = 404, body = EventsErrorBody)))]
pub async fn threat_versions(
    State(s): State<AppState>,
    auth: Authed<need::ThreatsR>,
    _: NoQuery,
    Path(id): Path<String>,
) -> Result<Json<VersionList>, ApiError> {
    let mut tx = s.db.begin().await?;
    let row = store::rows_in(&mut tx, auth.tenant_id, std::slice::from_ref(&id))
        .await?
        .pop()
        .ok_or_else(|| not_found(&id))?;
    // Stored versions, or version 1 synthesised from the threat as it is.
    let versions: Vec<Version> =
        history::versions_of(&mut tx, auth.tenant_id, std::slice::from_ref(&row))
            .await?
            .remove(&row.id)
            .unwrap_or_default();
    drop(tx);
    Ok(Json(VersionList {
        total: versions.len(),
        versions,
    }))
}

/// Follow-up events recorded on the threat, oldest first.
#[utoipa::path(get, path = "/v1/threats/{threat_id}/developments", tag = "threats",
    params(("threat_id" = String, Path)),
    responses((status = 200, body = DevelopmentList), (status = 404, body = EventsErrorBody)))]
pub async fn threat_developments(
    State(s): State<AppState>,
    auth: Authed<need::ThreatsR>,
    _: NoQuery,
    Path(id): Path<String>,
) -> Result<Json<DevelopmentList>, ApiError> {
    let row = store::get(&s.db, auth.tenant_id, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    let developments: Vec<Development> = store::developments(&s.db, auth.tenant_id, &row.id)
        .await?
        .into_iter()
        .map(Development::from)
        .collect();
    Ok(Json(DevelopmentList {
        total: developments.len(),
        developments,
    }))
}
