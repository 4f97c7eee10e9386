//! `POST /v1/threats/scan` and `GET /v1/threats/scans/{scan_id}`.

use axum::extract::State;
use axum::http::StatusCode;
use picket_core::error::EventsErrorBody;
use picket_core::extract::{Json, JsonOrEmpty, NoQuery, Path};
use picket_core::identity::{need, Authed};
use picket_core::{ApiError, AppState};

use super::store;
use super::wire::{ScanRequest, ScanStarted, ScanStatus};
use crate::assets::store as assets;

/// Start an asynchronous scan; poll its progress at `/v1/threats/scans/{scan_id}`.
#[utoipa::path(post, path = "/v1/threats/scan", tag = "threats", request_body = ScanRequest,
    responses((status = 202, body = ScanStarted), (status = 400, body = EventsErrorBody)))]
pub async fn start_scan(
    State(s): State<AppState>,
    auth: Authed<need::ThreatsW>,
    _: NoQuery,
    JsonOrEmpty(body): JsonOrEmpty<ScanRequest>,
) -> Result<(StatusCode, Json<ScanStarted>), ApiError> {
    let lookback = body.lookback_hours.unwrap_or(24);
    if !(1..=720).contains(&lookback) {
        return Err(ApiError::bad_request(
            "invalid field `lookback_hours`: must be between 1 and 720",
        ));
    }
    let uuids = match body.asset_ids {
        None => None,
        Some(keys) => {
            let mut uuids = Vec::with_capacity(keys.len());
            let mut unknown = Vec::new();
            for k in &keys {
                match assets::find(&s.db, auth.tenant_id, k).await? {
                    Some(a) => uuids.push(a.id),
                    None => unknown.push(k.as_str()),
                }
            }
            if !unknown.is_empty() {
                return Err(ApiError::bad_request(format!(
                    "invalid field `asset_ids`: unknown asset(s) {}",
                    unknown.join(", ")
                )));
            }
            Some(uuids)
        }
    };
    let scan_id = store::start(&s, auth.tenant_id, uuids, lookback).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ScanStarted {
            status: "scan_started",
            scan_id,
        }),
    ))
}

/// Progress of a scan.
#[utoipa::path(get, path = "/v1/threats/scans/{scan_id}", tag = "threats",
    params(("scan_id" = String, Path)),
    responses((status = 200, body = ScanStatus), (status = 404, body = EventsErrorBody)))]
pub async fn scan_status(
    State(s): State<AppState>,
    auth: Authed<need::ThreatsR>,
    _: NoQuery,
    Path(id): Path<String>,
) -> Result<Json<ScanStatus>, ApiError> {
    store::find_owned(&s.db, auth.tenant_id, &id)
        .await?
        .map(|r| Json(r.into()))
        .ok_or_else(|| ApiError::not_found(format!("no scan `{id}`")))
}
