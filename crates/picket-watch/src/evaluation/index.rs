//! The engine's asset index, built from stored assets.

use picket_core::db::{Db, DbResult};
use picket_core::identity::TenantId;

use crate::assets::wire::AssetStatus;
use crate::assets::AssetRow;
use crate::engine::{AssetIndex, MonitoredAsset};

/// The engine's view of a stored asset: `None` when it is archived, has no coordinates, or
/// either threat switch is off. The two configs' `monitored_event_types` combine (empty on both = all).
pub fn monitored(row: &AssetRow) -> Option<MonitoredAsset> {
    let d = row.data();
    if !(d.threat_config.enabled && d.physical_threat_config.enabled)
        || d.status != AssetStatus::Active
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

/// Every asset the engine may match, of one tenant or of all: active, located, switched on;
/// only the assets with the given server ids when `only` is set.
pub async fn load_index(
    db: &Db,
    tenant: Option<TenantId>,
    only: Option<&[String]>,
) -> DbResult<AssetIndex> {
    let rows = crate::assets::store::all(db, tenant).await?;
    Ok(AssetIndex::new(
        rows.iter()
            .filter(|r| only.is_none_or(|ids| ids.contains(&r.id)))
            .filter_map(monitored)
            .collect(),
    ))
}
