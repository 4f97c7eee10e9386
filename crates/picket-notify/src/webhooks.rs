//! The tenant's webhooks: where signed JSON notices are POSTed. The secret is stored to sign
//! with and never read back out through the API.

use picket_core::db::schema::{OnDelete, Table};
use picket_core::db::table::TenantTable;
use picket_core::db::{Db, DbResult, Tx};
use picket_core::identity::TenantId;
use sea_query::{Expr, Order};

picket_core::table! {
    pub(crate) enum Webhooks in "webhooks", tenant_owned {
        Id: Text .primary_key(),
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        Url: Text,
        Secret: Text,
        Enabled: Bool,
        // JSON array of event type names.
        EventTypes: Text,
        MinLevel: BigInt .nullable(),
        CreatedAt: BigInt,
        UpdatedAt: BigInt,
    }
    indexes {
        index webhooks_tenant_created (TenantId, CreatedAt),
    }
}

pub const TABLES: &[Table] = &[Webhooks::DECLARED];

/// A stored webhook, secret included: for signing and for this crate only.
#[derive(Clone, sqlx::FromRow)]
pub struct WebhookRow {
    pub id: String,
    pub tenant_id: i64,
    pub url: String,
    pub secret: String,
    pub enabled: bool,
    pub event_types: String,
    pub min_level: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl std::fmt::Debug for WebhookRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookRow")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("secret", &"***")
            .field("enabled", &self.enabled)
            .field("event_types", &self.event_types)
            .field("min_level", &self.min_level)
            .finish_non_exhaustive()
    }
}

impl WebhookRow {
    pub fn event_types(&self) -> Vec<String> {
        serde_json::from_str(&self.event_types).unwrap_or_default()
    }
}

/// The fields a create or update writes.
#[derive(Clone)]
pub struct Fields {
    pub url: String,
    pub secret: String,
    pub enabled: bool,
    pub event_types: Vec<String>,
    pub min_level: Option<i64>,
}

const COLUMNS: [Webhooks; 9] = [
    Webhooks::Id,
    Webhooks::TenantId,
    Webhooks::Url,
    Webhooks::Secret,
    Webhooks::Enabled,
    Webhooks::EventTypes,
    Webhooks::MinLevel,
    Webhooks::CreatedAt,
    Webhooks::UpdatedAt,
];

pub async fn list(db: &Db, tenant: TenantId) -> DbResult<Vec<WebhookRow>> {
    let q = Webhooks::select(tenant)
        .columns(COLUMNS)
        .order_by(Webhooks::CreatedAt, Order::Asc)
        .order_by(Webhooks::Id, Order::Asc)
        .to_owned();
    db.fetch_all(&q).await
}

/// The tenant's enabled webhooks, inside the transaction that enqueues deliveries.
pub async fn enabled_tx(tx: &mut Tx, tenant: TenantId) -> DbResult<Vec<WebhookRow>> {
    let q = Webhooks::select(tenant)
        .columns(COLUMNS)
        .and_where(Expr::col(Webhooks::Enabled).eq(true))
        .order_by(Webhooks::CreatedAt, Order::Asc)
        .order_by(Webhooks::Id, Order::Asc)
        .to_owned();
    tx.fetch_all(&q).await
}

pub async fn get(db: &Db, tenant: TenantId, id: &str) -> DbResult<Option<WebhookRow>> {
    let q = Webhooks::select(tenant)
        .columns(COLUMNS)
        .and_where(Expr::col(Webhooks::Id).eq(id))
        .to_owned();
    db.fetch_optional(&q).await
}

/// Webhooks of one tenant by id (the sender's lookup for a batch).
pub async fn by_ids(db: &Db, tenant: TenantId, ids: &[String]) -> DbResult<Vec<WebhookRow>> {
    let q = Webhooks::select(tenant)
        .columns(COLUMNS)
        .and_where(Expr::col(Webhooks::Id).is_in(ids.iter().cloned()))
        .to_owned();
    db.fetch_all(&q).await
}

pub async fn create(db: &Db, tenant: TenantId, f: &Fields, now: i64) -> DbResult<String> {
    let id = uuid::Uuid::now_v7().to_string();
    let q = Webhooks::insert(
        tenant,
        vec![
            (Webhooks::Id, id.clone().into()),
            (Webhooks::Url, f.url.clone().into()),
            (Webhooks::Secret, f.secret.clone().into()),
            (Webhooks::Enabled, f.enabled.into()),
            (Webhooks::EventTypes, types_json(&f.event_types).into()),
            (Webhooks::MinLevel, f.min_level.into()),
            (Webhooks::CreatedAt, now.into()),
            (Webhooks::UpdatedAt, now.into()),
        ],
    );
    db.execute(&q).await?;
    Ok(id)
}

fn types_json(types: &[String]) -> String {
    serde_json::to_string(types).unwrap_or_else(|_| "[]".into())
}

pub async fn update(db: &Db, tenant: TenantId, id: &str, f: &Fields, now: i64) -> DbResult<bool> {
    let q = Webhooks::update(tenant)
        .values([
            (Webhooks::Url, f.url.clone().into()),
            (Webhooks::Secret, f.secret.clone().into()),
            (Webhooks::Enabled, f.enabled.into()),
            (Webhooks::EventTypes, types_json(&f.event_types).into()),
            (Webhooks::MinLevel, f.min_level.into()),
            (Webhooks::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(Webhooks::Id).eq(id))
        .to_owned();
    Ok(db.execute(&q).await? > 0)
}

pub async fn delete(db: &Db, tenant: TenantId, id: &str) -> DbResult<bool> {
    let q = Webhooks::delete(tenant)
        .and_where(Expr::col(Webhooks::Id).eq(id))
        .to_owned();
    Ok(db.execute(&q).await? > 0)
}
