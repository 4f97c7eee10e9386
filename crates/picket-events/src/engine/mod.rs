//! The threat engine's pure core: which monitored assets an event affects, and how much it
//! matters to each — deterministic, explainable, no I/O. Jobs feed it events and persist what
//! it returns.
//!
//! * [`rules`]: per-asset, per-category radius, maximum age and type filters (contract §4.1,
//!   §10.8).
//! * [`index`]: an R-tree of monitorable assets across tenants, queried once per event.
//! * [`score`]: likelihood × impact, bands, and the rationales that explain them.
//! * [`run`] and [`scans`]: the jobs that feed events through these and write threats.

pub mod index;
pub mod rules;
pub mod run;
pub mod scans;
pub mod score;

pub use index::{AssetIndex, Locus, Match, MonitoredAsset};
pub use score::{Assessment, EventFacts, Precision};

use crate::assets::AssetRow;

/// The engine's view of a stored asset: `None` when it is archived, has no coordinates, or
/// either threat switch is off. The two configs' `monitored_event_types` combine (empty on both = all).
pub fn monitored(row: &AssetRow) -> Option<MonitoredAsset> {
    let d = row.data();
    if !(d.threat_config.enabled && d.physical_threat_config.enabled)
        || d.status != crate::assets::wire::AssetStatus::Active
    {
        return None;
    }
    let (lat, lng) = (row.lat?, row.lng?);
    let mut types = d.threat_config.monitored_event_types.clone();
    types.extend(
        d.physical_threat_config
            .monitored_event_types
            .iter()
            .cloned(),
    );
    types.sort();
    types.dedup();
    Some(MonitoredAsset {
        tenant_id: row.tenant_id,
        id: row.id.clone(),
        asset_id: row.asset_id.clone(),
        name: row.name.clone(),
        asset_type: row.asset_type.clone(),
        lat,
        lng,
        country: row.country.clone(),
        monitoring_radius_km: row.monitoring_radius_km,
        monitored_types: types,
        radius_km_by_category: d.physical_threat_config.radius_km_by_category,
        max_age_hours_by_category: d.physical_threat_config.max_age_hours_by_category,
    })
}
