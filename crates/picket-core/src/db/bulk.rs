//! Bulk loading: many rows into one table inside the caller's transaction, as multi-row
//! `INSERT … VALUES (…), (…)` statements sized under each backend's bound-parameter limit.
//! One statement carries hundreds of rows, so per-statement costs (parse, round trip, sqlx
//! bookkeeping) are paid once per chunk instead of once per row.

use sea_query::{Value, Values};

use super::schema::Table;
use super::{placeholder, Backend, DbResult, Tx};
use crate::ids::TenantId;

/// Bound parameters per statement: under SQLite's 32,766 and PostgreSQL's 65,535.
const MAX_PARAMS: usize = 30_000;
/// Rows per statement, whatever the width, so statements stay a reasonable size.
const MAX_ROWS: usize = 1_000;

fn statement(backend: Backend, table: &str, columns: &[&str], rows: usize) -> String {
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..columns.len() {
            if c > 0 {
                sql.push_str(", ");
            }
            n += 1;
            // Anonymous `?` on SQLite: numbered `?NNN` parameters make sqlx look each one up
            // by name, a linear scan per parameter, quadratic in the statement's width.
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => sql.push_str(&placeholder(backend, n)),
            }
        }
        sql.push(')');
    }
    sql
}

/// Inserts `rows` of one tenant into the tenant-owned `table` (a `table!` declaration, e.g.
/// `DnsRecords::DECLARED`): `tenant_id` is written by this function, never by the caller, so a
/// bulk load cannot put a row in another tenant. `columns` are the other columns, each of which
/// the declaration must have.
pub async fn insert_owned_rows(
    tx: &mut Tx,
    tenant: TenantId,
    table: &Table,
    columns: &[&str],
    rows: impl IntoIterator<Item = Vec<Value>>,
) -> DbResult<u64> {
    assert!(
        table.tenant_owned && table.column("tenant_id").is_some(),
        "{} is not tenant-owned",
        table.name
    );
    debug_assert!(
        columns.iter().all(|c| table.column(c).is_some()),
        "{columns:?} are not all columns of {}",
        table.name
    );
    let all: Vec<&str> = std::iter::once("tenant_id")
        .chain(columns.iter().copied())
        .collect();
    let owned = rows.into_iter().map(|row| {
        let mut r = Vec::with_capacity(row.len() + 1);
        r.push(Value::from(tenant.0));
        r.extend(row);
        r
    });
    insert_rows(tx, table.name, &all, owned).await
}

/// Inserts `rows` (each exactly `columns.len()` values, in column order) into `table`.
/// `table` and `columns` come from the declared schema, never from a request.
pub async fn insert_rows(
    tx: &mut Tx,
    table: &str,
    columns: &[&str],
    rows: impl IntoIterator<Item = Vec<Value>>,
) -> DbResult<u64> {
    let backend = tx.backend();
    let per_chunk = (MAX_PARAMS / columns.len().max(1)).clamp(1, MAX_ROWS);
    let full = statement(backend, table, columns, per_chunk);
    let mut chunk: Vec<Value> = Vec::with_capacity(per_chunk * columns.len());
    let mut in_chunk = 0;
    let mut total = 0;
    for row in rows {
        debug_assert_eq!(row.len(), columns.len(), "row width must match the columns");
        chunk.extend(row);
        in_chunk += 1;
        if in_chunk == per_chunk {
            total += tx
                .execute_sql(&full, Values(std::mem::take(&mut chunk)))
                .await?;
            in_chunk = 0;
        }
    }
    if in_chunk > 0 {
        let sql = statement(backend, table, columns, in_chunk);
        total += tx.execute_sql(&sql, Values(chunk)).await?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_number_placeholders_on_postgres_only() {
        assert_eq!(
            statement(Backend::Postgres, "t", &["a", "b"], 2),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)"
        );
        assert_eq!(
            statement(Backend::Sqlite, "t", &["a"], 3),
            "INSERT INTO t (a) VALUES (?), (?), (?)"
        );
    }
}
