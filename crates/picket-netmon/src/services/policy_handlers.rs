//! HTTP handlers of the policy: authorize by fields, allowed-service entries, exclude rules.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use picket_core::error::NetworkErrorBody;
use picket_core::extract::{Json, NoQuery, Path};
use picket_core::identity::{need, Authed};
use picket_core::time::now_ms;
use picket_core::{ApiError, AppState};

use super::policy_store;
use super::policy_wire::{
    AllowedServiceDeleted, AllowedServiceList, AllowedServiceOne, AuthorizeInput,
    ExcludeRuleDeleted, ExcludeRuleInput, ExcludeRuleList, ExcludeRuleOne,
};

/// Authorize a service by fields: adds an allowed-service entry whether or not a discovered
/// row exists. `service_ip` is an address, a CIDR block or `*`. Idempotent; a given `name`
/// renames an existing entry. An entry inside a network goes when that network is deleted.
#[utoipa::path(post, path = "/api/v1/services/authorize", tag = "services",
    request_body = AuthorizeInput,
    responses((status = 200, body = AllowedServiceOne), (status = 400, body = NetworkErrorBody)))]
pub async fn authorize_fields(
    State(s): State<AppState>,
    auth: Authed<need::DevicesW>,
    _: NoQuery,
    Json(input): Json<AuthorizeInput>,
) -> Result<Json<AllowedServiceOne>, ApiError> {
    let d = input.validate()?;
    let mut tx = s.db.begin().await?;
    let row = policy_store::authorize(&mut tx, auth.tenant_id, &d, now_ms()).await?;
    tx.commit().await?;
    Ok(Json(AllowedServiceOne {
        allowed_service: row.to_wire(s.tz),
    }))
}

/// The tenant's allowed-service entries, oldest first.
#[utoipa::path(get, path = "/api/v1/services/allowed", tag = "services",
    responses((status = 200, body = AllowedServiceList), (status = 400, body = NetworkErrorBody)))]
pub async fn list_allowed(
    State(s): State<AppState>,
    auth: Authed<need::DevicesR>,
    _: NoQuery,
) -> Result<Json<AllowedServiceList>, ApiError> {
    let mut tx = s.db.begin().await?;
    let rows = policy_store::list_allowed(&mut tx, auth.tenant_id).await?;
    let tz = s.tz;
    Ok(Json(AllowedServiceList {
        allowed_services: rows.iter().map(|r| r.to_wire(tz)).collect(),
    }))
}

/// Delete an allowed-service entry; the ports it authorized are no longer authorized.
#[utoipa::path(delete, path = "/api/v1/services/allowed/{id}", tag = "services",
    params(("id" = i64, Path, description = "allowed-service entry id")),
    responses((status = 200, body = AllowedServiceDeleted), (status = 400, body = NetworkErrorBody),
        (status = 404, body = NetworkErrorBody)))]
pub async fn delete_allowed(
    State(s): State<AppState>,
    auth: Authed<need::DevicesW>,
    _: NoQuery,
    Path(id): Path<i64>,
) -> Result<Json<AllowedServiceDeleted>, ApiError> {
    let mut tx = s.db.begin().await?;
    let row = policy_store::delete_allowed(&mut tx, auth.tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no allowed service with id {id}")))?;
    tx.commit().await?;
    Ok(Json(AllowedServiceDeleted {
        deleted: true,
        allowed_service: row.to_wire(s.tz),
    }))
}

/// The tenant's exclude rules, oldest first.
#[utoipa::path(get, path = "/api/v1/services/exclude-rules", tag = "services",
    responses((status = 200, body = ExcludeRuleList), (status = 400, body = NetworkErrorBody)))]
pub async fn list_excludes(
    State(s): State<AppState>,
    auth: Authed<need::DevicesR>,
    _: NoQuery,
) -> Result<Json<ExcludeRuleList>, ApiError> {
    let mut tx = s.db.begin().await?;
    let rows = policy_store::list_excludes(&mut tx, auth.tenant_id).await?;
    let tz = s.tz;
    Ok(Json(ExcludeRuleList {
        exclude_rules: rows.iter().map(|r| r.to_wire(tz)).collect(),
    }))
}

/// Create an exclude rule: ports it matches are not authorized, whatever the allowed entries
/// say. `port_from`/`port_to` omitted: every port; one of them: that port; `proto` omitted or
/// `null`: tcp and udp.
#[utoipa::path(post, path = "/api/v1/services/exclude-rules", tag = "services",
    request_body = ExcludeRuleInput,
    responses((status = 201, body = ExcludeRuleOne), (status = 400, body = NetworkErrorBody)))]
pub async fn create_exclude(
    State(s): State<AppState>,
    auth: Authed<need::DevicesW>,
    _: NoQuery,
    Json(input): Json<ExcludeRuleInput>,
) -> Result<impl IntoResponse, ApiError> {
    let d = input.validate()?;
    let mut tx = s.db.begin().await?;
    let row = policy_store::insert_exclude(&mut tx, auth.tenant_id, &d, now_ms()).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(ExcludeRuleOne {
            exclude_rule: row.to_wire(s.tz),
        }),
    ))
}

/// Delete an exclude rule.
#[utoipa::path(delete, path = "/api/v1/services/exclude-rules/{id}", tag = "services",
    params(("id" = i64, Path, description = "exclude rule id")),
    responses((status = 200, body = ExcludeRuleDeleted), (status = 400, body = NetworkErrorBody),
        (status = 404, body = NetworkErrorBody)))]
pub async fn delete_exclude(
    State(s): State<AppState>,
    auth: Authed<need::DevicesW>,
    _: NoQuery,
    Path(id): Path<i64>,
) -> Result<Json<ExcludeRuleDeleted>, ApiError> {
    let mut tx = s.db.begin().await?;
    let row = policy_store::delete_exclude(&mut tx, auth.tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no exclude rule with id {id}")))?;
    tx.commit().await?;
    Ok(Json(ExcludeRuleDeleted {
        deleted: true,
        exclude_rule: row.to_wire(s.tz),
    }))
}
