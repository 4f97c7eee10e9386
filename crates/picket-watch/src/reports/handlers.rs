//! HTTP handlers of `/v1/reports`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use picket_core::error::EventsErrorBody;
use picket_core::extract::{Json, NoQuery, Path, Query};
use picket_core::identity::{need, Authed, TenantId};
use picket_core::{ApiError, AppState};

use super::request;
use super::store::{self, ReportRow};
use super::wire::{CreateReport, ListQuery, Report, ReportList};

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("no report `{id}`"))
}

/// Ask for a report. It is generated in the background: poll `GET /v1/reports/{report_id}`
/// until `status` is `ready` (or `failed`, with `error`).
#[utoipa::path(post, path = "/v1/reports", tag = "reports", request_body = CreateReport,
    responses((status = 201, body = Report), (status = 400, body = EventsErrorBody)))]
pub async fn create_report(
    State(s): State<AppState>,
    auth: Authed<need::ReportsW>,
    _: NoQuery,
    Json(body): Json<CreateReport>,
) -> Result<(StatusCode, Json<Report>), ApiError> {
    let new = request::checked(&s.db, auth.tenant_id, body).await?;
    let mut tx = s.db.begin().await?;
    let row = store::insert_tx(&mut tx, auth.tenant_id, &new).await?;
    tx.commit().await?;
    s.job_signal.notify_one();
    Ok((StatusCode::CREATED, Json(row.to_wire())))
}

/// The tenant's reports, newest first, without their content.
#[utoipa::path(get, path = "/v1/reports", tag = "reports", params(ListQuery),
    responses((status = 200, body = ReportList), (status = 400, body = EventsErrorBody)))]
pub async fn list_reports(
    State(s): State<AppState>,
    auth: Authed<need::ReportsR>,
    Query(q): Query<ListQuery>,
) -> Result<Json<ReportList>, ApiError> {
    let (limit, offset) = crate::query::page(q.limit, q.offset)?;
    let (rows, total) = store::list(s.db.reader(), auth.tenant_id, limit, offset).await?;
    Ok(Json(ReportList {
        reports: rows.into_iter().map(ReportRow::to_wire).collect(),
        total,
    }))
}

/// One report with its content (`summary`, `sections`) once ready.
#[utoipa::path(get, path = "/v1/reports/{report_id}", tag = "reports",
    params(("report_id" = String, Path)),
    responses((status = 200, body = Report), (status = 404, body = EventsErrorBody)))]
pub async fn get_report(
    State(s): State<AppState>,
    auth: Authed<need::ReportsR>,
    _: NoQuery,
    Path(id): Path<String>,
) -> Result<Json<Report>, ApiError> {
    store::get(&s.db, auth.tenant_id, &id)
        .await?
        .map(|r| Json(r.to_wire()))
        .ok_or_else(|| not_found(&id))
}

/// A ready report as the renderers read it; 409 while pending or after a failure.
async fn ready(
    s: &AppState,
    tenant: TenantId,
    id: &str,
) -> Result<picket_report_render::Report, ApiError> {
    let row = store::get(&s.db, tenant, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    match (row.status.as_str(), row.content) {
        ("ready", Some(content)) => Ok(picket_report_render::Report {
            id: row.id,
            kind: row.kind,
            title: row.title,
            created_at: picket_core::time::rfc3339(row.created_at),
            content: content.0,
        }),
        ("failed", _) => Err(ApiError::conflict(format!(
            "report `{id}` failed and has no content: {}",
            row.error.unwrap_or_default()
        ))),
        _ => Err(ApiError::conflict(format!(
            "report `{id}` is pending: it is still being generated; try again when its status is `ready`"
        ))),
    }
}

/// The report as one self-contained HTML document (inline CSS and SVG, nothing fetched).
#[utoipa::path(get, path = "/v1/reports/{report_id}/html", tag = "reports",
    params(("report_id" = String, Path)),
    responses((status = 200, content_type = "text/html", body = String),
        (status = 404, body = EventsErrorBody), (status = 409, body = EventsErrorBody)))]
pub async fn report_html(
    State(s): State<AppState>,
    auth: Authed<need::ReportsR>,
    _: NoQuery,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let report = ready(&s, auth.tenant_id, &id).await?;
    let html = tokio::task::spawn_blocking(move || picket_report_render::html::render(&report))
        .await
        .map_err(ApiError::internal)?;
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response())
}

/// The report as a PDF: title page, sections, map and charts as vectors, searchable text.
#[utoipa::path(get, path = "/v1/reports/{report_id}/pdf", tag = "reports",
    params(("report_id" = String, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>),
        (status = 404, body = EventsErrorBody), (status = 409, body = EventsErrorBody)))]
pub async fn report_pdf(
    State(s): State<AppState>,
    auth: Authed<need::ReportsR>,
    _: NoQuery,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let report = ready(&s, auth.tenant_id, &id).await?;
    let pdf = tokio::task::spawn_blocking(move || picket_report_render::pdf::render(&report))
        .await
        .map_err(ApiError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"report-{id}.pdf\""),
            ),
        ],
        pdf,
    )
        .into_response())
}
