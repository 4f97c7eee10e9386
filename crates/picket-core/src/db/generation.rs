//! Write generations: a counter per (name, tenant) that triggers advance whenever a row of a
//! tenant in one of the name's watched tables is written, by anyone but a writer that paused
//! them in its own transaction.
//!
//! A process that keeps rows of those tables in memory across its own transactions (the threat
//! engine keeps the threats, assets and incident links around what it writes for a whole
//! pass) pauses the counters while it writes, so that its own writes, which it applies to its
//! memory, do not count; at the start of its next transaction, a tenant whose generation moved
//! was written by somebody else in between, and what is held of it is dropped.
//!
//! The pause is a row of `write_pauses` that the writer inserts and deletes inside one
//! transaction, so it is never committed: other writers never see it (PostgreSQL shows
//! uncommitted rows to their own transaction only; SQLite has one writer at a time), and a
//! transaction that fails leaves nothing paused.
//!
//! SQLite has row triggers only: one lookup of the pause per row written, and one upsert per
//! row by writers that do not pause. PostgreSQL runs one statement trigger per statement, which
//! upserts the distinct tenants of the statement's rows; the counter rows then stay locked until
//! that transaction ends, which orders other writers of one tenant's watched rows behind it.

use std::collections::HashMap;

use sea_query::Values;

use super::{placeholder, Backend, DbResult, Tx};

crate::table! {
    /// How often each tenant's rows of a [`Watched`] set were written by writers that did not
    /// pause it. Bookkeeping, not tenant data: no reference to `tenants`, whose deletion
    /// writes the watched rows (cascades) and so advances the counter of a tenant being deleted.
    pub enum WriteGenerations in "write_generations" {
        Id: Serial,
        Name: Text,
        TenantId: BigInt,
        Gen: BigInt .default("0"),
    }
    indexes {
        unique write_generations_key (Name, TenantId),
    }
}

crate::table! {
    /// Names whose counters the current transaction paused (never committed: see the module).
    pub enum WritePauses in "write_pauses" {
        Name: Text .primary_key(),
    }
}

pub const TABLES: &[super::schema::Table] = &[WriteGenerations::DECLARED, WritePauses::DECLARED];

/// A set of tables whose writes advance the generations of `name`. Every table has a
/// `tenant_id` column.
#[derive(Debug, Clone, Copy)]
pub struct Watched {
    pub name: &'static str,
    pub tables: &'static [&'static str],
}

#[derive(sqlx::FromRow)]
struct GenRow {
    tenant_id: i64,
    gen: i64,
}

impl Watched {
    /// A trigger or function name for `table` and `what`.
    fn ident(&self, table: &str, what: &str) -> String {
        format!("{}_gen_{table}_{what}", self.name.replace('.', "_"))
    }

    /// The triggers (and, on PostgreSQL, their functions), dropped and made again.
    pub fn trigger_ddl(&self, backend: Backend) -> String {
        let name = self.name;
        let mut out = String::new();
        match backend {
            Backend::Sqlite => {
                for table in self.tables {
                    for (op, row) in [("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")] {
                        let t = self.ident(table, &op.to_lowercase());
                        out.push_str(&format!(
                            "DROP TRIGGER IF EXISTS {t};\n\
                             CREATE TRIGGER {t} AFTER {op} ON {table} \
                             WHEN NOT EXISTS (SELECT 1 FROM write_pauses WHERE name = '{name}') BEGIN \
                             INSERT INTO write_generations (name, tenant_id, gen) \
                             VALUES ('{name}', {row}.tenant_id, 1) \
                             ON CONFLICT (name, tenant_id) DO UPDATE SET gen = gen + 1; END;\n"
                        ));
                    }
                }
            }
            Backend::Postgres => {
                // One function per transition table name; a statement trigger with a
                // transition table takes one event only.
                for rows in ["picket_gen_new", "picket_gen_old"] {
                    let f = format!("{}_{rows}", self.name.replace('.', "_"));
                    out.push_str(&format!(
                        "CREATE OR REPLACE FUNCTION {f}() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN \
                         IF NOT EXISTS (SELECT 1 FROM write_pauses WHERE name = '{name}') THEN \
                         INSERT INTO write_generations (name, tenant_id, gen) \
                         SELECT '{name}', t, 1 FROM (SELECT DISTINCT tenant_id AS t FROM {rows}) d ORDER BY t \
                         ON CONFLICT (name, tenant_id) DO UPDATE SET gen = write_generations.gen + 1; \
                         END IF; RETURN NULL; END $f$;\n"
                    ));
                }
                for table in self.tables {
                    for (op, kind, rows) in [
                        ("INSERT", "NEW", "picket_gen_new"),
                        ("UPDATE", "NEW", "picket_gen_new"),
                        ("DELETE", "OLD", "picket_gen_old"),
                    ] {
                        let t = self.ident(table, &op.to_lowercase());
                        let f = format!("{}_{rows}", self.name.replace('.', "_"));
                        out.push_str(&format!(
                            "DROP TRIGGER IF EXISTS {t} ON {table};\n\
                             CREATE TRIGGER {t} AFTER {op} ON {table} REFERENCING {kind} TABLE AS {rows} \
                             FOR EACH STATEMENT EXECUTE FUNCTION {f}();\n"
                        ));
                    }
                }
            }
        }
        out
    }

    /// Pauses the counters for the rest of `tx`: its writes to the watched tables do not
    /// count. Undone by [`Watched::resume`] before commit, or by the rollback.
    pub async fn pause(&self, tx: &mut Tx) -> DbResult<()> {
        let sql = format!(
            "INSERT INTO write_pauses (name) VALUES ({})",
            placeholder(tx.backend(), 1)
        );
        tx.execute_sql(&sql, Values(vec![self.name.into()]))
            .await
            .map(|_| ())
    }

    /// Ends a [`Watched::pause`] in the same transaction.
    pub async fn resume(&self, tx: &mut Tx) -> DbResult<()> {
        let sql = format!(
            "DELETE FROM write_pauses WHERE name = {}",
            placeholder(tx.backend(), 1)
        );
        tx.execute_sql(&sql, Values(vec![self.name.into()]))
            .await
            .map(|_| ())
    }

    /// Every tenant's generation (tenants never written by others since the table was made
    /// have none: read them as 0).
    pub async fn generations(&self, tx: &mut Tx) -> DbResult<HashMap<i64, i64>> {
        let sql = format!(
            "SELECT tenant_id, gen FROM write_generations WHERE name = {}",
            placeholder(tx.backend(), 1)
        );
        let rows: Vec<GenRow> = tx
            .fetch_all_sql(&sql, Values(vec![self.name.into()]))
            .await?;
        Ok(rows.into_iter().map(|r| (r.tenant_id, r.gen)).collect())
    }
}
