//! Asset storage: one row per asset, configuration objects as JSON text.

use picket_core::db::json::JsonText;
use picket_core::db::schema::{OnDelete, Table};
use picket_core::db::table::TenantTable;
use picket_core::db::{Conn, Db};
use picket_core::db::{DbResult, Tx};
use picket_core::identity::TenantId;
use picket_core::time::now_ms;
use sea_query::{Cond, Expr, OnConflict, Order, Query, SelectStatement, SimpleExpr};

use super::wire::{
    Asset, AssetData, AssetStatus, AssetType, Attributes, PhysicalThreatConfig, ThreatConfig,
};

picket_core::table! {
    pub(crate) enum Assets in "assets", tenant_owned {
        Id: Text .primary_key(),
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        AssetId: Text,
        Type: Text,
        Name: Text,
        Status: Text,
        Role: Text .nullable(),
        Lat: Double .nullable(),
        Lng: Double .nullable(),
        Address: Text .nullable(),
        Country: Text .nullable(),
        MonitoringRadiusKm: Double .nullable(),
        ThreatConfig: Text,
        PhysicalThreatConfig: Text,
        CreatedAt: BigInt,
        UpdatedAt: BigInt,
    }
    indexes {
        unique assets_tenant_asset_id (TenantId, AssetId),
        index assets_tenant_status_type (TenantId, Status, Type),
    }
}

pub const TABLES: &[Table] = &[Assets::DECLARED];

const COLUMNS: [Assets; 16] = [
    Assets::Id,
    Assets::TenantId,
    Assets::AssetId,
    Assets::Type,
    Assets::Name,
    Assets::Status,
    Assets::Role,
    Assets::Lat,
    Assets::Lng,
    Assets::Address,
    Assets::Country,
    Assets::MonitoringRadiusKm,
    Assets::ThreatConfig,
    Assets::PhysicalThreatConfig,
    Assets::CreatedAt,
    Assets::UpdatedAt,
];

/// An asset row as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AssetRow {
    pub id: String,
    pub tenant_id: i64,
    pub asset_id: String,
    #[sqlx(rename = "type")]
    pub asset_type: String,
    pub name: String,
    pub status: String,
    pub role: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub address: Option<String>,
    pub country: Option<String>,
    pub monitoring_radius_km: Option<f64>,
    pub threat_config: JsonText<ThreatConfig>,
    pub physical_threat_config: JsonText<PhysicalThreatConfig>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl AssetRow {
    /// The stored asset as validated data (rows are only ever written from validated data).
    pub fn data(&self) -> AssetData {
        AssetData {
            asset_id: self.asset_id.clone(),
            asset_type: AssetType::parse(&self.asset_type).unwrap_or(AssetType::Facility),
            name: self.name.clone(),
            status: AssetStatus::parse(&self.status).unwrap_or_default(),
            role: self.role.clone(),
            attributes: Attributes {
                lat: self.lat,
                lng: self.lng,
                address: self.address.clone(),
                country: self.country.clone(),
                monitoring_radius_km: self.monitoring_radius_km,
            },
            threat_config: self.threat_config.0.clone(),
            physical_threat_config: self.physical_threat_config.0.clone(),
        }
    }

    pub fn to_wire(&self) -> Asset {
        let d = self.data();
        Asset {
            id: self.id.clone(),
            monitorable: self.lat.is_some() && self.lng.is_some(),
            asset_id: d.asset_id,
            asset_type: d.asset_type,
            name: d.name,
            status: d.status,
            role: d.role,
            created_at: self.created_at,
            updated_at: self.updated_at,
            attributes: d.attributes,
            threat_config: d.threat_config,
            physical_threat_config: d.physical_threat_config,
        }
    }
}

fn data_values(d: &AssetData) -> Vec<(Assets, SimpleExpr)> {
    vec![
        (Assets::AssetId, d.asset_id.clone().into()),
        (Assets::Type, d.asset_type.as_str().into()),
        (Assets::Name, d.name.clone().into()),
        (Assets::Status, d.status.as_str().into()),
        (Assets::Role, d.role.clone().into()),
        (Assets::Lat, d.attributes.lat.into()),
        (Assets::Lng, d.attributes.lng.into()),
        (Assets::Address, d.attributes.address.clone().into()),
        (Assets::Country, d.attributes.country.clone().into()),
        (
            Assets::MonitoringRadiusKm,
            d.attributes.monitoring_radius_km.into(),
        ),
        (
            Assets::ThreatConfig,
            JsonText::encode(&d.threat_config).into(),
        ),
        (
            Assets::PhysicalThreatConfig,
            JsonText::encode(&d.physical_threat_config).into(),
        ),
    ]
}

fn select(tenant: TenantId) -> SelectStatement {
    Assets::select(tenant).columns(COLUMNS).to_owned()
}

