//! The database handle: one API over SQLite (embedded default) and PostgreSQL (scale-out).
//!
//! Queries are built once with sea-query and rendered for the backend in use; rows decode through
//! `sqlx::FromRow` derives that hold for both backends. The only hand-written SQL lives in
//! named dialect helpers (DDL rendering, catalog reads, job claiming), each in one place.
//!
//! Storage conventions every table follows, so that one row type decodes on both backends:
//! integers are 64-bit (`BIGINT`), times are Unix milliseconds in `BIGINT`, UUIDs and JSON
//! documents are `TEXT`, booleans are `BOOLEAN`.

pub mod bulk;
pub mod counted;
pub mod counts;
pub mod generation;
pub mod health;
pub mod json;
pub mod migrate;
pub mod partitions;
pub mod schema;
pub mod stats;
pub mod table;
pub mod text;
pub mod watched;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sea_query::{PostgresQueryBuilder, QueryBuilder, SqliteQueryBuilder, Values};
use sea_query_binder::{SqlxBinder, SqlxValues};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{
    Connection, FromRow, PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool,
};

pub use schema::Schema;

/// The advisory lock a migration holds on PostgreSQL; partition changes take it too, so that
/// they never interleave their table locks with a migration's (which would deadlock).
pub(crate) const MIGRATION_LOCK: i64 = 0x5049_434B_4554; // "PICKET"

/// Which SQL engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
        }
    }

    /// The sea-query renderer for this backend.
    pub fn builder(self) -> Box<dyn QueryBuilder> {
        match self {
            Backend::Sqlite => Box::new(SqliteQueryBuilder),
            Backend::Postgres => Box::new(PostgresQueryBuilder),
        }
    }
}

/// A storage failure. Callers that care ask [`DbError::is_unique_violation`] and friends;
/// everything else becomes an opaque 500 at the HTTP edge, logged with its cause.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("database setup: {0}")]
    Setup(String),
}

impl DbError {
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, DbError::Sqlx(sqlx::Error::Database(e)) if e.is_unique_violation())
    }

    pub fn is_foreign_key_violation(&self) -> bool {
        matches!(self, DbError::Sqlx(sqlx::Error::Database(e)) if e.is_foreign_key_violation())
    }

    /// A busy/locked/serialization failure that a retry may cure.
    pub fn is_transient(&self) -> bool {
        match self {
            DbError::Sqlx(sqlx::Error::PoolTimedOut) | DbError::Sqlx(sqlx::Error::Io(_)) => true,
            DbError::Sqlx(sqlx::Error::Database(e)) => {
                let code = e.code().unwrap_or_default();
                // SQLITE_BUSY (5), SQLITE_LOCKED (6); PostgreSQL serialization/deadlock.
                matches!(code.as_ref(), "5" | "6" | "517" | "40001" | "40P01")
            }
            _ => false,
        }
    }
}

pub type DbResult<T> = Result<T, DbError>;

/// A row type that decodes on both backends (derive `sqlx::FromRow` on a struct of
/// `i64`/`f64`/`bool`/`String`/`Vec<u8>`/`Option<_>` fields).
pub trait DbRow:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}
impl<T> DbRow for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The shared, cloneable database handle kept in the app state.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    /// A second pool for reads that may lag (a replica), when one is configured.
    read: Option<Arc<Db>>,
    /// Rows per trigram of the text indexes, for choosing what a search asks them.
    terms: Arc<text::TermCache>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Db({})", self.backend().name())
    }
}

/// Options for opening a database.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub url: String,
    pub max_connections: u32,
}

impl ConnectOptions {
    pub fn new(url: impl Into<String>) -> Self {
        ConnectOptions {
            url: url.into(),
            max_connections: 16,
        }
    }
}

