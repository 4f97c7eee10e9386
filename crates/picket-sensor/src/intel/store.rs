//! The intel tables (global, like the event corpus): Tor relay addresses, MISP address and
//! name indicators, each row tagged with its source; when each list was last refreshed; and
//! the one lookup an ingest batch makes.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use picket_core::db::bulk::insert_rows;
use picket_core::db::{Db, DbResult, Tx};
use picket_core::time::now_ms;
use sea_query::{Alias, Expr, OnConflict, Query, SelectStatement, UnionType, Value};

use super::{Entries, List, MispEntry, TorEntry};

picket_core::table! {
    pub(crate) enum TorRelays in "intel_tor_relays" {
        Id: Serial,
        Source: Text,
        Ip: Text,
        Fingerprint: Text .default("''"),
        Nickname: Text .default("''"),
        IsExit: Bool .default("FALSE"),
    }
    indexes {
        unique intel_tor_relays_source_ip (Source, Ip),
        index intel_tor_relays_ip (Ip),
    }
}

picket_core::table! {
    pub(crate) enum MispIps in "intel_misp_ips" {
        Id: Serial,
        Source: Text,
        Ip: Text,
        Type: Text .default("''"),
        EventId: Text .default("''"),
        EventInfo: Text .default("''"),
        Category: Text .default("''"),
        Comment: Text .default("''"),
    }
    indexes {
        unique intel_misp_ips_source_ip (Source, Ip),
        index intel_misp_ips_ip (Ip),
    }
}

picket_core::table! {
    pub(crate) enum MispDomains in "intel_misp_domains" {
        Id: Serial,
        Source: Text,
        Domain: Text,
        Type: Text .default("''"),
        Subdomains: Bool .default("FALSE"),
        EventId: Text .default("''"),
        EventInfo: Text .default("''"),
        Category: Text .default("''"),
        Comment: Text .default("''"),
    }
    indexes {
        unique intel_misp_domains_source_domain (Source, Domain),
        index intel_misp_domains_domain (Domain),
    }
}

picket_core::table! {
    /// When each list (`tor_relays`, `misp_ip_records`, `misp_dns_records`) was last refreshed,
    /// and how many times its entries changed (which tells every server to reload its keys).
    pub(crate) enum IntelLists in "intel_lists" {
        List: Text .primary_key(),
        UpdatedAt: BigInt,
        Generation: BigInt .default("0"),
    }
}

/// The table each list lives in, in [`List::ALL`] order.
pub const LIST_TABLES: [&str; 3] = [
    TorRelays::DECLARED.name,
    MispIps::DECLARED.name,
    MispDomains::DECLARED.name,
];

/// Rows written by one replacement, per list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stored {
    pub tor: usize,
    pub misp_ips: usize,
    pub misp_domains: usize,
}

/// First occurrence of each address wins (relays sharing an address keep the first relay's
/// names; [`replace`] marks the address an exit if any of them is one).
fn dedup_tor(entries: &[TorEntry]) -> Vec<&TorEntry> {
    let mut seen = HashSet::new();
    entries.iter().filter(|e| seen.insert(e.ip)).collect()
}

fn dedup_misp(entries: &[MispEntry]) -> Vec<&MispEntry> {
    let mut seen = HashSet::new();
    entries.iter().filter(|e| seen.insert(&e.value)).collect()
}

