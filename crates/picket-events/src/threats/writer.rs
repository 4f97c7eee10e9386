//! How the engine records threats: one per (tenant, event), created or updated in the caller's
//! transaction, with a version on every material change and developments for follow-ups.
//!
//! Material fields are severity, risk score, title, location (place or coordinates) and the
//! source list. Analysts' triage survives updates: a dismissed, contained or resolved threat
//! keeps its status and a pinned one stays pinned; only an `ended` threat whose event gained a
//! later expiry becomes `active` again.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use picket_core::db::bulk::insert_rows;
use picket_core::db::{DbResult, Tx};
use picket_core::identity::TenantId;
use sea_query::{Expr, Iden, Query, SimpleExpr, UnionType, Value as SeaValue};
use serde_json::{json, Map, Value};

use super::store::{
    ThreatAssetRow, ThreatAssets, ThreatDevelopments, ThreatRow, ThreatVersions, Threats,
    THREAT_COLUMNS,
};
use super::wire::ThreatStatus;
use crate::engine::Assessment;
use crate::grid::Grid;

/// Events per lookup statement.
const LOOKUP_CHUNK: usize = 500;
/// A new event this close to an active threat's event, of the same category and within that
/// threat's window, is a follow-up of it (an aftershock, a second protest on the same square).
pub const FOLLOW_UP_KM: f64 = 25.0;

/// One affected asset, as matched.
#[derive(Debug, Clone, PartialEq)]
pub struct AffectedDraft {
    pub asset_uuid: String,
    pub asset_id: String,
    pub asset_name: String,
    pub asset_type: String,
    pub distance_km: f64,
}

/// Everything the engine decided about an event for one tenant.
#[derive(Debug, Clone)]
pub struct ThreatDraft {
    pub tenant_id: TenantId,
    pub event_id: String,
    pub title: String,
    pub description: Option<String>,
    pub threat_type: String,
    pub category: String,
    pub location: String,
    pub location_country: Option<String>,
    pub lat: f64,
    pub lng: f64,
    pub observed_at: i64,
    pub expires_at: i64,
    pub sources: Vec<String>,
    pub attribution_types: Vec<String>,
    pub assessment: Assessment,
    pub threat_rationale: String,
    pub location_precision_level: String,
    pub location_uncertainty_km: Option<f64>,
    /// Nearest first; never empty.
    pub affected: Vec<AffectedDraft>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    Created(String),
    /// The threat changed; the names of the material fields that did (empty: only scores,
    /// rationales or affected assets moved, no new version).
    Updated(String, Vec<String>),
}

pub(crate) fn severity_rank(s: &str) -> i64 {
    match s {
        "critical" => 0,
        "high" => 1,
        "medium" => 2,
        "low" => 3,
        _ => 4,
    }
}

/// Stored threats for the drafts' (tenant, event) pairs, keyed by that pair. One lookup per
/// tenant (and 500 events), each a seek in the `(tenant_id, event_id)` index: SQLite answers
/// a row-value `IN` list with a scan of the whole table.
async fn existing(
    tx: &mut Tx,
    drafts: &[ThreatDraft],
) -> DbResult<HashMap<(i64, String), ThreatRow>> {
    let mut by_tenant: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for d in drafts {
        by_tenant
            .entry(d.tenant_id.0)
            .or_default()
            .push(d.event_id.clone());
    }
    let mut found = HashMap::new();
    for (tenant, events) in by_tenant {
        for chunk in events.chunks(LOOKUP_CHUNK) {
            let q = Query::select()
                .columns(THREAT_COLUMNS)
                .from(Threats::Table)
                .and_where(Expr::col(Threats::TenantId).eq(tenant))
                .and_where(Expr::col(Threats::EventId).is_in(chunk.iter().cloned()))
                .to_owned();
            for row in tx.fetch_all::<ThreatRow>(&q).await? {
                found.insert((row.tenant_id, row.event_id.clone()), row);
            }
        }
    }
    Ok(found)
}

