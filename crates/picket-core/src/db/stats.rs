//! Size and row-count figures from the catalog, never from `COUNT(*)`; used by `about`.
//! Each function is one named dialect branch.

use sea_query::Values;

use super::{Backend, Db, DbResult};

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
        let stats = one_number(
            db,
            // Summed over a partitioned table's partitions (`pg_partition_tree` lists nothing
            // for a plain table, which counts itself); a table never analysed counts nothing
            // rather than -1.
            "WITH t(oid) AS (SELECT to_regclass(quote_ident($1))) \
             SELECT COALESCE(SUM(GREATEST(c.reltuples, 0)), 0)::bigint AS n FROM ( \
               SELECT oid AS r FROM t \
               UNION SELECT p.relid FROM t, pg_partition_tree(t.oid) p WHERE p.isleaf) x \
             JOIN pg_class c ON c.oid = x.r",
            Values(vec![table.into()]),
        )
        .await?;
        if stats > 0 {
            return Ok(stats);
        }
    }
    // Identifiers come from the declared schema, never from a request.
    let sql = format!("SELECT MAX({key}) - MIN({key}) + 1 AS n FROM {table}");
    one_number(db, &sql, Values(vec![])).await
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
