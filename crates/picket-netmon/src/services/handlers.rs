//! HTTP handlers of the service rows: list, search, create, update, delete, authorize by id.
//! Every request reads services and the policy in one transaction; writes commit only when the
//! whole request succeeded, so a failed request changes nothing.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use picket_core::db::Tx;
use picket_core::error::NetworkErrorBody;
use picket_core::extract::{Json, JsonOrEmpty, NoParams, NoQuery, Path};
use picket_core::identity::{need, Authed, TenantId};
use picket_core::time::now_ms;
use picket_core::{ApiError, AppState, ResultExt};

use super::policy::Policy;
use super::policy_store;
use super::policy_wire::{AllowedData, Target};
use super::store::{self, ServiceRow};
use super::view;
use super::wire::{
    Service, ServiceData, ServiceDeleted, ServiceFilters, ServiceInput, ServiceList, ServiceOne,
};
use crate::listing::search::UnpagedSearchBody;
use crate::listing::Listing;

/// List discovered services grouped by IP (not paginated). Filter parameters are 400: use
/// search.
#[utoipa::path(get, path = "/api/v1/services", tag = "services", params(Listing<ServiceFilters>),
    responses((status = 200, body = ServiceList), (status = 400, body = NetworkErrorBody)))]
#[utoipa::path(post, path = "/api/v1/services/search", impl_for = SearchServices,
    operation_id = "search_services", tag = "services",
    summary = "Search services: `service_ip` (`ip`) takes `%`/`_` wildcards, `proto` and `service_port`\n(`port`) are exact, `authorized` is the computed value. Grouped like the list.",
    request_body = UnpagedSearchBody<ServiceFilters>,
    responses((status = 200, body = ServiceList), (status = 400, body = NetworkErrorBody)))]
pub async fn list_services(
    State(s): State<AppState>,
    auth: Authed<need::DevicesR>,
    listing: Listing<ServiceFilters>,
) -> Result<Json<ServiceList>, ApiError> {
    let (tenant, filters) = (auth.tenant_id, &listing.filters);
    // One snapshot for the rows and the policy their `authorized` is computed from.
    let mut tx = s.db.reader().begin().await?;
    let rows = store::search(&mut tx, tenant, filters, listing.sort).await?;
    let (allowed, excluded) = policy_store::rules(&mut tx, tenant).await?;
    let policy = Policy::new(&allowed, &excluded);
    let services = view::groups(&rows, &policy, &filters.authorized.0, s.tz);
    Ok(Json(ServiceList { services }))
}

/// The document of `POST /api/v1/services/search`, which [`list_services`] serves.
pub struct SearchServices;

/// Create a discovered service row; 409 when the tenant has one with the same (ip, port,
/// proto).
#[utoipa::path(post, path = "/api/v1/services", tag = "services", request_body = ServiceInput,
    responses((status = 201, body = ServiceOne), (status = 400, body = NetworkErrorBody),
        (status = 409, body = NetworkErrorBody)))]
pub async fn create_service(
    State(s): State<AppState>,
    auth: Authed<need::DevicesW>,
    _: NoQuery,
    Json(input): Json<ServiceInput>,
) -> Result<impl IntoResponse, ApiError> {
    let d = input.create(s.tz, now_ms())?;
    let mut tx = s.db.begin().await?;
    if store::clash(&mut tx, auth.tenant_id, &d, None).await? {
        return Err(ApiError::conflict(conflict()));
    }
    let row = store::insert(&mut tx, auth.tenant_id, &d)
        .await
        .on_conflict(conflict)?;
    let service = one(&mut tx, &s, auth.tenant_id, &row).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(ServiceOne { service })))
}

/// Partial update (PATCH and PUT alike): at least one field; the result is validated whole.
#[utoipa::path(patch, path = "/api/v1/services/{id}", tag = "services",
    params(("id" = i64, Path, description = "service row id")), request_body = ServiceInput,
    responses((status = 200, body = ServiceOne), (status = 400, body = NetworkErrorBody),
        (status = 404, body = NetworkErrorBody), (status = 409, body = NetworkErrorBody)))]
#[utoipa::path(put, path = "/api/v1/services/{id}", impl_for = PutService,
    operation_id = "put_service", summary = "Same as PATCH.", tag = "services",
    params(("id" = i64, Path, description = "service row id")), request_body = ServiceInput,
    responses((status = 200, body = ServiceOne), (status = 400, body = NetworkErrorBody),
        (status = 404, body = NetworkErrorBody), (status = 409, body = NetworkErrorBody)))]