/// The row a draft makes of a new threat.
fn created_row(d: &ThreatDraft, now: i64) -> ThreatRow {
    let mut row = ThreatRow {
        id: uuid::Uuid::now_v7().to_string(),
        tenant_id: d.tenant_id.0,
        event_id: d.event_id.clone(),
        status: ThreatStatus::Active.as_str().into(),
        pinned: false,
        created_at: now,
        updated_at: now,
        version_count: 1,
        development_count: 0,
        last_version_at: Some(now),
        latest_development_title: None,
        dismissal_reason: None,
        // Overwritten from the draft below.
        title: String::new(),
        description: None,
        severity: String::new(),
        severity_rank: 0,
        attribution_types: String::new(),
        sources: String::new(),
        threat_rationale: String::new(),
        threat_type: String::new(),
        category: String::new(),
        location: String::new(),
        location_country: None,
        lat: 0.0,
        lng: 0.0,
        observed_at: 0,
        expires_at: 0,
        likelihood: String::new(),
        impact_severity: String::new(),
        risk_score: 0.0,
        risk_level: String::new(),
        likelihood_rationale: String::new(),
        impact_rationale: String::new(),
        location_precision_level: String::new(),
        location_uncertainty_km: None,
    };
    apply_draft(&mut row, d);
    row
}

/// Copies what the engine decides onto a stored row; triage fields stay as they are.
fn apply_draft(row: &mut ThreatRow, d: &ThreatDraft) {
    let a = &d.assessment;
    row.title = d.title.clone();
    row.description = d.description.clone();
    row.severity = a.severity.as_str().into();
    row.severity_rank = severity_rank(a.severity.as_str());
    row.attribution_types = json!(d.attribution_types).to_string();
    row.sources = json!(d.sources).to_string();
    row.threat_rationale = d.threat_rationale.clone();
    row.threat_type = d.threat_type.clone();
    row.category = d.category.clone();
    row.location = d.location.clone();
    row.location_country = d.location_country.clone();
    row.lat = d.lat;
    row.lng = d.lng;
    row.observed_at = d.observed_at;
    row.expires_at = d.expires_at;
    row.likelihood = a.likelihood.into();
    row.impact_severity = a.impact_severity.into();
    row.risk_score = a.risk_score;
    row.risk_level = a.severity.as_str().into();
    row.likelihood_rationale = a.likelihood_rationale.clone();
    row.impact_rationale = a.impact_rationale.clone();
    row.location_precision_level = d.location_precision_level.clone();
    row.location_uncertainty_km = d.location_uncertainty_km;
}

/// A row's values in [`THREAT_COLUMNS`] order.
fn row_values(r: &ThreatRow) -> Vec<SeaValue> {
    vec![
        r.id.clone().into(),
        r.tenant_id.into(),
        r.event_id.clone().into(),
        r.title.clone().into(),
        r.description.clone().into(),
        r.severity.clone().into(),
        r.severity_rank.into(),
        r.status.clone().into(),
        r.pinned.into(),
        r.created_at.into(),
        r.updated_at.into(),
        r.attribution_types.clone().into(),
        r.sources.clone().into(),
        r.version_count.into(),
        r.development_count.into(),
        r.last_version_at.into(),
        r.latest_development_title.clone().into(),
        r.threat_rationale.clone().into(),
        r.threat_type.clone().into(),
        r.category.clone().into(),
        r.location.clone().into(),
        r.location_country.clone().into(),
        r.lat.into(),
        r.lng.into(),
        r.observed_at.into(),
        r.expires_at.into(),
        r.likelihood.clone().into(),
        r.impact_severity.clone().into(),
        r.risk_score.into(),
        r.risk_level.clone().into(),
        r.likelihood_rationale.clone().into(),
        r.impact_rationale.clone().into(),
        r.dismissal_reason.clone().into(),
        r.location_precision_level.clone().into(),
        r.location_uncertainty_km.into(),
    ]
}

