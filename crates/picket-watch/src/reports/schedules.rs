//! Scheduled reports (`/v1/reports/schedules`): a landscape report every day or week, over all
//! or some assets, delivered when ready as a `report.ready` notice (webhooks subscribed to it;
//! e-mail and Slack when the schedule asks) with a link to its PDF.
//!
//! Runs fall on UTC boundaries: a daily schedule covers the previous UTC day, a weekly one
//! the previous Monday-to-Sunday week. The `reports.schedules` job, every minute, starts the
//! runs that are due; with several servers, a run is claimed by moving the schedule's
//! `next_run_at` on, so only one of them starts it.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{Datelike, Duration, NaiveTime};
use picket_core::db::schema::OnDelete;
use picket_core::db::table::TenantTable;
use picket_core::db::{Db, DbResult};
use picket_core::error::EventsErrorBody;
use picket_core::extract::{Json, NoQuery, Path};
use picket_core::identity::{need, Authed, TenantId};
use picket_core::jobs::JobRegistry;
use picket_core::time::{now_ms, serde_rfc3339, to_datetime};
use picket_core::{ApiError, AppState};
use sea_query::{Expr, Order, Query};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::request::{clipped, landscape_title, resolve_assets, MAX_TITLE};
use super::store::{self, NewReport, Params, ReportRow};
use super::wire::Report;

/// The job that starts due runs.
pub const DUE: &str = "reports.schedules";

picket_core::table! {
    pub(crate) enum ReportSchedules in "report_schedules", tenant_owned {
        Id: Text .primary_key(),
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        Title: Text .nullable(),
        Frequency: Text,
        // JSON array of asset server ids; null = every asset.
        AssetIds: Text .nullable(),
        Enabled: Bool,
        EmailEnabled: Bool,
        SlackEnabled: Bool,
        NextRunAt: BigInt,
        LastRunAt: BigInt .nullable(),
        LastReportId: Text .nullable(),
        CreatedAt: BigInt,
        UpdatedAt: BigInt,
    }
    indexes {
        index report_schedules_tenant_created (TenantId, CreatedAt),
        index report_schedules_due (Enabled, NextRunAt),
    }
}

/// How often a schedule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[derive(strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum Frequency {
    Daily,
    Weekly,
}

impl Frequency {
    /// The first run boundary strictly after `now`: the next UTC midnight, or the next Monday
    /// 00:00 UTC.
    pub fn next_after(self, now: i64) -> i64 {
        let day = to_datetime(now).date_naive();
        let next = match self {
            Frequency::Daily => day + Duration::days(1),
            Frequency::Weekly => {
                day + Duration::days(7 - day.weekday().num_days_from_monday() as i64)
            }
        };
        next.and_time(NaiveTime::MIN).and_utc().timestamp_millis()
    }

    /// The window a run at boundary `at` covers: the day or week before it.
    pub fn window_before(self, at: i64) -> (i64, i64) {
        let len = match self {
            Frequency::Daily => 86_400_000,
            Frequency::Weekly => 7 * 86_400_000,
        };
        (at - len, at - 1)
    }

