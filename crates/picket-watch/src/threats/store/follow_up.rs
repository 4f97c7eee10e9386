//! Looking up the threats around new ones, by grid cell: the open threats a new one may
//! follow up, and the neighbourhood clustering reads ([`Nearby`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use picket_core::db::stats::Growth;
use picket_core::db::table::TenantTable;
use picket_core::db::watched::Watched;
use picket_core::db::{DbResult, Tx};
use picket_core::identity::TenantId;
use sea_query::{Expr, UnionType};

use super::{ThreatAssetRow, ThreatRow, Threats, LOOKUP_CHUNK};
use picket_corpus::grid::Grid;

/// The grid that locates threats for follow-up lookups (stored in `cell`): 0.5° of latitude
/// by 1° of longitude, so the 25 km around a point touches at most four cells below 75° of
/// latitude; every cell looked up is one index seek, which costs more than the few extra rows
/// a larger cell holds.
pub(crate) const GRID: Grid = Grid::new(2.0, 1.0);

/// An active threat a new one may follow up.
#[derive(Debug, sqlx::FromRow)]
pub struct Parent {
    pub id: String,
    pub tenant_id: i64,
    pub event_id: String,
    pub category: String,
    pub lat: f64,
    pub lng: f64,
    pub observed_at: i64,
    pub expires_at: i64,
    pub cell: i64,
    pub status: String,
}

/// Active or monitoring threats, still open at `open_at`, of the wanted tenants and
/// categories in the wanted grid cells (tenant → category → cells), read through `nearby`.
pub async fn open_parents(
    tx: &mut Tx,
    nearby: &mut Nearby,
    wanted: &BTreeMap<i64, BTreeMap<&str, BTreeSet<i64>>>,
    open_at: i64,
) -> DbResult<Vec<Arc<Parent>>> {
    // Status and window are checked here: as SQL conditions they tempted planners into the
    // (status, expires_at) index, a scan of every open threat.
    Ok(nearby
        .in_cells(tx, wanted)
        .await?
        .into_iter()
        .filter(|p| (p.status == "active" || p.status == "monitoring") && p.expires_at >= open_at)
        .collect())
}

/// Rows held before a transaction starts afresh (threats, asset sets and link entries):
/// about 2 GB of memory, at the 0.45 KB a row the events benchmark showed.
const MOST_HELD: usize = 4_000_000;

/// The aggregate incidents holding a threat, as clustering needs them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    /// The oldest open `aggregate` incident holding it.
    pub open: Option<String>,
    /// Held by an `aggregate` incident of any status.
    pub held: bool,
}

/// What is held of one tenant.
#[derive(Default)]
struct Held {
    /// cell → category → the threats there; an entry is a cell read.
    cells: HashMap<i64, HashMap<String, Vec<Arc<Parent>>>>,
    /// The threats in `cells`, counted as they come and go.
    parents: usize,
    /// threat id → its affected assets (server id → name); an entry is a threat read.
    assets: HashMap<String, BTreeMap<String, String>>,
    /// threat id → its aggregate incidents; an entry is a threat read.
    links: HashMap<String, Links>,
}

impl Held {
    fn rows(&self) -> usize {
        self.parents + self.assets.len() + self.links.len()
    }
}

/// The threats around what the engine writes, with their assets and aggregate incidents, as
/// read from the database and kept in step with the engine's own writes: follow-ups and
/// clustering look around the same places again and again (each new threat near an asset
/// looks at the threats already there), so each cell, threat and link is read once.
///
/// Used in one transaction, it needs nothing more. Kept across the transactions of a pass,
/// each transaction opens with [`Nearby::begin`] and closes with [`Nearby::end`]: between
/// them the engine's rows do not advance the generations of its `WATCHED` tables one by one
/// (`end` advances each tenant it wrote once), and at the next `begin` a tenant whose
/// generation moved otherwise (an analyst dismissed a threat, closed an incident or linked
/// one; another pass wrote threats) is dropped and read again.
#[derive(Default)]
pub struct Nearby {
    tenants: HashMap<i64, Held>,
    /// Every tenant's generation when the last transaction began, once one has.
    began: Option<HashMap<i64, i64>>,
    /// … and when it ended: held tenants are valid while their generation stays so.
    ended: Option<HashMap<i64, i64>>,
    /// The threats the pass has written, counted so that PostgreSQL's planner statistics of
    /// their tables follow them (once the pass has written its first transaction).
    pub(crate) growth: Option<Growth>,
}

fn generation(gens: &HashMap<i64, i64>, tenant: i64) -> i64 {
    gens.get(&tenant).copied().unwrap_or(0)
}