/// Material differences between the stored threat and the draft, as `{field: {from, to}}`.
fn material_changes(old: &ThreatRow, d: &ThreatDraft) -> Map<String, Value> {
    let mut c = Map::new();
    let mut diff = |field: &str, from: Value, to: Value| {
        if from != to {
            c.insert(field.to_string(), json!({"from": from, "to": to}));
        }
    };
    diff(
        "severity",
        json!(old.severity),
        json!(d.assessment.severity.as_str()),
    );
    if (old.risk_score - d.assessment.risk_score).abs() >= 0.1 {
        diff(
            "risk_score",
            json!(old.risk_score),
            json!(d.assessment.risk_score),
        );
    }
    diff("title", json!(old.title), json!(d.title));
    diff("location", json!(old.location), json!(d.location));
    if (old.lat - d.lat).abs() > 1e-6 || (old.lng - d.lng).abs() > 1e-6 {
        diff(
            "coordinates",
            json!({"lat": old.lat, "lng": old.lng}),
            json!({"lat": d.lat, "lng": d.lng}),
        );
    }
    let old_sources: Vec<String> = serde_json::from_str(&old.sources).unwrap_or_default();
    diff("sources", json!(old_sources), json!(d.sources));
    c
}

/// A draft's affected assets as stored rows, in the order [`super::store::affected_select`]
/// reads them back (distance, then asset id).
fn asset_rows(threat_id: &str, d: &ThreatDraft) -> Vec<ThreatAssetRow> {
    let mut rows: Vec<ThreatAssetRow> = d
        .affected
        .iter()
        .map(|a| ThreatAssetRow {
            threat_id: threat_id.to_string(),
            asset_uuid: a.asset_uuid.clone(),
            asset_id: a.asset_id.clone(),
            asset_name: a.asset_name.clone(),
            asset_type: a.asset_type.clone(),
            distance_km: a.distance_km,
        })
        .collect();
    rows.sort_by(|x, y| {
        x.distance_km
            .total_cmp(&y.distance_km)
            .then_with(|| x.asset_id.cmp(&y.asset_id))
    });
    rows
}

/// Creates or updates the tenant's threat for the draft's event.
pub async fn upsert(tx: &mut Tx, d: &ThreatDraft, now: i64) -> DbResult<Written> {
    let mut out = upsert_many(tx, std::slice::from_ref(d), now).await?;
    Ok(out.pop().expect("one draft, one result"))
}

