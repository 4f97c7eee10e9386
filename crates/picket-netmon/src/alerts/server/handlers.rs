//! HTTP handlers of `/api/v1/serveralerts`.

use axum::extract::{RawQuery, State};
use chrono_tz::Tz;
use picket_core::error::NetworkErrorBody;
use picket_core::extract::{Json, NoQuery, Path};
use picket_core::identity::{need, Authed, TenantId};
use picket_core::{ApiError, AppState};

use super::store::{self, ServerAlertRow};
use super::wire::{
    ServerAlert, ServerAlertDeleted, ServerAlertFilters, ServerAlertList, ServerAlertSort,
    ServerQuery, FILTER_NAMES,
};
use crate::clock;
use crate::listing::query::ListSpec;
use crate::listing::{ListQuery, PageRequest, SearchBody, SearchJson, Sort};

const LIST: ListSpec = ListSpec {
    paginated: true,
    filters: FILTER_NAMES,
    search_path: "/api/v1/serveralerts/search",
};

/// List server alerts, newest first by default. Filter parameters are 400: use search.
#[utoipa::path(get, path = "/api/v1/serveralerts", tag = "server alerts",
    params(
        ("page" = Option<i64>, Query, description = "default 1; below 1 counts as 1; past the end serves the last page"),
        ("page_size" = Option<i64>, Query, description = "default 100; at most 1000"),
        ("sort" = Option<String>, Query, description = "id, timestamp, source (hostname), agent, type, title (subject, message), level, log (line); default timestamp"),
        ("order" = Option<String>, Query, description = "asc or desc; default desc"),
    ),
    responses((status = 200, body = ServerAlertList), (status = 400, body = NetworkErrorBody)))]
pub async fn list_server_alerts(
    State(s): State<AppState>,
    auth: Authed<need::AlertsR>,
    RawQuery(query): RawQuery,
) -> Result<Json<ServerAlertList>, ApiError> {
    let q = ListQuery::parse(query.as_deref(), &LIST)?;
    let sort = Sort::resolve(q.sort.as_deref(), q.order.as_deref());
    let page = q.page.unwrap_or(PageRequest::new(None, None));
    list(&s, auth.tenant_id, &ServerQuery::default(), sort, page).await
}

/// Search server alerts: `hostname` and `title` take `%`/`_` wildcards, `search` is contained
/// in the log line; arrays match any value, filters must all match.
#[utoipa::path(post, path = "/api/v1/serveralerts/search", tag = "server alerts",
    request_body = SearchBody<ServerAlertFilters>,
    responses((status = 200, body = ServerAlertList), (status = 400, body = NetworkErrorBody)))]
pub async fn search_server_alerts(
    State(s): State<AppState>,
    auth: Authed<need::AlertsR>,
    _: NoQuery,
    SearchJson(body): SearchJson<SearchBody<ServerAlertFilters>>,
) -> Result<Json<ServerAlertList>, ApiError> {
    let page = body.page_request();
    let sort = body.sort.unwrap_or_default().resolve::<ServerAlertSort>();
    let q = body.filters.unwrap_or_default().check(s.tz)?;
    list(&s, auth.tenant_id, &q, sort, page).await
}

async fn list(
    s: &AppState,
    tenant: TenantId,
    q: &ServerQuery,
    sort: Sort<ServerAlertSort>,
    page: PageRequest,
) -> Result<Json<ServerAlertList>, ApiError> {
    let (info, rows) = store::search(&s.db, tenant, q, sort, page).await?;
    let tz = s.tz;
    Ok(Json(ServerAlertList {
        server_alerts: rows.iter().map(|r| to_wire(r, tz)).collect(),
        page: info,
    }))
}

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
