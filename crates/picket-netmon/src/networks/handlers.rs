//! HTTP handlers of `/api/v1/networks`. Writes run in one transaction, so a failed request
//! changes nothing.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use picket_core::error::NetworkErrorBody;
use picket_core::extract::{Json, NoQuery, Path};
use picket_core::identity::{need, Authed};
use picket_core::{ApiError, AppState, ResultExt};

use super::store;
use super::wire::{NetworkDeleted, NetworkFilters, NetworkInput, NetworkList, NetworkOne};
use crate::listing::search::UnpagedSearchBody;
use crate::listing::Listing;

/// List the tenant's networks (not paginated). Filter parameters are 400: use search.
#[utoipa::path(get, path = "/api/v1/networks", tag = "networks", params(Listing<NetworkFilters>),
    responses((status = 200, body = NetworkList), (status = 400, body = NetworkErrorBody)))]
#[utoipa::path(post, path = "/api/v1/networks/search", impl_for = SearchNetworks,
    operation_id = "search_networks", tag = "networks",
    summary = "Search networks: string filters take `%`/`_` wildcards, `alert` exact levels.",
    request_body = UnpagedSearchBody<NetworkFilters>,
    responses((status = 200, body = NetworkList), (status = 400, body = NetworkErrorBody)))]
pub async fn list_networks(
    State(s): State<AppState>,
    auth: Authed<need::NetworksR>,
    listing: Listing<NetworkFilters>,
) -> Result<Json<NetworkList>, ApiError> {
    let rows = store::search(
        s.db.reader(),
        auth.tenant_id,
        &listing.filters,
        listing.sort,
    )
    .await?;
    Ok(Json(NetworkList {
        networks: rows.iter().map(store::NetworkRow::to_wire).collect(),
    }))
}

/// The document of `POST /api/v1/networks/search`, which [`list_networks`] serves.
pub struct SearchNetworks;

/// Create a network; 409 when its name or CIDR exists in the tenant.
#[utoipa::path(post, path = "/api/v1/networks", tag = "networks", request_body = NetworkInput,
    responses((status = 201, body = NetworkOne), (status = 400, body = NetworkErrorBody),
        (status = 409, body = NetworkErrorBody)))]
pub async fn create_network(
    State(s): State<AppState>,
    auth: Authed<need::NetworksW>,
    _: NoQuery,
    Json(input): Json<NetworkInput>,
) -> Result<impl IntoResponse, ApiError> {
    let d = input.create()?;
    let mut tx = s.db.begin().await?;
    if let Some(msg) = store::clash(&mut tx, auth.tenant_id, &d, None).await? {
        return Err(ApiError::conflict(msg));
    }
    let row = store::insert(&mut tx, auth.tenant_id, &d)
        .await
        .on_conflict(conflict)?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(NetworkOne {
            network: row.to_wire(),
        }),
    ))
}

/// Partial update (PATCH and PUT alike): at least one field; the result is validated whole.
#[utoipa::path(patch, path = "/api/v1/networks/{id}", tag = "networks",
    params(("id" = i64, Path, description = "network id")), request_body = NetworkInput,
    responses((status = 200, body = NetworkOne), (status = 400, body = NetworkErrorBody),
        (status = 404, body = NetworkErrorBody), (status = 409, body = NetworkErrorBody)))]
#[utoipa::path(put, path = "/api/v1/networks/{id}", impl_for = PutNetwork,
    operation_id = "put_network", summary = "Same as PATCH.", tag = "networks",
    params(("id" = i64, Path, description = "network id")), request_body = NetworkInput,
    responses((status = 200, body = NetworkOne), (status = 400, body = NetworkErrorBody),
        (status = 404, body = NetworkErrorBody), (status = 409, body = NetworkErrorBody)))]
pub async fn patch_network(
    State(s): State<AppState>,
    auth: Authed<need::NetworksW>,
    _: NoQuery,
    Path(id): Path<i64>,
    Json(input): Json<NetworkInput>,
) -> Result<Json<NetworkOne>, ApiError> {
    let mut tx = s.db.begin().await?;
    let current = store::find(&mut tx, auth.tenant_id, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    let d = input.apply_to(&current.to_wire())?;
    if let Some(msg) = store::clash(&mut tx, auth.tenant_id, &d, Some(id)).await? {
        return Err(ApiError::conflict(msg));
    }
    let row = store::update(&mut tx, auth.tenant_id, id, &d)
        .await
        .on_conflict(conflict)?
        .ok_or_else(|| not_found(id))?;
    tx.commit().await?;
    Ok(Json(NetworkOne {
        network: row.to_wire(),
    }))
}

/// The document of `PUT /api/v1/networks/{id}`, which [`patch_network`] serves.
pub struct PutNetwork;

/// Delete a network; devices stay. Answers the row as it was.
#[utoipa::path(delete, path = "/api/v1/networks/{id}", tag = "networks",
    params(("id" = i64, Path, description = "network id")),
    responses((status = 200, body = NetworkDeleted), (status = 400, body = NetworkErrorBody),
        (status = 404, body = NetworkErrorBody)))]
pub async fn delete_network(
    State(s): State<AppState>,
    auth: Authed<need::NetworksW>,
    _: NoQuery,
    Path(id): Path<i64>,
) -> Result<Json<NetworkDeleted>, ApiError> {
    let mut tx = s.db.begin().await?;
    let row = store::delete(&mut tx, auth.tenant_id, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    tx.commit().await?;
    Ok(Json(NetworkDeleted {
        deleted: true,
        network: row.to_wire(),
    }))
}

fn not_found(id: i64) -> ApiError {
    ApiError::not_found(format!("no network with id {id}"))
}

fn conflict() -> String {
    "a network with this name or CIDR already exists".into()
}
