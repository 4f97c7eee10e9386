//! HTTP handlers of the map layer: `/v1/events/countries`, `/v1/events/geojson` and
//! `/v1/events/tiles/{z}/{x}/{y}.mvt`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use picket_core::error::EventsErrorBody;
use picket_core::extract::{Path, Query};
use picket_core::identity::{need, Authed};
use picket_core::{ApiError, AppState};
use sha2::{Digest, Sha256};

use super::mercator::Tile;
use super::{summary, tile, MapIndex};
use crate::wire::{Countries, FilterQuery, GeoJson};

/// The media type of a vector tile.
pub const MVT: &str = "application/vnd.mapbox-vector-tile";
/// Tiles and layers change as events arrive: a client may reuse one for a minute, then asks
/// again with its `ETag`.
const CACHE: &str = "private, max-age=60";

fn index(s: &AppState) -> &MapIndex {
    s.ext::<Arc<MapIndex>>()
}

/// Per country (ISO-2) of the events the tenant sees that match the filters: their number,
/// by severity and by category, and the latest `event_date`. A country's `total` is what
/// `GET /v1/events` with the same filters and that `location_country` counts.
#[utoipa::path(get, path = "/v1/events/countries", tag = "events", params(FilterQuery),
    responses((status = 200, body = Countries), (status = 400, body = EventsErrorBody)))]
pub async fn countries(
    State(s): State<AppState>,
    auth: Authed<need::EventsR>,
    Query(q): Query<FilterQuery>,
) -> Result<Response, ApiError> {
    let filter = q.parse()?;
    let body = index(&s)
        .answer(
            &s.db,
            auth.tenant_id,
            &filter,
            "countries",
            |snapshot, m| {
                let countries = summary::countries(snapshot, m);
                serde_json::to_vec(&Countries {
                    total: countries.len(),
                    countries,
                })
                .ok()
            },
        )
        .await?;
    json_answer("application/json", body)
}

/// A cached JSON answer (`None` only if it could not be serialised).
pub(crate) fn json_answer(
    content_type: &'static str,
    body: Option<Bytes>,
) -> Result<Response, ApiError> {
    let body =
        body.ok_or_else(|| ApiError::internal(anyhow::anyhow!("answer not serialisable")))?;
    Ok((
        [(CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response())
}

/// The events the tenant sees that match the filters as a GeoJSON `FeatureCollection` of
/// points: the most severe, then the newest, at most 10,000 (`truncated` says when there were
/// more; `total` counts them all).
#[utoipa::path(get, path = "/v1/events/geojson", tag = "events", params(FilterQuery),
    responses((status = 200, body = GeoJson, content_type = "application/geo+json"),
        (status = 400, body = EventsErrorBody)))]
pub async fn geojson(
    State(s): State<AppState>,
    auth: Authed<need::EventsR>,
    Query(q): Query<FilterQuery>,
) -> Result<Response, ApiError> {
    let filter = q.parse()?;
    let body = index(&s)
        .answer(&s.db, auth.tenant_id, &filter, "geojson", |snapshot, m| {
            serde_json::to_vec(&summary::geojson(snapshot, m)).ok()
        })
        .await?;
    json_answer("application/geo+json", body)
}

/// The tile's coordinates from the path, `y` with its `.mvt`.
fn tile_of(z: &str, x: &str, y: &str) -> Result<Tile, ApiError> {
    let Some(y) = y.strip_suffix(".mvt") else {
        return Err(ApiError::not_found(format!(
            "no tile `{y}`: tiles are `{{z}}/{{x}}/{{y}}.mvt`"
        )));
    };
    let number = |name: &str, v: &str| {
        v.parse::<u32>().map_err(|_| {
            ApiError::bad_request(format!(
                "invalid tile `{name}` `{v}`: expected a whole number"
            ))
        })
    };
    Tile::new(number("z", z)?, number("x", x)?, number("y", y)?)
        .map_err(|e| ApiError::bad_request(format!("invalid tile: {e}")))
}

/// A Mapbox Vector Tile (v2) of the events the tenant sees that match the filters, layer
/// `events`: each event a point with `id`, `title`, `event_category`, `severity` and
/// `event_date` where the tile holds at most 1,500; otherwise clusters on a 64 × 64 grid,
/// each a point with `cluster`, `point_count` and `severity_max`. 204 for a tile without
/// events. Gzip when the client accepts it; `ETag` answers `If-None-Match` with 304.
#[utoipa::path(get, path = "/v1/events/tiles/{z}/{x}/{y}.mvt", tag = "events",
    params(
        ("z" = u32, Path, description = "zoom, 0–22"),
        ("x" = u32, Path, description = "column, 0 to 2^z − 1, west to east"),
        ("y" = u32, Path, description = "row, 0 to 2^z − 1, north to south"),
        FilterQuery),
    responses(
        (status = 200, description = "the tile", content_type = "application/vnd.mapbox-vector-tile", body = Vec<u8>),
        (status = 204, description = "no events in the tile"),
        (status = 304, description = "the tile is the one the `If-None-Match` names"),
        (status = 400, body = EventsErrorBody)))]
pub async fn tile(
    State(s): State<AppState>,
    auth: Authed<need::EventsR>,
    Path((z, x, y)): Path<(String, String, String)>,
    Query(q): Query<FilterQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let at = tile_of(&z, &x, &y)?;
    let filter = q.parse()?;
    let request = format!("tile {}/{}/{}", at.z, at.x, at.y);
    let bytes = index(&s)
        .answer(&s.db, auth.tenant_id, &filter, &request, |snapshot, m| {
            tile::encode(at, snapshot, snapshot.in_tile(at, m))
        })
        .await?;
    let cache = [
        (CACHE_CONTROL, HeaderValue::from_static(CACHE)),
        (VARY, HeaderValue::from_static("Authorization, X-API-Key")),
    ];
    let Some(bytes) = bytes else {
        return Ok((StatusCode::NO_CONTENT, cache).into_response());
    };
    let digest = Sha256::digest(&bytes);
    // Weak: the same tile is sent gzipped or not.
    let tag = format!("\"{}\"", hex::encode(&digest[..12]));
    let matches = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == tag)
        });
    let etag = format!("W/{tag}");
    let etag = HeaderValue::from_str(&etag).expect("hex is a valid header value");
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, cache, [(ETAG, etag)]).into_response());
    }
    Ok((
        cache,
        [(ETAG, etag), (CONTENT_TYPE, HeaderValue::from_static(MVT))],
        bytes,
    )
        .into_response())
}
