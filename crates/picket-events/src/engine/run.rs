//! The engine as jobs: evaluate events into threats.
//!
//! * `engine.evaluate` (enqueued after every import or push, deduplicated) evaluates every event
//!   changed since its cursor against all tenants' monitorable assets. It re-reads a short
//!   overlap before the cursor, because transactions may commit out of `updated_at` order;
//!   re-evaluating an unchanged event writes no version, so the overlap costs only reads.
//! * `engine.scan` evaluates one tenant's events of the last `lookback_hours` against all or some
//!   of its assets, recording progress on the scan row (`POST /v1/threats/scan`).
//! * `engine.expire` ends active threats past their `expires_at`.

use std::collections::BTreeMap;
use std::sync::Arc;

use picket_core::db::{Db, DbResult};
use picket_core::identity::TenantId;
use picket_core::jobs::{JobRegistry, NewJob};
use picket_core::time::now_ms;
use picket_core::AppState;
use sea_query::{Alias, Cond, Expr, Order, Query};

use super::index::{AssetIndex, Locus, Match};
use super::score::{self, EventFacts, Precision};
use super::{monitored, rules};
use crate::assets::AssetRow;
use crate::taxonomy::Severity;
use crate::threats::writer::{self, AffectedDraft, ThreatDraft, Written};

pub const EVALUATE: &str = "engine.evaluate";
pub const SCAN: &str = "engine.scan";
pub const EXPIRE: &str = "engine.expire";

/// Events read and matched at a time.
const BATCH: u64 = 10_000;
/// Threats written per transaction: large enough that index pages dirtied by one batch are
/// written to the log once, small enough that other writers wait a second or two at most.
const DRAFTS_PER_TX: usize = 20_000;
const OVERLAP_MS: i64 = 5 * 60 * 1000;
const HOUR_MS: f64 = 3_600_000.0;

pub fn register(r: &mut JobRegistry) {
    r.register(EVALUATE, |s, _| async move {
        evaluate_changed(&s).await.map(|_| ())
    });
    r.register(SCAN, |s, p| async move { super::scans::run(&s, &p).await });
    r.register(EXPIRE, |s, _| async move {
        expire(&s.db, now_ms())
            .await
            .map(|_| ())
            .map_err(Into::into)
    });
}

/// The job that brings threats up to date with the corpus; enqueue after storing events.
pub fn evaluate_job() -> NewJob {
    NewJob::new(EVALUATE, serde_json::json!({})).dedupe(EVALUATE)
}

/// The columns of an event the engine reads.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventForEngine {
    pub id: String,
    pub tenant_id: Option<i64>,
    pub title: String,
    pub description: Option<String>,
    pub event_category: String,
    pub event_type: Option<String>,
    pub severity: String,
    pub occurred_at: i64,
    pub location: Option<String>,
    pub location_country: Option<String>,
    pub lat: f64,
    pub lng: f64,
    pub article_count: i64,
    pub data_source: String,
    pub sources: String,
    pub updated_at: i64,
}

const EVENT_COLUMNS: [&str; 16] = [
    "id",
    "tenant_id",
    "title",
    "description",
    "event_category",
    "event_type",
    "severity",
    "occurred_at",
    "location",
    "location_country",
    "lat",
    "lng",
    "article_count",
    "data_source",
    "sources",
    "updated_at",
];

/// Counts of one engine pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    pub examined: u64,
    pub created: u64,
    pub updated: u64,
}

/// Every asset the engine may match: active, located, switched on.
pub async fn load_index(
    db: &Db,
    tenant: Option<TenantId>,
    only: Option<&[String]>,
) -> DbResult<AssetIndex> {
    let rows = crate::assets::store::all(db, tenant).await?;
    Ok(AssetIndex::new(
        rows.iter()
            .filter(|r| only.is_none_or(|ids| ids.contains(&r.id)))
            .filter_map(|r: &AssetRow| monitored(r))
            .collect(),
    ))
}

/// Magnitude from a USGS-style title (`M 4.5 - 10 km SW of …`), for geological radii.
fn magnitude(e: &EventForEngine) -> Option<f64> {
    if e.event_category != "geological" {
        return None;
    }
    let t = e.title.trim_start();
    let rest = t.strip_prefix("M ").or_else(|| t.strip_prefix('M'))?;
    rest.split_whitespace().next()?.parse().ok()
}

