//! HTTP handlers of `/api/v1/devices`.

use axum::extract::State;
use picket_core::error::NetworkErrorBody;
use picket_core::extract::{Json, NoQuery, Path};
use picket_core::identity::{need, Authed};
use picket_core::{ApiError, AppState};

use super::derive::NetworkIndex;
use super::store::{self, DeviceRow};
use super::wire::{DeviceFilters, DeviceList, DeviceOne, DeviceUpdate};
use crate::listing::{Listing, SearchBody};
use crate::networks;

/// List devices, paginated and sorted. Filter parameters are 400: use search.
#[utoipa::path(get, path = "/api/v1/devices", tag = "devices", params(Listing<DeviceFilters>),
    responses((status = 200, body = DeviceList), (status = 400, body = NetworkErrorBody)))]
#[utoipa::path(post, path = "/api/v1/devices/search", impl_for = SearchDevices,
    operation_id = "search_devices", tag = "devices",
    summary = "Search devices: every filter is an array of values (any matches) and takes `%`/`_`\nwildcards; several filters must all match.",
    request_body = SearchBody<DeviceFilters>,
    responses((status = 200, body = DeviceList), (status = 400, body = NetworkErrorBody)))]
pub async fn list_devices(
    State(s): State<AppState>,
    auth: Authed<need::DevicesR>,
    listing: Listing<DeviceFilters>,
) -> Result<Json<DeviceList>, ApiError> {
    let tenant = auth.tenant_id;
    let (info, rows) = store::search(
        s.db.reader(),
        tenant,
        &listing.filters,
        listing.sort,
        listing.page,
    )
    .await?;
    let nets = NetworkIndex::new(&networks::all(s.db.reader(), tenant).await?);
    Ok(Json(DeviceList {
        devices: rows.iter().map(|r| nets.device(r, s.tz)).collect(),
        page: info,
    }))
}

/// The document of `POST /api/v1/devices/search`, which [`list_devices`] serves.
pub struct SearchDevices;

/// Update a device's names (PATCH and PUT alike).
#[utoipa::path(patch, path = "/api/v1/devices/{id}", tag = "devices",
    params(("id" = i64, Path, description = "device id")), request_body = DeviceUpdate,
    responses((status = 200, body = DeviceOne), (status = 400, body = NetworkErrorBody),
        (status = 404, body = NetworkErrorBody)))]
#[utoipa::path(put, path = "/api/v1/devices/{id}", impl_for = PutDevice,
    operation_id = "put_device", summary = "Same as PATCH.", tag = "devices",
    params(("id" = i64, Path, description = "device id")), request_body = DeviceUpdate,
    responses((status = 200, body = DeviceOne), (status = 400, body = NetworkErrorBody),
        (status = 404, body = NetworkErrorBody)))]
pub async fn patch_device(
    State(s): State<AppState>,
    auth: Authed<need::DevicesW>,
    _: NoQuery,
    Path(id): Path<i64>,
    Json(body): Json<DeviceUpdate>,
) -> Result<Json<DeviceOne>, ApiError> {
    if body.hostname.is_none() && body.friendly_name.is_none() {
        return Err(ApiError::bad_request(
            "at least one of `hostname` and `friendly_name` is required",
        ));
    }
    let mut tx = s.db.begin().await?;
    let cur: DeviceRow = store::find(&mut tx, auth.tenant_id, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    let hostname = body.hostname.unwrap_or(cur.hostname).trim().to_string();
    let friendly = body
        .friendly_name
        .unwrap_or(cur.friendly_name)
        .trim()
        .to_string();
    if hostname.is_empty() && friendly.is_empty() {
        return Err(ApiError::bad_request(
            "the device needs a non-empty `hostname` or `friendly_name`",
        ));
    }
    let row = store::set_names(&mut tx, auth.tenant_id, id, &hostname, &friendly)
        .await?
        .ok_or_else(|| not_found(id))?;
    tx.commit().await?;
    let nets = NetworkIndex::new(&networks::all(&s.db, auth.tenant_id).await?);
    Ok(Json(DeviceOne {
        device: nets.device(&row, s.tz),
    }))
}

/// The document of `PUT /api/v1/devices/{id}`, which [`patch_device`] serves.
pub struct PutDevice;

fn not_found(id: i64) -> ApiError {
    ApiError::not_found(format!("no device with id {id}"))
}