impl Db {
    /// Opens (and for SQLite creates) the database the URL names.
    pub async fn connect(opts: &ConnectOptions) -> DbResult<Db> {
        let url = opts.url.as_str();
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .pragma("temp_store", "memory")
                // The page cache is per connection: 8 MiB each keeps a full pool's memory
                // bounded; the OS page cache serves the rest. Large writes raise their own
                // ([`Tx::page_cache`]).
                .pragma("cache_size", format!("-{PAGE_CACHE_KIB}"))
                // Reads through a memory map of the file shared by every connection, instead
                // of a `pread` copy into each connection's own cache: indexed threat lists ran
                // two to three times faster with it. Mapped pages count in the process's RSS
                // once per connection that touched them, though the OS holds them once. The
                // map covers the whole file up to [`MMAP_BYTES`]: with 256 MiB, a database of
                // 800,000 threats was read mostly with `pread` again, and the engine took 181 s
                // where it took 147 s with 2 GiB (then SQLite's own bound).
                .pragma("mmap_size", MMAP_BYTES.to_string());
            let pool = SqlitePoolOptions::new()
                .max_connections(opts.max_connections.max(1))
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(options)
                .await?;
            Ok(Db {
                pool: Pool::Sqlite(pool),
                read: None,
                terms: Arc::default(),
            })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // `?options[search_path]=NAME` in the URL selects a schema (tests isolate this way).
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(opts.max_connections.max(1))
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(options)
                .await?;
            Ok(Db {
                pool: Pool::Postgres(pool),
                read: None,
                terms: Arc::default(),
            })
        } else {
            Err(DbError::Setup(format!(
                "unsupported database URL scheme in `{}`",
                url.split(':').next().unwrap_or_default()
            )))
        }
    }

    /// This handle, with `replica` answering [`Db::reader`]. The replica must be of the same
    /// backend and hold the same schema (a streaming replica of this database, or this very
    /// database through a second pool).
    pub fn with_reader(mut self, replica: Db) -> DbResult<Db> {
        if replica.backend() != self.backend() {
            return Err(DbError::Setup(
                "the read replica is not of the same database kind".into(),
            ));
        }
        self.read = Some(Arc::new(Db {
            pool: replica.pool,
            read: None,
            terms: replica.terms,
        }));
        Ok(self)
    }

    /// The pool for list and search reads: the read replica when one is configured, else
    /// this database. What it answers may lag the primary by the replica's replay delay, so
    /// reads that must see a write just made (the write's own answer, a `GET` by id, anything
    /// inside a transaction) use the primary handle itself.
    pub fn reader(&self) -> &Db {
        self.read.as_deref().unwrap_or(self)
    }

    /// This database's [`text::TermCache`].
    pub fn term_cache(&self) -> &text::TermCache {
        &self.terms
    }

    /// Whether [`Db::reader`] is a separate pool.
    pub fn has_replica(&self) -> bool {
        self.read.is_some()
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Renders a sea-query statement for this backend (for logs and `EXPLAIN`).
    pub fn render<S: SqlxBinder>(&self, stmt: &S) -> (String, SqlxValues) {
        render(self.backend(), stmt)
    }

    /// Starts a transaction. Dropping it without [`Tx::commit`] rolls back.
    ///
    /// On SQLite the transaction takes the write lock at once (`BEGIN IMMEDIATE`, waiting up
    /// to the busy timeout for it). A deferred transaction that reads and then writes fails at
    /// its first write, with no wait, whenever another connection committed in between (its
    /// snapshot is stale: `SQLITE_BUSY_SNAPSHOT`), which under concurrent writers turned
    /// ordinary requests into 503s. Transactions here are for writing; reads that need no
    /// transaction use [`Db::conn`].
    pub async fn begin(&self) -> DbResult<Tx> {
        Ok(match &self.pool {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// Checks out one connection (for a series of statements that need no transaction).
    pub async fn conn(&self) -> DbResult<Conn> {
        Ok(match &self.pool {
            Pool::Sqlite(p) => Conn::Sqlite(p.acquire().await?),
            Pool::Postgres(p) => Conn::Postgres(p.acquire().await?),
        })
    }

    /// Round-trips a trivial query.
    pub async fn ping(&self) -> DbResult<()> {
        match &self.pool {
            Pool::Sqlite(p) => p.acquire().await?.ping().await?,
            Pool::Postgres(p) => p.acquire().await?.ping().await?,
        }
        Ok(())
    }

    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
        if let Some(r) = &self.read {
            Box::pin(r.close()).await;
        }
    }

    pub async fn fetch_all<T: DbRow>(&self, stmt: &impl SqlxBinder) -> DbResult<Vec<T>> {
        self.conn().await?.fetch_all(stmt).await
    }
    pub async fn fetch_optional<T: DbRow>(&self, stmt: &impl SqlxBinder) -> DbResult<Option<T>> {
        self.conn().await?.fetch_optional(stmt).await
    }
    pub async fn fetch_one<T: DbRow>(&self, stmt: &impl SqlxBinder) -> DbResult<T> {
        self.conn().await?.fetch_one(stmt).await
    }
    pub async fn execute(&self, stmt: &impl SqlxBinder) -> DbResult<u64> {
        self.conn().await?.execute(stmt).await
    }
    pub async fn execute_sql(&self, sql: &str, values: Values) -> DbResult<u64> {
        self.conn().await?.execute_sql(sql, values).await
    }
    pub async fn fetch_all_sql<T: DbRow>(&self, sql: &str, values: Values) -> DbResult<Vec<T>> {
        self.conn().await?.fetch_all_sql(sql, values).await
    }
    pub async fn fetch_optional_sql<T: DbRow>(
        &self,
        sql: &str,
        values: Values,
    ) -> DbResult<Option<T>> {
        self.conn().await?.fetch_optional_sql(sql, values).await
    }
}

fn render<S: SqlxBinder>(backend: Backend, stmt: &S) -> (String, SqlxValues) {
    match backend {
        Backend::Sqlite => stmt.build_sqlx(SqliteQueryBuilder),
        Backend::Postgres => stmt.build_sqlx(PostgresQueryBuilder),
    }
}

/// A borrowed connection of either backend: the one place statements are dispatched.
pub enum Raw<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

impl Raw<'_> {
    pub fn backend(&self) -> Backend {
        match self {
            Raw::Sqlite(_) => Backend::Sqlite,
            Raw::Postgres(_) => Backend::Postgres,
        }
    }

    async fn fetch_all_sql<T: DbRow>(self, sql: &str, values: SqlxValues) -> DbResult<Vec<T>> {
        Ok(match self {
            Raw::Sqlite(c) => {
                sqlx::query_as_with::<Sqlite, T, _>(sql, values)
                    .fetch_all(c)
                    .await?
            }
            Raw::Postgres(c) => {
                sqlx::query_as_with::<Postgres, T, _>(sql, values)
                    .fetch_all(c)
                    .await?
            }
        })
    }

    async fn fetch_optional_sql<T: DbRow>(
        self,
        sql: &str,
        values: SqlxValues,
    ) -> DbResult<Option<T>> {
        Ok(match self {
            Raw::Sqlite(c) => {
                sqlx::query_as_with::<Sqlite, T, _>(sql, values)
                    .fetch_optional(c)
                    .await?
            }
            Raw::Postgres(c) => {
                sqlx::query_as_with::<Postgres, T, _>(sql, values)
                    .fetch_optional(c)
                    .await?
            }
        })
    }

    async fn execute_sql(self, sql: &str, values: SqlxValues) -> DbResult<u64> {
        Ok(match self {
            Raw::Sqlite(c) => sqlx::query_with::<Sqlite, _>(sql, values)
                .execute(c)
                .await?
                .rows_affected(),
            Raw::Postgres(c) => sqlx::query_with::<Postgres, _>(sql, values)
                .execute(c)
                .await?
                .rows_affected(),
        })
    }

    /// Runs several `;`-separated statements without parameters (DDL).
    async fn execute_script(self, sql: &str) -> DbResult<()> {
        match self {
            Raw::Sqlite(c) => {
                sqlx::raw_sql(sql).execute(c).await?;
            }
            Raw::Postgres(c) => {
                sqlx::raw_sql(sql).execute(c).await?;
            }
        }
        Ok(())
    }
}

/// Statement methods shared by [`Conn`] and [`Tx`]; `raw()` is all an implementor provides.
macro_rules! session_methods {
    () => {
        pub fn backend(&mut self) -> Backend {
            self.raw().backend()
        }
        pub async fn fetch_all<T: DbRow>(&mut self, stmt: &impl SqlxBinder) -> DbResult<Vec<T>> {
            let (sql, values) = render(self.backend(), stmt);
            self.raw().fetch_all_sql(&sql, values).await
        }
        pub async fn fetch_optional<T: DbRow>(
            &mut self,
            stmt: &impl SqlxBinder,
        ) -> DbResult<Option<T>> {
            let (sql, values) = render(self.backend(), stmt);
            self.raw().fetch_optional_sql(&sql, values).await
        }
        pub async fn fetch_one<T: DbRow>(&mut self, stmt: &impl SqlxBinder) -> DbResult<T> {
            self.fetch_optional(stmt)
                .await?
                .ok_or(DbError::Sqlx(sqlx::Error::RowNotFound))
        }
        pub async fn execute(&mut self, stmt: &impl SqlxBinder) -> DbResult<u64> {
            let (sql, values) = render(self.backend(), stmt);
            self.raw().execute_sql(&sql, values).await
        }
        /// Hand-written SQL with sea-query values; the caller owns the dialect.
        pub async fn execute_sql(&mut self, sql: &str, values: Values) -> DbResult<u64> {
            self.raw().execute_sql(sql, SqlxValues(values)).await
        }
        pub async fn fetch_all_sql<T: DbRow>(
            &mut self,
            sql: &str,
            values: Values,
        ) -> DbResult<Vec<T>> {
            self.raw().fetch_all_sql(sql, SqlxValues(values)).await
        }
        pub async fn fetch_optional_sql<T: DbRow>(
            &mut self,
            sql: &str,
            values: Values,
        ) -> DbResult<Option<T>> {
            self.raw().fetch_optional_sql(sql, SqlxValues(values)).await
        }
        pub async fn execute_script(&mut self, sql: &str) -> DbResult<()> {
            self.raw().execute_script(sql).await
        }
    };
}

/// Each SQLite connection's page cache, in KiB.
pub const PAGE_CACHE_KIB: u32 = 8 * 1024;

/// How much of the SQLite file each connection reads through a memory map: the upper bound
/// the embedded SQLite is built with (`SQLITE_MAX_MMAP_SIZE` in `.cargo/config.toml`: 256 GiB
/// instead of SQLite's 2 GiB), which SQLite would silently apply to anything larger. SQLite
/// maps only what the file holds, growing the map with it.
pub const MMAP_BYTES: u64 = 0x40_0000_0000;
// More than SQLite's own bound (2 GiB), or the build flag would not be needed.
const _: () = assert!(MMAP_BYTES > 0x7fff_0000);

/// One pooled connection.
pub enum Conn {
    Sqlite(sqlx::pool::PoolConnection<Sqlite>),
    Postgres(sqlx::pool::PoolConnection<Postgres>),
}

impl Conn {
    pub fn raw(&mut self) -> Raw<'_> {
        match self {
            Conn::Sqlite(c) => Raw::Sqlite(c),
            Conn::Postgres(c) => Raw::Postgres(c),
        }
    }
    session_methods!();
}

