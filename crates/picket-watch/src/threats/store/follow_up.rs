//! Looking up the open threats a new one may follow up, by grid cell.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use picket_core::db::table::TenantTable;
use picket_core::db::{DbResult, Tx};
use picket_core::identity::TenantId;
use sea_query::{Expr, UnionType};

use super::{Threats, LOOKUP_CHUNK};
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
pub async fn open_parents<'a>(
    tx: &mut Tx,
    nearby: &'a mut Nearby,
    wanted: &BTreeMap<i64, BTreeMap<&str, BTreeSet<i64>>>,
    open_at: i64,
) -> DbResult<Vec<&'a Parent>> {
    // Status and window are checked here: as SQL conditions they tempted planners into the
    // (status, expires_at) index, a scan of every open threat.
    Ok(nearby
        .in_cells(tx, wanted)
        .await?
        .into_iter()
        .filter(|p| (p.status == "active" || p.status == "monitoring") && p.expires_at >= open_at)
        .collect())
}

/// The threats of grid cells already read in one transaction, by (tenant, category, cell):
/// follow-ups and clustering look around the same new threats, after they are written, so
/// the cells the follow-ups read are not read again for clustering. Valid for one
/// transaction and only while nothing it holds is written: the engine creates it after its
/// threat writes and drops it with the transaction.
#[derive(Default)]
pub struct Nearby {
    /// (tenant, cell) → category → the threats there; an entry is a cell read.
    cells: HashMap<(i64, i64), HashMap<String, Vec<Parent>>>,
}

impl Nearby {
    /// Threats of any status of the wanted tenants and categories in the wanted grid cells
    /// (tenant → category → cells): what was read before, and one statement per tenant for
    /// the cells not read yet, each a set of seeks in the `(tenant_id, category, cell)` index,
    /// so the cost follows the new threats, not the number stored.
    pub(crate) async fn in_cells(
        &mut self,
        tx: &mut Tx,
        wanted: &BTreeMap<i64, BTreeMap<&str, BTreeSet<i64>>>,
    ) -> DbResult<Vec<&Parent>> {
        let mut missing: BTreeMap<i64, BTreeMap<&str, BTreeSet<i64>>> = BTreeMap::new();
        for (tenant, categories) in wanted {
            for (category, cells) in categories {
                for cell in cells {
                    let held = self.cells.entry((*tenant, *cell)).or_default();
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
            if let Some(held) = self
                .cells
                .get_mut(&(p.tenant_id, p.cell))
                .and_then(|c| c.get_mut(p.category.as_str()))
            {
                held.push(p);
            }
        }
        let mut out = Vec::new();
        for (tenant, categories) in wanted {
            for (category, cells) in categories {
                for cell in cells {
                    if let Some(held) = self
                        .cells
                        .get(&(*tenant, *cell))
                        .and_then(|c| c.get(*category))
                    {
                        out.extend(held);
                    }
                }
            }
        }
        Ok(out)
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
