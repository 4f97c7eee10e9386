//! One evaluation step, shared by the evaluation of changed events and by scans: changed
//! events in, the pure engine's drafts, threats written.

use picket_core::db::stats::Growth;
use picket_core::db::{Db, DbResult};

use crate::engine::{self, AssetIndex, ObservedEvent, ThreatDraft};
use crate::incidents::store::{IncidentThreats, Incidents};
use crate::threats::store::{Nearby, ThreatAssets, Threats};
use crate::threats::writer::{self, Written};
use picket_core::db::watched::Watched;
use picket_corpus::changes::ChangedEvent;

/// Threats written per transaction: large enough that index pages dirtied by one batch are
/// written to the log once, small enough that other writers wait a second or two at most.
const DRAFTS_PER_TX: usize = 20_000;
/// The page cache of the engine's writing connection while it writes (SQLite), in KiB: room
/// for the pages one transaction of [`DRAFTS_PER_TX`] threats dirties (threats and their
/// indexes, assets, counts, incidents), so they are written to the log once, at commit.
/// Measured on the events benchmark (10,000 assets): engine about 10 % faster than with the
/// 8 MiB every connection has.
const WRITER_CACHE_KIB: u32 = 64 * 1024;

/// The tables a pass grows, threats first: their planner statistics follow what it writes
/// (PostgreSQL; see [`Growth`]). Without any, PostgreSQL looked up a tenant's existing threats
/// by reading all of them through its severity index, not the `(tenant_id, event_id)` key;
/// with statistics of a table a sixth of its size, it read a tenant's threats of a category
/// through `(tenant_id, category)` and tested the grid cells on each.
const GROWN: &[&str] = &[
    Threats::DECLARED.name,
    ThreatAssets::DECLARED.name,
    Incidents::DECLARED.name,
    IncidentThreats::DECLARED.name,
];

/// The tables whose writes by others make a pass drop what it holds of a tenant
/// ([`Nearby`]): threats, their assets, and incidents with their threat links.
pub const WATCHED: Watched = Watched {
    name: "engine",
    tables: &[
        Threats::DECLARED.name,
        ThreatAssets::DECLARED.name,
        Incidents::DECLARED.name,
        IncidentThreats::DECLARED.name,
    ],
};

/// Counts of one engine pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    pub examined: u64,
    pub created: u64,
    pub updated: u64,
}

/// The engine's view of a loaded event.
pub(crate) fn observed(e: &ChangedEvent) -> ObservedEvent<'_> {
    ObservedEvent {
        id: &e.id,
        tenant_id: e.tenant_id,
        title: &e.title,
        description: e.description.as_deref(),
        category: &e.event_category,
        event_type: e.event_type.as_deref(),
        severity: &e.severity,
        occurred_at: e.occurred_at,
        location: e.location.as_deref(),
        location_country: e.location_country.as_deref(),
        lat: e.lat,
        lng: e.lng,
        article_count: e.article_count,
        source: &e.source,
        data_source: &e.data_source,
        sources: &e.sources.0,
        attributes: e.attributes(),
    }
}

/// The drafts of a batch of events, in event order.
pub(crate) fn drafts_of(index: &AssetIndex, events: &[ChangedEvent], now: i64) -> Vec<ThreatDraft> {
    if index.is_empty() {
        return Vec::new();
    }
    events
        .iter()
        .flat_map(|e| engine::drafts(index, &observed(e), now))
        .collect()
}

/// Evaluates a batch of events and writes their threats with a handful of statements per
/// transaction (see [`writer::upsert_many`]). Batches of one pass share `nearby`: what was
/// read around the threats of one is not read again for the next.
pub async fn evaluate_batch(
    db: &Db,
    index: &AssetIndex,
    events: &[ChangedEvent],
    now: i64,
    nearby: &mut Nearby,
) -> DbResult<Pass> {
    let mut pass = Pass {
        examined: events.len() as u64,
        ..Pass::default()
    };
    let drafts = drafts_of(index, events, now);
    write_drafts(db, &drafts, now, nearby, &mut pass).await?;
    Ok(pass)
}

/// Writes drafts in transactions of at most [`DRAFTS_PER_TX`], counting what was written.
/// `nearby` holds the threats, assets and incident links around what was written, from one
/// transaction to the next (a pass passes the same one to every call; see [`Nearby`]).
pub(crate) async fn write_drafts(
    db: &Db,
    drafts: &[ThreatDraft],
    now: i64,
    nearby: &mut Nearby,
    pass: &mut Pass,
) -> DbResult<()> {
    for chunk in drafts.chunks(DRAFTS_PER_TX) {
        let mut tx = db.begin().await?;
        tx.page_cache(WRITER_CACHE_KIB).await?;
        nearby.begin(&mut tx, &WATCHED).await?;
        let written = writer::upsert_many(&mut tx, chunk, now, nearby).await?;
        let touched =
            crate::incidents::auto::cluster(&mut tx, nearby, chunk, &written, now).await?;
        let fired = crate::alerts::evaluate(&mut tx, chunk, &written, now).await?;
        let mut notices = crate::alerts::notices(&fired);
        notices.extend(crate::incidents::touched_notices(&mut tx, &touched).await?);
        picket_notify::enqueue(&mut tx, &notices, now).await?;
        let created = written
            .iter()
            .filter(|w| matches!(w, Written::Created(_)))
            .count();
        for w in written {
            match w {
                Written::Created(_) => pass.created += 1,
                Written::Updated(_, changed) if !changed.is_empty() => pass.updated += 1,
                Written::Updated(..) => {}
            }
        }
        let mut tenants: Vec<i64> = chunk.iter().map(|d| d.tenant_id.0).collect();
        tenants.sort_unstable();
        tenants.dedup();
        nearby.end(&mut tx, &WATCHED, &tenants).await?;
        tx.page_cache(picket_core::db::PAGE_CACHE_KIB).await?;
        tx.commit().await?;
        // Counted over the whole pass (it may write millions); analysed after the commit.
        let growth = match &mut nearby.growth {
            Some(g) => g,
            None => nearby.growth.insert(Growth::of_committed(db, GROWN).await?),
        };
        growth.committed(db, created as u64).await?;
    }
    Ok(())
}