/// Creates or updates the threats of many drafts (at most one per (tenant, event)) with a
/// handful of statements: one lookup per chunk, multi-row inserts for new threats, their
/// assets and versions, and one `UPDATE` per changed threat. Version snapshots are built from
/// the rows as written, without reading them back. Results are in draft order.
pub async fn upsert_many(tx: &mut Tx, drafts: &[ThreatDraft], now: i64) -> DbResult<Vec<Written>> {
    let mut old = existing(tx, drafts).await?;
    let mut developments: Vec<Vec<SeaValue>> = Vec::new();
    let mut results = Vec::with_capacity(drafts.len());
    let mut inserts: Vec<Vec<SeaValue>> = Vec::new();
    let mut replaced: Vec<String> = Vec::new();
    let mut assets: Vec<Vec<SeaValue>> = Vec::new();
    let mut versions: Vec<Vec<SeaValue>> = Vec::new();
    // Threats changing for the first time: their version 1 is recorded now, from the row as
    // it stood (see `first_versions`).
    let mut first: Vec<ThreatRow> = Vec::new();
    for d in drafts {
        let (row, changes, written) = match old.remove(&(d.tenant_id.0, d.event_id.clone())) {
            None => {
                let row = created_row(d, now);
                let mut values = row_values(&row);
                values.push(GRID.cell(row.lat, row.lng).into());
                inserts.push(values);
                let id = row.id.clone();
                // Version 1 is the threat itself until something material changes; its row
                // is written then, so creating a threat writes no snapshot.
                (row, None, Written::Created(id))
            }
            Some(mut row) => {
                let changes = material_changes(&row, d);
                if !changes.is_empty() && row.version_count <= 1 {
                    first.push(row.clone());
                }
                let before: Vec<String> = serde_json::from_str(&row.sources).unwrap_or_default();
                for source in d.sources.iter().filter(|s| !before.contains(s)) {
                    let title = format!("New report from {source}: {}", d.title);
                    developments.push(development(&row.id, &title, now, &d.event_id, source));
                    row.development_count += 1;
                    row.latest_development_title = Some(title);
                }
                apply_draft(&mut row, d);
                row.updated_at = now;
                if row.status == ThreatStatus::Ended.as_str() && d.expires_at > now {
                    row.status = ThreatStatus::Active.as_str().into();
                }
                if !changes.is_empty() {
                    row.version_count += 1;
                    row.last_version_at = Some(now);
                }
                let mut values: Vec<(Threats, SimpleExpr)> = THREAT_COLUMNS
                    .into_iter()
                    .zip(row_values(&row))
                    .skip(1)
                    .map(|(c, v)| (c, v.into()))
                    .collect();
                values.push((Threats::Cell, GRID.cell(row.lat, row.lng).into()));
                tx.execute(
                    &Query::update()
                        .table(Threats::Table)
                        .values(values)
                        .and_where(Expr::col(Threats::Id).eq(row.id.clone()))
                        .to_owned(),
                )
                .await?;
                replaced.push(row.id.clone());
                let written = Written::Updated(row.id.clone(), changes.keys().cloned().collect());
                (row, (!changes.is_empty()).then_some(changes), written)
            }
        };
        let rows = asset_rows(&row.id, d);
        assets.extend(rows.iter().map(|a| {
            vec![
                a.threat_id.clone().into(),
                d.tenant_id.0.into(),
                a.asset_uuid.clone().into(),
                a.asset_id.clone().into(),
                a.asset_name.clone().into(),
                a.asset_type.clone().into(),
                a.distance_km.into(),
            ]
        }));
        if let Some(changes) = changes {
            let snapshot = serde_json::to_value(row.to_wire(&rows)).unwrap_or(Value::Null);
            versions.push(vec![
                row.id.clone().into(),
                row.version_count.into(),
                now.into(),
                Value::Object(changes).to_string().into(),
                snapshot.to_string().into(),
            ]);
        }
        results.push(written);
    }
    // Before the old affected assets are replaced: version 1 of first-time changes.
    versions.extend(first_versions(tx, &first).await?);
    let mut columns: Vec<String> = THREAT_COLUMNS.iter().map(Iden::to_string).collect();
    columns.push(Threats::Cell.to_string());
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    insert_rows(tx, "threats", &columns, inserts).await?;
    for chunk in replaced.chunks(LOOKUP_CHUNK) {
        tx.execute(
            &Query::delete()
                .from_table(ThreatAssets::Table)
                .and_where(Expr::col(ThreatAssets::ThreatId).is_in(chunk.iter().cloned()))
                .to_owned(),
        )
        .await?;
    }
    insert_rows(
        tx,
        "threat_assets",
        &[
            "threat_id",
            "tenant_id",
            "asset_uuid",
            "asset_id",
            "asset_name",
            "asset_type",
            "distance_km",
        ],
        assets,
    )
    .await?;
    insert_rows(
        tx,
        "threat_versions",
        &["threat_id", "version", "at", "changes", "snapshot"],
        versions,
    )
    .await?;

    // Follow-ups: a development on the nearest earlier threat (stored before, or created by
    // this batch, which the lookup now sees), counted on it.
    let created: Vec<&ThreatDraft> = drafts
        .iter()
        .zip(&results)
        .filter(|(_, w)| matches!(w, Written::Created(_)))
        .map(|(d, _)| d)
        .collect();
    let parents = follow_up_parents(tx, &created).await?;
    let mut by_cell: HashMap<(i64, &str, i64), Vec<&Parent>> = HashMap::new();
    for p in &parents {
        by_cell
            .entry((p.tenant_id, p.category.as_str(), p.cell))
            .or_default()
            .push(p);
    }
    let mut followed: HashMap<&str, (i64, &str)> = HashMap::new();
    for d in created {
        let Some(p) = nearest_parent(&by_cell, d) else {
            continue;
        };
        let source = d.sources.first().map_or("", String::as_str);
        developments.push(development(
            &p.id,
            &d.title,
            d.observed_at,
            &d.event_id,
            source,
        ));
        let e = followed.entry(p.id.as_str()).or_insert((0, &d.title));
        e.0 += 1;
        e.1 = &d.title;
    }
    for (parent, (n, title)) in followed {
        tx.execute(
            &Query::update()
                .table(Threats::Table)
                .value(
                    Threats::DevelopmentCount,
                    Expr::col(Threats::DevelopmentCount).add(n),
                )
                .value(Threats::LatestDevelopmentTitle, title)
                .value(Threats::UpdatedAt, now)
                .and_where(Expr::col(Threats::Id).eq(parent))
                .to_owned(),
        )
        .await?;
    }
    insert_rows(
        tx,
        "threat_developments",
        &["id", "threat_id", "title", "at", "event_id", "source"],
        developments,
    )
    .await?;
    Ok(results)
}