    /// The last boundary at or before `now`.
    fn last_at_or_before(self, now: i64) -> i64 {
        let next = self.next_after(now);
        match self {
            Frequency::Daily => next - 86_400_000,
            Frequency::Weekly => next - 7 * 86_400_000,
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScheduleRow {
    pub id: String,
    pub tenant_id: i64,
    pub title: Option<String>,
    pub frequency: String,
    pub asset_ids: Option<picket_core::db::json::JsonText<Vec<String>>>,
    pub enabled: bool,
    pub email_enabled: bool,
    pub slack_enabled: bool,
    pub next_run_at: i64,
    pub last_run_at: Option<i64>,
    pub last_report_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: [ReportSchedules; 13] = [
    ReportSchedules::Id,
    ReportSchedules::TenantId,
    ReportSchedules::Title,
    ReportSchedules::Frequency,
    ReportSchedules::AssetIds,
    ReportSchedules::Enabled,
    ReportSchedules::EmailEnabled,
    ReportSchedules::SlackEnabled,
    ReportSchedules::NextRunAt,
    ReportSchedules::LastRunAt,
    ReportSchedules::LastReportId,
    ReportSchedules::CreatedAt,
    ReportSchedules::UpdatedAt,
];

impl ScheduleRow {
    fn frequency(&self) -> Frequency {
        self.frequency.parse().unwrap_or(Frequency::Weekly)
    }

    fn to_wire(&self) -> Schedule {
        Schedule {
            id: self.id.clone(),
            title: self.title.clone(),
            frequency: self.frequency(),
            asset_ids: self.asset_ids.as_ref().map(|a| a.0.clone()),
            enabled: self.enabled,
            email_enabled: self.email_enabled,
            slack_enabled: self.slack_enabled,
            next_run_at: self.next_run_at,
            last_run_at: self.last_run_at,
            last_report_id: self.last_report_id.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// A report schedule.
#[derive(Debug, Serialize, ToSchema)]
pub struct Schedule {
    pub id: String,
    /// The reports' title; a dated landscape title when null.
    pub title: Option<String>,
    pub frequency: Frequency,
    /// Scope as server asset ids; null = every asset.
    pub asset_ids: Option<Vec<String>>,
    pub enabled: bool,
    /// Also e-mail the tenant's `email_recipients` a link when a report is ready.
    pub email_enabled: bool,
    /// Also post a link to the tenant's Slack webhook.
    pub slack_enabled: bool,
    #[serde(serialize_with = "serde_rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub next_run_at: i64,
    #[serde(serialize_with = "serde_rfc3339::option::serialize")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_run_at: Option<i64>,
    pub last_report_id: Option<String>,
    #[serde(serialize_with = "serde_rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    #[serde(serialize_with = "serde_rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleList {
    /// Oldest first.
    pub schedules: Vec<Schedule>,
    pub total: i64,
}

/// `POST /v1/reports/schedules`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSchedule {
    pub frequency: Frequency,
    pub title: Option<String>,
    /// `id`s or `asset_id`s; every asset when absent.
    pub asset_ids: Option<Vec<String>>,
    /// Default true.
    pub enabled: Option<bool>,
    /// Default false.
    pub email_enabled: Option<bool>,
    /// Default false.
    pub slack_enabled: Option<bool>,
}

/// `PATCH /v1/reports/schedules/{schedule_id}`: fields to change. `title` or `asset_ids`
/// set to null clear them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchSchedule {
    pub frequency: Option<Frequency>,
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<String>)]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<Vec<String>>)]
    pub asset_ids: Option<Option<Vec<String>>>,
    pub enabled: Option<bool>,
    pub email_enabled: Option<bool>,
    pub slack_enabled: Option<bool>,
}

/// A present field (even null) as `Some`.
fn some<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("no report schedule `{id}`"))
}

fn checked_title(t: Option<String>) -> Result<Option<String>, ApiError> {
    match t.as_deref().map(str::trim) {
        Some("") => Err(ApiError::bad_request(
            "invalid field `title`: must not be empty",
        )),
        Some(t) if t.chars().count() > MAX_TITLE => Err(ApiError::bad_request(format!(
            "invalid field `title`: at most {MAX_TITLE} characters"
        ))),
        t => Ok(t.map(str::to_string)),
    }
}

async fn checked_assets(
    db: &Db,
    tenant: TenantId,
    keys: Option<Vec<String>>,
) -> Result<Option<Vec<String>>, ApiError> {
    match keys {
        None => Ok(None),
        Some(k) if k.is_empty() => Err(ApiError::bad_request(
            "invalid field `asset_ids`: must name at least one asset when present",
        )),
        Some(k) => Ok(Some(resolve_assets(db, tenant, &k).await?)),
    }
}

async fn get_row(db: &Db, tenant: TenantId, id: &str) -> DbResult<Option<ScheduleRow>> {
    let q = ReportSchedules::select(tenant)
        .columns(COLUMNS)
        .and_where(Expr::col(ReportSchedules::Id).eq(id))
        .to_owned();
    db.fetch_optional(&q).await
}

/// The tenant's report schedules.
#[utoipa::path(get, path = "/v1/reports/schedules", tag = "reports",
    responses((status = 200, body = ScheduleList)))]
