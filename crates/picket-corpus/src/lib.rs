#![forbid(unsafe_code)]
//! The world-event corpus (`/v1/events`): one global corpus fed by importers and polled feeds,
//! plus events each tenant pushes for itself. Read in this order:
//!
//! 1. [`taxonomy`] and [`grid`]: the pure vocabulary everything shares (categories, severities,
//!    distances, grid cells).
//! 2. [`import`]: importers that turn files into checked [`model::NewEvent`]s record by
//!    record; `batch` upserts them by `(source, source_id)` within the tenant scope, so
//!    importing the same file again updates instead of duplicating, and folds near-identical
//!    reports of different sources together (`merge`).
//! 3. [`store`]: the event tables and the reads of `/v1/events`; [`changes`] pages through
//!    changed events for the threat engine's jobs, which storing events wakes with
//!    [`EVENTS_CHANGED`].
//! 4. [`feeds`]: configured URLs polled when due and imported like files.
//!
//! This crate knows nothing of assets or threats: monitoring (`picket-watch`) reads the
//! corpus, never the other way round. The map layer of event intelligence belongs here.

mod batch;
pub mod changes;
pub mod country;
/// Polled event feeds: fetch configured URLs when due and import them like files.
pub mod feeds;
/// Distances on the sphere and the fixed grids that index points by cell (pure).
pub mod grid;
mod handlers;
pub mod import;
pub mod input;
/// The map layer: vector tiles, country summaries and GeoJSON from an in-memory index.
pub mod map;
mod merge;
pub mod model;
pub mod store;
/// The one event taxonomy: categories with their default radius and maximum age.
pub mod taxonomy;
pub mod wire;

pub use store::{EventRow, Scope};

use picket_core::db::{Db, DbResult};
use picket_core::jobs::NewJob;
use picket_core::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The `/v1/events` routes. Literal routes under `/v1/events/` win over `{event_id}` in the
/// router, so an event id can never shadow them.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list_events, handlers::push_events))
        .routes(routes!(handlers::get_event))
        .routes(routes!(handlers::events_at_point))
        .routes(routes!(handlers::heatmap_points))
        .routes(routes!(map::handlers::countries))
        .routes(routes!(map::handlers::geojson))
        .merge(tiles_route())
}

/// The tile route: the router cannot match a parameter followed by `.mvt` within one path
/// segment, so it serves `{y}` (which the handler requires to end in `.mvt`) and the
/// document names the path as clients use it.
fn tiles_route() -> OpenApiRouter<AppState> {
    use map::handlers::__path_tile as Doc;
    use utoipa::openapi::HttpMethod;
    use utoipa::Path as _;
    let mut r = OpenApiRouter::new().route(
        "/v1/events/tiles/{z}/{x}/{y}",
        axum::routing::get(map::handlers::tile),
    );
    let mut operation = Doc::operation();
    operation.tags = Some(vec!["events".to_string()]);
    r.get_openapi_mut()
        .paths
        .add_path_operation(Doc::path(), vec![HttpMethod::Get], operation);
    r
}

/// The corpus's shared state: the map's index of events.
pub fn extensions(ext: &mut axum::http::Extensions) {
    ext.insert(std::sync::Arc::new(map::MapIndex::default()));
}

/// The job that brings threats up to date with the corpus after events changed. The corpus
/// only enqueues it; the evaluation of `picket-watch` runs it. (Its name, which queued jobs and the
/// evaluation's stored cursor carry, is the runner's.)
pub const EVENTS_CHANGED: &str = "engine.evaluate";

/// [`EVENTS_CHANGED`], deduplicated: one queued evaluation covers every change before it runs.
pub fn events_changed_job() -> NewJob {
    NewJob::new(EVENTS_CHANGED, serde_json::json!({})).dedupe(EVENTS_CHANGED)
}

/// What an import did: counts, and each rejected record's index and reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub new: usize,
    pub updated: usize,
    pub merged: usize,
    pub rejected: Vec<(usize, String)>,
}

/// Stores the accepted records of an import in one transaction, lists the refused ones, and
/// queues the engine to evaluate what changed (any worker of any server picks it up; a
/// periodic pass catches up should the enqueue itself fail).
pub async fn store_records(
    db: &Db,
    scope: Scope,
    records: Vec<import::Record>,
) -> DbResult<ImportReport> {
    let mut events = Vec::with_capacity(records.len());
    let mut rejected = Vec::new();
    for (i, r) in records {
        match r {
            Ok(mut e) => {
                if e.location_country.is_none() {
                    e.location_country = country::country_at(e.lat, e.lng);
                }
                events.push(e)
            }
            Err(reason) => rejected.push((i, reason)),
        }
    }
    let done = batch::upsert_batch(db, scope, &events).await?;
    if done.new + done.updated + done.merged > 0 {
        picket_core::jobs::enqueue(db, &events_changed_job()).await?;
    }
    Ok(ImportReport {
        new: done.new,
        updated: done.updated,
        merged: done.merged,
        rejected,
    })
}

/// Tables owned by the corpus.
pub fn tables() -> Vec<&'static [picket_core::db::schema::Table]> {
    vec![store::TABLES, feeds::TABLES]
}

/// Job kinds of the corpus: feed polling.
pub fn register_jobs(r: &mut picket_core::jobs::JobRegistry) {
    feeds::register(r);
}
