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
        touched.extend(cluster_tenant(tx, TenantId(tenant), &batch, now).await?);
    }
    Ok(touched)
}

async fn cluster_tenant(
    tx: &mut Tx,
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
    let around: Vec<threats::Parent> = threats::in_cells(tx, BTreeMap::from([(tenant.0, wanted)]))
        .await?
        .into_iter()
        .filter(|t| t.status != "dismissed" && (first..=last).contains(&t.observed_at))
        .collect();
    let batch_ids: HashMap<&str, &ThreatDraft> = batch.iter().copied().collect();
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
                category: t.category,
                lat: t.lat,
                lng: t.lng,
                observed_at: t.observed_at,
                assets,
                id: t.id,
            }
        })
        .collect();

    let mut touched = Vec::new();
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
                store::insert(tx, tenant, &new, now).await?;
                Touched {
                    tenant,
                    incident_id: new.id,
                    opened: true,
                    threat_ids,
                }
            }
            Decision::Extend {
                incident_id,
                threat_ids,
                ..
            } => Touched {
                tenant,
                incident_id,
                opened: false,
                threat_ids,
            },
        };
        touched.push(t);
    }
    let wanted: Vec<(String, Vec<String>)> = touched
        .iter()
        .map(|t| (t.incident_id.clone(), t.threat_ids.clone()))
        .collect();
    store::link_each(tx, tenant, &wanted, now).await?;
    let ids: Vec<String> = touched.iter().map(|t| t.incident_id.clone()).collect();
    store::links_changed(tx, tenant, &ids, now).await?;
    Ok(touched)
}