impl Nearby {
    /// Opens a transaction of the engine: pauses the `watched` generations (the tables of
    /// what it holds: the engine's `WATCHED`) for it, and drops the tenants others wrote since
    /// the last transaction ended (everything, when more than [`MOST_HELD`] rows are held).
    pub async fn begin(&mut self, tx: &mut Tx, watched: &Watched) -> DbResult<()> {
        watched.pause(tx).await?;
        let now = watched.generations(tx).await?;
        let before = self.tenants.len();
        match &self.ended {
            Some(ended) => self
                .tenants
                .retain(|t, _| generation(ended, *t) == generation(&now, *t)),
            None => self.tenants.clear(),
        }
        let written = before - self.tenants.len();
        let rows: usize = self.tenants.values().map(Held::rows).sum();
        if rows > MOST_HELD {
            self.tenants.clear();
        }
        tracing::debug!(
            tenants = self.tenants.len(),
            rows,
            written_by_others = written,
            "engine neighbourhood"
        );
        self.began = Some(now);
        Ok(())
    }

    /// Closes a transaction opened with [`Nearby::begin`], before its commit: advances the
    /// generations of the tenants it wrote (`written`) once, so that other holders (another
    /// pass) read them again, resumes the generations, and drops tenants written by others
    /// during it (PostgreSQL lets other transactions commit meanwhile; what was read before
    /// may be stale).
    pub async fn end(&mut self, tx: &mut Tx, watched: &Watched, written: &[i64]) -> DbResult<()> {
        watched.advance(tx, written).await?;
        let now = watched.generations(tx).await?;
        if let Some(began) = &self.began {
            let mine: HashSet<i64> = written.iter().copied().collect();
            self.tenants.retain(|t, _| {
                generation(began, *t) + i64::from(mine.contains(t)) == generation(&now, *t)
            });
        }
        self.ended = Some(now);
        watched.resume(tx).await
    }

    /// Threats of any status of the wanted tenants and categories in the wanted grid cells
    /// (tenant → category → cells): what was read before, and one statement per tenant for
    /// the cells not read yet, each a set of seeks in the `(tenant_id, category, cell)` index,
    /// so the cost follows the new threats, not the number stored.
    pub(crate) async fn in_cells(
        &mut self,
        tx: &mut Tx,
        wanted: &BTreeMap<i64, BTreeMap<&str, BTreeSet<i64>>>,
    ) -> DbResult<Vec<Arc<Parent>>> {
        let mut missing: BTreeMap<i64, BTreeMap<&str, BTreeSet<i64>>> = BTreeMap::new();
        for (tenant, categories) in wanted {
            let held = self.tenants.entry(*tenant).or_default();
            for (category, cells) in categories {
                for cell in cells {
                    let held = held.cells.entry(*cell).or_default();
                    if !held.contains_key(*category) {
                        held.insert(category.to_string(), Vec::new());
                        missing
                            .entry(*tenant)
                            .or_default()
                            .entry(category)
                            .or_default()
                            .insert(*cell);
                    }
                }
            }
        }
        for p in read_cells(tx, missing).await? {
            let Some(held) = self.tenants.get_mut(&p.tenant_id) else {
                continue;
            };
            if let Some(threats) = held
                .cells
                .get_mut(&p.cell)
                .and_then(|c| c.get_mut(p.category.as_str()))
            {
                threats.push(Arc::new(p));
                held.parents += 1;
            }
        }
        let mut out = Vec::new();
        for (tenant, categories) in wanted {
            let Some(held) = self.tenants.get(tenant) else {
                continue;
            };
            for (category, cells) in categories {
                for cell in cells {
                    if let Some(held) = held.cells.get(cell).and_then(|c| c.get(*category)) {
                        out.extend(held.iter().cloned());
                    }
                }
            }
        }
        Ok(out)
    }

    /// Threats the engine created: added to the cells already read (a cell read later reads
    /// them from the database), with no incident; and the assets of every threat it wrote,
    /// created or updated (`assets`: each threat's whole set), which clustering then need
    /// not read.
    pub(crate) fn created(&mut self, rows: &[ThreatRow], assets: &[(i64, ThreatAssetRow)]) {
        for r in rows {
            let held = self.tenants.entry(r.tenant_id).or_default();
            let cell = GRID.cell(r.lat, r.lng);
            if let Some(threats) = held
                .cells
                .get_mut(&cell)
                .and_then(|c| c.get_mut(r.category.as_str()))
            {
                held.parents += 1;
                threats.push(Arc::new(Parent {
                    id: r.id.clone(),
                    tenant_id: r.tenant_id,
                    event_id: r.event_id.clone(),
                    category: r.category.clone(),
                    lat: r.lat,
                    lng: r.lng,
                    observed_at: r.observed_at,
                    expires_at: r.expires_at,
                    cell,
                    status: r.status.clone(),
                }));
            }
            held.assets.insert(r.id.clone(), BTreeMap::new());
            held.links.insert(r.id.clone(), Links::default());
        }
        self.assets_written(assets);
    }

