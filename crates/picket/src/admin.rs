//! `picket admin …`: manage tenants, users, API keys and agent tokens in whichever database the
//! global flags, environment and config file select. Secrets are printed once, on stdout, alone.

use std::collections::HashMap;
use std::io::Write;

use anyhow::{bail, Context};
use clap::Subcommand;
use picket_core::db::{Db, DbError};
use picket_core::identity::store::{self, Tenant};
use picket_core::identity::{AgentId, ApiKeyId, Perm, TenantId};
use picket_core::time::rfc3339;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Tenants: the unit of isolation.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Users of a tenant and their permissions.
    #[command(subcommand)]
    User(UserCommand),
    /// API keys (both API surfaces).
    #[command(subcommand)]
    Key(KeyCommand),
    /// Sensor agent tokens (ingest only).
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Fill a tenant with synthetic data for benchmarks and demos.
    #[command(subcommand)]
    Generate(GenerateCommand),
}

#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// Network alerts, server alerts and metadata datasets, spread over recent days.
    Network {
        #[arg(long)]
        tenant: String,
        /// Network alerts.
        #[arg(long, default_value_t = 0)]
        alerts: u64,
        /// Server (syslog) alerts.
        #[arg(long, default_value_t = 0)]
        server_alerts: u64,
        /// DNS metadata rows.
        #[arg(long, default_value_t = 0)]
        dns: u64,
        /// TCP/netflow metadata rows.
        #[arg(long, default_value_t = 0)]
        tcp: u64,
        /// DHCP metadata rows.
        #[arg(long, default_value_t = 0)]
        dhcp: u64,
        /// HTTP metadata rows.
        #[arg(long, default_value_t = 0)]
        http: u64,
        /// Days back from now that the rows spread over.
        #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=3650))]
        days: u32,
        /// Seed of the generator (the same seed gives the same data).
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    Create { name: String },
    /// List tenants.
    List,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user in a tenant.
    Create {
        #[arg(long)]
        tenant: String,
        name: String,
        /// A permission key such as `perm_devices_r`; repeat for several.
        #[arg(long = "perm", value_name = "PERM")]
        perms: Vec<String>,
        /// Make the user an admin: every permission, present and future.
        #[arg(long, conflicts_with = "perms")]
        all_perms: bool,
    },
    /// List the users of a tenant.
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Disable a user: every key of the user stops working at once.
    Disable {
        #[arg(long)]
        tenant: String,
        name: String,
    },
    /// Re-enable a disabled user.
    Enable {
        #[arg(long)]
        tenant: String,
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create an API key for a user; prints only the key.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        user: String,
        /// Days until the key expires (default: never).
        #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=36500))]
        expires_in: Option<u32>,
    },
    /// List API keys (never their secrets).
    List {
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Revoke an API key by id.
    Revoke { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Register a sensor; prints only its token.
    Create {
        #[arg(long)]
        tenant: String,
        name: String,
    },
    /// List agents (never their tokens).
    List {
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Revoke an agent token by agent id.
    Revoke { id: i64 },
}

async fn tenant(db: &Db, name: &str) -> anyhow::Result<Tenant> {
    store::tenant_by_name(db, name)
        .await?
        .with_context(|| format!("no tenant named `{name}`"))
}

async fn tenant_names(db: &Db) -> anyhow::Result<HashMap<i64, String>> {
    Ok(store::list_tenants(db)
        .await?
        .into_iter()
        .map(|t| (t.id.0, t.name))
        .collect())
}

/// User names by id, across tenants (for listings).
async fn user_names(db: &Db) -> anyhow::Result<HashMap<i64, String>> {
    let mut names = HashMap::new();
    for t in store::list_tenants(db).await? {
        for u in store::list_users(db, t.id).await? {
            names.insert(u.id.0, u.name);
        }
    }
    Ok(names)
}

async fn tenant_filter(db: &Db, name: Option<&str>) -> anyhow::Result<Option<TenantId>> {
    Ok(match name {
        Some(n) => Some(tenant(db, n).await?.id),
        None => None,
    })
}

/// A unique-constraint clash becomes `message`; any other storage error passes through.
fn clash(e: DbError, message: impl FnOnce() -> String) -> anyhow::Error {
    if e.is_unique_violation() {
        anyhow::anyhow!(message())
    } else {
        e.into()
    }
}

fn when(ms: Option<i64>) -> String {
    ms.map_or_else(|| "-".to_string(), rfc3339)
}

/// Runs one admin command, writing its output to `out`.
pub async fn run(db: &Db, cmd: AdminCommand, out: &mut impl Write) -> anyhow::Result<()> {
    match cmd {
        AdminCommand::Tenant(TenantCommand::Create { name }) => {
            let name = name.trim();
            if name.is_empty() {
                bail!("tenant name must not be empty");
            }
            let t = store::create_tenant(db, name)
                .await
                .map_err(|e| clash(e, || format!("a tenant named `{name}` already exists")))?;
            writeln!(out, "created tenant {} (id {})", t.name, t.id)?;
        }
        AdminCommand::Tenant(TenantCommand::List) => {
            writeln!(out, "{:<6} {:<24} CREATED", "ID", "NAME")?;
            for t in store::list_tenants(db).await? {
                writeln!(out, "{:<6} {:<24} {}", t.id, t.name, rfc3339(t.created_at))?;
            }
        }
        AdminCommand::User(UserCommand::Create {
            tenant: tn,
            name,
            perms,
            all_perms,
        }) => {
            let t = tenant(db, &tn).await?;
            let name = name.trim();
            if name.is_empty() {
                bail!("user name must not be empty");
            }
            let perms = perms
                .iter()
                .map(|p| p.parse::<Perm>().map_err(anyhow::Error::msg))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let u = store::create_user(db, t.id, name, all_perms, &perms)
                .await
                .map_err(|e| {
                    clash(e, || {
                        format!("tenant `{tn}` already has a user named `{name}`")
                    })
                })?;
            let granted = if u.is_admin {
                "all permissions".to_string()
            } else if u.permissions.is_empty() {
                "no permissions".to_string()
            } else {
                u.permissions.clone()
            };
            writeln!(
                out,
                "created user {} in tenant {} (id {}): {granted}",
                u.name, t.name, u.id
            )?;
        }
        AdminCommand::User(UserCommand::List { tenant: tn }) => {
            let t = tenant(db, &tn).await?;
            writeln!(
                out,
                "{:<6} {:<20} {:<9} PERMISSIONS",
                "ID", "NAME", "STATUS"
            )?;
            for u in store::list_users(db, t.id).await? {
                let perms = if u.is_admin {
                    "(admin: all)".to_string()
                } else {
                    u.permissions.clone()
                };
                let status = if u.disabled { "disabled" } else { "active" };
                writeln!(out, "{:<6} {:<20} {:<9} {perms}", u.id, u.name, status)?;
            }
        }
        AdminCommand::User(UserCommand::Disable { tenant: tn, name }) => {
            set_disabled(db, &tn, &name, true, out).await?
        }
        AdminCommand::User(UserCommand::Enable { tenant: tn, name }) => {
            set_disabled(db, &tn, &name, false, out).await?
        }
        AdminCommand::Key(KeyCommand::Create {
            tenant: tn,
            user,
            expires_in,
        }) => {
            let t = tenant(db, &tn).await?;
            let u = store::user_by_name(db, t.id, &user)
                .await?
                .with_context(|| format!("tenant `{tn}` has no user named `{user}`"))?;
            let expires_at =
                expires_in.map(|d| picket_core::time::now_ms() + i64::from(d) * 86_400_000);
            let (_, secret) = store::create_api_key(db, &u, expires_at).await?;
            writeln!(out, "{secret}")?;
        }
        AdminCommand::Key(KeyCommand::List { tenant: tn }) => {
            let filter = tenant_filter(db, tn.as_deref()).await?;
            let tenants = tenant_names(db).await?;
            let users = user_names(db).await?;
            writeln!(
                out,
                "{:<6} {:<14} {:<16} {:<16} {:<21} {:<21} {:<21} STATUS",
                "ID", "PREFIX", "TENANT", "USER", "CREATED", "EXPIRES", "LAST_USED"
            )?;
            let now = picket_core::time::now_ms();
            for k in store::list_api_keys(db, filter).await? {
                let status = if k.revoked_at.is_some() {
                    "revoked"
                } else if k.expires_at.is_some_and(|e| e <= now) {
                    "expired"
                } else {
                    "active"
                };
                writeln!(
                    out,
                    "{:<6} {:<14} {:<16} {:<16} {:<21} {:<21} {:<21} {status}",
                    k.id,
                    k.prefix,
                    tenants.get(&k.tenant_id.0).map_or("?", String::as_str),
                    users.get(&k.user_id.0).map_or("?", String::as_str),
                    rfc3339(k.created_at),
                    when(k.expires_at),
                    when(k.last_used_at)
                )?;
            }
        }
        AdminCommand::Key(KeyCommand::Revoke { id }) => {
            if !store::revoke_api_key(db, ApiKeyId(id)).await? {
                bail!("no active API key with id {id}");
            }
            writeln!(out, "revoked API key {id}")?;
        }
        AdminCommand::Agent(AgentCommand::Create { tenant: tn, name }) => {
            let t = tenant(db, &tn).await?;
            let name = name.trim();
            if name.is_empty() {
                bail!("agent name must not be empty");
            }
            let (_, token) = store::create_agent(db, t.id, name).await.map_err(|e| {
                clash(e, || {
                    format!("tenant `{tn}` already has an agent named `{name}`")
                })
            })?;
            writeln!(out, "{token}")?;
        }
        AdminCommand::Agent(AgentCommand::List { tenant: tn }) => {
            let filter = tenant_filter(db, tn.as_deref()).await?;
            let tenants = tenant_names(db).await?;
            writeln!(
                out,
                "{:<6} {:<20} {:<16} {:<17} {:<21} {:<21} STATUS",
                "ID", "NAME", "TENANT", "AGENT", "CREATED", "LAST_SEEN"
            )?;
            for a in store::list_agents(db, filter).await? {
                writeln!(
                    out,
                    "{:<6} {:<20} {:<16} {:<17} {:<21} {:<21} {}",
                    a.id,
                    a.name,
                    tenants.get(&a.tenant_id.0).map_or("?", String::as_str),
                    a.agent,
                    rfc3339(a.created_at),
                    when(a.last_seen_at),
                    if a.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    }
                )?;
            }
        }
        AdminCommand::Generate(GenerateCommand::Network {
            tenant: tn,
            alerts,
            server_alerts,
            dns,
            tcp,
            dhcp,
            http,
            days,
            seed,
        }) => {
            let t = tenant(db, &tn).await?;
            let volume = picket_netmon::generate::Volume {
                network_alerts: alerts,
                server_alerts,
                dns,
                tcp,
                dhcp,
                http,
                days,
                seed,
            };
            let started = std::time::Instant::now();
            let report = picket_netmon::generate::generate(db, t.id, &volume, |table, n| {
                if n % 500_000 == 0 {
                    eprintln!("{table}: {n} rows");
                }
            })
            .await?;
            let total: u64 = report.rows.iter().map(|r| r.1).sum();
            let secs = started.elapsed().as_secs_f64();
            for (table, n) in &report.rows {
                if *n > 0 {
                    writeln!(out, "{table}: {n} rows")?;
                }
            }
            writeln!(
                out,
                "generated {total} rows for tenant {} in {secs:.1} s ({:.0} rows/s)",
                t.name,
                total as f64 / secs.max(1e-9)
            )?;
        }
        AdminCommand::Agent(AgentCommand::Revoke { id }) => {
            if !store::revoke_agent(db, AgentId(id)).await? {
                bail!("no active agent with id {id}");
            }
            writeln!(out, "revoked agent {id}")?;
        }
    }
    Ok(())
}

async fn set_disabled(
    db: &Db,
    tn: &str,
    name: &str,
    disable: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let t = tenant(db, tn).await?;
    let u = store::user_by_name(db, t.id, name)
        .await?
        .with_context(|| format!("tenant `{tn}` has no user named `{name}`"))?;
    store::set_user_disabled(db, u.id, disable).await?;
    writeln!(
        out,
        "{} user {} in tenant {}",
        if disable { "disabled" } else { "enabled" },
        u.name,
        t.name
    )?;
    Ok(())
}
