//! Tables and queries of the identity model: tenants, users, API keys, agents.

use sea_query::{Expr, Order, Query};
use serde::Serialize;

use super::perms::{self, Perm};
use super::tokens;
use super::{AgentId, ApiKeyId, TenantId, UserId};
use crate::db::schema::{OnDelete, Table};
use crate::db::table::TenantTable;
use crate::db::{Db, DbError, DbResult, Tx};
use crate::time::now_ms;

crate::table! {
    pub enum Tenants in "tenants" {
        Id: Serial,
        Name: Text,
        CreatedAt: BigInt,
    }
    indexes {
        unique tenants_name (Name),
    }
}

crate::table! {
    pub enum Users in "users", tenant_owned {
        Id: Serial,
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        Name: Text,
        IsAdmin: Bool .default("FALSE"),
        Permissions: Text .default("''"),
        Disabled: Bool .default("FALSE"),
        CreatedAt: BigInt,
    }
    indexes {
        unique users_tenant_name (TenantId, Name),
    }
}

crate::table! {
    pub enum ApiKeys in "api_keys", tenant_owned {
        Id: Serial,
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        UserId: BigInt .references("users", "id", OnDelete::Cascade),
        Prefix: Text,
        KeyHash: Text,
        CreatedAt: BigInt,
        ExpiresAt: BigInt .nullable(),
        RevokedAt: BigInt .nullable(),
        LastUsedAt: BigInt .nullable(),
    }
    indexes {
        unique api_keys_hash (KeyHash),
        index api_keys_user (UserId),
        index api_keys_tenant (TenantId),
    }
}

crate::table! {
    pub enum Agents in "agents", tenant_owned {
        Id: Serial,
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        Name: Text,
        Agent: Text,
        Prefix: Text,
        TokenHash: Text,
        CreatedAt: BigInt,
        RevokedAt: BigInt .nullable(),
        LastSeenAt: BigInt .nullable(),
    }
    indexes {
        unique agents_token_hash (TokenHash),
        unique agents_agent (Agent),
        unique agents_tenant_name (TenantId, Name),
    }
}

pub const TABLES: &[Table] = &[
    Tenants::DECLARED,
    Users::DECLARED,
    ApiKeys::DECLARED,
    Agents::DECLARED,
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
        .into_table(Tenants::table())
        .columns([Tenants::Name, Tenants::CreatedAt])
        .values_panic([name.into(), now_ms().into()])
        .returning(Query::returning().columns([Tenants::Id, Tenants::Name, Tenants::CreatedAt]))
        .to_owned();
    tx.fetch_one(&q).await
}

pub async fn list_tenants(db: &Db) -> DbResult<Vec<Tenant>> {
    let q = Query::select()
        .columns([Tenants::Id, Tenants::Name, Tenants::CreatedAt])
        .from(Tenants::table())
        .order_by(Tenants::Name, Order::Asc)
        .to_owned();
    db.fetch_all(&q).await
}

pub async fn tenant_by_name(db: &Db, name: &str) -> DbResult<Option<Tenant>> {
    let q = Query::select()
        .columns([Tenants::Id, Tenants::Name, Tenants::CreatedAt])
        .from(Tenants::table())
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
    let q = Users::insert(
        tenant,
        vec![
            (Users::Name, name.into()),
            (Users::IsAdmin, is_admin.into()),
            (Users::Permissions, perms::encode(perms).into()),
            (Users::Disabled, false.into()),
            (Users::CreatedAt, now_ms().into()),
        ],
    )
    .returning(Query::returning().columns(USER_COLUMNS))
    .to_owned();
    tx.fetch_one(&q).await
}

pub async fn list_users(db: &Db, tenant: TenantId) -> DbResult<Vec<User>> {
    let q = Users::select(tenant)
        .columns(USER_COLUMNS)
        .order_by(Users::Name, Order::Asc)
        .to_owned();
    db.fetch_all(&q).await
}

pub async fn user_by_name(db: &Db, tenant: TenantId, name: &str) -> DbResult<Option<User>> {
    let q = Users::select(tenant)
        .columns(USER_COLUMNS)
        .and_where(Expr::col(Users::Name).eq(name))
        .to_owned();
    db.fetch_optional(&q).await
}

/// Disables or re-enables a user; false when no such user exists.
pub async fn set_user_disabled(db: &Db, user: UserId, disabled: bool) -> DbResult<bool> {
    let q = Query::update()
        // Operator CLI: a user id is unique across tenants and the operator sees every tenant.
        .table(Users::across_tenants())
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
    let q = ApiKeys::insert(
        user.tenant_id,
        vec![
            (ApiKeys::UserId, user.id.into()),
            (ApiKeys::Prefix, tokens::display_prefix(&secret).into()),
            (ApiKeys::KeyHash, tokens::hash(&secret).into()),
            (ApiKeys::CreatedAt, now_ms().into()),
            (ApiKeys::ExpiresAt, expires_at.into()),
        ],
    )
    .returning(Query::returning().columns(KEY_COLUMNS))
    .to_owned();
    Ok((tx.fetch_one(&q).await?, secret))
}