/// A transaction; dropped without [`Tx::commit`] it rolls back, so a failed request changes nothing.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl Tx {
    pub fn raw(&mut self) -> Raw<'_> {
        match self {
            Tx::Sqlite(t) => Raw::Sqlite(t),
            Tx::Postgres(t) => Raw::Postgres(t),
        }
    }
    session_methods!();

    /// Sets this transaction's connection's SQLite page cache to `kib` KiB (PostgreSQL: does
    /// nothing). A transaction that writes tens of thousands of rows into indexed tables
    /// dirties more pages than [`PAGE_CACHE_KIB`] hold, and SQLite then spills them to the log
    /// mid-transaction and reads them back; the engine raises its cache for its writes and
    /// sets it back to [`PAGE_CACHE_KIB`] before committing, which frees the pages above it
    /// once they are written. A transaction that fails before that leaves its connection
    /// with the larger cache until the pool retires the connection (30 minutes at most).
    pub async fn page_cache(&mut self, kib: u32) -> DbResult<()> {
        if let Tx::Sqlite(_) = self {
            self.execute_sql(&format!("PRAGMA cache_size = -{kib}"), Values(Vec::new()))
                .await?;
        }
        Ok(())
    }

    /// For the rest of this transaction, PostgreSQL plans every statement with its values
    /// (`SET LOCAL plan_cache_mode = force_custom_plan`; SQLite: does nothing). sqlx prepares
    /// each statement once per connection, and after five executions PostgreSQL may switch it
    /// to a generic plan that cannot see the values: for lookups of hundreds of keys
    /// (`col IN ($3, …, $1002)`) it estimated most of the table and scanned it, so an import's
    /// lookups grew with the table (PostgreSQL GeoJSON import at 100,000 events: 853 events/s
    /// with generic plans, 6,000 with this). Bulk writers that run such lookups call it first.
    pub async fn custom_plans(&mut self) -> DbResult<()> {
        if let Tx::Postgres(_) = self {
            self.execute_sql(
                "SET LOCAL plan_cache_mode = force_custom_plan",
                Values(Vec::new()),
            )
            .await?;
        }
        Ok(())
    }

    pub async fn commit(self) -> DbResult<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// Rolls back now (a dropped transaction rolls back only when its connection is next
    /// used, holding its locks until then).
    pub async fn rollback(self) -> DbResult<()> {
        match self {
            Tx::Sqlite(t) => t.rollback().await?,
            Tx::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }
}

/// The `n`th (1-based) numbered placeholder, for the few hand-written statements; numbered on
/// both backends so a value can be referenced twice.
pub fn placeholder(backend: Backend, n: usize) -> String {
    match backend {
        Backend::Sqlite => format!("?{n}"),
        Backend::Postgres => format!("${n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite answers `PRAGMA mmap_size` with what it applied, clamped to the bound it was
    /// built with: a build without `.cargo/config.toml`'s flag maps 2 GiB and fails here.
    #[tokio::test]
    async fn sqlite_maps_as_much_of_the_file_as_asked() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("map.db").display());
        let db = Db::connect(&ConnectOptions::new(url)).await.unwrap();
        #[derive(sqlx::FromRow)]
        struct Map {
            mmap_size: i64,
        }
        let m: Map = db
            .fetch_all_sql("PRAGMA mmap_size", Values(vec![]))
            .await
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!(m.mmap_size as u64, MMAP_BYTES);
    }
}
