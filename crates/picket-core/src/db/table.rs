//! One declaration per table, and one way into a tenant-owned table.
//!
//! [`table!`](crate::table) declares a table's columns and indexes once. From that single
//! declaration it derives the column enum statements are built with (a `sea_query::Iden` whose
//! variants render as snake_case column names), the schema declaration that migrations and
//! `schema_health` read ([`Table`]), and how statements reach the table:
//!
//! - A **tenant-owned** table (declared `tenant_owned`) gets no table identifier at all. Its
//!   statements start from [`TenantTable::select`], [`TenantTable::update`],
//!   [`TenantTable::delete`] or [`TenantTable::insert`], each of which takes the tenant and
//!   carries `tenant_id = ?` (or writes it) from the start, so a store cannot forget it.
//!   A table chosen at run time (one of several datasets handled alike) is reached the same way
//!   through [`OwnedTable`], and a bulk load through `bulk::insert_owned_rows`.
//!   [`TenantTable::across_tenants`] is the one named way around that, for the few callers that
//!   really work on every tenant (the operator CLI, key and token lookup at authentication, the
//!   engine's asset index and batch writes, expiry, the scan job); each call says why in a
//!   comment, and `tests/api/scoping.rs` in the binary crate fails on a statement that names a
//!   tenant-owned table any other way.
//! - A **global** table (the event corpus, tenants, jobs, feed state) gets `Name::table()`.

use sea_query::{
    ColumnRef, Condition, DeleteStatement, Expr, Iden, InsertStatement, IntoIden, JoinType, Query,
    SelectStatement, SimpleExpr, UpdateStatement,
};

use super::schema::Table;
use crate::ids::TenantId;

#[doc(hidden)]
pub use paste::paste as __paste;
#[doc(hidden)]
pub use sea_query as __sea_query;

