//! Reading the live catalog and comparing it with the declared [`Schema`] (`schema_health`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use utoipa::ToSchema;

use super::schema::Schema;
use super::{Backend, Db, DbResult, Raw};

#[derive(Debug, sqlx::FromRow)]
struct IndexColumnRow {
    tbl: String,
    idx: String,
    col: String,
    uniq: bool,
}

#[derive(Debug, sqlx::FromRow)]
struct ColumnRow {
    tbl: String,
    col: String,
}

/// One index as the database has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveIndex {
    pub table: String,
    pub columns: Vec<String>,
    pub unique: bool,
}

const SQLITE_INDEXES: &str = "SELECT m.tbl_name AS tbl, m.name AS idx, ii.name AS col, \
     (m.sql LIKE 'CREATE UNIQUE%') AS uniq \
     FROM sqlite_master m, pragma_index_info(m.name) ii \
     WHERE m.type = 'index' AND m.sql IS NOT NULL ORDER BY m.name, ii.seqno";

const PG_INDEXES: &str =
    "SELECT t.relname::text AS tbl, i.relname::text AS idx, a.attname::text AS col, \
     ix.indisunique AS uniq \
     FROM pg_index ix \
     JOIN pg_class i ON i.oid = ix.indexrelid \
     JOIN pg_class t ON t.oid = ix.indrelid \
     JOIN pg_namespace n ON n.oid = t.relnamespace \
     CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord) \
     JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
     WHERE n.nspname = current_schema() AND NOT ix.indisprimary AND NOT t.relispartition \
     ORDER BY i.relname, k.ord";

const SQLITE_COLUMNS: &str = "SELECT m.name AS tbl, p.name AS col \
     FROM sqlite_master m, pragma_table_info(m.name) p \
     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'";

const PG_COLUMNS: &str = "SELECT table_name::text AS tbl, column_name::text AS col \
     FROM information_schema.columns WHERE table_schema = current_schema() \
     ORDER BY table_name, ordinal_position";

#[derive(Debug, sqlx::FromRow)]
struct NameRow {
    name: String,
}

/// What text indexes ([`super::text`]) are made of: FTS5 tables, key tables and triggers on SQLite;
/// indexes on PostgreSQL, plus the marker `pg_trgm` when that extension is installed.
const SQLITE_TEXT_OBJECTS: &str =
    "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')";
// Partitions' own indexes (one per declared index and partition) are left out: the declared
// ones are the partitioned table's, and reading hundreds of partition indexes made `about`,
// which reports the schema's health, several times slower on PostgreSQL.
const PG_TEXT_OBJECTS: &str = "SELECT i.relname::text AS name FROM pg_index ix \
     JOIN pg_class i ON i.oid = ix.indexrelid \
     JOIN pg_class t ON t.oid = ix.indrelid \
     JOIN pg_namespace n ON n.oid = t.relnamespace \
     WHERE n.nspname = current_schema() AND NOT t.relispartition \
     UNION ALL SELECT extname::text FROM pg_extension WHERE extname = 'pg_trgm'";

fn pick(backend: Backend, sqlite: &'static str, pg: &'static str) -> &'static str {
    match backend {
        Backend::Sqlite => sqlite,
        Backend::Postgres => pg,
    }
}

/// Live indexes by name (primary keys and SQLite's automatic indexes left out).
pub(crate) async fn live_indexes(raw: Raw<'_>) -> DbResult<BTreeMap<String, LiveIndex>> {
    let sql = pick(raw.backend(), SQLITE_INDEXES, PG_INDEXES);
    let rows: Vec<IndexColumnRow> = raw
        .fetch_all_sql(sql, sea_query_binder::SqlxValues(sea_query::Values(vec![])))
        .await?;
    let mut out: BTreeMap<String, LiveIndex> = BTreeMap::new();
    for r in rows {
        out.entry(r.idx)
            .or_insert_with(|| LiveIndex {
                table: r.tbl,
                columns: Vec::new(),
                unique: r.uniq,
            })
            .columns
            .push(r.col);
    }
    Ok(out)
}

async fn live_text_objects(raw: Raw<'_>) -> DbResult<BTreeSet<String>> {
    let sql = pick(raw.backend(), SQLITE_TEXT_OBJECTS, PG_TEXT_OBJECTS);
    let rows: Vec<NameRow> = raw
        .fetch_all_sql(sql, sea_query_binder::SqlxValues(sea_query::Values(vec![])))
        .await?;
    Ok(rows.into_iter().map(|r| r.name).collect())
}

/// The parts of `t`'s text indexes the database should have. On PostgreSQL without pg_trgm
/// there are none: such a database works without them (documented), so they are not missing.
fn expected_text_objects(
    t: &super::schema::Table,
    backend: Backend,
    live: &BTreeSet<String>,
) -> Vec<String> {
    t.text_indexes
        .iter()
        .flat_map(|x| match backend {
            Backend::Sqlite => {
                let mut v = x.sqlite_table_names();
                v.push(x.sqlite_vocab_name());
                v.extend(x.sqlite_trigger_names());
                v
            }
            Backend::Postgres if live.contains("pg_trgm") => x.pg_index_names(),
            Backend::Postgres => vec![],
        })
        .collect()
}

