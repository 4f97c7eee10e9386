//! Size and row-count figures from the catalog, never from `COUNT(*)`; used by `about`.
//! Each function is one named dialect branch.

use sea_query::Values;
use sea_query_binder::SqlxValues;

use super::{Backend, Db, DbResult, Raw, Tx};

#[derive(sqlx::FromRow)]
struct Num {
    n: Option<i64>,
}

async fn one_number(db: &Db, sql: &str, values: Values) -> DbResult<i64> {
    let row: Option<Num> = db.fetch_optional_sql(sql, values).await?;
    Ok(row.and_then(|r| r.n).unwrap_or(0))
}

/// Bytes used by the whole database.
pub async fn database_size_bytes(db: &Db) -> DbResult<i64> {
    let sql = match db.backend() {
        Backend::Sqlite => "SELECT p.page_count * s.page_size AS n FROM pragma_page_count() p, pragma_page_size() s",
        Backend::Postgres => "SELECT pg_database_size(current_database())::bigint AS n",
    };
    one_number(db, sql, Values(vec![])).await
}

/// Bytes used by one table with its indexes. On SQLite this walks the table's b-trees
/// (`dbstat`), so callers cache it.
pub async fn table_size_bytes(db: &Db, table: &str) -> DbResult<i64> {
    let sql = match db.backend() {
        Backend::Sqlite => {
            "SELECT CAST(COALESCE(SUM(pgsize), 0) AS INTEGER) AS n FROM dbstat('main', 1) \
             WHERE name IN (SELECT name FROM sqlite_master WHERE tbl_name = ?)"
        }
        Backend::Postgres => {
            // A partitioned table has no storage of its own: its partitions' sizes are added
            // (`pg_partition_tree` lists nothing for a plain table, which counts itself).
            "WITH t(oid) AS (SELECT to_regclass(quote_ident($1))) \
             SELECT COALESCE(SUM(pg_total_relation_size(r)), 0)::bigint AS n FROM ( \
               SELECT oid AS r FROM t \
               UNION SELECT p.relid FROM t, pg_partition_tree(t.oid) p) x"
        }
    };
    one_number(db, sql, Values(vec![table.into()])).await
}

/// An estimate of a table's rows: PostgreSQL's planner statistics when it has them, else the
/// span of the integer key (exact until rows are deleted), read from the primary-key index.
pub async fn row_estimate(db: &Db, table: &str, key: &str) -> DbResult<i64> {
    if db.backend() == Backend::Postgres {
        let stats = planner_rows(db.conn().await?.raw(), table).await?;
        if stats > 0 {
            return Ok(stats);
        }
    }
    // Identifiers come from the declared schema, never from a request.
    let sql = format!("SELECT MAX({key}) - MIN({key}) + 1 AS n FROM {table}");
    one_number(db, &sql, Values(vec![])).await
}

/// The rows PostgreSQL's planner statistics count in a table (PostgreSQL only), summed over a
/// partitioned table's partitions (`pg_partition_tree` lists nothing for a plain table, which
/// counts itself); a table never analysed counts nothing rather than -1.
async fn planner_rows(raw: Raw<'_>, table: &str) -> DbResult<i64> {
    let row: Option<Num> = raw
        .fetch_optional_sql(
            "WITH t(oid) AS (SELECT to_regclass(quote_ident($1))) \
             SELECT COALESCE(SUM(GREATEST(c.reltuples, 0)), 0)::bigint AS n FROM ( \
               SELECT oid AS r FROM t \
               UNION SELECT p.relid FROM t, pg_partition_tree(t.oid) p WHERE p.isleaf) x \
             JOIN pg_class c ON c.oid = x.r",
            SqlxValues(Values(vec![table.into()])),
        )
        .await?;
    Ok(row.and_then(|r| r.n).unwrap_or(0))
}

/// Refreshes the query planner's statistics. SQLite keeps none until asked, and without them
/// it reaches rows through any index on `tenant_id` even where that index selects everything;
/// with `analysis_limit` an `ANALYZE` samples about a thousand rows per index, so it costs
/// milliseconds at any size. PostgreSQL's autovacuum analyses tables by itself, but only once
/// it gets to them: after a bulk load (an import, a generator run) its planner went on with
/// no statistics at all and read a deep page of a million alerts in seconds. So PostgreSQL
/// analyses the tables of the current schema too (a sample of each; reads and writes go on).
pub async fn refresh_planner_statistics(db: &Db) -> DbResult<()> {
    match db.backend() {
        Backend::Sqlite => {
            let mut tx = db.begin().await?;
            tx.execute_sql("PRAGMA analysis_limit = 1000", Values(vec![]))
                .await?;
            tx.execute_sql("ANALYZE", Values(vec![])).await?;
            tx.commit().await?;
        }
        Backend::Postgres => {
            #[derive(sqlx::FromRow)]
            struct Name {
                name: String,
            }
            let tables: Vec<Name> = db
                .fetch_all_sql(
                    // Partitions are analysed with their partitioned table (which samples
                    // across them for its own statistics, then analyses each).
                    "SELECT quote_ident(c.relname)::text AS name FROM pg_class c \
                     JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') \
                     AND NOT c.relispartition",
                    Values(vec![]),
                )
                .await?;
            if !tables.is_empty() {
                let names: Vec<String> = tables.into_iter().map(|t| t.name).collect();
                db.execute_sql(&format!("ANALYZE {}", names.join(", ")), Values(vec![]))
                    .await?;
            }
        }
    }
    Ok(())
}