pub async fn patch_service(
    State(s): State<AppState>,
    auth: Authed<need::DevicesW>,
    _: NoQuery,
    Path(id): Path<i64>,
    Json(input): Json<ServiceInput>,
) -> Result<Json<ServiceOne>, ApiError> {
    let tenant = auth.tenant_id;
    let mut tx = s.db.begin().await?;
    let (_, current) = found(&mut tx, tenant, id).await?;
    let d = input.apply_to(&current, s.tz)?;
    if store::clash(&mut tx, tenant, &d, Some(id)).await? {
        return Err(ApiError::conflict(conflict()));
    }
    let row = store::update(&mut tx, tenant, id, &d)
        .await
        .on_conflict(conflict)?
        .ok_or_else(|| not_found(id))?;
    let service = one(&mut tx, &s, tenant, &row).await?;
    tx.commit().await?;
    Ok(Json(ServiceOne { service }))
}

/// The document of `PUT /api/v1/services/{id}`, which [`patch_service`] serves.
pub struct PutService;

/// Delete a discovered service row; allowed-service entries stay. Answers the row as it was.
#[utoipa::path(delete, path = "/api/v1/services/{id}", tag = "services",
    params(("id" = i64, Path, description = "service row id")),
    responses((status = 200, body = ServiceDeleted), (status = 400, body = NetworkErrorBody),
        (status = 404, body = NetworkErrorBody)))]
pub async fn delete_service(
    State(s): State<AppState>,
    auth: Authed<need::DevicesW>,
    _: NoQuery,
    Path(id): Path<i64>,
) -> Result<Json<ServiceDeleted>, ApiError> {
    let tenant = auth.tenant_id;
    let mut tx = s.db.begin().await?;
    let (row, _) = found(&mut tx, tenant, id).await?;
    let service = one(&mut tx, &s, tenant, &row).await?;
    if store::delete(&mut tx, tenant, id).await? == 0 {
        return Err(not_found(id));
    }
    tx.commit().await?;
    Ok(Json(ServiceDeleted {
        deleted: true,
        service,
    }))
}

/// Authorize a discovered service: adds an allowed-service entry for its (ip, port, proto).
/// Idempotent. `authorized` in the answer is computed as always, so an exclude rule that still
/// matches leaves it `false`. No body (an empty one, or `{}`).
#[utoipa::path(patch, path = "/api/v1/services/{id}/authorize", tag = "services",
    params(("id" = i64, Path, description = "service row id")),
    responses((status = 200, body = ServiceOne), (status = 400, body = NetworkErrorBody),
        (status = 404, body = NetworkErrorBody)))]
pub async fn authorize_service(
    State(s): State<AppState>,
    auth: Authed<need::DevicesW>,
    _: NoQuery,
    Path(id): Path<i64>,
    JsonOrEmpty(_): JsonOrEmpty<NoParams>,
) -> Result<Json<ServiceOne>, ApiError> {
    let tenant = auth.tenant_id;
    let mut tx = s.db.begin().await?;
    let (row, d) = found(&mut tx, tenant, id).await?;
    let entry = AllowedData {
        target: Target::Block(d.ip.into()),
        port: d.port,
        proto: d.proto,
        name: None,
    };
    policy_store::authorize(&mut tx, tenant, &entry, now_ms()).await?;
    let service = one(&mut tx, &s, tenant, &row).await?;
    tx.commit().await?;
    Ok(Json(ServiceOne { service }))
}

/// A row as answered, its `authorized` and `name` computed from the policy in `tx`.
async fn one(
    tx: &mut Tx,
    s: &AppState,
    tenant: TenantId,
    row: &ServiceRow,
) -> Result<Service, ApiError> {
    let (allowed, excluded) = policy_store::rules(tx, tenant).await?;
    let policy = Policy::new(&allowed, &excluded);
    Ok(view::service(row, &policy, s.tz))
}

/// The tenant's row `id` and its values; 404 when the tenant has no such row.
async fn found(
    tx: &mut Tx,
    tenant: TenantId,
    id: i64,
) -> Result<(ServiceRow, ServiceData), ApiError> {
    let row = store::find(tx, tenant, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    let data = row.data().ok_or_else(|| {
        ApiError::internal(std::io::Error::other(format!(
            "service row {id} holds values that do not parse"
        )))
    })?;
    Ok((row, data))
}

fn not_found(id: i64) -> ApiError {
    ApiError::not_found(format!("no service with id {id}"))
}

fn conflict() -> String {
    "a service with this service_ip, service_port and proto already exists".into()
}