/// Live tables and their columns.
pub(crate) async fn live_columns(raw: Raw<'_>) -> DbResult<HashMap<String, Vec<String>>> {
    let sql = pick(raw.backend(), SQLITE_COLUMNS, PG_COLUMNS);
    let rows: Vec<ColumnRow> = raw
        .fetch_all_sql(sql, sea_query_binder::SqlxValues(sea_query::Values(vec![])))
        .await?;
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for r in rows {
        out.entry(r.tbl).or_default().push(r.col);
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct SchemaHealth {
    pub is_healthy: bool,
    pub tables: Vec<TableHealth>,
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct TableHealth {
    pub name: String,
    /// Declared indexes the database lacks (all of them when the table itself is missing).
    pub missing_indexes: Vec<String>,
    /// Indexes on the table that the declaration does not name.
    pub extra_indexes: Vec<String>,
    /// Declared indexes present under their name but over other columns (or uniqueness),
    /// as `name: expected (a, b), found (a)`.
    pub wrong_index_cols: Vec<String>,
    pub is_healthy: bool,
}

/// Compares the declaration with the live catalog.
pub async fn schema_health(db: &Db, schema: &Schema) -> DbResult<SchemaHealth> {
    let mut conn = db.conn().await?;
    let live = live_indexes(conn.raw()).await?;
    let backend = conn.raw().backend();
    let text = live_text_objects(conn.raw()).await?;
    let mut health = compare(schema, &live);
    for (h, t) in health.tables.iter_mut().zip(schema.tables()) {
        for name in expected_text_objects(t, backend, &text) {
            if !text.contains(&name) {
                h.missing_indexes.push(name);
                h.is_healthy = false;
            }
        }
    }
    health.is_healthy = health.tables.iter().all(|t| t.is_healthy);
    Ok(health)
}

fn compare(schema: &Schema, live: &BTreeMap<String, LiveIndex>) -> SchemaHealth {
    let mut tables = Vec::new();
    for t in schema.tables() {
        let mut h = TableHealth {
            name: t.name.to_string(),
            missing_indexes: vec![],
            extra_indexes: vec![],
            wrong_index_cols: vec![],
            is_healthy: true,
        };
        for decl in t.indexes {
            match live.get(decl.name) {
                None => h.missing_indexes.push(decl.name.to_string()),
                Some(l) => {
                    let same_cols = l.table == t.name
                        && l.columns
                            .iter()
                            .map(String::as_str)
                            .eq(decl.columns.iter().copied());
                    if !same_cols || l.unique != decl.unique {
                        h.wrong_index_cols.push(format!(
                            "{}: expected {}({}), found {}({}) on {}",
                            decl.name,
                            if decl.unique { "unique " } else { "" },
                            decl.columns.join(", "),
                            if l.unique { "unique " } else { "" },
                            l.columns.join(", "),
                            l.table
                        ));
                    }
                }
            }
        }
        for (name, l) in live {
            if l.table == t.name && !t.indexes.iter().any(|d| d.name == name) {
                h.extra_indexes.push(name.clone());
            }
        }
        h.is_healthy = h.missing_indexes.is_empty()
            && h.extra_indexes.is_empty()
            && h.wrong_index_cols.is_empty();
        tables.push(h);
    }
    SchemaHealth {
        is_healthy: tables.iter().all(|t| t.is_healthy),
        tables,
    }
}

#[cfg(test)]
mod tests {
    use super::super::schema::{ColType, Column, Index, Table};
    use super::*;

    const T: Table = Table {
        name: "t",
        tenant_owned: false,
        columns: &[
            Column::serial("id"),
            Column::new("a", ColType::Text),
            Column::new("b", ColType::Text),
        ],
        indexes: &[
            Index::new("t_a", &["a"]),
            Index::unique("t_ab", &["a", "b"]),
        ],
        text_indexes: &[],
    };

    fn live(entries: &[(&str, &[&str], bool)]) -> BTreeMap<String, LiveIndex> {
        entries
            .iter()
            .map(|(n, cols, u)| {
                (
                    n.to_string(),
                    LiveIndex {
                        table: "t".into(),
                        columns: cols.iter().map(|c| c.to_string()).collect(),
                        unique: *u,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn healthy_when_equal() {
        let h = compare(
            &Schema::new(&[&[T]]),
            &live(&[("t_a", &["a"], false), ("t_ab", &["a", "b"], true)]),
        );
        assert!(h.is_healthy);
    }

    #[test]
    fn reports_missing_extra_and_wrong() {
        let h = compare(
            &Schema::new(&[&[T]]),
            &live(&[("t_ab", &["b", "a"], true), ("t_zzz", &["b"], false)]),
        );
        assert!(!h.is_healthy);
        let t = &h.tables[0];
        assert_eq!(t.missing_indexes, vec!["t_a"]);
        assert_eq!(t.extra_indexes, vec!["t_zzz"]);
        assert_eq!(t.wrong_index_cols.len(), 1);
        assert!(
            t.wrong_index_cols[0].starts_with("t_ab: expected unique (a, b), found unique (b, a)")
        );
    }
}
