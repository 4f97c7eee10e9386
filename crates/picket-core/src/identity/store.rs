//! Tables and queries of the identity model: tenants, users, API keys, agents.

use sea_query::{Expr, Iden, Order, Query};
use serde::Serialize;

use super::perms::{self, Perm};
use super::tokens;
use super::{AgentId, ApiKeyId, TenantId, UserId};
use crate::db::schema::{ColType, Column, Index, OnDelete, Table};
use crate::db::{Db, DbError, DbResult, Tx};
use crate::time::now_ms;

#[derive(Iden)]
pub enum Tenants {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(Iden)]
pub enum Users {
    Table,
    Id,
    TenantId,
    Name,
    IsAdmin,
    Permissions,
    Disabled,
    CreatedAt,
}

#[derive(Iden)]
pub enum ApiKeys {
    Table,
    Id,
    TenantId,
    UserId,
    Prefix,
    KeyHash,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
    LastUsedAt,
}

#[derive(Iden)]
pub enum Agents {
    Table,
    Id,
    TenantId,
    Name,
    Agent,
    Prefix,
    TokenHash,
    CreatedAt,
    RevokedAt,
    LastSeenAt,
}

pub const TABLES: &[Table] = &[
    Table {
        name: "tenants",
        columns: &[
            Column::serial("id"),
            Column::new("name", ColType::Text),
            Column::new("created_at", ColType::BigInt),
        ],
        indexes: &[Index::unique("tenants_name", &["name"])],
    },
    Table {
        name: "users",
        columns: &[
            Column::serial("id"),
            Column::new("tenant_id", ColType::BigInt).references(
                "tenants",
                "id",
                OnDelete::Cascade,
            ),
            Column::new("name", ColType::Text),
            Column::new("is_admin", ColType::Bool).default("FALSE"),
            Column::new("permissions", ColType::Text).default("''"),
            Column::new("disabled", ColType::Bool).default("FALSE"),
            Column::new("created_at", ColType::BigInt),
        ],
        indexes: &[Index::unique("users_tenant_name", &["tenant_id", "name"])],
    },
    Table {
        name: "api_keys",
        columns: &[
            Column::serial("id"),
            Column::new("tenant_id", ColType::BigInt).references(
                "tenants",
                "id",
                OnDelete::Cascade,
            ),
            Column::new("user_id", ColType::BigInt).references("users", "id", OnDelete::Cascade),
            Column::new("prefix", ColType::Text),
            Column::new("key_hash", ColType::Text),
            Column::new("created_at", ColType::BigInt),
            Column::new("expires_at", ColType::BigInt).nullable(),
            Column::new("revoked_at", ColType::BigInt).nullable(),
            Column::new("last_used_at", ColType::BigInt).nullable(),
        ],
        indexes: &[
            Index::unique("api_keys_hash", &["key_hash"]),
            Index::new("api_keys_user", &["user_id"]),
            Index::new("api_keys_tenant", &["tenant_id"]),
        ],
    },
    Table {
        name: "agents",
        columns: &[
            Column::serial("id"),
            Column::new("tenant_id", ColType::BigInt).references(
                "tenants",
                "id",
                OnDelete::Cascade,
            ),
            Column::new("name", ColType::Text),
            Column::new("agent", ColType::Text),
            Column::new("prefix", ColType::Text),
            Column::new("token_hash", ColType::Text),
            Column::new("created_at", ColType::BigInt),
            Column::new("revoked_at", ColType::BigInt).nullable(),
            Column::new("last_seen_at", ColType::BigInt).nullable(),
        ],
        indexes: &[
            Index::unique("agents_token_hash", &["token_hash"]),
            Index::unique("agents_agent", &["agent"]),
            Index::unique("agents_tenant_name", &["tenant_id", "name"]),
        ],
    },
];

#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub name: String,
    pub is_admin: bool,
    pub permissions: String,
    pub disabled: bool,
    pub created_at: i64,
}