/// Replaces `source`'s entries of `lists` with `entries` and marks those lists refreshed, in
/// one transaction: a failure leaves the old entries.
pub async fn replace(db: &Db, source: &str, lists: &[List], entries: &Entries) -> DbResult<Stored> {
    let mut tx = db.begin().await?;
    let mut stored = Stored::default();
    for list in lists {
        match list {
            List::Tor => {
                tx.execute(
                    Query::delete()
                        .from_table(TorRelays::table())
                        .and_where(Expr::col(TorRelays::Source).eq(source)),
                )
                .await?;
                let exits: HashSet<IpAddr> = entries
                    .tor
                    .iter()
                    .filter(|e| e.exit)
                    .map(|e| e.ip)
                    .collect();
                let rows = dedup_tor(&entries.tor).into_iter().map(|e| {
                    vec![
                        Value::from(source),
                        e.ip.to_string().into(),
                        e.fingerprint.clone().into(),
                        e.nickname.clone().into(),
                        exits.contains(&e.ip).into(),
                    ]
                });
                // Collected first: a future holding a closure over borrowed text is not `Send`
                // for every lifetime, which the job runner needs.
                let rows: Vec<Vec<Value>> = rows.collect();
                stored.tor = insert_rows(
                    &mut tx,
                    TorRelays::DECLARED.name,
                    &["source", "ip", "fingerprint", "nickname", "is_exit"],
                    rows,
                )
                .await? as usize;
            }
            List::MispIp => {
                tx.execute(
                    Query::delete()
                        .from_table(MispIps::table())
                        .and_where(Expr::col(MispIps::Source).eq(source)),
                )
                .await?;
                let rows = dedup_misp(&entries.misp_ips).into_iter().map(|e| {
                    vec![
                        Value::from(source),
                        e.value.clone().into(),
                        e.kind.clone().into(),
                        e.event.clone().into(),
                        e.info.clone().into(),
                        e.category.clone().into(),
                        e.comment.clone().into(),
                    ]
                });
                let rows: Vec<Vec<Value>> = rows.collect();
                stored.misp_ips = insert_rows(
                    &mut tx,
                    MispIps::DECLARED.name,
                    &[
                        "source",
                        "ip",
                        "type",
                        "event_id",
                        "event_info",
                        "category",
                        "comment",
                    ],
                    rows,
                )
                .await? as usize;
            }
            List::MispDns => {
                tx.execute(
                    Query::delete()
                        .from_table(MispDomains::table())
                        .and_where(Expr::col(MispDomains::Source).eq(source)),
                )
                .await?;
                let rows = dedup_misp(&entries.misp_domains).into_iter().map(|e| {
                    vec![
                        Value::from(source),
                        e.value.clone().into(),
                        e.kind.clone().into(),
                        e.subdomains.into(),
                        e.event.clone().into(),
                        e.info.clone().into(),
                        e.category.clone().into(),
                        e.comment.clone().into(),
                    ]
                });
                let rows: Vec<Vec<Value>> = rows.collect();
                stored.misp_domains = insert_rows(
                    &mut tx,
                    MispDomains::DECLARED.name,
                    &[
                        "source",
                        "domain",
                        "type",
                        "subdomains",
                        "event_id",
                        "event_info",
                        "category",
                        "comment",
                    ],
                    rows,
                )
                .await? as usize;
            }
        }
    }
    mark(&mut tx, lists, now_ms(), true).await?;
    tx.commit().await?;
    Ok(stored)
}

/// Marks `lists` refreshed at `at`: after an import (`changed`, which moves their generation)
/// or after finding a polled source unchanged.
pub async fn mark(tx: &mut Tx, lists: &[List], at: i64, changed: bool) -> DbResult<()> {
    for list in lists {
        let mut on_conflict = OnConflict::column(IntelLists::List);
        on_conflict.update_column(IntelLists::UpdatedAt);
        if changed {
            on_conflict.value(
                IntelLists::Generation,
                Expr::col((IntelLists::table(), IntelLists::Generation)).add(1),
            );
        }
        let q = Query::insert()
            .into_table(IntelLists::table())
            .columns([
                IntelLists::List,
                IntelLists::UpdatedAt,
                IntelLists::Generation,
            ])
            .values_panic([list.as_str().into(), at.into(), i64::from(changed).into()])
            .on_conflict(on_conflict)
            .to_owned();
        tx.execute(&q).await?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Generation {
    list: String,
    generation: i64,
}

/// Each list's generation, by list name.
pub async fn generations(tx: &mut Tx) -> DbResult<Vec<(String, i64)>> {
    let q = Query::select()
        .columns([IntelLists::List, IntelLists::Generation])
        .from(IntelLists::table())
        .order_by(IntelLists::List, sea_query::Order::Asc)
        .to_owned();
    let rows: Vec<Generation> = tx.fetch_all(&q).await?;
    Ok(rows.into_iter().map(|r| (r.list, r.generation)).collect())
}

#[derive(sqlx::FromRow)]
struct Updated {
    list: String,
    updated_at: i64,
}

/// When each list was last refreshed (Unix ms), in [`List::ALL`] order.
pub async fn updated(db: &Db) -> DbResult<[Option<i64>; 3]> {
    let q = Query::select()
        .columns([IntelLists::List, IntelLists::UpdatedAt])
        .from(IntelLists::table())
        .to_owned();
    let rows: Vec<Updated> = db.fetch_all(&q).await?;
    Ok(List::ALL.map(|l| {
        rows.iter()
            .find(|r| r.list == l.as_str())
            .map(|r| r.updated_at)
    }))
}

/// A Tor relay address, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TorRelay {
    pub nickname: String,
    pub fingerprint: String,
    pub exit: bool,
}

/// A MISP indicator, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MispHit {
    /// The indicator (an address, or a domain or host name).
    pub value: String,
    /// The MISP attribute type.
    pub kind: String,
    pub event: String,
    pub info: String,
    pub category: String,
    /// A domain indicator that matches its subdomains too.
    pub subdomains: bool,
}

/// What one batch's addresses and names are listed as.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listed {
    pub tor: HashMap<IpAddr, TorRelay>,
    pub misp_ips: HashMap<IpAddr, MispHit>,
    /// By indicator name (a queried name or one of its parent domains).
    pub misp_domains: HashMap<String, MispHit>,
}

