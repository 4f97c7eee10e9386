//! The declaration of a [`Watched`] set of tables, the triggers that advance its write
//! generations (rendered per backend), and the pause, resume and read of them. What
//! generations are for, and their tables (`write_generations`, `write_pauses`), are described
//! with the tables.

use std::collections::HashMap;

use sea_query::Values;

use super::{placeholder, Backend, DbResult, Tx};

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

    /// The triggers (and, on PostgreSQL, their functions), dropped and made again. Writes of
    /// a tenant being deleted (cascades) are not counted: its counter goes with it.
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
                             WHEN NOT EXISTS (SELECT 1 FROM write_pauses WHERE name = '{name}') \
                             AND EXISTS (SELECT 1 FROM tenants WHERE id = {row}.tenant_id) BEGIN \
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
                         SELECT '{name}', t, 1 FROM (SELECT DISTINCT tenant_id AS t FROM {rows}) d \
                         JOIN tenants ON tenants.id = d.t ORDER BY t \
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

    /// Advances the generations of `tenants` once, in a transaction that paused them: a paused
    /// writer's rows do not count one by one, but others who hold what it wrote must still
    /// learn that it wrote (two engine passes, an evaluation and a scan, each hold their own).
    pub async fn advance(&self, tx: &mut Tx, tenants: &[i64]) -> DbResult<()> {
        if tenants.is_empty() {
            return Ok(());
        }
        let backend = tx.backend();
        let rows: Vec<String> = (0..tenants.len())
            .map(|i| format!("({}, '{}', 1)", placeholder(backend, i + 1), self.name))
            .collect();
        let sql = format!(
            "INSERT INTO write_generations (tenant_id, name, gen) VALUES {} \
             ON CONFLICT (name, tenant_id) DO UPDATE SET gen = write_generations.gen + 1",
            rows.join(", ")
        );
        let values = tenants.iter().map(|t| (*t).into()).collect();
        tx.execute_sql(&sql, Values(values)).await.map(|_| ())
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