impl User {
    pub fn perms(&self) -> Vec<Perm> {
        if self.is_admin {
            Perm::ALL.to_vec()
        } else {
            perms::decode(&self.permissions)
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub prefix: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Agent {
    pub id: AgentId,
    pub tenant_id: TenantId,
    pub name: String,
    pub agent: String,
    pub prefix: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub last_seen_at: Option<i64>,
}

/// What authentication needs about a key, in one indexed read.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyAuth {
    pub key_id: ApiKeyId,
    pub key_hash: String,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub is_admin: bool,
    pub permissions: String,
    pub disabled: bool,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AgentAuth {
    pub id: AgentId,
    pub tenant_id: TenantId,
    pub name: String,
    pub agent: String,
    pub token_hash: String,
    pub revoked_at: Option<i64>,
    pub last_seen_at: Option<i64>,
}

// ---- tenants ----

pub async fn create_tenant(db: &Db, name: &str) -> DbResult<Tenant> {
    let mut tx = db.begin().await?;
    let t = insert_tenant(&mut tx, name).await?;
    tx.commit().await?;
    Ok(t)
}

async fn insert_tenant(tx: &mut Tx, name: &str) -> DbResult<Tenant> {
    let q = Query::insert()
        .into_table(Tenants::Table)
        .columns([Tenants::Name, Tenants::CreatedAt])
        .values_panic([name.into(), now_ms().into()])
        .returning(Query::returning().columns([Tenants::Id, Tenants::Name, Tenants::CreatedAt]))
        .to_owned();
    tx.fetch_one(&q).await
}

pub async fn list_tenants(db: &Db) -> DbResult<Vec<Tenant>> {
    let q = Query::select()
        .columns([Tenants::Id, Tenants::Name, Tenants::CreatedAt])
        .from(Tenants::Table)
        .order_by(Tenants::Name, Order::Asc)
        .to_owned();
    db.fetch_all(&q).await
}

pub async fn tenant_by_name(db: &Db, name: &str) -> DbResult<Option<Tenant>> {
    let q = Query::select()
        .columns([Tenants::Id, Tenants::Name, Tenants::CreatedAt])
        .from(Tenants::Table)
        .and_where(Expr::col(Tenants::Name).eq(name))
        .to_owned();
    db.fetch_optional(&q).await
}

// ---- users ----

const USER_COLUMNS: [Users; 7] = [
    Users::Id,
    Users::TenantId,
    Users::Name,
    Users::IsAdmin,
    Users::Permissions,
    Users::Disabled,
    Users::CreatedAt,
];

pub async fn create_user(
    db: &Db,
    tenant: TenantId,
    name: &str,
    is_admin: bool,
    perms: &[Perm],
) -> DbResult<User> {
    let mut tx = db.begin().await?;
    let u = insert_user(&mut tx, tenant, name, is_admin, perms).await?;
    tx.commit().await?;
    Ok(u)
}

async fn insert_user(
    tx: &mut Tx,
    tenant: TenantId,
    name: &str,
    is_admin: bool,
    perms: &[Perm],
) -> DbResult<User> {
    let q = Query::insert()
        .into_table(Users::Table)
        .columns([
            Users::TenantId,
            Users::Name,
            Users::IsAdmin,
            Users::Permissions,
            Users::Disabled,
            Users::CreatedAt,
        ])
        .values_panic([
            tenant.into(),
            name.into(),
            is_admin.into(),
            perms::encode(perms).into(),
            false.into(),
            now_ms().into(),
        ])
        .returning(Query::returning().columns(USER_COLUMNS))
        .to_owned();
    tx.fetch_one(&q).await
}

pub async fn list_users(db: &Db, tenant: TenantId) -> DbResult<Vec<User>> {
    let q = Query::select()
        .columns(USER_COLUMNS)
        .from(Users::Table)
        .and_where(Expr::col(Users::TenantId).eq(tenant))
        .order_by(Users::Name, Order::Asc)
        .to_owned();
    db.fetch_all(&q).await
}

pub async fn user_by_name(db: &Db, tenant: TenantId, name: &str) -> DbResult<Option<User>> {
    let q = Query::select()
        .columns(USER_COLUMNS)
        .from(Users::Table)
        .and_where(Expr::col(Users::TenantId).eq(tenant))
        .and_where(Expr::col(Users::Name).eq(name))
        .to_owned();
    db.fetch_optional(&q).await
}

/// Disables or re-enables a user; false when no such user exists.
pub async fn set_user_disabled(db: &Db, user: UserId, disabled: bool) -> DbResult<bool> {
    let q = Query::update()
        .table(Users::Table)
        .value(Users::Disabled, disabled)
        .and_where(Expr::col(Users::Id).eq(user))
        .to_owned();
    Ok(db.execute(&q).await? > 0)
}

// ---- API keys ----

const KEY_COLUMNS: [ApiKeys; 8] = [
    ApiKeys::Id,
    ApiKeys::TenantId,
    ApiKeys::UserId,
    ApiKeys::Prefix,
    ApiKeys::CreatedAt,
    ApiKeys::ExpiresAt,
    ApiKeys::RevokedAt,
    ApiKeys::LastUsedAt,
];

/// Creates a key and returns it with its secret, which is never stored and never shown again.
pub async fn create_api_key(
    db: &Db,
    user: &User,
    expires_at: Option<i64>,
) -> DbResult<(ApiKey, String)> {
    let mut tx = db.begin().await?;
    let r = insert_api_key(&mut tx, user, expires_at).await?;
    tx.commit().await?;
    Ok(r)
}

async fn insert_api_key(
    tx: &mut Tx,
    user: &User,
    expires_at: Option<i64>,
) -> DbResult<(ApiKey, String)> {
    let secret = tokens::generate(tokens::API_KEY_PREFIX);
    let q = Query::insert()
        .into_table(ApiKeys::Table)
        .columns([
            ApiKeys::TenantId,
            ApiKeys::UserId,
            ApiKeys::Prefix,
            ApiKeys::KeyHash,
            ApiKeys::CreatedAt,
            ApiKeys::ExpiresAt,
        ])
        .values_panic([
            user.tenant_id.into(),
            user.id.into(),
            tokens::display_prefix(&secret).into(),
            tokens::hash(&secret).into(),
            now_ms().into(),
            expires_at.into(),
        ])
        .returning(Query::returning().columns(KEY_COLUMNS))
        .to_owned();
    Ok((tx.fetch_one(&q).await?, secret))
}

pub async fn list_api_keys(db: &Db, tenant: Option<TenantId>) -> DbResult<Vec<ApiKey>> {
    let mut q = Query::select();
    q.columns(KEY_COLUMNS)
        .from(ApiKeys::Table)
        .order_by(ApiKeys::Id, Order::Asc);
    if let Some(t) = tenant {
        q.and_where(Expr::col(ApiKeys::TenantId).eq(t));
    }
    db.fetch_all(&q).await
}

/// Revokes a key; false when the key does not exist or was already revoked.
pub async fn revoke_api_key(db: &Db, id: ApiKeyId) -> DbResult<bool> {
    let q = Query::update()
        .table(ApiKeys::Table)
        .value(ApiKeys::RevokedAt, now_ms())
        .and_where(Expr::col(ApiKeys::Id).eq(id))
        .and_where(Expr::col(ApiKeys::RevokedAt).is_null())
        .to_owned();
    Ok(db.execute(&q).await? > 0)
}

pub async fn find_api_key(db: &Db, key_hash: &str) -> DbResult<Option<KeyAuth>> {
    let q = Query::select()
        .expr_as(
            Expr::col((ApiKeys::Table, ApiKeys::Id)),
            sea_query::Alias::new("key_id"),
        )
        .columns([
            (ApiKeys::Table, ApiKeys::KeyHash),
            (ApiKeys::Table, ApiKeys::TenantId),
            (ApiKeys::Table, ApiKeys::UserId),
            (ApiKeys::Table, ApiKeys::ExpiresAt),
            (ApiKeys::Table, ApiKeys::RevokedAt),
            (ApiKeys::Table, ApiKeys::LastUsedAt),
        ])
        .columns([
            (Users::Table, Users::IsAdmin),
            (Users::Table, Users::Permissions),
            (Users::Table, Users::Disabled),
        ])
        .from(ApiKeys::Table)
        .inner_join(
            Users::Table,
            Expr::col((Users::Table, Users::Id)).equals((ApiKeys::Table, ApiKeys::UserId)),
        )
        .and_where(Expr::col((ApiKeys::Table, ApiKeys::KeyHash)).eq(key_hash))
        .to_owned();
    db.fetch_optional(&q).await
}

pub async fn touch_api_key(db: &Db, id: ApiKeyId, at: i64) -> DbResult<()> {
    let q = Query::update()
        .table(ApiKeys::Table)
        .value(ApiKeys::LastUsedAt, at)
        .and_where(Expr::col(ApiKeys::Id).eq(id))
        .to_owned();
    db.execute(&q).await.map(|_| ())
}

// ---- agents ----

const AGENT_COLUMNS: [Agents; 8] = [
    Agents::Id,
    Agents::TenantId,
    Agents::Name,
    Agents::Agent,
    Agents::Prefix,
    Agents::CreatedAt,
    Agents::RevokedAt,
    Agents::LastSeenAt,
];

/// Registers a sensor and returns it with its token (shown once).
pub async fn create_agent(db: &Db, tenant: TenantId, name: &str) -> DbResult<(Agent, String)> {
    let token = tokens::generate(tokens::AGENT_TOKEN_PREFIX);
    let q = Query::insert()
        .into_table(Agents::Table)
        .columns([
            Agents::TenantId,
            Agents::Name,
            Agents::Agent,
            Agents::Prefix,
            Agents::TokenHash,
            Agents::CreatedAt,
        ])
        .values_panic([
            tenant.into(),
            name.into(),
            tokens::public_id().into(),
            tokens::display_prefix(&token).into(),
            tokens::hash(&token).into(),
            now_ms().into(),
        ])
        .returning(Query::returning().columns(AGENT_COLUMNS))
        .to_owned();
    Ok((db.fetch_one(&q).await?, token))
}

pub async fn list_agents(db: &Db, tenant: Option<TenantId>) -> DbResult<Vec<Agent>> {
    let mut q = Query::select();
    q.columns(AGENT_COLUMNS)
        .from(Agents::Table)
        .order_by(Agents::Id, Order::Asc);
    if let Some(t) = tenant {
        q.and_where(Expr::col(Agents::TenantId).eq(t));
    }
    db.fetch_all(&q).await
}

pub async fn revoke_agent(db: &Db, id: AgentId) -> DbResult<bool> {
    let q = Query::update()
        .table(Agents::Table)
        .value(Agents::RevokedAt, now_ms())
        .and_where(Expr::col(Agents::Id).eq(id))
        .and_where(Expr::col(Agents::RevokedAt).is_null())
        .to_owned();
    Ok(db.execute(&q).await? > 0)
}

pub async fn find_agent(db: &Db, token_hash: &str) -> DbResult<Option<AgentAuth>> {
    let q = Query::select()
        .columns([
            Agents::Id,
            Agents::TenantId,
            Agents::Name,
            Agents::Agent,
            Agents::TokenHash,
            Agents::RevokedAt,
            Agents::LastSeenAt,
        ])
        .from(Agents::Table)
        .and_where(Expr::col(Agents::TokenHash).eq(token_hash))
        .to_owned();
    db.fetch_optional(&q).await
}

pub async fn touch_agent(db: &Db, id: AgentId, at: i64) -> DbResult<()> {
    let q = Query::update()
        .table(Agents::Table)
        .value(Agents::LastSeenAt, at)
        .and_where(Expr::col(Agents::Id).eq(id))
        .to_owned();
    db.execute(&q).await.map(|_| ())
}

// ---- first start ----

/// Name of the tenant and user created on first start.
pub const DEFAULT_TENANT: &str = "default";
pub const DEFAULT_ADMIN: &str = "admin";

/// On an empty database, creates tenant `default`, admin user `admin` and one API key, all in
/// one transaction, and returns the key. Returns `None` when any tenant already exists, so a
/// later start never creates or prints a key again.
pub async fn bootstrap(db: &Db) -> DbResult<Option<String>> {
    let mut tx = db.begin().await?;
    let any: Option<(i64,)> = tx
        .fetch_optional(
            &Query::select()
                .column(Tenants::Id)
                .from(Tenants::Table)
                .limit(1)
                .to_owned(),
        )
        .await?;
    if any.is_some() {
        return Ok(None);
    }
    let tenant = match insert_tenant(&mut tx, DEFAULT_TENANT).await {
        Ok(t) => t,
        // Another server bootstrapped the same database a moment ago.
        Err(e) if e.is_unique_violation() => return Ok(None),
        Err(e) => return Err(e),
    };
    let user = insert_user(&mut tx, tenant.id, DEFAULT_ADMIN, true, &[]).await?;
    let (_, secret) = insert_api_key(&mut tx, &user, None).await?;
    match tx.commit().await {
        Ok(()) => Ok(Some(secret)),
        Err(e) if e.is_unique_violation() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Resolves a tenant by name, with an error message fit for the CLI.
pub async fn require_tenant(db: &Db, name: &str) -> Result<Tenant, DbError> {
    tenant_by_name(db, name)
        .await?
        .ok_or_else(|| DbError::Setup(format!("no tenant named `{name}`")))
}
