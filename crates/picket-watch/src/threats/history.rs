//! A threat's version history as the API shows it, for `/v1/threats/{id}/versions` and for the
//! incident timelines that merge the versions of linked threats.

use std::collections::HashMap;

use picket_core::db::{DbResult, Tx};
use picket_core::identity::TenantId;

use super::store::{self, ThreatAssetRow, ThreatRow};
use super::wire::Version;

/// The versions of each of `rows` (the tenant's threats), oldest first, keyed by threat id.
/// A threat with no stored version has not changed materially since it was created: its
/// version 1 is the threat as it is now, synthesised here and not stored (its row is written
/// with the first change; see `writer::upsert_many`). A handful of statements for any number
/// of threats.
pub(crate) async fn versions_of(
    tx: &mut Tx,
    tenant: TenantId,
    rows: &[ThreatRow],
) -> DbResult<HashMap<String, Vec<Version>>> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut out: HashMap<String, Vec<Version>> = HashMap::with_capacity(rows.len());
    for v in store::versions_in(tx, tenant, &ids).await? {
        out.entry(v.threat_id).or_default().push(v.version.into());
    }
    let unchanged: Vec<String> = ids.into_iter().filter(|id| !out.contains_key(id)).collect();
    if unchanged.is_empty() {
        return Ok(out);
    }
    let mut assets: HashMap<String, Vec<ThreatAssetRow>> = HashMap::new();
    for a in store::affected_tx(tx, tenant, &unchanged).await? {
        assets.entry(a.threat_id.clone()).or_default().push(a);
    }
    for r in rows {
        if !out.contains_key(&r.id) {
            let affected = assets.get(&r.id).map_or(&[][..], Vec::as_slice);
            out.insert(r.id.clone(), vec![Version::first(r, affected)]);
        }
    }
    Ok(out)
}