impl Listed {
    pub fn is_empty(&self) -> bool {
        self.tor.is_empty() && self.misp_ips.is_empty() && self.misp_domains.is_empty()
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    list: String,
    value: String,
    kind: String,
    event: String,
    info: String,
    category: String,
    flag: bool,
}

/// Keys per statement (each address is bound twice): well under SQLite's parameter limit.
const KEYS_PER_STATEMENT: usize = 5_000;

/// Which of `ips` are Tor relays or MISP address indicators, and which of `names` are MISP
/// name indicators: one `UNION ALL` statement over the three lists' indexes (more only past
/// [`KEYS_PER_STATEMENT`] keys), inside the batch's transaction.
pub async fn lookup(tx: &mut Tx, ips: &[IpAddr], names: &[String]) -> DbResult<Listed> {
    let mut listed = Listed::default();
    let ip_text: Vec<String> = ips.iter().map(|ip| ip.to_string()).collect();
    let chunks = ip_text
        .len()
        .div_ceil(KEYS_PER_STATEMENT)
        .max(names.len().div_ceil(KEYS_PER_STATEMENT));
    for i in 0..chunks {
        let slice = |v: &[String]| -> Vec<String> {
            v.iter()
                .skip(i * KEYS_PER_STATEMENT)
                .take(KEYS_PER_STATEMENT)
                .cloned()
                .collect()
        };
        let Some(q) = statement(&slice(&ip_text), &slice(names)) else {
            continue;
        };
        let rows: Vec<Row> = tx.fetch_all(&q).await?;
        for r in rows {
            let hit = || MispHit {
                value: r.value.clone(),
                kind: r.kind.clone(),
                event: r.event.clone(),
                info: r.info.clone(),
                category: r.category.clone(),
                subdomains: r.flag,
            };
            match r.list.as_str() {
                "tor" => {
                    if let Ok(ip) = r.value.parse() {
                        listed.tor.entry(ip).or_insert_with(|| TorRelay {
                            nickname: r.info.clone(),
                            fingerprint: r.event.clone(),
                            exit: r.flag,
                        });
                    }
                }
                "misp_ip" => {
                    if let Ok(ip) = r.value.parse() {
                        listed.misp_ips.entry(ip).or_insert_with(hit);
                    }
                }
                _ => {
                    // A name listed by several sources matches its subdomains if any says so.
                    let h = hit();
                    listed
                        .misp_domains
                        .entry(r.value.clone())
                        .and_modify(|e| e.subdomains |= h.subdomains)
                        .or_insert(h);
                }
            }
        }
    }
    Ok(listed)
}

/// The three lists' matches as one row shape: `list, value, kind, event, info, category,
/// flag` (for Tor: fingerprint as `event`, nickname as `info`, exit as `flag`).
fn statement(ips: &[String], names: &[String]) -> Option<SelectStatement> {
    let lit = |s: &str| Expr::cust(format!("'{s}'"));
    let mut parts: Vec<SelectStatement> = Vec::new();
    if !ips.is_empty() {
        parts.push(
            Query::select()
                .expr_as(lit("tor"), Alias::new("list"))
                .expr_as(Expr::col(TorRelays::Ip), Alias::new("value"))
                .expr_as(lit(""), Alias::new("kind"))
                .expr_as(Expr::col(TorRelays::Fingerprint), Alias::new("event"))
                .expr_as(Expr::col(TorRelays::Nickname), Alias::new("info"))
                .expr_as(lit(""), Alias::new("category"))
                .expr_as(Expr::col(TorRelays::IsExit), Alias::new("flag"))
                .from(TorRelays::table())
                .and_where(Expr::col(TorRelays::Ip).is_in(ips.iter().cloned()))
                .to_owned(),
        );
        parts.push(
            Query::select()
                .expr_as(lit("misp_ip"), Alias::new("list"))
                .expr_as(Expr::col(MispIps::Ip), Alias::new("value"))
                .expr_as(Expr::col(MispIps::Type), Alias::new("kind"))
                .expr_as(Expr::col(MispIps::EventId), Alias::new("event"))
                .expr_as(Expr::col(MispIps::EventInfo), Alias::new("info"))
                .expr_as(Expr::col(MispIps::Category), Alias::new("category"))
                .expr_as(Expr::cust("FALSE"), Alias::new("flag"))
                .from(MispIps::table())
                .and_where(Expr::col(MispIps::Ip).is_in(ips.iter().cloned()))
                .to_owned(),
        );
    }
    if !names.is_empty() {
        parts.push(
            Query::select()
                .expr_as(lit("misp_dns"), Alias::new("list"))
                .expr_as(Expr::col(MispDomains::Domain), Alias::new("value"))
                .expr_as(Expr::col(MispDomains::Type), Alias::new("kind"))
                .expr_as(Expr::col(MispDomains::EventId), Alias::new("event"))
                .expr_as(Expr::col(MispDomains::EventInfo), Alias::new("info"))
                .expr_as(Expr::col(MispDomains::Category), Alias::new("category"))
                .expr_as(Expr::col(MispDomains::Subdomains), Alias::new("flag"))
                .from(MispDomains::table())
                .and_where(Expr::col(MispDomains::Domain).is_in(names.iter().cloned()))
                .to_owned(),
        );
    }
    let mut parts = parts.into_iter();
    let mut q = parts.next()?;
    for p in parts {
        q.union(UnionType::All, p);
    }
    Some(q)
}
