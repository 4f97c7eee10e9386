//! How the engine's drafts become threats: one per (tenant, event), created or updated in the
//! caller's transaction, with a version on every material change and developments for new
//! sources and follow-ups. The statements are [`crate::threats::store`]'s; the steps are here.
//!
//! Material fields are severity, risk score, title, location (place or coordinates) and the
//! source list. Analysts' triage survives updates: a dismissed, contained or resolved threat
//! keeps its status and a pinned one stays pinned; only an `ended` threat whose event gained a
//! later expiry becomes `active` again.
//!
//! * [`rows`]: the rows a draft makes, and what changed materially;
//! * [`versions`]: version 1 of threats changing for the first time;
//! * [`follow_up`]: developments on the open threats new ones follow up.

mod follow_up;
mod rows;
mod versions;

use std::collections::BTreeMap;

use picket_core::db::{DbResult, Tx};
use serde_json::Value;

pub use crate::engine::{AffectedDraft, ThreatDraft};
pub use crate::threats::store::add_development;
pub use follow_up::FOLLOW_UP_KM;

use super::store::{self, NewDevelopment, NewVersion, ThreatAssetRow, ThreatRow};
use super::wire::ThreatStatus;

#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    Created(String),
    /// The threat changed; the names of the material fields that did (empty: only scores,
    /// rationales or affected assets moved, no new version).
    Updated(String, Vec<String>),
}

/// Creates or updates the tenant's threat for the draft's event.
pub async fn upsert(tx: &mut Tx, d: &ThreatDraft, now: i64) -> DbResult<Written> {
    let mut nearby = store::Nearby::default();
    let mut out = upsert_many(tx, std::slice::from_ref(d), now, &mut nearby).await?;
    Ok(out.pop().expect("one draft, one result"))
}

/// What a batch of drafts writes besides the updates of existing threats.
#[derive(Default)]
struct Batch {
    created: Vec<ThreatRow>,
    /// Threats whose affected assets are replaced.
    replaced: Vec<String>,
    assets: Vec<(i64, ThreatAssetRow)>,
    versions: Vec<NewVersion>,
    developments: Vec<NewDevelopment>,
    /// Threats changing for the first time: their version 1 is recorded now, from the row as
    /// it stood (see [`versions::first_versions`]).
    first: Vec<ThreatRow>,
}

/// Creates or updates the threats of many drafts (at most one per (tenant, event)) with a
/// handful of statements: one lookup per chunk, multi-row inserts for new threats, their
/// assets and versions, and one `UPDATE` per changed threat. Version snapshots are built from
/// the rows as written, without reading them back. Results are in draft order. The follow-up
/// lookups read through `nearby`, after every threat write, so that the caller can look
/// around the same threats again without reading the same cells (see [`store::Nearby`]).
pub async fn upsert_many(
    tx: &mut Tx,
    drafts: &[ThreatDraft],
    now: i64,
    nearby: &mut store::Nearby,
) -> DbResult<Vec<Written>> {
    let mut by_tenant: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for d in drafts {
        by_tenant
            .entry(d.tenant_id.0)
            .or_default()
            .push(d.event_id.clone());
    }
    let mut old = store::existing(tx, &by_tenant).await?;
    let mut batch = Batch::default();
    let mut results = Vec::with_capacity(drafts.len());
    for d in drafts {
        let (row, changes, written) = match old.remove(&(d.tenant_id.0, d.event_id.clone())) {
            None => {
                let row = rows::created_row(d, now);
                let id = row.id.clone();
                // Version 1 is the threat itself until something material changes.
                (row, None, Written::Created(id))
            }
            Some(row) => {
                let left = store::GRID.cell(row.lat, row.lng);
                let (row, changes) = updated(&mut batch, row, d, now);
                nearby.updated(
                    &row.id,
                    row.tenant_id,
                    [left, store::GRID.cell(row.lat, row.lng)],
                );
                store::update(tx, &row).await?;
                batch.replaced.push(row.id.clone());
                let written = Written::Updated(row.id.clone(), changes.keys().cloned().collect());
                (row, (!changes.is_empty()).then_some(changes), written)
            }
        };
        let assets = rows::asset_rows(&row.id, d);
        if let Some(changes) = changes {
            let snapshot = serde_json::to_value(row.to_wire(&assets)).unwrap_or(Value::Null);
            batch.versions.push(NewVersion {
                threat_id: row.id.clone(),
                version: row.version_count,
                at: now,
                changes: Value::Object(changes).to_string(),
                snapshot: snapshot.to_string(),
            });
        }
        batch
            .assets
            .extend(assets.into_iter().map(|a| (d.tenant_id.0, a)));
        if matches!(written, Written::Created(_)) {
            batch.created.push(row);
        }
        results.push(written);
    }
    // Before the old affected assets are replaced: version 1 of first-time changes.
    let first = versions::first_versions(tx, &batch.first).await?;
    batch.versions.extend(first);
    store::insert(tx, &batch.created).await?;
    store::replace_assets(tx, &batch.replaced, &batch.assets).await?;
    nearby.created(&batch.created, &batch.assets);
    store::insert_versions(tx, batch.versions).await?;

    // Follow-ups, on threats stored before or created by this batch (which the lookup now sees).
    let created: Vec<&ThreatDraft> = drafts
        .iter()
        .zip(&results)
        .filter(|(_, w)| matches!(w, Written::Created(_)))
        .map(|(d, _)| d)
        .collect();
    let mut developments = batch.developments;
    developments.extend(follow_up::follow_ups(tx, nearby, &created, now).await?);
    store::insert_developments(tx, developments).await?;
    Ok(results)
}

/// An existing threat after the engine's update, and its material changes: developments for
/// sources it did not list, the draft's fields, reactivation of an ended threat whose window
/// grew, and a version count that follows material changes.
fn updated(
    batch: &mut Batch,
    mut row: ThreatRow,
    d: &ThreatDraft,
    now: i64,
) -> (ThreatRow, serde_json::Map<String, Value>) {
    let changes = rows::material_changes(&row, d);
    if !changes.is_empty() && row.version_count <= 1 {
        batch.first.push(row.clone());
    }
    let before = &row.sources.0;
    for source in d.sources.iter().filter(|s| !before.contains(s)) {
        let title = format!("New report from {source}: {}", d.title);
        batch.developments.push(NewDevelopment {
            threat_id: row.id.clone(),
            title: title.clone(),
            at: now,
            event_id: d.event_id.clone(),
            source: source.clone(),
        });
        row.development_count += 1;
        row.latest_development_title = Some(title);
    }
    rows::apply_draft(&mut row, d);
    row.updated_at = now;
    if row.status == ThreatStatus::Ended.as_str() && d.expires_at > now {
        row.status = ThreatStatus::Active.as_str().into();
    }
    if !changes.is_empty() {
        row.version_count += 1;
        row.last_version_at = Some(now);
    }
    (row, changes)
}