pub async fn list_api_keys(db: &Db, tenant: Option<TenantId>) -> DbResult<Vec<ApiKey>> {
    let mut q = Query::select();
    q.columns(KEY_COLUMNS)
        // Operator CLI: lists every tenant's keys unless one tenant is asked for.
        .from(ApiKeys::across_tenants())
        .order_by(ApiKeys::Id, Order::Asc);
    if let Some(t) = tenant {
        q.and_where(Expr::col(ApiKeys::TenantId).eq(t));
    }
    db.fetch_all(&q).await
}

/// Revokes a key; false when the key does not exist or was already revoked.
pub async fn revoke_api_key(db: &Db, id: ApiKeyId) -> DbResult<bool> {
    let q = Query::update()
        // Operator CLI: revokes by key id, whichever tenant holds it.
        .table(ApiKeys::across_tenants())
        .value(ApiKeys::RevokedAt, now_ms())
        .and_where(Expr::col(ApiKeys::Id).eq(id))
        .and_where(Expr::col(ApiKeys::RevokedAt).is_null())
        .to_owned();
    Ok(db.execute(&q).await? > 0)
}

pub async fn find_api_key(db: &Db, key_hash: &str) -> DbResult<Option<KeyAuth>> {
    let q = Query::select()
        .expr_as(
            Expr::col(ApiKeys::col(ApiKeys::Id)),
            sea_query::Alias::new("key_id"),
        )
        .columns([
            ApiKeys::col(ApiKeys::KeyHash),
            ApiKeys::col(ApiKeys::TenantId),
            ApiKeys::col(ApiKeys::UserId),
            ApiKeys::col(ApiKeys::ExpiresAt),
            ApiKeys::col(ApiKeys::RevokedAt),
            ApiKeys::col(ApiKeys::LastUsedAt),
        ])
        .columns([
            Users::col(Users::IsAdmin),
            Users::col(Users::Permissions),
            Users::col(Users::Disabled),
        ])
        // Authentication: the key's hash is what finds its tenant.
        .from(ApiKeys::across_tenants())
        .inner_join(
            Users::across_tenants(),
            Expr::col(Users::col(Users::Id)).equals(ApiKeys::col(ApiKeys::UserId)),
        )
        .and_where(Expr::col(ApiKeys::col(ApiKeys::KeyHash)).eq(key_hash))
        .to_owned();
    db.fetch_optional(&q).await
}

pub async fn touch_api_key(db: &Db, id: ApiKeyId, at: i64) -> DbResult<()> {
    let q = Query::update()
        // Authentication: the key was found by its hash; its id names one row.
        .table(ApiKeys::across_tenants())
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
    let q = Agents::insert(
        tenant,
        vec![
            (Agents::Name, name.into()),
            (Agents::Agent, tokens::public_id().into()),
            (Agents::Prefix, tokens::display_prefix(&token).into()),
            (Agents::TokenHash, tokens::hash(&token).into()),
            (Agents::CreatedAt, now_ms().into()),
        ],
    )
    .returning(Query::returning().columns(AGENT_COLUMNS))
    .to_owned();
    Ok((db.fetch_one(&q).await?, token))
}

pub async fn list_agents(db: &Db, tenant: Option<TenantId>) -> DbResult<Vec<Agent>> {
    let mut q = Query::select();
    q.columns(AGENT_COLUMNS)
        // Operator CLI: lists every tenant's agents unless one tenant is asked for.
        .from(Agents::across_tenants())
        .order_by(Agents::Id, Order::Asc);
    if let Some(t) = tenant {
        q.and_where(Expr::col(Agents::TenantId).eq(t));
    }
    db.fetch_all(&q).await
}

pub async fn revoke_agent(db: &Db, id: AgentId) -> DbResult<bool> {
    let q = Query::update()
        // Operator CLI: revokes by agent id, whichever tenant holds it.
        .table(Agents::across_tenants())
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
        // Authentication: the token's hash is what finds its tenant.
        .from(Agents::across_tenants())
        .and_where(Expr::col(Agents::TokenHash).eq(token_hash))
        .to_owned();
    db.fetch_optional(&q).await
}

pub async fn touch_agent(db: &Db, id: AgentId, at: i64) -> DbResult<()> {
    let q = Query::update()
        // Authentication: the agent was found by its token hash; its id names one row.
        .table(Agents::across_tenants())
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
                .from(Tenants::table())
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
