//! Automatic incidents: after the engine writes a batch of threats, the threats around them
//! are loaded, [`cluster::decide`] says which incidents to open and extend, and they are
//! written in the engine's transaction. A handful of statements per tenant of the batch, never
//! one per threat.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

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
    let around: Vec<Arc<threats::Parent>> = nearby
        .in_cells(tx, &wanted)
        .await?
        .into_iter()
        .filter(|t| t.status != "dismissed" && (first..=last).contains(&t.observed_at))
        .collect();
    let batch_ids: HashMap<&str, &ThreatDraft> = batch.iter().copied().collect();
    // The batch's own assets are held already: the writer recorded them (`Nearby::created`).
    // Only threats in a cluster holding a batch threat matter to `decide`: those reached from
    // the batch by steps of `cluster::related` (one family, within the window and distance,
    // sharing an asset). The cells hold many more, so the search reads the assets of a step's
    // candidates only, layer by layer: in a dense portfolio, distance alone chains threats
    // across a whole region, and reading all their assets was most of clustering's time.
    let none = HashMap::new();
    let mut reach = Reach::new(
        around.iter().map(|t| t.as_ref()).collect(),
        |id| batch_ids.contains_key(id),
        window,
    );
    loop {
        let unknown = nearby.unknown_assets(tenant.0, &reach.candidates());
        if !unknown.is_empty() {
            let rows = threats::affected_tx(tx, tenant, &unknown).await?;
            nearby.assets_read(tenant.0, unknown, rows);
        }
        if !reach.advance(nearby.assets(tenant.0).unwrap_or(&none)) {
            break;
        }
    }
    let around = reach.kept();
    if around.len() < 2 {
        return Ok(Vec::new());
    }

    // The aggregate incidents holding any of them.
    let ids: Vec<String> = around.iter().map(|t| t.id.clone()).collect();
    let unknown = nearby.unknown_links(tenant.0, &ids);
    if !unknown.is_empty() {
        let rows = store::aggregate_links(tx, tenant, &unknown).await?;
        nearby.links_read(
            tenant.0,
            unknown,
            rows.into_iter()
                .map(|l| (l.threat_id, l.incident_id, l.status)),
        );
    }

    let members: Vec<Member> = around
        .into_iter()
        .map(|t| {
            let links = nearby.links(tenant.0, &t.id);
            Member {
                fresh: batch_ids.contains_key(t.id.as_str()),
                assets: nearby
                    .assets(tenant.0)
                    .and_then(|a| a.get(&t.id))
                    .cloned()
                    .unwrap_or_default(),
                open_incident: links.and_then(|l| l.open.clone()),
                held: links.is_some_and(|l| l.held),
                tenant: tenant.0,
                category: t.category.clone(),
                lat: t.lat,
                lng: t.lng,
                observed_at: t.observed_at,
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
    let linked = store::link_each(tx, tenant, &wanted, now).await?;
    nearby.linked(
        tenant.0,
        linked
            .iter()
            .map(|l| (l.threat_id.as_str(), l.incident_id.as_str())),
    );
    // An extended incident's start moves to its earliest threat: the threats just linked are
    // all among the members, with the `observed_at` just written. (A linked threat whose
    // event was re-dated later leaves the start where it was; an analyst's link or unlink
    // recomputes it.)
    let earliest: Vec<(String, i64)> = extended.into_iter().collect();
    store::links_added(tx, tenant, &earliest, now).await?;
    Ok(touched)
}

/// A breadth-first search from the batch's threats over `around` by the steps of
/// [`cluster::related`], whose assets are learnt one layer at a time: [`Reach::candidates`]
/// names the threats whose assets the next step needs, [`Reach::advance`] takes the step.
/// What it keeps is exactly the union of the clusters holding a batch threat.
struct Reach<'a> {
    around: Vec<&'a threats::Parent>,
    /// (family, cell) → indexes into `around`.
    by_cell: HashMap<(&'static str, i64), Vec<usize>>,
    keep: Vec<bool>,
    window: i64,
    /// The steps from the frontier (the threats kept last) to threats not kept yet: pairs
    /// (frontier, neighbour) of one family, within the window and [`CLUSTER_KM`].
    steps: Vec<(usize, usize)>,
}

impl<'a> Reach<'a> {
    fn new(around: Vec<&'a threats::Parent>, in_batch: impl Fn(&str) -> bool, window: i64) -> Self {
        let mut by_cell: HashMap<(&'static str, i64), Vec<usize>> = HashMap::new();
        for (i, t) in around.iter().enumerate() {
            if let Some(family) = cluster::family(&t.category) {
                by_cell
                    .entry((family, GRID.cell(t.lat, t.lng)))
                    .or_default()
                    .push(i);
            }
        }
        let keep: Vec<bool> = around.iter().map(|t| in_batch(&t.id)).collect();
        let frontier: Vec<usize> = (0..around.len()).filter(|&i| keep[i]).collect();
        let mut reach = Reach {
            around,
            by_cell,
            keep,
            window,
            steps: Vec::new(),
        };
        reach.steps = reach.steps_from(&frontier);
        reach
    }

    /// The threats not kept yet of one family with a frontier threat, within the window and
    /// [`CLUSTER_KM`] of it (each frontier threat with each such neighbour).
    fn steps_from(&self, frontier: &[usize]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for &i in frontier {
            let t = self.around[i];
            let Some(family) = cluster::family(&t.category) else {
                continue;
            };
            for c in GRID.near(t.lat, t.lng, CLUSTER_KM) {
                for &j in self.by_cell.get(&(family, c)).into_iter().flatten() {
                    let u = self.around[j];
                    if !self.keep[j]
                        && (u.observed_at - t.observed_at).abs() <= self.window
                        && distance_km(t.lat, t.lng, u.lat, u.lng) <= CLUSTER_KM
                    {
                        out.push((i, j));
                    }
                }
            }
        }
        out
    }

    /// The threats whose assets the next step needs: the frontier's and its neighbours'.
    fn candidates(&self) -> Vec<&'a str> {
        let mut ids: Vec<&'a str> = Vec::new();
        for &(i, j) in &self.steps {
            ids.push(self.around[i].id.as_str());
            ids.push(self.around[j].id.as_str());
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Keeps the neighbours sharing an asset with a frontier threat; they are the next
    /// frontier. `false` when there is none: the search is over.
    fn advance(&mut self, assets: &HashMap<String, BTreeMap<String, String>>) -> bool {
        let none = BTreeMap::new();
        let held = |i: usize| assets.get(&self.around[i].id).unwrap_or(&none);
        let mut next = Vec::new();
        for &(i, j) in &self.steps {
            if !self.keep[j] && held(i).keys().any(|k| held(j).contains_key(k)) {
                self.keep[j] = true;
                next.push(j);
            }
        }
        self.steps = self.steps_from(&next);
        !next.is_empty()
    }

    /// The threats kept, in the order of `around`.
    fn kept(self) -> Vec<&'a threats::Parent> {
        self.around
            .into_iter()
            .zip(self.keep)
            .filter_map(|(t, k)| k.then_some(t))
            .collect()
    }
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

    fn held(pairs: &[(&str, &[&str])]) -> HashMap<String, BTreeMap<String, String>> {
        pairs
            .iter()
            .map(|(id, assets)| {
                let assets = assets
                    .iter()
                    .map(|a| (a.to_string(), a.to_string()))
                    .collect();
                (id.to_string(), assets)
            })
            .collect()
    }

    /// Runs the search as `cluster_tenant` does, the assets coming from `all`; returns the
    /// ids kept and every id whose assets it asked for.
    fn search<'a>(
        around: &'a [threats::Parent],
        fresh: &dyn Fn(&str) -> bool,
        all: &HashMap<String, BTreeMap<String, String>>,
    ) -> (Vec<&'a str>, BTreeSet<String>) {
        let mut reach = Reach::new(around.iter().collect(), fresh, CLUSTER_HOURS * 3_600_000);
        let mut known: HashMap<String, BTreeMap<String, String>> = HashMap::new();
        let mut asked = BTreeSet::new();
        loop {
            for id in reach.candidates() {
                asked.insert(id.to_string());
                known.insert(id.to_string(), all.get(id).cloned().unwrap_or_default());
            }
            if !reach.advance(&known) {
                break;
            }
        }
        (
            reach.kept().into_iter().map(|t| t.id.as_str()).collect(),
            asked,
        )
    }

    #[test]
    fn reach_follows_shared_assets_and_reads_only_the_steps_it_takes() {
        // 0.2 degrees of latitude is about 22 km: a chain fresh → a → b runs 44 km north.
        let around = [
            parent("fresh", "weather", 10.0, 20.0, 100),
            parent("a", "geological", 10.2, 20.0, 100),
            parent("b", "fire_hazard", 10.4, 20.0, 150),
            // Same place, other family; same family, beyond the window; same family, 33 km.
            parent("other-family", "terrorism", 10.0, 20.0, 100),
            parent("too-late", "weather", 10.0, 20.0, 300),
            parent("too-far", "weather", 10.0, 20.3, 100),
            // Next to the batch threat, but no asset in common: neither it nor what lies
            // beyond it (sharing its asset) is reached, and what lies beyond is never read.
            parent("stranger", "weather", 9.8, 20.0, 100),
            parent("beyond", "weather", 9.6, 20.0, 100),
        ];
        let all = held(&[
            ("fresh", &["x"]),
            ("a", &["x", "y"]),
            ("b", &["y"]),
            ("other-family", &["x"]),
            ("too-late", &["x"]),
            ("too-far", &["x"]),
            ("stranger", &["z"]),
            ("beyond", &["z"]),
        ]);
        let (kept, asked) = search(&around, &|id| id == "fresh", &all);
        assert_eq!(kept, ["fresh", "a", "b"]);
        assert!(asked.contains("stranger"), "a step's candidate is read");
        for never in ["beyond", "other-family", "too-late", "too-far"] {
            assert!(!asked.contains(never), "{never} was read: {asked:?}");
        }
    }

    /// Deciding over what the search keeps gives the decisions of deciding over every
    /// threat around: random threats of one small area, families, times and assets.
    #[test]
    fn deciding_over_the_reach_equals_deciding_over_everything_around() {
        let mut rng = fastrand::Rng::with_seed(15);
        let categories = [
            "weather",
            "geological",
            "terrorism",
            "civil_unrest",
            "health",
        ];
        for round in 0..300 {
            let n = rng.usize(2..40);
            let around: Vec<threats::Parent> = (0..n)
                .map(|i| {
                    parent(
                        &format!("t{round}-{i:02}"),
                        categories[rng.usize(..categories.len())],
                        10.0 + rng.f64() * 0.8,
                        20.0 + rng.f64() * 0.8,
                        rng.i64(0..200),
                    )
                })
                .collect();
            let assets = ["p", "q", "r", "s", "u"];
            let all: HashMap<String, BTreeMap<String, String>> = around
                .iter()
                .map(|t| {
                    let held = (0..rng.usize(0..3))
                        .map(|_| assets[rng.usize(..assets.len())].to_string())
                        .map(|a| (a.clone(), a))
                        .collect();
                    (t.id.clone(), held)
                })
                .collect();
            let fresh: BTreeSet<String> = around
                .iter()
                .filter(|_| rng.u8(..4) == 0)
                .map(|t| t.id.clone())
                .collect();
            let mut open: HashMap<String, String> = HashMap::new();
            for t in &around {
                if rng.u8(..6) == 0 {
                    open.insert(t.id.clone(), format!("inc-{}", rng.u8(..3)));
                }
            }
            let member = |t: &threats::Parent| Member {
                id: t.id.clone(),
                tenant: 1,
                category: t.category.clone(),
                lat: t.lat,
                lng: t.lng,
                observed_at: t.observed_at,
                assets: all[&t.id].clone(),
                fresh: fresh.contains(&t.id),
                open_incident: open.get(&t.id).cloned(),
                held: open.contains_key(&t.id),
            };
            let everything: Vec<Member> = around.iter().map(member).collect();
            let (kept, _) = search(&around, &|id| fresh.contains(id), &all);
            let reached: Vec<Member> = around
                .iter()
                .filter(|t| kept.contains(&t.id.as_str()))
                .map(member)
                .collect();
            assert_eq!(
                cluster::decide(&reached),
                cluster::decide(&everything),
                "round {round}"
            );
        }
    }
}
