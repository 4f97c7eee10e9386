//! Every listed key in memory, so that a batch whose traffic meets no list asks the database
//! nothing but the lists' generations.
//!
//! Most traffic meets no list, and an `IN (…)` over a batch's thousand addresses costs
//! milliseconds per batch on either database. So each server process keeps the keys of every
//! list, compact (addresses as 128-bit numbers, names as 64-bit hashes, sorted), and checks a
//! batch's keys against them; only the keys found (a hash collision is harmless: the lookup
//! confirms) go to [`store::lookup`] for their details. A batch first reads the three lists'
//! generations (one tiny statement); when another process has imported since, the keys are
//! reloaded, in pages, before the batch goes on. Memory: 16 bytes per listed address and 8
//! per listed name (a million MISP indicators, 16 MB).

use std::net::IpAddr;
use std::sync::Arc;

use picket_core::db::{DbResult, Tx};
use sea_query::{Alias, Expr, Order, Query};
use tokio::sync::Mutex;

use super::store::{self, Listed, MispDomains, MispIps, TorRelays};

/// Rows read per statement while loading.
const PAGE: u64 = 50_000;

/// The keys of every list at one set of generations.
#[derive(Debug, Default)]
pub struct Keys {
    generations: Vec<(String, i64)>,
    ips: Vec<u128>,
    names: Vec<u64>,
}

impl Keys {
    fn has_ip(&self, ip: IpAddr) -> bool {
        self.ips.binary_search(&ip_key(ip)).is_ok()
    }

    fn has_name(&self, name: &str) -> bool {
        self.names.binary_search(&name_key(name)).is_ok()
    }
}

fn ip_key(ip: IpAddr) -> u128 {
    match ip.to_canonical() {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// FNV-1a: fixed across processes and runs, fast on short names.
fn name_key(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The process's copy of the keys, reloaded when the lists' generations move.
#[derive(Debug, Default, Clone)]
pub struct KeyCache(Arc<Mutex<Arc<Keys>>>);

#[derive(sqlx::FromRow)]
struct Text {
    id: i64,
    v: String,
}

/// One list's column of keys, in pages by id.
async fn column(
    tx: &mut Tx,
    table: sea_query::DynIden,
    col: &'static str,
    out: &mut Vec<String>,
) -> DbResult<()> {
    let mut after = 0i64;
    loop {
        let q = Query::select()
            .column(Alias::new("id"))
            .expr_as(Expr::col(Alias::new(col)), Alias::new("v"))
            .from(table.clone())
            .and_where(Expr::col(Alias::new("id")).gt(after))
            .order_by(Alias::new("id"), Order::Asc)
            .limit(PAGE)
            .to_owned();
        let rows: Vec<Text> = tx.fetch_all(&q).await?;
        let n = rows.len() as u64;
        if let Some(last) = rows.last() {
            after = last.id;
        }
        out.extend(rows.into_iter().map(|r| r.v));
        if n < PAGE {
            return Ok(());
        }
    }
}

impl KeyCache {
    /// The keys as of the generations stored now, reloaded if they moved.
    async fn current(&self, tx: &mut Tx) -> DbResult<Arc<Keys>> {
        let generations = store::generations(tx).await?;
        let mut held = self.0.lock().await;
        if held.generations == generations {
            return Ok(held.clone());
        }
        let mut ips = Vec::new();
        let mut text = Vec::new();
        use sea_query::IntoIden;
        column(tx, TorRelays::table().into_iden(), "ip", &mut text).await?;
        column(tx, MispIps::table().into_iden(), "ip", &mut text).await?;
        ips.extend(
            text.drain(..)
                .filter_map(|t| t.parse::<IpAddr>().ok())
                .map(ip_key),
        );
        column(tx, MispDomains::table().into_iden(), "domain", &mut text).await?;
        let mut names: Vec<u64> = text.iter().map(|n| name_key(n)).collect();
        ips.sort_unstable();
        ips.dedup();
        names.sort_unstable();
        names.dedup();
        tracing::debug!(
            addresses = ips.len(),
            names = names.len(),
            "intel keys loaded"
        );
        *held = Arc::new(Keys {
            generations,
            ips,
            names,
        });
        Ok(held.clone())
    }

    /// Which of `ips` and `names` the lists hold, with their details: the keys checked in
    /// memory, and one lookup for those found (none when nothing is).
    pub async fn lookup(&self, tx: &mut Tx, ips: &[IpAddr], names: &[String]) -> DbResult<Listed> {
        let keys = self.current(tx).await?;
        let ips: Vec<IpAddr> = ips.iter().copied().filter(|ip| keys.has_ip(*ip)).collect();
        let names: Vec<String> = names.iter().filter(|n| keys.has_name(n)).cloned().collect();
        if ips.is_empty() && names.is_empty() {
            return Ok(Listed::default());
        }
        store::lookup(tx, &ips, &names).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_what_was_loaded_only() {
        let mut ips: Vec<u128> = ["198.51.100.7", "::ffff:203.0.113.9", "2001:db8::1"]
            .iter()
            .map(|s| ip_key(s.parse().unwrap()))
            .collect();
        ips.sort_unstable();
        let mut names: Vec<u64> = ["evil.test", "c2.bad.test"]
            .iter()
            .map(|n| name_key(n))
            .collect();
        names.sort_unstable();
        let k = Keys {
            generations: vec![],
            ips,
            names,
        };
        assert!(k.has_ip("198.51.100.7".parse().unwrap()));
        assert!(
            k.has_ip("203.0.113.9".parse().unwrap()),
            "IPv4-mapped is IPv4"
        );
        assert!(k.has_ip("::ffff:198.51.100.7".parse().unwrap()));
        assert!(!k.has_ip("198.51.100.8".parse().unwrap()));
        assert!(k.has_name("evil.test"));
        assert!(!k.has_name("www.evil.test"));
        assert_eq!(name_key("evil.test"), name_key("evil.test"));
    }
}