pub async fn list_schedules(
    State(s): State<AppState>,
    auth: Authed<need::ReportsR>,
    _: NoQuery,
) -> Result<Json<ScheduleList>, ApiError> {
    let q = ReportSchedules::select(auth.tenant_id)
        .columns(COLUMNS)
        .order_by(ReportSchedules::CreatedAt, Order::Asc)
        .order_by(ReportSchedules::Id, Order::Asc)
        .to_owned();
    let rows: Vec<ScheduleRow> = s.db.fetch_all(&q).await?;
    Ok(Json(ScheduleList {
        total: rows.len() as i64,
        schedules: rows.iter().map(ScheduleRow::to_wire).collect(),
    }))
}

/// Ask for a landscape report every day or week.
#[utoipa::path(post, path = "/v1/reports/schedules", tag = "reports", request_body = CreateSchedule,
    responses((status = 201, body = Schedule), (status = 400, body = EventsErrorBody)))]
pub async fn create_schedule(
    State(s): State<AppState>,
    auth: Authed<need::ReportsW>,
    _: NoQuery,
    Json(body): Json<CreateSchedule>,
) -> Result<(StatusCode, Json<Schedule>), ApiError> {
    let tenant = auth.tenant_id;
    let title = checked_title(body.title)?;
    let assets = checked_assets(&s.db, tenant, body.asset_ids).await?;
    let id = uuid::Uuid::now_v7().to_string();
    let now = now_ms();
    let q = ReportSchedules::insert(
        tenant,
        vec![
            (ReportSchedules::Id, id.clone().into()),
            (ReportSchedules::Title, title.into()),
            (
                ReportSchedules::Frequency,
                <&str>::from(body.frequency).into(),
            ),
            (
                ReportSchedules::AssetIds,
                assets.map(|a| serde_json::json!(a).to_string()).into(),
            ),
            (
                ReportSchedules::Enabled,
                body.enabled.unwrap_or(true).into(),
            ),
            (
                ReportSchedules::EmailEnabled,
                body.email_enabled.unwrap_or(false).into(),
            ),
            (
                ReportSchedules::SlackEnabled,
                body.slack_enabled.unwrap_or(false).into(),
            ),
            (
                ReportSchedules::NextRunAt,
                body.frequency.next_after(now).into(),
            ),
            (ReportSchedules::CreatedAt, now.into()),
            (ReportSchedules::UpdatedAt, now.into()),
        ],
    );
    s.db.execute(&q).await?;
    let row = get_row(&s.db, tenant, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok((StatusCode::CREATED, Json(row.to_wire())))
}

/// One report schedule.
#[utoipa::path(get, path = "/v1/reports/schedules/{schedule_id}", tag = "reports",
    params(("schedule_id" = String, Path)),
    responses((status = 200, body = Schedule), (status = 404, body = EventsErrorBody)))]
pub async fn get_schedule(
    State(s): State<AppState>,
    auth: Authed<need::ReportsR>,
    _: NoQuery,
    Path(id): Path<String>,
) -> Result<Json<Schedule>, ApiError> {
    get_row(&s.db, auth.tenant_id, &id)
        .await?
        .map(|r| Json(r.to_wire()))
        .ok_or_else(|| not_found(&id))
}

/// Change a report schedule; a new frequency moves the next run to its next boundary.
#[utoipa::path(patch, path = "/v1/reports/schedules/{schedule_id}", tag = "reports",
    params(("schedule_id" = String, Path)), request_body = PatchSchedule,
    responses((status = 200, body = Schedule), (status = 400, body = EventsErrorBody),
        (status = 404, body = EventsErrorBody)))]
