//! Version 1 of threats about to change for the first time. A threat's version 1 is the
//! threat itself until something material changes; its row is written then, so creating a
//! threat writes no snapshot.

use std::collections::HashMap;

use picket_core::db::{DbResult, Tx};

use crate::threats::store::{self, NewVersion, ThreatAssetRow, ThreatRow, LOOKUP_CHUNK};

/// Version rows for threats about to get their second version: version 1, dated at creation,
/// with no changes and a snapshot of the threat as it stood before this change (with its
/// affected assets as stored). A threat that already has a stored version 1 (databases from
/// before versions were written lazily) gets none.
pub(super) async fn first_versions(tx: &mut Tx, rows: &[ThreatRow]) -> DbResult<Vec<NewVersion>> {
    let mut out = Vec::new();
    for chunk in rows.chunks(LOOKUP_CHUNK) {
        let ids: Vec<String> = chunk.iter().map(|r| r.id.clone()).collect();
        let stored = store::with_first_version(tx, ids.clone()).await?;
        let mut assets: HashMap<String, Vec<ThreatAssetRow>> = HashMap::new();
        for a in store::affected_in(tx, ids).await? {
            assets.entry(a.threat_id.clone()).or_default().push(a);
        }
        for r in chunk.iter().filter(|r| !stored.contains(&r.id)) {
            let affected = assets.get(&r.id).map_or(&[][..], Vec::as_slice);
            out.push(NewVersion {
                threat_id: r.id.clone(),
                version: 1,
                at: r.created_at,
                changes: "{}".into(),
                snapshot: serde_json::to_string(&r.to_wire(affected)).unwrap_or_default(),
            });
        }
    }
    Ok(out)
}