/// A table's name as a query identifier. Only [`table!`](crate::table) and
/// [`TenantTable::across_tenants`] hand one out.
#[derive(Debug, Clone, Copy)]
pub struct TableName(&'static str);

impl TableName {
    #[doc(hidden)]
    pub const fn __declared(name: &'static str) -> TableName {
        TableName(name)
    }

    /// The name, for hand-written SQL and bulk loads.
    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl Iden for TableName {
    fn unquoted(&self, s: &mut dyn std::fmt::Write) {
        s.write_str(self.0).unwrap();
    }
}

/// A table whose rows belong to a tenant: statements on it can only be started with the tenant.
pub trait TenantTable: Iden + Copy + 'static {
    /// The declaration: name, columns, indexes.
    const TABLE: Table;
    /// The column that holds the owning tenant.
    const TENANT: Self;

    /// `table.column`, for conditions in joins and subqueries (naming a column reaches no rows).
    fn col(column: Self) -> ColumnRef {
        ColumnRef::TableColumn(TableName(Self::TABLE.name).into_iden(), column.into_iden())
    }

    /// `table.tenant_id = tenant`.
    fn owned_by(tenant: TenantId) -> SimpleExpr {
        Expr::col(Self::col(Self::TENANT)).eq(tenant.0)
    }

    /// `SELECT … FROM table WHERE table.tenant_id = tenant`; add columns and conditions.
    fn select(tenant: TenantId) -> SelectStatement {
        Query::select()
            .from(TableName(Self::TABLE.name))
            .and_where(Self::owned_by(tenant))
            .to_owned()
    }

    /// `SELECT … FROM table WHERE table.tenant_id + 0 = tenant`, for statements that reach their
    /// rows by a key more selective than the tenant (a list of ids) through an index that
    /// does not start with `tenant_id`. SQLite without planner statistics (a new database,
    /// until the hourly `db.statistics` job analyses it) takes an equality on the first
    /// column of any index as selective, and read the tenant's rows through a `tenant_id`
    /// index, testing each against the ids: a cost that grew with the tenant's rows (the
    /// engine's affected-asset reads, a quarter of its statement time at 100,000 assets).
    /// An expression on the column (`+ 0`) keeps the condition out of the index choice on both
    /// databases; it still filters every row.
    fn select_by_key(tenant: TenantId) -> SelectStatement {
        Query::select()
            .from(TableName(Self::TABLE.name))
            .and_where(Expr::col(Self::col(Self::TENANT)).add(0).eq(tenant.0))
            .to_owned()
    }

    /// `UPDATE table … WHERE table.tenant_id = tenant`; add values and conditions.
    fn update(tenant: TenantId) -> UpdateStatement {
        Query::update()
            .table(TableName(Self::TABLE.name))
            .and_where(Self::owned_by(tenant))
            .to_owned()
    }

    /// `DELETE FROM table WHERE table.tenant_id = tenant`; add conditions.
    fn delete(tenant: TenantId) -> DeleteStatement {
        Query::delete()
            .from_table(TableName(Self::TABLE.name))
            .and_where(Self::owned_by(tenant))
            .to_owned()
    }

    /// `INSERT INTO table (tenant_id, …) VALUES (tenant, …)`: one row of `values`.
    fn insert(tenant: TenantId, values: Vec<(Self, SimpleExpr)>) -> InsertStatement {
        let (mut columns, mut row): (Vec<Self>, Vec<SimpleExpr>) = values.into_iter().unzip();
        columns.insert(0, Self::TENANT);
        row.insert(0, tenant.0.into());
        Query::insert()
            .into_table(TableName(Self::TABLE.name))
            .columns(columns)
            .values_panic(row)
            .to_owned()
    }

    /// A multi-row insert of the tenant's `rows`, each the same columns in the same order
    /// (the first row names them). `None` when there are no rows.
    fn insert_rows(
        tenant: TenantId,
        rows: impl IntoIterator<Item = Vec<(Self, SimpleExpr)>>,
    ) -> Option<InsertStatement> {
        let mut rows = rows.into_iter();
        let mut q = Self::insert(tenant, rows.next()?);
        for row in rows {
            let mut values: Vec<SimpleExpr> = vec![tenant.0.into()];
            values.extend(row.into_iter().map(|(_, v)| v));
            q.values_panic(values);
        }
        Some(q)
    }

    /// Joins this table into `stmt` on `on`, restricted to the tenant's rows.
    fn join(stmt: &mut SelectStatement, kind: JoinType, tenant: TenantId, on: Condition) {
        stmt.join(
            kind,
            TableName(Self::TABLE.name),
            on.add(Self::owned_by(tenant)),
        );
    }

    /// The table without the tenant predicate. For work that spans every tenant by nature
    /// (operator CLI, key lookup, the engine's asset index, retention, the generator): each
    /// caller says in a comment why it may see every tenant's rows.
    fn across_tenants() -> TableName {
        TableName(Self::TABLE.name)
    }
}

/// A tenant-owned table chosen at run time (one of several datasets handled alike), with the
/// same one way in as [`TenantTable`]: every statement starts with the tenant.
#[derive(Debug, Clone, Copy)]
pub struct OwnedTable(&'static Table);

impl OwnedTable {
    /// The table of a `table!` declaration; panics on a table without `tenant_id` (a wiring
    /// mistake any test catches).
    pub fn new(table: &'static Table) -> OwnedTable {
        assert!(
            table.tenant_owned && table.column("tenant_id").is_some(),
            "{} is not tenant-owned",
            table.name
        );
        OwnedTable(table)
    }

    /// `table.column`; `column` must be declared.
    pub fn col(&self, column: &str) -> ColumnRef {
        debug_assert!(self.0.column(column).is_some(), "{}.{column}", self.0.name);
        ColumnRef::TableColumn(
            TableName(self.0.name).into_iden(),
            sea_query::Alias::new(column).into_iden(),
        )
    }

    pub fn owned_by(&self, tenant: TenantId) -> SimpleExpr {
        Expr::col(self.col("tenant_id")).eq(tenant.0)
    }

    pub fn select(&self, tenant: TenantId) -> SelectStatement {
        Query::select()
            .from(TableName(self.0.name))
            .and_where(self.owned_by(tenant))
            .to_owned()
    }

    pub fn delete(&self, tenant: TenantId) -> DeleteStatement {
        Query::delete()
            .from_table(TableName(self.0.name))
            .and_where(self.owned_by(tenant))
            .to_owned()
    }
}

/// Declares a table once. Column names are the snake_case of the variants; each column is
/// `Variant: ColType` followed by any of the [`Column`](super::schema::Column) builder calls.
///
/// ```ignore
/// picket_core::table! {
///     /// Networks of a tenant.
///     pub enum Networks in "networks", tenant_owned {
///         Id: Serial,
///         TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
///         Name: Text,
///         Alert: BigInt .default("0"),
///     }
///     indexes {
///         unique networks_tenant_name (TenantId, Name),
///         index networks_tenant_alert (TenantId, Alert),
///     }
///     text_indexes {
///         networks_text { name: "{t}name" },
///     }
/// }
/// ```
///
/// A text index ([`TextIndex`](super::text::TextIndex)) assumes an integer `id`; a table keyed
/// by text declares it `name (key Text) { … }` (the migration checks which it is).
#[macro_export]
macro_rules! table {
    (@index index $name:expr, $cols:expr) => { $crate::db::schema::Index::new($name, $cols) };
    (@index unique $name:expr, $cols:expr) => { $crate::db::schema::Index::unique($name, $cols) };
    (@text_key) => { $crate::db::text::TextKey::Integer };
    (@text_key $key:ident) => { $crate::db::text::TextKey::$key };
    (@owned tenant_owned) => { true };
    (@owned) => { false };
    (@access $name:ident tenant_owned) => {
        impl $crate::db::table::TenantTable for $name {
            const TABLE: $crate::db::schema::Table = $name::DECLARED;
            const TENANT: $name = $name::TenantId;
        }
    };
    (@access $name:ident) => {
        impl $name {
            /// The table, for statements on this global (not tenant-owned) table.
            #[allow(dead_code)]
            pub fn table() -> $crate::db::table::TableName {
                $crate::db::table::TableName::__declared($name::DECLARED.name)
            }
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident in $table:literal $(, $owned:ident)? {
            $( $(#[$cmeta:meta])* $col:ident : $ty:ident $( . $method:ident ( $($arg:expr),* ) )* ),+ $(,)?
        }
        $( indexes {
            $( $(#[$imeta:meta])* $kind:ident $index:ident ( $($icol:ident),+ ) ),* $(,)?
        } )?
        $( text_indexes {
            $( $(#[$tmeta:meta])* $tindex:ident $( (key $tkey:ident) )?
                { $( $tcol:ident : $texpr:literal ),+ $(,)? } ),* $(,)?
        } )?
    ) => {
        $crate::db::table::__paste! {
            $(#[$meta])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq)]
            // A declaration lists every column, whether or not this build reads it.
            #[allow(dead_code)]
            $vis enum $name {
                $( $(#[$cmeta])* $col, )+
            }

            impl $crate::db::table::__sea_query::Iden for $name {
                fn unquoted(&self, s: &mut dyn ::std::fmt::Write) {
                    s.write_str(match self {
                        $( $name::$col => stringify!([<$col:snake>]), )+
                    })
                    .unwrap();
                }
            }

            impl $name {
                /// The declaration of this table, for the schema.
                #[allow(dead_code)]
                pub const DECLARED: $crate::db::schema::Table = $crate::db::schema::Table {
                    name: $table,
                    tenant_owned: $crate::table!(@owned $($owned)?),
                    columns: &[
                        $( $crate::db::schema::Column::new(
                            stringify!([<$col:snake>]),
                            $crate::db::schema::ColType::$ty,
                        ) $( . $method ( $($arg),* ) )* , )+
                    ],
                    indexes: &[ $( $(
                        $crate::table!(@index $kind stringify!($index), &[ $( stringify!([<$icol:snake>]) ),+ ]),
                    )* )? ],
                    text_indexes: &[ $( $(
                        $crate::db::schema::TextIndex {
                            name: stringify!($tindex),
                            key: $crate::table!(@text_key $($tkey)?),
                            columns: &[ $( $crate::db::schema::TextColumn {
                                name: stringify!($tcol),
                                expr: $texpr,
                            }, )+ ],
                        },
                    )* )? ],
                };
            }

            $crate::table!(@access $name $($owned)?);
        }
    };
}

#[cfg(test)]
mod tests {
    use sea_query::{Expr, SqliteQueryBuilder};

    use super::TenantTable;
    use crate::db::schema::OnDelete;
    use crate::ids::TenantId;

    crate::table! {
        /// A test table.
        pub enum Things in "things", tenant_owned {
            Id: Serial,
            TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
            GatewayIp: Text .default("''"),
            FlowId: BigInt .nullable(),
        }
        indexes {
            unique things_tenant_ip (TenantId, GatewayIp),
            index things_flow (FlowId),
        }
    }

    crate::table! {
        pub enum Globals in "globals" {
            Id: Serial,
            Label: Text,
        }
    }

    #[test]
    fn one_declaration_gives_columns_schema_and_indexes() {
        let t = Things::DECLARED;
        assert_eq!(t.name, "things");
        let names: Vec<_> = t.columns.iter().map(|c| c.name).collect();
        assert_eq!(names, ["id", "tenant_id", "gateway_ip", "flow_id"]);
        assert!(t.columns[3].nullable);
        assert_eq!(t.columns[2].default, Some("''"));
        assert_eq!(t.indexes[0].columns, ["tenant_id", "gateway_ip"]);
        assert!(t.indexes[0].unique && !t.indexes[1].unique);
        assert_eq!(sea_query::Iden::to_string(&Things::GatewayIp), "gateway_ip");
        assert_eq!(Globals::DECLARED.indexes.len(), 0);
    }

    #[test]
    fn a_table_chosen_at_run_time_carries_the_tenant_too() {
        static DECLARED: crate::db::schema::Table = Things::DECLARED;
        let t = super::OwnedTable::new(&DECLARED);
        let q = t
            .select(TenantId(3))
            .column(sea_query::Alias::new("id"))
            .to_string(SqliteQueryBuilder);
        assert_eq!(
            q,
            r#"SELECT "id" FROM "things" WHERE "things"."tenant_id" = 3"#
        );
        let d = t.delete(TenantId(3)).to_string(SqliteQueryBuilder);
        assert!(d.ends_with(r#"WHERE "things"."tenant_id" = 3"#), "{d}");
    }

    #[test]
    fn every_statement_carries_the_tenant() {
        let t = TenantId(7);
        let select = Things::select(t)
            .column(Things::Id)
            .and_where(Expr::col(Things::FlowId).eq(3))
            .to_string(SqliteQueryBuilder);
        assert_eq!(
            select,
            r#"SELECT "id" FROM "things" WHERE "things"."tenant_id" = 7 AND "flow_id" = 3"#
        );
        let update = Things::update(t)
            .value(Things::GatewayIp, "x")
            .to_string(SqliteQueryBuilder);
        assert!(
            update.contains(r#"WHERE "things"."tenant_id" = 7"#),
            "{update}"
        );
        let delete = Things::delete(t).to_string(SqliteQueryBuilder);
        assert!(
            delete.contains(r#"WHERE "things"."tenant_id" = 7"#),
            "{delete}"
        );
        let insert =
            Things::insert(t, vec![(Things::GatewayIp, "x".into())]).to_string(SqliteQueryBuilder);
        assert_eq!(
            insert,
            r#"INSERT INTO "things" ("tenant_id", "gateway_ip") VALUES (7, 'x')"#
        );
    }

    #[test]
    fn a_lookup_by_key_writes_its_tenant_condition_out_of_index_choice() {
        let q = Things::select_by_key(TenantId(7))
            .column(Things::Id)
            .to_string(SqliteQueryBuilder);
        assert_eq!(
            q,
            r#"SELECT "id" FROM "things" WHERE "things"."tenant_id" + 0 = 7"#
        );
    }

    /// SQLite without planner statistics (a new database) reads ids through the tenant's
    /// index when the tenant condition can choose it, and through the ids' own index when it
    /// is written by [`TenantTable::select_by_key`].
    #[tokio::test]
    async fn a_lookup_by_key_seeks_its_keys_on_sqlite_without_statistics() {
        use sqlx::{Connection, Row};
        let mut c = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        let ddl = Things::DECLARED.create_ddl(crate::db::Backend::Sqlite);
        sqlx::raw_sql(&ddl).execute(&mut c).await.unwrap();
        for i in Things::DECLARED.indexes {
            let sql = i.ddl(Things::DECLARED.name);
            sqlx::raw_sql(&sql).execute(&mut c).await.unwrap();
        }
        let ids = [1_i64, 2, 3];
        let mut plans = Vec::new();
        for q in [
            Things::select(TenantId(7)),
            Things::select_by_key(TenantId(7)),
        ] {
            let sql = q
                .to_owned()
                .column(Things::Id)
                .and_where(Expr::col(Things::FlowId).is_in(ids))
                .to_string(SqliteQueryBuilder);
            let rows = sqlx::query(&format!("EXPLAIN QUERY PLAN {sql}"))
                .fetch_all(&mut c)
                .await
                .unwrap();
            let detail: Vec<String> = rows.iter().map(|r| r.get::<String, _>("detail")).collect();
            plans.push(detail.join("; "));
        }
        assert!(plans[0].contains("things_tenant_ip"), "{}", plans[0]);
        assert!(
            plans[1].contains("things_flow") && !plans[1].contains("things_tenant_ip"),
            "{}",
            plans[1]
        );
    }
}
