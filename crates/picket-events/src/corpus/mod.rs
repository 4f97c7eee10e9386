//! The world-event corpus (`/v1/events`): one global corpus fed by importers, plus events each
//! tenant pushes for itself. Importers ([`import`]) turn files into checked [`model::NewEvent`]s
//! record by record; [`batch`] upserts them by `(source, source_id)` within the tenant scope, so
//! importing the same file again updates instead of duplicating, and folds near-identical
//! reports of different sources together ([`merge`]). [`store`] holds the event tables and the
//! reads of `/v1/events`; [`changes`] pages through changed events for the threat engine's
//! jobs, which storing events wakes with [`EVENTS_CHANGED`].

mod batch;
pub mod changes;
pub mod country;
mod handlers;
pub mod import;
pub mod input;
mod merge;
pub mod model;
pub mod store;
pub mod wire;

pub use store::{EventRow, Scope, TABLES};

use axum::routing::get;
use picket_core::db::{Db, DbResult};
use picket_core::jobs::NewJob;
use picket_core::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The `/v1/events` routes. The documented literal routes under `/v1/events/` are registered
/// before they are implemented, answering 501, so that `{event_id}` never takes them for an
/// event id (literal segments win over a capture in the router). They are left out of the
/// OpenAPI document until they exist.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list_events, handlers::push_events))
        .routes(routes!(handlers::get_event))
        .route("/v1/events/at-point", get(handlers::not_implemented_yet))
        .route(
            "/v1/events/heatmap-points",
            get(handlers::not_implemented_yet),
        )
}

/// The job that brings threats up to date with the corpus after events changed. The corpus
/// only enqueues it; [`crate::evaluation`] runs it. (Its name, which queued jobs and the
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