/// Every asset of the tenant matching the filters, by `asset_id`.
pub async fn list(
    db: &Db,
    tenant: TenantId,
    status: Option<AssetStatus>,
    asset_type: Option<AssetType>,
) -> DbResult<Vec<AssetRow>> {
    let mut q = select(tenant);
    if let Some(s) = status {
        q.and_where(Expr::col(Assets::Status).eq(s.as_str()));
    }
    if let Some(t) = asset_type {
        q.and_where(Expr::col(Assets::Type).eq(t.as_str()));
    }
    q.order_by(Assets::AssetId, Order::Asc);
    db.fetch_all(&q).await
}

/// Every asset, of one tenant or of all (the engine's index is built from these).
pub async fn all(db: &Db, tenant: Option<TenantId>) -> DbResult<Vec<AssetRow>> {
    let mut q = match tenant {
        Some(t) => select(t),
        // Across tenants: the engine matches every event against every tenant's assets, and
        // each threat it writes carries the tenant of its asset.
        None => Query::select()
            .columns(COLUMNS)
            .from(Assets::across_tenants())
            .to_owned(),
    };
    q.order_by(Assets::TenantId, Order::Asc)
        .order_by(Assets::AssetId, Order::Asc);
    db.fetch_all(&q).await
}

/// Finds an asset by server id first, then by client `asset_id`.
pub async fn find(db: &Db, tenant: TenantId, key: &str) -> DbResult<Option<AssetRow>> {
    for col in [Assets::Id, Assets::AssetId] {
        let q = select(tenant).and_where(Expr::col(col).eq(key)).to_owned();
        if let Some(row) = db.fetch_optional(&q).await? {
            return Ok(Some(row));
        }
    }
    Ok(None)
}

/// The server ids of the tenant's assets that `keys` name, each key read as [`find`] reads
/// it (server id first, then `asset_id`), in one statement; `None` for a key that names no
/// current asset.
pub async fn resolve_keys(
    conn: &mut Conn,
    tenant: TenantId,
    keys: &[String],
) -> DbResult<Vec<Option<String>>> {
    #[derive(sqlx::FromRow)]
    struct Ids {
        id: String,
        asset_id: String,
    }
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let q = Assets::select(tenant)
        .columns([Assets::Id, Assets::AssetId])
        .cond_where(
            Cond::any()
                .add(Expr::col(Assets::Id).is_in(keys.to_vec()))
                .add(Expr::col(Assets::AssetId).is_in(keys.to_vec())),
        )
        .to_owned();
    let found: Vec<Ids> = conn.fetch_all(&q).await?;
    Ok(keys
        .iter()
        .map(|key| {
            found
                .iter()
                .find(|a| &a.id == key)
                .or_else(|| found.iter().find(|a| &a.asset_id == key))
                .map(|a| a.id.clone())
        })
        .collect())
}

/// Inserts a new asset; a taken `asset_id` is a unique violation.
pub async fn insert(tx: &mut Tx, tenant: TenantId, d: &AssetData) -> DbResult<AssetRow> {
    let now = now_ms();
    let q = Assets::insert(tenant, insert_values(d, now))
        .returning(Query::returning().columns(COLUMNS))
        .to_owned();
    tx.fetch_one(&q).await
}

fn insert_values(d: &AssetData, now: i64) -> Vec<(Assets, SimpleExpr)> {
    let mut values: Vec<(Assets, SimpleExpr)> = vec![
        (Assets::Id, uuid::Uuid::now_v7().to_string().into()),
        (Assets::CreatedAt, now.into()),
        (Assets::UpdatedAt, now.into()),
    ];
    values.extend(data_values(d));
    values
}

/// Creates or replaces the asset with this `asset_id`, keeping its `id` and `created_at`.
pub async fn upsert(tx: &mut Tx, tenant: TenantId, d: &AssetData) -> DbResult<AssetRow> {
    let now = now_ms();
    let mut update: Vec<Assets> = data_values(d).into_iter().map(|(c, _)| c).collect();
    update.push(Assets::UpdatedAt);
    let q = Assets::insert(tenant, insert_values(d, now))
        .on_conflict(
            OnConflict::columns([Assets::TenantId, Assets::AssetId])
                .update_columns(update)
                .to_owned(),
        )
        .returning(Query::returning().columns(COLUMNS))
        .to_owned();
    tx.fetch_one(&q).await
}

/// Replaces an asset's data by server id.
pub async fn update(
    tx: &mut Tx,
    tenant: TenantId,
    id: &str,
    d: &AssetData,
) -> DbResult<Option<AssetRow>> {
    let mut values = data_values(d);
    values.push((Assets::UpdatedAt, now_ms().into()));
    let q = Assets::update(tenant)
        .values(values)
        .and_where(Expr::col(Assets::Id).eq(id))
        .returning(Query::returning().columns(COLUMNS))
        .to_owned();
    tx.fetch_optional(&q).await
}

pub async fn delete(db: &Db, tenant: TenantId, id: &str) -> DbResult<bool> {
    let q = Assets::delete(tenant)
        .and_where(Expr::col(Assets::Id).eq(id))
        .to_owned();
    Ok(db.execute(&q).await? > 0)
}
