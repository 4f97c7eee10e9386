//! Re-scoring after the scoring model changes: a migration job that evaluates every event that
//! has threats again under the current model, so that each threat whose severity, score or
//! other material field moves gets a version recording the change (`{from, to}`).
//!
//! It runs once per model ([`MODEL`], kept in the engine's cursors as
//! `engine.scoring_model`), at the start of the first evaluation pass that finds the stored
//! model older — so an upgraded server re-scores its threats on its first pass, and a new
//! database, with no threats, only records the model.
//!
//! * An event still within its window is evaluated as the evaluation pass would now: its
//!   threats are updated (alerts and automatic incidents follow as in any pass), and assets it
//!   newly reaches get threats.
//! * An event past its window is judged as of the last moment of its category's window, and
//!   only its existing threats are updated — without alerts — so that history reads in the
//!   current model's terms without reopening anything.

use std::collections::{BTreeMap, HashSet};

use picket_core::db::{Db, DbResult};

use super::cursor;
use super::index::load_index;
use super::pass::{observed, write_drafts, Pass};
use crate::engine::{self, rules, ThreatDraft};
use crate::threats::store as threats;
use crate::threats::writer::{self, Written};
use picket_corpus::changes;

/// The scoring model: 1 scored every event as one unverified news report (before issue 16);
/// 2 judges likelihood by source and impact by physical intensity at the asset.
pub const MODEL: i64 = 2;
/// The cursor that records the model threats were last scored with.
const CURSOR: &str = "engine.scoring_model";
/// Events loaded and evaluated at a time.
const CHUNK: usize = 1_000;
const HOUR_MS: i64 = 3_600_000;

/// Re-scores every threatened event when the stored model is older than [`MODEL`]; `None`
/// when it is current.
pub async fn rescore_if_outdated(db: &Db, now: i64) -> anyhow::Result<Option<Pass>> {
    if cursor::get(db, CURSOR).await? >= MODEL {
        return Ok(None);
    }
    let pass = rescore(db, now).await?;
    cursor::set(db, CURSOR, MODEL).await?;
    tracing::info!(
        examined = pass.examined,
        created = pass.created,
        updated = pass.updated,
        model = MODEL,
        "threats re-scored"
    );
    Ok(Some(pass))
}

/// Evaluates every event that has threats again (see the module comment).
pub async fn rescore(db: &Db, now: i64) -> anyhow::Result<Pass> {
    let ids = threats::threatened_events(db).await?;
    let mut pass = Pass::default();
    if ids.is_empty() {
        return Ok(pass);
    }
    let index = load_index(db, None, None).await?;
    // Kept across chunks: `rewrite_past` writes without pausing the generations, so what it
    // changes is read again.
    let mut nearby = threats::Nearby::default();
    for chunk in ids.chunks(CHUNK) {
        let events = changes::by_ids(db, chunk).await?;
        pass.examined += events.len() as u64;
        let mut current = Vec::new();
        let mut past = Vec::new();
        for e in &events {
            let o = observed(e);
            let window = rules::max_age_hours(&e.event_category, &BTreeMap::new()) as i64;
            let end = engine::last_report(&o) + window * HOUR_MS;
            if now <= end {
                current.extend(engine::drafts(&index, &o, now));
            } else {
                past.extend(engine::drafts(&index, &o, end - 60_000));
            }
        }
        write_drafts(db, &current, now, &mut nearby, &mut pass).await?;
        rewrite_past(db, past, now, &mut pass).await?;
    }
    Ok(pass)
}

/// Updates the existing threats among drafts of events past their window; creates none and
/// raises no alerts.
async fn rewrite_past(
    db: &Db,
    drafts: Vec<ThreatDraft>,
    now: i64,
    pass: &mut Pass,
) -> DbResult<()> {
    if drafts.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    let mut by_tenant: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for d in &drafts {
        by_tenant
            .entry(d.tenant_id.0)
            .or_default()
            .push(d.event_id.clone());
    }
    let stored: HashSet<(i64, String)> = threats::existing(&mut tx, &by_tenant)
        .await?
        .into_keys()
        .collect();
    let kept: Vec<ThreatDraft> = drafts
        .into_iter()
        .filter(|d| stored.contains(&(d.tenant_id.0, d.event_id.clone())))
        .collect();
    let mut nearby = threats::Nearby::default();
    for w in writer::upsert_many(&mut tx, &kept, now, &mut nearby).await? {
        if matches!(&w, Written::Updated(_, changed) if !changed.is_empty()) {
            pass.updated += 1;
        }
    }
    tx.commit().await
}
