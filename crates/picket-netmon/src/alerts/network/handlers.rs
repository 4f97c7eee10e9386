//! HTTP handlers of `/api/v1/networkalerts`.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use picket_core::db::Db;
use picket_core::error::NetworkErrorBody;
use picket_core::extract::{Json, NoQuery, Path};
use picket_core::identity::{need, Authed, TenantId};
use picket_core::{ApiError, AppState};

use super::enrich::Enricher;
use super::store;
use super::wire::{NetworkAlertDeleted, NetworkAlertFilters, NetworkAlertList, PcapFile};
use crate::listing::{Listing, SearchBody};

/// List network alerts, newest first by default. Filter parameters are 400: use search.
#[utoipa::path(get, path = "/api/v1/networkalerts", tag = "network alerts", params(Listing<NetworkAlertFilters>),
    responses((status = 200, body = NetworkAlertList), (status = 400, body = NetworkErrorBody)))]
#[utoipa::path(post, path = "/api/v1/networkalerts/search", impl_for = SearchNetworkAlerts,
    operation_id = "search_network_alerts", tag = "network alerts",
    summary = "Search network alerts: arrays match any value, filters must all match; `source` and\n`destination` take IPs, MACs, device names and `%`/`_` wildcards.",
    request_body = SearchBody<NetworkAlertFilters>,
    responses((status = 200, body = NetworkAlertList), (status = 400, body = NetworkErrorBody)))]
pub async fn list_network_alerts(
    State(s): State<AppState>,
    auth: Authed<need::AlertsR>,
    listing: Listing<NetworkAlertFilters>,
) -> Result<Json<NetworkAlertList>, ApiError> {
    let tenant = auth.tenant_id;
    let q = listing.filters.check(s.tz)?;
    let (info, rows) = store::search(s.db.reader(), tenant, &q, listing.sort, listing.page).await?;
    let e = Enricher::load(s.db.reader(), tenant, &rows, s.tz).await?;
    Ok(Json(NetworkAlertList {
        network_alerts: rows.iter().map(|r| e.alert(r)).collect(),
        page: info,
    }))
}

/// The document of `POST /api/v1/networkalerts/search`, which [`list_network_alerts`] serves.
pub struct SearchNetworkAlerts;

/// Delete a network alert and, in the same transaction, its capture. Answers the alert as it was.
#[utoipa::path(delete, path = "/api/v1/networkalerts/{id}", tag = "network alerts",
    params(("id" = i64, Path, description = "network alert id")),
    responses((status = 200, body = NetworkAlertDeleted), (status = 400, body = NetworkErrorBody),
        (status = 404, body = NetworkErrorBody)))]
pub async fn delete_network_alert(
    State(s): State<AppState>,
    auth: Authed<need::AlertsW>,
    _: NoQuery,
    Path(id): Path<i64>,
) -> Result<Json<NetworkAlertDeleted>, ApiError> {
    let mut tx = s.db.begin().await?;
    let row = store::delete(&mut tx, auth.tenant_id, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    tx.commit().await?;
    let e = Enricher::load(&s.db, auth.tenant_id, std::slice::from_ref(&row), s.tz).await?;
    Ok(Json(NetworkAlertDeleted {
        deleted: true,
        network_alert: e.alert(&row),
    }))
}

/// Bytes read from the database per step of a capture download.
const CHUNK: i32 = 256 * 1024;

/// Download the alert's packet capture, streamed from the database in chunks.
#[utoipa::path(get, path = "/api/v1/networkalerts/{id}/pcap", tag = "network alerts",
    params(("id" = i64, Path, description = "network alert id")),
    responses(
        (status = 200, description = "the capture", content_type = "application/vnd.tcpdump.pcap", body = PcapFile),
        (status = 400, body = NetworkErrorBody),
        (status = 404, description = "no such alert, or it has no capture", body = NetworkErrorBody)))]
pub async fn network_alert_pcap(
    State(s): State<AppState>,
    auth: Authed<need::AlertsR>,
    _: NoQuery,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let info = store::pcap_info(&s.db, auth.tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no capture for network alert {id}")))?;
    let body = Body::from_stream(chunks(s.db.clone(), auth.tenant_id, info));
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.tcpdump.pcap"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(info.size));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"alert-{id}.pcap\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

/// The capture's bytes, one bounded read at a time. A capture deleted mid-download ends the
/// body early, which the client sees as a short read against `Content-Length`.
fn chunks(
    db: Db,
    tenant: TenantId,
    info: store::PcapInfo,
) -> impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures::stream::try_unfold(0i64, move |offset| {
        let db = db.clone();
        async move {
            if offset >= info.size {
                return Ok(None);
            }
            let chunk = store::pcap_chunk(&db, tenant, info.id, offset, CHUNK)
                .await
                .map_err(std::io::Error::other)?;
            Ok(match chunk {
                Some(c) if !c.is_empty() => {
                    let next = offset + c.len() as i64;
                    Some((c, next))
                }
                _ => None,
            })
        }
    })
}

fn not_found(id: i64) -> ApiError {
    ApiError::not_found(format!("no network alert with id {id}"))
}