/// Version rows for threats about to get their second version: version 1, dated at creation,
/// with no changes and a snapshot of the threat as it stood before this change (with its
/// affected assets as stored). A threat that already has a stored version 1 (databases from
/// before versions were written lazily) gets none.
async fn first_versions(tx: &mut Tx, rows: &[ThreatRow]) -> DbResult<Vec<Vec<SeaValue>>> {
    #[derive(sqlx::FromRow)]
    struct Stored {
        threat_id: String,
    }
    let mut out = Vec::new();
    for chunk in rows.chunks(LOOKUP_CHUNK) {
        let ids: Vec<String> = chunk.iter().map(|r| r.id.clone()).collect();
        let stored: HashSet<String> = tx
            .fetch_all::<Stored>(
                &Query::select()
                    .column(ThreatVersions::ThreatId)
                    .from(ThreatVersions::Table)
                    .and_where(Expr::col(ThreatVersions::ThreatId).is_in(ids.clone()))
                    .and_where(Expr::col(ThreatVersions::Version).eq(1))
                    .to_owned(),
            )
            .await?
            .into_iter()
            .map(|s| s.threat_id)
            .collect();
        let mut assets: HashMap<String, Vec<ThreatAssetRow>> = HashMap::new();
        for a in tx
            .fetch_all::<ThreatAssetRow>(&super::store::affected_select(ids))
            .await?
        {
            assets.entry(a.threat_id.clone()).or_default().push(a);
        }
        for r in chunk.iter().filter(|r| !stored.contains(&r.id)) {
            let affected = assets.get(&r.id).map_or(&[][..], Vec::as_slice);
            let snapshot = serde_json::to_string(&r.to_wire(affected)).unwrap_or_default();
            out.push(vec![
                r.id.clone().into(),
                1i64.into(),
                r.created_at.into(),
                "{}".into(),
                snapshot.into(),
            ]);
        }
    }
    Ok(out)
}

fn development(
    threat_id: &str,
    title: &str,
    at: i64,
    event_id: &str,
    source: &str,
) -> Vec<SeaValue> {
    vec![
        uuid::Uuid::now_v7().to_string().into(),
        threat_id.into(),
        title.into(),
        at.into(),
        event_id.into(),
        source.into(),
    ]
}

