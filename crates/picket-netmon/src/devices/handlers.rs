//! HTTP handlers of `/api/v1/devices`.

use axum::extract::{RawQuery, State};
use picket_core::error::NetworkErrorBody;
use picket_core::extract::{Json, NoQuery, Path};
use picket_core::identity::{need, Authed, TenantId};
use picket_core::{ApiError, AppState};

use super::derive::NetworkIndex;
use super::store::{self, DeviceRow};
use super::wire::{DeviceFilters, DeviceList, DeviceOne, DeviceSort, DeviceUpdate, FILTER_NAMES};
use crate::listing::query::ListSpec;
use crate::listing::{ListQuery, PageRequest, SearchBody, SearchJson, Sort};
use crate::networks;

const LIST: ListSpec = ListSpec {
    paginated: true,
    filters: FILTER_NAMES,
    search_path: "/api/v1/devices/search",
};

/// List devices, paginated and sorted. Filter parameters are 400: use search.
#[utoipa::path(get, path = "/api/v1/devices", tag = "devices",
    params(
        ("page" = Option<i64>, Query, description = "default 1; below 1 counts as 1; past the end serves the last page"),
        ("page_size" = Option<i64>, Query, description = "default 100; at most 1000"),
        ("sort" = Option<String>, Query, description = "last_ip (lastip, ip), hostname, friendly_name (name), mac, vendor, gateway (is_gateway), ipcount (ip_count, ip_history), first_seen (first), last_seen (last); default last_ip"),
        ("order" = Option<String>, Query, description = "asc or desc; default asc"),
    ),
    responses((status = 200, body = DeviceList), (status = 400, body = NetworkErrorBody)))]
pub async fn list_devices(
    State(s): State<AppState>,
    auth: Authed<need::DevicesR>,
    RawQuery(query): RawQuery,
) -> Result<Json<DeviceList>, ApiError> {
    let q = ListQuery::parse(query.as_deref(), &LIST)?;
    let sort = Sort::resolve(q.sort.as_deref(), q.order.as_deref());
    let page = q.page.unwrap_or(PageRequest::new(None, None));
    list(&s, auth.tenant_id, &DeviceFilters::default(), sort, page).await
}

/// Search devices: every filter is an array of values (any matches) and takes `%`/`_`
/// wildcards; several filters must all match.
#[utoipa::path(post, path = "/api/v1/devices/search", tag = "devices",
    request_body = SearchBody<DeviceFilters>,
    responses((status = 200, body = DeviceList), (status = 400, body = NetworkErrorBody)))]
pub async fn search_devices(
    State(s): State<AppState>,
    auth: Authed<need::DevicesR>,
    _: NoQuery,
    SearchJson(body): SearchJson<SearchBody<DeviceFilters>>,
) -> Result<Json<DeviceList>, ApiError> {
    let page = body.page_request();
    let sort = body.sort.unwrap_or_default().resolve::<DeviceSort>();
    let filters = body.filters.unwrap_or_default();
    list(&s, auth.tenant_id, &filters, sort, page).await
}

async fn list(
    s: &AppState,
    tenant: TenantId,
    filters: &DeviceFilters,
    sort: Sort<DeviceSort>,
    page: PageRequest,
) -> Result<Json<DeviceList>, ApiError> {
    let (info, rows) = store::search(&s.db, tenant, filters, sort, page).await?;
    let nets = NetworkIndex::new(&networks::all(&s.db, tenant).await?);
    let tz = s.tz;
    Ok(Json(DeviceList {
        devices: rows.iter().map(|r| nets.device(r, tz)).collect(),
        page: info,
    }))
}

/// Update a device's names (PATCH and PUT alike).
#[utoipa::path(patch, path = "/api/v1/devices/{id}", tag = "devices",
    params(("id" = i64, Path, description = "device id")), request_body = DeviceUpdate,
    responses((status = 200, body = DeviceOne), (status = 400, body = NetworkErrorBody),
        (status = 404, body = NetworkErrorBody)))]
pub async fn patch_device(
    s: State<AppState>,
    auth: Authed<need::DevicesW>,
    q: NoQuery,
    id: Path<i64>,
    body: Json<DeviceUpdate>,
) -> Result<Json<DeviceOne>, ApiError> {
    update(s, auth, q, id, body).await
}

/// Same as PATCH.
#[utoipa::path(put, path = "/api/v1/devices/{id}", tag = "devices",
    params(("id" = i64, Path, description = "device id")), request_body = DeviceUpdate,
    responses((status = 200, body = DeviceOne), (status = 400, body = NetworkErrorBody),
        (status = 404, body = NetworkErrorBody)))]
pub async fn put_device(
    s: State<AppState>,
    auth: Authed<need::DevicesW>,
    q: NoQuery,
    id: Path<i64>,
    body: Json<DeviceUpdate>,
) -> Result<Json<DeviceOne>, ApiError> {
    update(s, auth, q, id, body).await
}

async fn update(
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

fn not_found(id: i64) -> ApiError {
    ApiError::not_found(format!("no device with id {id}"))
}