/// Rows a writer adds to a table before [`Growth`] refreshes its statistics, at the least.
pub const GROWTH_FLOOR: u64 = 10_000;

/// Keeps PostgreSQL's planner statistics of the tables a bulk writer grows in step with it
/// (SQLite: does nothing; its planner takes an index's equality columns whatever the
/// statistics say).
///
/// Rows a transaction inserts are invisible to autovacuum until it commits, and autovacuum
/// gets to a table a minute or more after that (never, where it is turned off), so a long
/// import or engine pass plans its statements with the statistics of the tables as they were
/// before it: none at all on a fresh database. With none, PostgreSQL's default estimates sent
/// the import's merge lookups (a few hundred grid cells and a time window) through every event
/// of the scope instead of seeking the cells, and the engine's lookups of existing threats (a
/// tenant and hundreds of event ids) through every threat of the tenant instead of the unique
/// `(tenant_id, event_id)` index: each lookup grew with the table. So a bulk writer counts the
/// rows it adds to its main table and, each time they pass what the planner last knew of it
/// (at least [`GROWTH_FLOOR`]), analyses its tables: an import inside its one transaction,
/// which samples the transaction's own rows too ([`Growth::added`]); the engine, which commits
/// as it goes, after the commit ([`Growth::committed`]). A handful of `ANALYZE`s, a sample of
/// rows each, over a load of millions.
pub struct Growth {
    /// The counted table first, then the others that grow with it.
    tables: &'static [&'static str],
    postgres: bool,
    /// Rows of the counted table the planner's statistics held when last read or refreshed.
    known: u64,
    /// Rows added since.
    added: u64,
}

impl Growth {
    /// Starts counting the rows `tx` adds to `tables[0]`; the tables are declared ones of the
    /// current schema.
    pub async fn of(tx: &mut Tx, tables: &'static [&'static str]) -> DbResult<Growth> {
        Growth::read(tx.raw(), tables).await
    }

    /// [`Growth::of`] for a writer that commits as it goes (see [`Growth::committed`]).
    pub async fn of_committed(db: &Db, tables: &'static [&'static str]) -> DbResult<Growth> {
        Growth::read(db.conn().await?.raw(), tables).await
    }

    async fn read(raw: Raw<'_>, tables: &'static [&'static str]) -> DbResult<Growth> {
        let postgres = raw.backend() == Backend::Postgres;
        let known = match tables.first() {
            Some(first) if postgres => planner_rows(raw, first).await?.max(0) as u64,
            _ => 0,
        };
        Ok(Growth {
            tables,
            postgres,
            known,
            added: 0,
        })
    }

    /// Counts `rows` more added; the `ANALYZE` statement when they pass what the statistics
    /// knew.
    fn due(&mut self, rows: u64) -> Option<String> {
        self.added += rows;
        if !self.postgres || self.tables.is_empty() || self.added < self.known.max(GROWTH_FLOOR) {
            return None;
        }
        self.known += self.added;
        self.added = 0;
        // The names are declared tables', never a request's.
        Some(format!("ANALYZE {}", self.tables.join(", ")))
    }

    /// Counts `rows` more added by `tx` to the counted table, and analyses the tables inside
    /// `tx` when they pass what the statistics knew (the transaction's own rows are sampled);
    /// true when it did.
    pub async fn added(&mut self, tx: &mut Tx, rows: u64) -> DbResult<bool> {
        let Some(sql) = self.due(rows) else {
            return Ok(false);
        };
        tx.execute_sql(&sql, Values(vec![])).await?;
        Ok(true)
    }

    /// Counts `rows` more added and committed, and analyses the tables on a connection of
    /// the pool, outside any transaction, when they pass what the statistics knew; true when
    /// it did. A writer of many transactions uses this: an `ANALYZE` inside one would hold
    /// its lock on the tables until the commit, and two such writers waiting on each other's
    /// rows and on that lock would deadlock.
    pub async fn committed(&mut self, db: &Db, rows: u64) -> DbResult<bool> {
        let Some(sql) = self.due(rows) else {
            return Ok(false);
        };
        db.execute_sql(&sql, Values(vec![])).await?;
        Ok(true)
    }
}
