//! Reading a chunk's working set: the events its origins name, the events its merged origins
//! were folded into, and the merge candidates near its records in its time window.

use std::collections::BTreeMap;

use picket_core::db::json::JsonText;
use picket_core::db::{DbResult, Tx};
use sea_query::{Expr, Query};

use super::working::{near_cells, origin, Origin, Slot, Working};
use crate::merge;
use crate::model::{Attribution, NewEvent, Severity};
use crate::store::EventAliases;
use crate::store::{Events, Scope};

/// The columns read for an event the batch may touch.
#[derive(sqlx::FromRow)]
struct Stored {
    id: String,
    source: String,
    source_id: String,
    title: String,
    event_category: String,
    severity: String,
    occurred_at: i64,
    lat: f64,
    lng: f64,
    article_count: i64,
    sources: JsonText<Vec<Attribution>>,
    updated_at: i64,
}

const STORED: [Events; 12] = [
    Events::Id,
    Events::Source,
    Events::SourceId,
    Events::Title,
    Events::EventCategory,
    Events::Severity,
    Events::OccurredAt,
    Events::Lat,
    Events::Lng,
    Events::ArticleCount,
    Events::Sources,
    Events::UpdatedAt,
];

/// A stored event as a slot of the working set.
fn slot(s: Stored) -> Slot {
    Slot {
        id: s.id,
        created: false,
        dirty: false,
        data: None,
        source: s.source,
        source_id: s.source_id,
        title: s.title,
        category: s.event_category,
        severity: Severity::parse(&s.severity).unwrap_or(Severity::Low),
        occurred_at: s.occurred_at,
        lat: s.lat,
        lng: s.lng,
        article_count: s.article_count,
        sources: s.sources.0,
        updated_at: s.updated_at,
    }
}

/// Origins of the chunk grouped by source, so each lookup uses the `(scope, source,
/// source_id)` unique index.
fn by_source<'a>(origins: impl Iterator<Item = &'a Origin>) -> BTreeMap<&'a str, Vec<String>> {
    let mut m: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (source, id) in origins {
        m.entry(source.as_str()).or_default().push(id.clone());
    }
    m
}

pub(super) async fn load(tx: &mut Tx, scope: Scope, chunk: &[NewEvent]) -> DbResult<Working> {
    let mut w = Working::default();
    let origins: Vec<Origin> = chunk.iter().map(origin).collect();

    // Events the chunk's origins already name.
    for (source, ids) in by_source(origins.iter()) {
        let q = Query::select()
            .columns(STORED)
            .from(Events::table())
            .and_where(Expr::col(Events::Scope).eq(scope.key()))
            .and_where(Expr::col(Events::Source).eq(source))
            .and_where(Expr::col(Events::SourceId).is_in(ids))
            .to_owned();
        for s in tx.fetch_all::<Stored>(&q).await? {
            w.add(slot(s));
        }
    }

    // Origins merged earlier into another source's event.
    #[derive(sqlx::FromRow)]
    struct Alias {
        source: String,
        source_id: String,
        event_id: String,
    }
    let unknown: Vec<&Origin> = origins
        .iter()
        .filter(|(source, id)| w.by_origin.get(source, id).is_none())
        .collect();
    for (source, ids) in by_source(unknown.into_iter()) {
        let q = Query::select()
            .columns([
                EventAliases::Source,
                EventAliases::SourceId,
                EventAliases::EventId,
            ])
            .from(EventAliases::table())
            .and_where(Expr::col(EventAliases::Scope).eq(scope.key()))
            .and_where(Expr::col(EventAliases::Source).eq(source))
            .and_where(Expr::col(EventAliases::SourceId).is_in(ids))
            .to_owned();
        for a in tx.fetch_all::<Alias>(&q).await? {
            w.aliases.insert(&a.source, &a.source_id, a.event_id);
        }
    }
    let aliased: Vec<String> = w
        .aliases
        .values()
        .filter(|id| !w.by_id.contains_key(*id))
        .cloned()
        .collect();
    if !aliased.is_empty() {
        let q = Query::select()
            .columns(STORED)
            .from(Events::table())
            .and_where(Expr::col(Events::Id).is_in(aliased))
            .to_owned();
        for s in tx.fetch_all::<Stored>(&q).await? {
            w.add(slot(s));
        }
    }

    // Merge candidates: the grid cells within merging distance of any record, in the chunk's
    // time window; the exact test is made per record in memory. Rows stored before cells
    // existed (null) are read too, so nothing older is missed.
    let mut cells: Vec<i64> = chunk
        .iter()
        .flat_map(|e| near_cells(e.lat, e.lng))
        .collect();
    cells.sort_unstable();
    cells.dedup();
    let t0 = chunk.iter().map(|e| e.occurred_at).min().unwrap_or(0) - merge::MAX_GAP_MS;
    let t1 = chunk.iter().map(|e| e.occurred_at).max().unwrap_or(0) + merge::MAX_GAP_MS;
    let single_source = match by_source(origins.iter()).keys().collect::<Vec<_>>()[..] {
        [only] => Some(String::from(*only)),
        _ => None,
    };
    // The rows without a cell are read by a statement of their own: `IN (…) OR IS NULL` made
    // SQLite walk the whole scope in the cell index, once per chunk, which grew with the
    // corpus (most of a 1M-event import).
    let lookups = std::iter::once(None).chain(cells.chunks(LOOKUP_CELLS).map(Some));
    for part in lookups {
        let cell = match part {
            None => Expr::col(Events::MergeCell).is_null(),
            Some(part) => Expr::col(Events::MergeCell).is_in(part.to_vec()),
        };
        let mut q = Query::select()
            .columns(STORED)
            .from(Events::table())
            .and_where(Expr::col(Events::Scope).eq(scope.key()))
            .and_where(cell)
            .and_where(Expr::col(Events::OccurredAt).between(t0, t1))
            .to_owned();
        // A chunk from one feed never merges into that feed's own events.
        if let Some(only) = &single_source {
            q.and_where(Expr::col(Events::Source).ne(only.as_str()));
        }
        for s in tx.fetch_all::<Stored>(&q).await? {
            w.add(slot(s));
        }
    }
    Ok(w)
}

/// Grid cells per lookup statement.
const LOOKUP_CELLS: usize = 500;
