//! Reports (`/v1/reports`, §7): threat, incident and landscape reports, generated in the
//! background and kept as they were generated; served as JSON, as a self-contained HTML
//! document and as a PDF. Tenants can also ask for a landscape report every day or week
//! ([`schedules`]), delivered through their notification targets.
//!
//! [`handlers`] check a request ([`request`]) and record a pending report ([`store`]) with its
//! `reports.generate` job ([`job`]). The job reads what the report covers — through the
//! threat, incident and asset stores, and [`source`] for the landscape's aggregates — and
//! [`content`] writes the summary and sections, stored as JSON. The HTML and PDF are drawn
//! from that JSON by `picket-report-render` on each request, so all three forms agree.

pub mod content;
mod handlers;
pub mod job;
pub mod request;
pub mod schedules;
pub mod source;
pub mod store;
pub mod wire;

use picket_core::db::schema::Table;
use picket_core::jobs::JobRegistry;
use picket_core::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The job that generates one report.
pub const GENERATE: &str = "reports.generate";

pub const TABLES: &[Table] = &[
    store::Reports::DECLARED,
    schedules::ReportSchedules::DECLARED,
];

pub fn register(r: &mut JobRegistry) {
    r.register(GENERATE, |s, p| async move { job::run(&s, &p).await });
    schedules::register(r);
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::create_report, handlers::list_reports))
        .routes(routes!(handlers::get_report))
        .routes(routes!(handlers::report_html))
        .routes(routes!(handlers::report_pdf))
        .merge(schedules::router())
}
