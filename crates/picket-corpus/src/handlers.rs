//! HTTP handlers of `/v1/events`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use picket_core::error::EventsErrorBody;
use picket_core::extract::{is_json_content_type, read_body, Json, NoQuery, Path, Query};
use picket_core::identity::{need, Authed};
use picket_core::{ApiError, AppState};

use super::import::{self, Record};
use super::input::{from_value, EventInput};
use super::map;
use super::store::{self, Scope};
use super::wire::{
    AtPointQuery, Event, EventList, FilterQuery, Heatmap, ListQuery, PushResult, Rejected,
};

/// Search the events the tenant sees (the global corpus and its own), `event_date` newest
/// first, then `id`.
#[utoipa::path(get, path = "/v1/events", tag = "events", params(ListQuery),
    responses((status = 200, body = EventList), (status = 400, body = EventsErrorBody)))]
pub async fn list_events(
    State(s): State<AppState>,
    auth: Authed<need::EventsR>,
    Query(q): Query<ListQuery>,
) -> Result<Json<EventList>, ApiError> {
    let (filter, limit, offset) = q.parse()?;
    let (rows, total) = store::list(s.db.reader(), auth.tenant_id, &filter, limit, offset).await?;
    Ok(Json(EventList {
        events: rows.iter().map(store::EventRow::to_wire).collect(),
        total,
        limit,
        offset,
    }))
}

/// Events within 100 m of a map point (several events often share near-identical
/// coordinates), `event_date` newest first, then `id`.
#[utoipa::path(get, path = "/v1/events/at-point", tag = "events", params(AtPointQuery),
    responses((status = 200, body = EventList), (status = 400, body = EventsErrorBody)))]
pub async fn events_at_point(
    State(s): State<AppState>,
    auth: Authed<need::EventsR>,
    Query(q): Query<AtPointQuery>,
) -> Result<Json<EventList>, ApiError> {
    let (point, limit, offset) = q.parse()?;
    let (rows, total) = store::at_point(
        &s.db,
        auth.tenant_id,
        point,
        store::AT_POINT_RADIUS_KM,
        limit,
        offset,
    )
    .await?;
    Ok(Json(EventList {
        events: rows.iter().map(store::EventRow::to_wire).collect(),
        total,
        limit,
        offset,
    }))
}

/// Heatmap points of the events the tenant sees that match the filters: `[lng, lat, weight]`
/// with weight 2 for high or critical, 1 for medium, 0 for low or negligible; at most 100,000
/// points (the most severe, then the newest), `total` counting every match.
#[utoipa::path(get, path = "/v1/events/heatmap-points", tag = "events", params(FilterQuery),
    responses((status = 200, body = Heatmap), (status = 400, body = EventsErrorBody)))]
pub async fn heatmap_points(
    State(s): State<AppState>,
    auth: Authed<need::EventsR>,
    Query(q): Query<FilterQuery>,
) -> Result<axum::response::Response, ApiError> {
    let filter = q.parse()?;
    let body = s
        .ext::<Arc<map::MapIndex>>()
        .answer(&s.db, auth.tenant_id, &filter, "heatmap", |snapshot, m| {
            let (points, total) = map::summary::heatmap(snapshot, m);
            serde_json::to_vec(&Heatmap { points, total }).ok()
        })
        .await?;
    map::handlers::json_answer("application/json", body)
}

/// Get one event: a global one or one of the tenant's own.
#[utoipa::path(get, path = "/v1/events/{event_id}", tag = "events",
    params(("event_id" = String, Path, description = "event id")),
    responses((status = 200, body = Event), (status = 404, body = EventsErrorBody)))]
pub async fn get_event(
    State(s): State<AppState>,
    auth: Authed<need::EventsR>,
    _: NoQuery,
    Path(id): Path<String>,
) -> Result<Json<Event>, ApiError> {
    let row = store::get(&s.db, auth.tenant_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no event `{id}`")))?;
    Ok(Json(row.to_wire()))
}

/// Push private events: a JSON array of events, or NDJSON with
/// `Content-Type: application/x-ndjson`. Each record is checked on its own; bad ones are listed
/// and the rest stored. A record with a `source_id` already pushed updates that event.
#[utoipa::path(post, path = "/v1/events", tag = "events",
    request_body(content(
        (Vec<EventInput> = "application/json"),
        (String = "application/x-ndjson")
    )),
    responses((status = 202, body = PushResult), (status = 400, body = EventsErrorBody), (status = 413, body = EventsErrorBody)))]
pub async fn push_events(
    State(s): State<AppState>,
    auth: Authed<need::EventsW>,
    _: NoQuery,
    req: Request,
) -> Result<(StatusCode, Json<PushResult>), ApiError> {
    let ndjson = is_ndjson(req.headers());
    if !ndjson && !is_json_content_type(req.headers()) {
        return Err(ApiError::bad_request(
            "expected `Content-Type: application/json` (an array of events) or `application/x-ndjson`",
        ));
    }
    let body = read_body(req, &s).await?;
    let records: Vec<Record> = if ndjson {
        import::parse_ndjson(&body, "push")
    } else {
        let items: Vec<serde_json::Value> = serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(format!(
                "invalid JSON body: expected an array of events: {e}"
            ))
        })?;
        items
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i, from_value(v).and_then(|input| input.validate("push"))))
            .collect()
    };
    let report = super::store_records(&s.db, Scope::Tenant(auth.tenant_id), records).await?;
    s.job_signal.notify_one();
    Ok((
        StatusCode::ACCEPTED,
        Json(PushResult {
            accepted: report.new + report.updated + report.merged,
            rejected: report
                .rejected
                .into_iter()
                .map(|(index, error)| Rejected { index, error })
                .collect(),
        }),
    ))
}

fn is_ndjson(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .map(|m| m.trim().eq_ignore_ascii_case("application/x-ndjson"))
        .unwrap_or(false)
}