/// An active threat a new one may follow up.
#[derive(sqlx::FromRow)]
struct Parent {
    id: String,
    tenant_id: i64,
    event_id: String,
    category: String,
    lat: f64,
    lng: f64,
    observed_at: i64,
    expires_at: i64,
    cell: i64,
    status: String,
}

/// The grid that locates threats for follow-up lookups (stored in `cell`): 0.5° of latitude
/// by 1° of longitude, so the 25 km around a point touches at most four cells below 75° of
/// latitude; every cell looked up is one index seek, which costs more than the few extra rows
/// a larger cell holds.
const GRID: Grid = Grid::new(2.0, 1.0);

/// Active or monitoring threats, still open when the earliest new draft was observed, of the
/// new drafts' tenants and categories in the grid cells within [`FOLLOW_UP_KM`] of them: one
/// statement per tenant, each a set of seeks in the `(tenant_id, category, cell)` index, so
/// the cost follows the new threats, not the number stored.
async fn follow_up_parents(tx: &mut Tx, created: &[&ThreatDraft]) -> DbResult<Vec<Parent>> {
    let Some(first) = created.iter().map(|d| d.observed_at).min() else {
        return Ok(Vec::new());
    };
    let mut wanted: BTreeMap<i64, BTreeMap<&str, BTreeSet<i64>>> = BTreeMap::new();
    for d in created {
        wanted
            .entry(d.tenant_id.0)
            .or_default()
            .entry(d.category.as_str())
            .or_default()
            .extend(GRID.near(d.lat, d.lng, FOLLOW_UP_KM));
    }
    let mut out = Vec::new();
    for (tenant, categories) in wanted {
        // One SELECT per category, joined with UNION ALL: each branch is a seek per cell.
        let mut branches = categories.into_iter().flat_map(|(category, cells)| {
            let cells: Vec<i64> = cells.into_iter().collect();
            cells
                .chunks(LOOKUP_CHUNK)
                .map(|chunk| {
                    Query::select()
                        .columns([
                            Threats::Id,
                            Threats::TenantId,
                            Threats::EventId,
                            Threats::Category,
                            Threats::Lat,
                            Threats::Lng,
                            Threats::ObservedAt,
                            Threats::ExpiresAt,
                            Threats::Cell,
                            Threats::Status,
                        ])
                        .from(Threats::Table)
                        .and_where(Expr::col(Threats::TenantId).eq(tenant))
                        .and_where(Expr::col(Threats::Category).eq(category))
                        .and_where(Expr::col(Threats::Cell).is_in(chunk.iter().copied()))
                        .to_owned()
                })
                .collect::<Vec<_>>()
        });
        let Some(mut q) = branches.next() else {
            continue;
        };
        for b in branches {
            q.union(UnionType::All, b);
        }
        // Status and window are checked here: as SQL conditions they tempted planners into the
        // (status, expires_at) index, a scan of every open threat.
        out.extend(tx.fetch_all::<Parent>(&q).await?.into_iter().filter(|p| {
            (p.status == ThreatStatus::Active.as_str()
                || p.status == ThreatStatus::Monitoring.as_str())
                && p.expires_at >= first
        }));
    }
    Ok(out)
}

/// The nearest earlier threat of the same tenant and category within [`FOLLOW_UP_KM`] whose
/// window covers the draft.
fn nearest_parent<'a>(
    by_cell: &HashMap<(i64, &str, i64), Vec<&'a Parent>>,
    d: &ThreatDraft,
) -> Option<&'a Parent> {
    GRID.near(d.lat, d.lng, FOLLOW_UP_KM)
        .into_iter()
        .filter_map(|c| by_cell.get(&(d.tenant_id.0, d.category.as_str(), c)))
        .flatten()
        .copied()
        .filter(|p| {
            p.event_id != d.event_id
                && p.observed_at < d.observed_at
                && d.observed_at <= p.expires_at
        })
        .map(|p| {
            (
                crate::engine::index::distance_km(p.lat, p.lng, d.lat, d.lng),
                p,
            )
        })
        .filter(|(km, _)| *km <= FOLLOW_UP_KM)
        .min_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)))
        .map(|(_, p)| p)
}