pub async fn patch_schedule(
    State(s): State<AppState>,
    auth: Authed<need::ReportsW>,
    _: NoQuery,
    Path(id): Path<String>,
    Json(body): Json<PatchSchedule>,
) -> Result<Json<Schedule>, ApiError> {
    let tenant = auth.tenant_id;
    let current = get_row(&s.db, tenant, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    let now = now_ms();
    let mut q = ReportSchedules::update(tenant);
    q.value(ReportSchedules::UpdatedAt, now)
        .and_where(Expr::col(ReportSchedules::Id).eq(current.id.as_str()));
    if let Some(title) = body.title {
        q.value(ReportSchedules::Title, checked_title(title)?);
    }
    if let Some(keys) = body.asset_ids {
        let assets = checked_assets(&s.db, tenant, keys).await?;
        q.value(
            ReportSchedules::AssetIds,
            assets.map(|a| serde_json::json!(a).to_string()),
        );
    }
    if let Some(f) = body.frequency {
        q.value(ReportSchedules::Frequency, <&str>::from(f))
            .value(ReportSchedules::NextRunAt, f.next_after(now));
    }
    for (col, v) in [
        (ReportSchedules::Enabled, body.enabled),
        (ReportSchedules::EmailEnabled, body.email_enabled),
        (ReportSchedules::SlackEnabled, body.slack_enabled),
    ] {
        if let Some(v) = v {
            q.value(col, v);
        }
    }
    s.db.execute(&q).await?;
    get_row(&s.db, tenant, &id)
        .await?
        .map(|r| Json(r.to_wire()))
        .ok_or_else(|| not_found(&id))
}

/// Delete a report schedule; the reports it made stay.
#[utoipa::path(delete, path = "/v1/reports/schedules/{schedule_id}", tag = "reports",
    params(("schedule_id" = String, Path)),
    responses((status = 204), (status = 404, body = EventsErrorBody)))]
pub async fn delete_schedule(
    State(s): State<AppState>,
    auth: Authed<need::ReportsW>,
    _: NoQuery,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let q = ReportSchedules::delete(auth.tenant_id)
        .and_where(Expr::col(ReportSchedules::Id).eq(id.as_str()))
        .to_owned();
    match s.db.execute(&q).await? {
        0 => Err(not_found(&id)),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}

/// Run a schedule now: a report of the last whole day or week, delivered like a scheduled
/// one. The schedule's next run stays as it was.
#[utoipa::path(post, path = "/v1/reports/schedules/{schedule_id}/run", tag = "reports",
    params(("schedule_id" = String, Path)),
    responses((status = 201, body = Report), (status = 404, body = EventsErrorBody)))]
pub async fn run_schedule(
    State(s): State<AppState>,
    auth: Authed<need::ReportsW>,
    _: NoQuery,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Report>), ApiError> {
    let row = get_row(&s.db, auth.tenant_id, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    let at = row.frequency().last_at_or_before(now_ms());
    let report = start_run(&s, &row, at, None)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("an unclaimed run was not started")))?;
    Ok((StatusCode::CREATED, Json(report.to_wire())))
}

/// Records the report of `schedule`'s run at boundary `at` and enqueues it. With `claim`
/// (the schedule's `next_run_at` as read), the schedule is moved to `next` first and nothing
/// happens if another server moved it already.
async fn start_run(
    s: &AppState,
    schedule: &ScheduleRow,
    at: i64,
    claim: Option<(i64, i64)>,
) -> DbResult<Option<ReportRow>> {
    let tenant = TenantId(schedule.tenant_id);
    let (from, to) = schedule.frequency().window_before(at);
    let params = Params {
        asset_uuids: schedule.asset_ids.as_ref().map(|a| a.0.clone()),
        from: Some(from),
        to: Some(to),
        ..Default::default()
    };
    let title = match &schedule.title {
        Some(t) => clipped(
            &format!("{t}, {}", to_datetime(from).format("%Y-%m-%d")),
            MAX_TITLE,
        ),
        None => landscape_title(&params),
    };
    let mut tx = s.db.begin().await?;
    let mut q = ReportSchedules::update(tenant);
    q.value(ReportSchedules::LastRunAt, now_ms())
        .and_where(Expr::col(ReportSchedules::Id).eq(schedule.id.as_str()));
    if let Some((seen, next)) = claim {
        q.value(ReportSchedules::NextRunAt, next)
            .and_where(Expr::col(ReportSchedules::NextRunAt).eq(seen));
    }
    let report = store::insert_tx(
        &mut tx,
        tenant,
        &NewReport {
            kind: "landscape",
            title,
            params,
            schedule_id: Some(schedule.id.clone()),
        },
    )
    .await?;
    q.value(ReportSchedules::LastReportId, report.id.as_str());
    if tx.execute(&q).await? == 0 {
        // Another server claimed this run: dropping the transaction undoes the report.
        return Ok(None);
    }
    tx.commit().await?;
    s.job_signal.notify_one();
    Ok(Some(report))
}