/// The distinct source names of an event's attributions, in first-seen order; the event's
/// `data_source` when it lists none.
fn source_names(sources_json: &str, fallback: &str) -> Vec<String> {
    let v: Vec<serde_json::Value> = serde_json::from_str(sources_json).unwrap_or_default();
    let mut names: Vec<String> = Vec::new();
    for name in v.iter().filter_map(|s| s["source"].as_str()) {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    if names.is_empty() {
        names.push(fallback.to_string());
    }
    names
}

/// Evaluates a batch of events and writes their threats with a handful of statements per
/// transaction (see [`writer::upsert_many`]).
pub async fn evaluate_batch(
    db: &Db,
    index: &AssetIndex,
    events: &[EventForEngine],
    now: i64,
) -> DbResult<Pass> {
    let mut pass = Pass {
        examined: events.len() as u64,
        ..Pass::default()
    };
    let drafts = drafts_of(index, events, now);
    write_drafts(db, &drafts, now, &mut pass).await?;
    Ok(pass)
}

/// The drafts of a batch of events, in event order.
fn drafts_of(index: &AssetIndex, events: &[EventForEngine], now: i64) -> Vec<ThreatDraft> {
    if index.is_empty() {
        return Vec::new();
    }
    events.iter().flat_map(|e| drafts(index, e, now)).collect()
}

/// Writes drafts in transactions of at most [`DRAFTS_PER_TX`], counting what was written.
async fn write_drafts(db: &Db, drafts: &[ThreatDraft], now: i64, pass: &mut Pass) -> DbResult<()> {
    for chunk in drafts.chunks(DRAFTS_PER_TX) {
        let mut tx = db.begin().await?;
        for w in writer::upsert_many(&mut tx, chunk, now).await? {
            match w {
                Written::Created(_) => pass.created += 1,
                Written::Updated(_, changed) if !changed.is_empty() => pass.updated += 1,
                Written::Updated(..) => {}
            }
        }
        tx.commit().await?;
    }
    Ok(())
}

/// What the engine decides about one event: a threat draft per tenant with matching assets.
fn drafts(index: &AssetIndex, e: &EventForEngine, now: i64) -> Vec<ThreatDraft> {
    let age_hours = ((now - e.occurred_at) as f64 / HOUR_MS).max(0.0);
    let event_type = e.event_type.as_deref().unwrap_or("");
    let locus = Locus {
        tenant: e.tenant_id,
        category: &e.event_category,
        event_type,
        magnitude: magnitude(e),
        lat: e.lat,
        lng: e.lng,
        country: e.location_country.as_deref(),
        age_hours,
    };
    let matches = index.matches(&locus);
    if matches.is_empty() {
        return Vec::new();
    }
    let mut by_tenant: BTreeMap<i64, Vec<&Match>> = BTreeMap::new();
    for m in &matches {
        by_tenant
            .entry(index.assets()[m.asset].tenant_id)
            .or_default()
            .push(m);
    }
    let severity = Severity::parse(&e.severity).unwrap_or(Severity::Low);
    let source_names = source_names(&e.sources, &e.data_source);
    let mut out = Vec::with_capacity(by_tenant.len());
    for (tenant, ms) in by_tenant {
        let nearest = ms[0];
        let a = &index.assets()[nearest.asset];
        let max_age = rules::max_age_hours(&e.event_category, &a.max_age_hours_by_category);
        let facts = EventFacts {
            severity,
            data_source: e.data_source.clone(),
            distinct_sources: source_names.len() as u32,
            article_count: e.article_count.max(1) as u32,
            precision: Precision::Exact,
            age_hours,
            max_age_hours: max_age,
        };
        let assessment = score::assess(
            &facts,
            &a.name,
            &a.asset_type,
            nearest.distance_km,
            nearest.radius_km,
        );
        let place = e
            .location
            .clone()
            .unwrap_or_else(|| format!("{:.3}, {:.3}", e.lat, e.lng));
        out.push(ThreatDraft {
            tenant_id: TenantId(tenant),
            event_id: e.id.clone(),
            title: e.title.clone(),
            description: e.description.clone(),
            threat_type: if event_type.is_empty() {
                e.event_category.clone()
            } else {
                event_type.to_string()
            },
            category: e.event_category.clone(),
            location: place.clone(),
            location_country: e.location_country.clone(),
            lat: e.lat,
            lng: e.lng,
            observed_at: e.occurred_at,
            expires_at: e.occurred_at + (max_age * HOUR_MS) as i64,
            sources: source_names.clone(),
            attribution_types: vec![if e.tenant_id.is_some() {
                "tenant".into()
            } else {
                "feed".into()
            }],
            threat_rationale: format!(
                "{} {} event at {place}, {:.1} km from {} ({} affected asset{}); {} and {}.",
                severity.as_str(),
                e.event_category.replace('_', " "),
                nearest.distance_km,
                a.name,
                ms.len(),
                if ms.len() == 1 { "" } else { "s" },
                assessment.likelihood.replace('_', " "),
                assessment.impact_severity
            ),
            location_precision_level: Precision::Exact.as_str().into(),
            location_uncertainty_km: Some(Precision::Exact.uncertainty_km()),
            affected: ms
                .iter()
                .map(|m| {
                    let a = &index.assets()[m.asset];
                    AffectedDraft {
                        asset_uuid: a.id.clone(),
                        asset_id: a.asset_id.clone(),
                        asset_name: a.name.clone(),
                        asset_type: a.asset_type.clone(),
                        distance_km: m.distance_km,
                    }
                })
                .collect(),
            assessment,
        });
    }
    out
}

/// Events of a scope, keyset-paged by `(updated_at, id)` after `after`.
async fn events_after(
    db: &Db,
    after: (i64, &str),
    extra: Option<Cond>,
    limit: u64,
) -> DbResult<Vec<EventForEngine>> {
    let mut q = Query::select();
    q.columns(EVENT_COLUMNS.map(Alias::new))
        .from(Alias::new("events"))
        // A row-value comparison, which both databases answer with one range scan of the
        // (updated_at, id) index; the equivalent OR made SQLite sort everything after the
        // cursor for every batch.
        .and_where(
            Expr::tuple([
                Expr::col(Alias::new("updated_at")).into(),
                Expr::col(Alias::new("id")).into(),
            ])
            .gt(Expr::tuple([after.0.into(), after.1.into()])),
        )
        .order_by(Alias::new("updated_at"), Order::Asc)
        .order_by(Alias::new("id"), Order::Asc)
        .limit(limit);
    if let Some(c) = extra {
        q.cond_where(c);
    }
    db.fetch_all(&q).await
}

#[derive(sqlx::FromRow)]
struct Cursor {
    value: i64,
}

async fn cursor(db: &Db) -> DbResult<i64> {
    let q = Query::select()
        .column(Alias::new("value"))
        .from(Alias::new("engine_cursors"))
        .and_where(Expr::col(Alias::new("name")).eq(EVALUATE))
        .to_owned();
    Ok(db
        .fetch_optional::<Cursor>(&q)
        .await?
        .map_or(0, |c| c.value))
}

async fn set_cursor(db: &Db, value: i64) -> DbResult<()> {
    let q = Query::insert()
        .into_table(Alias::new("engine_cursors"))
        .columns([Alias::new("name"), Alias::new("value")])
        .values_panic([EVALUATE.into(), value.into()])
        .on_conflict(
            sea_query::OnConflict::column(Alias::new("name"))
                .update_column(Alias::new("value"))
                .to_owned(),
        )
        .to_owned();
    db.execute(&q).await.map(|_| ())
}

/// One page of changed events, matched and ready to write.
struct Page {
    examined: u64,
    high: i64,
    drafts: Vec<ThreatDraft>,
}

/// Evaluates every event changed since the last pass. Reading and matching the next page of
/// events overlaps writing the threats of the one before (on another connection: both
/// databases let a reader run beside the writer).
pub async fn evaluate_changed(state: &AppState) -> anyhow::Result<Pass> {
    evaluate_changed_in_pages(state, BATCH).await
}

/// [`evaluate_changed`], reading `page` events at a time.
pub async fn evaluate_changed_in_pages(state: &AppState, page: u64) -> anyhow::Result<Pass> {
    let db = &state.db;
    let start = cursor(db).await?;
    let index = Arc::new(load_index(db, None, None).await?);
    let now = now_ms();
    let (pages, mut ready) = tokio::sync::mpsc::channel::<DbResult<Page>>(1);
    let reader = tokio::spawn({
        let db = db.clone();
        async move {
            let mut after = ((start - OVERLAP_MS).max(0), String::new());
            loop {
                let batch = match events_after(&db, (after.0, &after.1), None, page).await {
                    Ok(b) => b,
                    Err(e) => {
                        let _ = pages.send(Err(e)).await;
                        return;
                    }
                };
                let Some(last) = batch.last() else { return };
                after = (last.updated_at, last.id.clone());
                let page = Page {
                    examined: batch.len() as u64,
                    high: batch.iter().map(|e| e.updated_at).fold(start, i64::max),
                    drafts: drafts_of(&index, &batch, now),
                };
                if pages.send(Ok(page)).await.is_err() {
                    return; // the writer stopped
                }
            }
        }
    });
    let mut total = Pass::default();
    let mut high = start;
    let written: DbResult<()> = async {
        while let Some(page) = ready.recv().await {
            let page = page?;
            total.examined += page.examined;
            write_drafts(db, &page.drafts, now, &mut total).await?;
            high = high.max(page.high);
        }
        Ok(())
    }
    .await;
    if written.is_err() {
        reader.abort();
    }
    written?;
    reader.await?;
    set_cursor(db, high).await?;
    tracing::info!(
        examined = total.examined,
        created = total.created,
        updated = total.updated,
        "engine pass"
    );
    Ok(total)
}

/// Ends active threats whose window has passed; returns how many.
pub async fn expire(db: &Db, now: i64) -> DbResult<u64> {
    let q = Query::update()
        .table(Alias::new("threats"))
        .value(Alias::new("status"), "ended")
        .value(Alias::new("updated_at"), now)
        .and_where(Expr::col(Alias::new("status")).is_in(["active", "monitoring"]))
        .and_where(Expr::col(Alias::new("expires_at")).lt(now))
        .to_owned();
    db.execute(&q).await
}

/// Events of `tenant`'s view (global plus its own) that occurred since `since`, paged.
pub(crate) async fn events_for_scan(
    db: &Db,
    tenant: TenantId,
    since: i64,
    after: (i64, &str),
) -> DbResult<Vec<EventForEngine>> {
    let scope = Cond::all()
        .add(
            Cond::any()
                .add(Expr::col(Alias::new("tenant_id")).is_null())
                .add(Expr::col(Alias::new("tenant_id")).eq(tenant)),
        )
        .add(Expr::col(Alias::new("occurred_at")).gte(since));
    events_after(db, after, Some(scope), BATCH).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(category: &str, title: &str) -> EventForEngine {
        EventForEngine {
            id: "e".into(),
            tenant_id: None,
            title: title.into(),
            description: None,
            event_category: category.into(),
            event_type: None,
            severity: "high".into(),
            occurred_at: 0,
            location: None,
            location_country: None,
            lat: 0.0,
            lng: 0.0,
            article_count: 1,
            data_source: "usgs".into(),
            sources: "[]".into(),
            updated_at: 0,
        }
    }

    #[test]
    fn magnitude_from_usgs_titles() {
        assert_eq!(
            magnitude(&ev("geological", "M 4.5 - 10km SW of Tomatlan, Mexico")),
            Some(4.5)
        );
        assert_eq!(
            magnitude(&ev("geological", "M6.1 - Off the coast")),
            Some(6.1)
        );
        assert_eq!(magnitude(&ev("geological", "Landslide near Oso")), None);
        assert_eq!(magnitude(&ev("weather", "M 4.5 - storm")), None);
    }

    #[test]
    fn distinct_sources_counts_names() {
        let names = source_names(
            r#"[{"source":"usgs"},{"source":"gdacs"},{"source":"usgs"}]"#,
            "x",
        );
        assert_eq!(names.len(), 2);
        assert_eq!(names, vec!["usgs", "gdacs"], "first-seen order, no repeats");
        assert_eq!(source_names("[]", "acled"), vec!["acled"]);
    }
}
