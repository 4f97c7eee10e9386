//! HTTP handlers of `/api/v1/serveralerts`.

use axum::extract::State;
use chrono_tz::Tz;
use picket_core::error::NetworkErrorBody;
use picket_core::extract::{Json, NoQuery, Path};
use picket_core::identity::{need, Authed};
use picket_core::{ApiError, AppState};

use super::store::{self, ServerAlertRow};
use super::wire::{ServerAlert, ServerAlertDeleted, ServerAlertFilters, ServerAlertList};
use crate::clock;
use crate::listing::{Listing, SearchBody};

/// List server alerts, newest first by default. Filter parameters are 400: use search.
#[utoipa::path(get, path = "/api/v1/serveralerts", tag = "server alerts", params(Listing<ServerAlertFilters>),
    responses((status = 200, body = ServerAlertList), (status = 400, body = NetworkErrorBody)))]
#[utoipa::path(post, path = "/api/v1/serveralerts/search", impl_for = SearchServerAlerts,
    operation_id = "search_server_alerts", tag = "server alerts",
    summary = "Search server alerts: `hostname` and `title` take `%`/`_` wildcards, `search` is contained\nin the log line; arrays match any value, filters must all match.",
    request_body = SearchBody<ServerAlertFilters>,
    responses((status = 200, body = ServerAlertList), (status = 400, body = NetworkErrorBody)))]
pub async fn list_server_alerts(
    State(s): State<AppState>,
    auth: Authed<need::AlertsR>,
    listing: Listing<ServerAlertFilters>,
) -> Result<Json<ServerAlertList>, ApiError> {
    let q = listing.filters.check(s.tz)?;
    let (info, rows) = store::search(
        s.db.reader(),
        auth.tenant_id,
        &q,
        listing.sort,
        listing.page,
    )
    .await?;
    Ok(Json(ServerAlertList {
        server_alerts: rows.iter().map(|r| to_wire(r, s.tz)).collect(),
        page: info,
    }))
}

/// The document of `POST /api/v1/serveralerts/search`, which [`list_server_alerts`] serves.
pub struct SearchServerAlerts;

/// Delete a server alert. Answers the alert as it was.
#[utoipa::path(delete, path = "/api/v1/serveralerts/{id}", tag = "server alerts",
    params(("id" = i64, Path, description = "server alert id")),
    responses((status = 200, body = ServerAlertDeleted), (status = 400, body = NetworkErrorBody),
        (status = 404, body = NetworkErrorBody)))]
pub async fn delete_server_alert(
    State(s): State<AppState>,
    auth: Authed<need::AlertsW>,
    _: NoQuery,
    Path(id): Path<i64>,
) -> Result<Json<ServerAlertDeleted>, ApiError> {
    let mut tx = s.db.begin().await?;
    let row = store::delete(&mut tx, auth.tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no server alert with id {id}")))?;
    tx.commit().await?;
    Ok(Json(ServerAlertDeleted {
        deleted: true,
        server_alert: to_wire(&row, s.tz),
    }))
}

fn to_wire(r: &ServerAlertRow, tz: Tz) -> ServerAlert {
    ServerAlert {
        id: r.id,
        timestamp: clock::format(r.ts, tz),
        agent: r.agent.clone(),
        agent_name: r.agent_name.clone(),
        hostname: r.hostname.clone(),
        level: r.level,
        kind: r.kind.clone(),
        title: r.title.clone(),
        line: r.line.clone(),
    }
}