    /// A threat the engine updated, which may have moved, changed window or status: the
    /// cells it left and entered are read again when next wanted. Its assets are replaced
    /// with the draft's: none until [`Nearby::created`] records them.
    pub(crate) fn updated(&mut self, id: &str, tenant: i64, cells: [i64; 2]) {
        let held = self.tenants.entry(tenant).or_default();
        for c in cells {
            if let Some(gone) = held.cells.remove(&c) {
                held.parents -= gone.values().map(Vec::len).sum::<usize>();
            }
        }
        held.assets.insert(id.to_string(), BTreeMap::new());
    }

    /// The assets of threats the engine wrote (created, or replaced on update) — each
    /// threat's whole set.
    fn assets_written(&mut self, assets: &[(i64, ThreatAssetRow)]) {
        let mut replaced: HashSet<&str> = HashSet::new();
        for (tenant, a) in assets {
            let held = self.tenants.entry(*tenant).or_default();
            let set = held.assets.entry(a.threat_id.clone()).or_default();
            if replaced.insert(a.threat_id.as_str()) {
                set.clear();
            }
            set.insert(a.asset_uuid.clone(), a.asset_name.clone());
        }
    }

    /// The threats among `ids` whose assets were not read yet.
    pub(crate) fn unknown_assets(&self, tenant: i64, ids: &[&str]) -> Vec<String> {
        let held = self.tenants.get(&tenant);
        ids.iter()
            .filter(|id| !held.is_some_and(|h| h.assets.contains_key(**id)))
            .map(|id| id.to_string())
            .collect()
    }

    /// Records the assets read for threats (all of them: a threat without any is recorded
    /// as such).
    pub(crate) fn assets_read(&mut self, tenant: i64, ids: Vec<String>, rows: Vec<ThreatAssetRow>) {
        let held = self.tenants.entry(tenant).or_default();
        for id in ids {
            held.assets.entry(id).or_default();
        }
        for a in rows {
            held.assets
                .entry(a.threat_id)
                .or_default()
                .insert(a.asset_uuid, a.asset_name);
        }
    }

    /// The assets held of a tenant's threats (threat id → server id → name).
    pub(crate) fn assets(&self, tenant: i64) -> Option<&HashMap<String, BTreeMap<String, String>>> {
        self.tenants.get(&tenant).map(|h| &h.assets)
    }

    /// The threats among `ids` whose incidents were not read yet.
    pub(crate) fn unknown_links(&self, tenant: i64, ids: &[String]) -> Vec<String> {
        let held = self.tenants.get(&tenant);
        ids.iter()
            .filter(|id| !held.is_some_and(|h| h.links.contains_key(id.as_str())))
            .cloned()
            .collect()
    }

    /// Records the aggregate incidents read for threats: `(threat, incident, status)` rows,
    /// every threat of `ids` recorded (those without a row hold none).
    pub(crate) fn links_read(
        &mut self,
        tenant: i64,
        ids: Vec<String>,
        rows: impl IntoIterator<Item = (String, String, String)>,
    ) {
        let held = self.tenants.entry(tenant).or_default();
        for id in ids {
            held.links.entry(id).or_default();
        }
        for (threat, incident, status) in rows {
            let l = held.links.entry(threat).or_default();
            l.held = true;
            if status == "open" {
                // The oldest open incident (v7 ids sort by creation).
                if l.open.as_ref().is_none_or(|o| incident < *o) {
                    l.open = Some(incident);
                }
            }
        }
    }

    /// Links the engine wrote to open aggregate incidents: `(threat, incident)`.
    pub(crate) fn linked<'a>(
        &mut self,
        tenant: i64,
        links: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) {
        let Some(held) = self.tenants.get_mut(&tenant) else {
            return;
        };
        for (threat, incident) in links {
            // A threat whose incidents were never read is left to be read.
            if let Some(l) = held.links.get_mut(threat) {
                l.held = true;
                if l.open.as_deref().is_none_or(|o| incident < o) {
                    l.open = Some(incident.to_string());
                }
            }
        }
    }

    /// The aggregate incidents held of one threat, if read.
    pub(crate) fn links(&self, tenant: i64, id: &str) -> Option<&Links> {
        self.tenants.get(&tenant).and_then(|h| h.links.get(id))
    }
}

/// Threats of any status of the wanted tenants and categories in the wanted grid cells
/// (tenant → category → cells), read from the database.
async fn read_cells(
    tx: &mut Tx,
    wanted: BTreeMap<i64, BTreeMap<&str, BTreeSet<i64>>>,
) -> DbResult<Vec<Parent>> {
    let mut out = Vec::new();
    for (tenant, categories) in wanted {
        // One SELECT per category, joined with UNION ALL: each branch is a seek per cell.
        let mut branches = categories.into_iter().flat_map(|(category, cells)| {
            let cells: Vec<i64> = cells.into_iter().collect();
            cells
                .chunks(LOOKUP_CHUNK)
                .map(|chunk| {
                    Threats::select(TenantId(tenant))
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
        out.extend(tx.fetch_all::<Parent>(&q).await?);
    }
    Ok(out)
}
