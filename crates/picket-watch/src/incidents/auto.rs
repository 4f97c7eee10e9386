//! Automatic incidents: after the engine writes a batch of threats, the threats around them
//! are loaded, [`cluster::decide`] says which incidents to open and extend, and they are
//! written in the engine's transaction. A handful of statements per tenant of the batch, never
//! one per threat.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use picket_core::db::{DbResult, Tx};
use picket_core::identity::TenantId;

use super::cluster::{self, Decision, Member, CLUSTER_HOURS, CLUSTER_KM};
use super::store::{self, NewIncident};
use crate::engine::ThreatDraft;
use crate::threats::store::{self as threats, GRID};
use crate::threats::writer::Written;
use picket_corpus::grid::distance_km;

const DESCRIPTION: &str = "Opened automatically: threats of one category family observed \
    within 72 hours and 25 km of each other, affecting the same assets.";

/// An incident that [`cluster`] opened or extended, for notifications (`incident.opened`,
/// `incident.updated`).
#[derive(Debug, Clone, PartialEq)]
pub struct Touched {
    pub tenant: TenantId,
    pub incident_id: String,
    /// `true`: opened by this call; `false`: existing, with threats added.
    pub opened: bool,
    /// The threats this call linked.
    pub threat_ids: Vec<String>,
}

/// Opens and extends `aggregate` incidents for the threats just written (`drafts` and the
/// engine's `written`, in the same order), inside the engine's transaction. Re-running the
/// same drafts changes nothing.
pub async fn cluster(
    tx: &mut Tx,
    nearby: &mut threats::Nearby,
    drafts: &[ThreatDraft],
    written: &[Written],
    now: i64,
) -> DbResult<Vec<Touched>> {
    // The batch's threats, by tenant.
    let mut fresh: BTreeMap<i64, Vec<(&str, &ThreatDraft)>> = BTreeMap::new();
    for (d, w) in drafts.iter().zip(written) {
        let id = match w {
            Written::Created(id) | Written::Updated(id, _) => id.as_str(),
        };
        if cluster::family(&d.category).is_some() {
            fresh.entry(d.tenant_id.0).or_default().push((id, d));
        }
    }
    let mut touched = Vec::new();
    for (tenant, batch) in fresh {
        touched.extend(cluster_tenant(tx, nearby, TenantId(tenant), &batch, now).await?);
    }
    Ok(touched)
}

async fn cluster_tenant(
    tx: &mut Tx,
    nearby: &mut threats::Nearby,
    tenant: TenantId,
    batch: &[(&str, &ThreatDraft)],
    now: i64,
) -> DbResult<Vec<Touched>> {
    // Stored threats of the batch's families in the cells within reach of its threats (the
    // batch's own among them, with their stored status).
    let mut wanted: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
    for (_, d) in batch {
        let cells = GRID.near(d.lat, d.lng, CLUSTER_KM);
        for category in cluster::categories(cluster::family(&d.category).unwrap_or_default()) {
            wanted
                .entry(category)
                .or_default()
                .extend(cells.iter().copied());
        }
    }
    let window = CLUSTER_HOURS * 3_600_000;
    let first = batch.iter().map(|(_, d)| d.observed_at).min().unwrap_or(0) - window;
    let last = batch.iter().map(|(_, d)| d.observed_at).max().unwrap_or(0) + window;
    let wanted = BTreeMap::from([(tenant.0, wanted)]);
    let around: Vec<&threats::Parent> = nearby
        .in_cells(tx, &wanted)
        .await?
        .into_iter()
        .filter(|t| t.status != "dismissed" && (first..=last).contains(&t.observed_at))
        .collect();
    let batch_ids: HashMap<&str, &ThreatDraft> = batch.iter().copied().collect();
    // Only threats that could join a cluster holding a batch threat matter to `decide`: those
    // reached from the batch by steps of the same family within the cluster's window and
    // distance (the assets, unknown yet, can only cut steps). The cells hold many more, so
    // the rest are left out before their assets are read.
    let around = within_reach(around, |id| batch_ids.contains_key(id), window);
    if around.len() < 2 {
        return Ok(Vec::new());
    }

    // Affected assets of the stored neighbours (the batch's are in its drafts), and the
    // aggregate incidents holding any of them.
    let others: Vec<String> = around
        .iter()
        .filter(|t| !batch_ids.contains_key(t.id.as_str()))
        .map(|t| t.id.clone())
        .collect();
    let mut assets: HashMap<String, BTreeMap<String, String>> = HashMap::new();
    for a in threats::affected_tx(tx, tenant, &others).await? {
        assets
            .entry(a.threat_id)
            .or_default()
            .insert(a.asset_uuid, a.asset_name);
    }
    let ids: Vec<String> = around.iter().map(|t| t.id.clone()).collect();
    let mut open: HashMap<String, String> = HashMap::new();
    let mut held: BTreeSet<String> = BTreeSet::new();
    for l in store::aggregate_links(tx, tenant, &ids).await? {
        if l.status == "open" {
            // The oldest open incident (v7 ids sort by creation).
            let e = open
                .entry(l.threat_id.clone())
                .or_insert(l.incident_id.clone());
            if l.incident_id < *e {
                *e = l.incident_id;
            }
        }
        held.insert(l.threat_id);
    }

    let members: Vec<Member> = around
        .into_iter()
        .map(|t| {
            let draft = batch_ids.get(t.id.as_str());
            let assets = match draft {
                Some(d) => d
                    .affected
                    .iter()
                    .map(|a| (a.asset_uuid.clone(), a.asset_name.clone()))
                    .collect(),
                None => assets.remove(&t.id).unwrap_or_default(),
            };
            Member {
                fresh: draft.is_some(),
                open_incident: open.get(&t.id).cloned(),
                held: held.contains(&t.id),
                tenant: tenant.0,
                category: t.category.clone(),
                lat: t.lat,
                lng: t.lng,
                observed_at: t.observed_at,
                assets,
                id: t.id.clone(),
            }
        })
        .collect();

    let observed: HashMap<&str, i64> = members
        .iter()
        .map(|m| (m.id.as_str(), m.observed_at))
        .collect();
    // The earliest `observed_at` of the threats a decision links: where an incident starts.
    let earliest = |threat_ids: &[String]| {
        threat_ids
            .iter()
            .filter_map(|id| observed.get(id.as_str()).copied())
            .min()
    };
    let mut touched = Vec::new();
    let mut opened: Vec<(NewIncident, Option<i64>)> = Vec::new();
    // Extended incidents and the earliest of the threats they gain, each incident once.
    let mut extended: BTreeMap<String, i64> = BTreeMap::new();
    for decision in cluster::decide(&members) {
        let t = match decision {
            Decision::Open {
                title, threat_ids, ..
            } => {
                let new = NewIncident {
                    id: uuid::Uuid::now_v7().to_string(),
                    title,
                    description: Some(DESCRIPTION.into()),
                    scope: "aggregate",
                };
                let id = new.id.clone();
                // Every linked threat is a member, so an opened incident always has a start.
                let started = earliest(&threat_ids).unwrap_or(now);
                opened.push((new, Some(started)));
                Touched {
                    tenant,
                    incident_id: id,
                    opened: true,
                    threat_ids,
                }
            }
            Decision::Extend {
                incident_id,
                threat_ids,
                ..
            } => {
                if let Some(at) = earliest(&threat_ids) {
                    let e = extended.entry(incident_id.clone()).or_insert(at);
                    *e = (*e).min(at);
                }
                Touched {
                    tenant,
                    incident_id,
                    opened: false,
                    threat_ids,
                }
            }
        };
        touched.push(t);
    }
    // New incidents are written with their start, before their links refer to them.
    store::insert_many(tx, tenant, &opened, now).await?;
    let wanted: Vec<(String, Vec<String>)> = touched
        .iter()
        .map(|t| (t.incident_id.clone(), t.threat_ids.clone()))
        .collect();
    store::link_each(tx, tenant, &wanted, now).await?;
    // An extended incident's start moves to its earliest threat: the threats just linked are
    // all among the members, with the `observed_at` just written. (A linked threat whose
    // event was re-dated later leaves the start where it was; an analyst's link or unlink
    // recomputes it.)
    let earliest: Vec<(String, i64)> = extended.into_iter().collect();
    store::links_added(tx, tenant, &earliest, now).await?;
    Ok(touched)
}