/// The periodic job: starts every enabled schedule whose run is due.
pub async fn start_due(s: &AppState) -> anyhow::Result<()> {
    let now = now_ms();
    let q = Query::select()
        .columns(COLUMNS)
        // Across tenants: the scheduler starts every tenant's due runs; each run works for
        // the tenant of its schedule row.
        .from(ReportSchedules::across_tenants())
        .and_where(Expr::col(ReportSchedules::Enabled).eq(true))
        .and_where(Expr::col(ReportSchedules::NextRunAt).lte(now))
        .order_by(ReportSchedules::NextRunAt, Order::Asc)
        .limit(500)
        .to_owned();
    let due: Vec<ScheduleRow> = s.db.fetch_all(&q).await?;
    for row in due {
        let f = row.frequency();
        // A server that was down for several periods makes one report, of the last one.
        let at = f.last_at_or_before(now).max(row.next_run_at);
        start_run(s, &row, at, Some((row.next_run_at, f.next_after(now)))).await?;
    }
    Ok(())
}

/// When a scheduled report is ready: its `report.ready` notice, queued for delivery. A
/// delivery problem is logged and leaves the report ready.
pub async fn deliver_if_scheduled(s: &AppState, report: &ReportRow) {
    let Some(schedule_id) = &report.schedule_id else {
        return;
    };
    let tenant = TenantId(report.tenant_id);
    let result: anyhow::Result<()> = async {
        let Some(schedule) = get_row(&s.db, tenant, schedule_id).await? else {
            return Ok(());
        };
        let mut wire = store::get(&s.db, tenant, &report.id)
            .await?
            .map(ReportRow::to_wire)
            .ok_or_else(|| anyhow::anyhow!("report {} vanished", report.id))?;
        // Webhooks get the report's description, not its (large) content.
        wire.sections.clear();
        let pdf = format!("/v1/reports/{}/pdf", report.id);
        let figures = wire
            .summary
            .get("threat_count")
            .map(|n| format!("{n} threats"))
            .unwrap_or_default();
        let notice = picket_notify::Notice {
            tenant,
            event_type: picket_notify::EventType::ReportReady,
            subject: report.id.clone(),
            level: None,
            payload: serde_json::json!({
                "report": wire,
                "pdf_url": pdf,
                "html_url": format!("/v1/reports/{}/html", report.id),
            }),
            summary: picket_notify::Summary {
                title: report.title.clone(),
                severity: String::new(),
                location: Some(figures),
                assets: Vec::new(),
                link: Some(pdf),
            },
            direct: picket_notify::Direct {
                email: schedule.email_enabled,
                slack: schedule.slack_enabled,
                sms: false,
                external: Vec::new(),
            },
        };
        let mut tx = s.db.begin().await?;
        picket_notify::enqueue(&mut tx, &[notice], now_ms()).await?;
        tx.commit().await?;
        s.job_signal.notify_one();
        Ok(())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(report = %report.id, error = %format!("{e:#}"), "could not queue the report's delivery");
    }
}

pub fn register(r: &mut JobRegistry) {
    r.register(DUE, |s, _| async move { start_due(&s).await });
    r.every(DUE, std::time::Duration::from_secs(60));
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_schedules, create_schedule))
        .routes(routes!(get_schedule, patch_schedule, delete_schedule))
        .routes(routes!(run_schedule))
}

#[cfg(test)]
mod tests {
    use super::*;

    use picket_core::time::rfc3339;

    #[test]
    fn runs_fall_on_utc_boundaries() {
        // 2026-04-18 (a Saturday) 09:00 UTC.
        let now = 1_776_502_800_000;
        assert_eq!(
            rfc3339(Frequency::Daily.next_after(now)),
            "2026-04-19T00:00:00Z"
        );
        assert_eq!(
            rfc3339(Frequency::Weekly.next_after(now)),
            "2026-04-20T00:00:00Z"
        );
        let monday = Frequency::Weekly.next_after(now);
        assert_eq!(
            rfc3339(Frequency::Weekly.next_after(monday)),
            "2026-04-27T00:00:00Z"
        );
        let (from, to) = Frequency::Weekly.window_before(monday);
        assert_eq!(rfc3339(from), "2026-04-13T00:00:00Z");
        assert_eq!(rfc3339(to), "2026-04-19T23:59:59Z");
        assert_eq!(
            rfc3339(Frequency::Daily.last_at_or_before(now)),
            "2026-04-18T00:00:00Z"
        );
    }
}