/// Records a follow-up event on an existing threat.
pub async fn add_development(
    tx: &mut Tx,
    threat_id: &str,
    title: &str,
    at: i64,
    event_id: &str,
    source: &str,
) -> DbResult<String> {
    let id = uuid::Uuid::now_v7().to_string();
    let q = Query::insert()
        .into_table(ThreatDevelopments::Table)
        .columns([
            ThreatDevelopments::Id,
            ThreatDevelopments::ThreatId,
            ThreatDevelopments::Title,
            ThreatDevelopments::At,
            ThreatDevelopments::EventId,
            ThreatDevelopments::Source,
        ])
        .values_panic([
            id.clone().into(),
            threat_id.into(),
            title.into(),
            at.into(),
            event_id.into(),
            source.into(),
        ])
        .to_owned();
    tx.execute(&q).await?;
    let q = Query::update()
        .table(Threats::Table)
        .value(
            Threats::DevelopmentCount,
            Expr::col(Threats::DevelopmentCount).add(1),
        )
        .value(Threats::LatestDevelopmentTitle, title)
        .value(Threats::UpdatedAt, at)
        .and_where(Expr::col(Threats::Id).eq(threat_id))
        .to_owned();
    tx.execute(&q).await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points 24.9 km from a centre in sixteen directions, on the mean sphere.
    fn ring(lat: f64, lng: f64) -> Vec<(f64, f64)> {
        (0..16)
            .map(|i| {
                let bearing = (i as f64 * 22.5).to_radians();
                let d: f64 = 24.9 / 6371.0088;
                let (p1, l1) = (lat.to_radians(), lng.to_radians());
                let p2 = (p1.sin() * d.cos() + p1.cos() * d.sin() * bearing.cos()).asin();
                let l2 =
                    l1 + (bearing.sin() * d.sin() * p1.cos()).atan2(d.cos() - p1.sin() * p2.sin());
                let lng2 = (l2.to_degrees() + 540.0).rem_euclid(360.0) - 180.0;
                (p2.to_degrees(), lng2)
            })
            .collect()
    }

    #[test]
    fn cells_near_cover_every_point_within_reach() {
        for (lat, lng) in [
            (6.45, 3.39),
            (0.0, 0.0),
            (59.99, 10.0),
            (-17.0, 179.95),
            (-17.0, -179.95),
            (71.0, -8.0),
            (89.9, 45.0),
            (-89.95, -120.0),
        ] {
            let near = GRID.near(lat, lng, FOLLOW_UP_KM);
            assert!(
                near.contains(&GRID.cell(lat, lng)),
                "own cell at {lat},{lng}"
            );
            for (plat, plng) in ring(lat, lng) {
                assert!(
                    crate::engine::index::distance_km(lat, lng, plat, plng) < FOLLOW_UP_KM,
                    "the ring is inside the reach"
                );
                assert!(
                    near.contains(&GRID.cell(plat, plng)),
                    "{plat},{plng} is within 25 km of {lat},{lng} but its cell was not looked up"
                );
            }
        }
    }

    #[test]
    fn cells_stay_few_away_from_the_poles() {
        assert!(GRID.near(6.45, 3.39, FOLLOW_UP_KM).len() <= 4);
        assert!(GRID.near(60.0, 10.0, FOLLOW_UP_KM).len() <= 6);
        let polar = GRID.near(89.9, 0.0, FOLLOW_UP_KM);
        assert_eq!(polar.len() as i64, 360, "all the way round at the pole");
        assert_ne!(GRID.cell(0.0, 179.99), GRID.cell(0.0, -179.99));
        assert_eq!(
            GRID.cell(0.0, 180.0),
            GRID.cell(0.0, -180.0),
            "the antimeridian wraps"
        );
    }
}