/// The threats of `around` connected to one of the batch's by a chain of steps, each between
/// threats of one family observed within `window` and [`CLUSTER_KM`] of each other.
fn within_reach(
    around: Vec<&threats::Parent>,
    in_batch: impl Fn(&str) -> bool,
    window: i64,
) -> Vec<&threats::Parent> {
    let mut by_cell: HashMap<(&str, i64), Vec<usize>> = HashMap::new();
    for (i, t) in around.iter().enumerate() {
        if let Some(family) = cluster::family(&t.category) {
            by_cell
                .entry((family, GRID.cell(t.lat, t.lng)))
                .or_default()
                .push(i);
        }
    }
    let mut keep = vec![false; around.len()];
    let mut queue: Vec<usize> = Vec::new();
    for (i, t) in around.iter().enumerate() {
        if in_batch(&t.id) {
            keep[i] = true;
            queue.push(i);
        }
    }
    while let Some(i) = queue.pop() {
        let t = around[i];
        let Some(family) = cluster::family(&t.category) else {
            continue;
        };
        for c in GRID.near(t.lat, t.lng, CLUSTER_KM) {
            for &j in by_cell.get(&(family, c)).into_iter().flatten() {
                let u = around[j];
                if !keep[j]
                    && (u.observed_at - t.observed_at).abs() <= window
                    && distance_km(t.lat, t.lng, u.lat, u.lng) <= CLUSTER_KM
                {
                    keep[j] = true;
                    queue.push(j);
                }
            }
        }
    }
    around
        .into_iter()
        .zip(keep)
        .filter_map(|(t, k)| k.then_some(t))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parent(id: &str, category: &str, lat: f64, lng: f64, hours: i64) -> threats::Parent {
        threats::Parent {
            id: id.into(),
            tenant_id: 1,
            event_id: format!("e-{id}"),
            category: category.into(),
            lat,
            lng,
            observed_at: hours * 3_600_000,
            expires_at: 0,
            cell: GRID.cell(lat, lng),
            status: "active".into(),
        }
    }

    #[test]
    fn reach_follows_chains_and_leaves_out_what_no_batch_threat_can_join() {
        let window = CLUSTER_HOURS * 3_600_000;
        // 0.2 degrees of latitude is about 22 km: a chain fresh → a → b runs 44 km north.
        let around = [
            parent("fresh", "weather", 10.0, 20.0, 100),
            parent("a", "geological", 10.2, 20.0, 100),
            parent("b", "fire_hazard", 10.4, 20.0, 150),
            // Same place, other family; same family, beyond the window; same family, 33 km.
            parent("other-family", "terrorism", 10.0, 20.0, 100),
            parent("too-late", "weather", 10.0, 20.0, 300),
            parent("too-far", "weather", 10.0, 20.3, 100),
        ];
        let kept: Vec<&str> = within_reach(around.iter().collect(), |id| id == "fresh", window)
            .into_iter()
            .map(|t| t.id.as_str())
            .collect();
        assert_eq!(kept, ["fresh", "a", "b"]);
    }
}
