//! `GET /api/v1/about`: the figures of the Web UI's about page, every dataset figure the
//! caller's tenant's own (another tenant's volume is not this tenant's business). Row counts
//! are the tenant's exact row counts from `row_counts`, which the database keeps with the rows
//! (`picket_core::db::counts`); a dataset's size is the tenant's share of the table's catalog size (cached for a
//! minute, since SQLite must walk a table's pages to size it); first/last record times are
//! indexed reads. Only `database.size_bytes`, the version, memory and schema health describe
//! the whole server, as documented — and the threat-intelligence lists, which are the
//! server's own (shared by every tenant). Those lists belong to `picket-sensor`, which this
//! crate does not depend on: it registers an [`IntelLists`] hook in the app state, and About
//! sizes the hook's tables with the datasets' and asks it when each list was refreshed.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use picket_core::db::counts;
use picket_core::db::health::{schema_health, SchemaHealth};
use picket_core::db::{placeholder, stats, Db, DbResult};
use picket_core::error::NetworkErrorBody;
use picket_core::extract::Json;
use picket_core::identity::{Principal, TenantId};
use picket_core::{ApiError, AppState};
use sea_query::Values;
use serde::Serialize;
use tokio::sync::Mutex;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::clock;
use crate::datasets::ABOUT_DATASETS;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(about))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct About {
    /// Picket's version.
    pub version: String,
    /// Resident memory of the server process, bytes.
    pub runtime_memory_bytes: u64,
    pub database: DatabaseInfo,
    pub schema_health: SchemaHealth,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DatabaseInfo {
    pub size_bytes: i64,
    pub network_alerts: RowCount,
    pub tcp_records: DatasetInfo,
    pub dns_records: DatasetInfo,
    pub dhcp_records: DatasetInfo,
    pub http_records: DatasetInfo,
    pub tor_relays: ListInfo,
    pub misp_ip_records: ListInfo,
    pub misp_dns_records: ListInfo,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RowCount {
    pub row_count: i64,
    /// Always true: counts are estimates.
    pub row_count_is_estimate: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DatasetInfo {
    pub row_count: i64,
    pub row_count_is_estimate: bool,
    pub size_bytes: i64,
    /// `YYYY-MM-DD HH:MM:SS`, server timezone; null when the tenant has no rows.
    pub first_record_at: Option<String>,
    pub last_record_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListInfo {
    /// The list's last refresh, `YYYY-MM-DD` (Tor relays) or `YYYY-MM-DD HH:MM:SS` (MISP),
    /// server timezone; null until the list has been imported.
    pub last_updated_at: Option<String>,
    pub size_bytes: i64,
}

/// The threat-intelligence lists About reports on, registered in the app state's extensions
/// by the slice that keeps them; without one, the lists show as never imported.
#[derive(Debug, Clone, Copy)]
pub struct IntelLists {
    /// The tables of the Tor relay, MISP IP and MISP domain lists, sized like the datasets.
    pub tables: [&'static str; 3],
    /// When each list was last refreshed (Unix ms), in the same order; `None` before its
    /// first import.
    pub updated: for<'a> fn(&'a Db) -> ListTimes<'a>,
}

/// What [`IntelLists::updated`] returns.
pub type ListTimes<'a> = Pin<Box<dyn Future<Output = DbResult<[Option<i64>; 3]>> + Send + 'a>>;

#[derive(Debug, Clone)]
struct Sizes {
    database: i64,
    tables: BTreeMap<&'static str, (i64, i64)>,
}

/// Catalog figures. A request never waits for a refresh once there are figures: past
/// [`SIZE_TTL`] it answers with the figures it has and starts one refresh in the background
/// (sizing a table on SQLite walks its pages, seconds at millions of rows).
#[derive(Debug, Default, Clone)]
pub struct SizeCache(Arc<Mutex<SizeSlot>>);

#[derive(Debug, Default)]
struct SizeSlot {
    sizes: Option<(Instant, Sizes)>,
    refreshing: bool,
}

/// Rows per dataset table.
type Counts = BTreeMap<String, i64>;

const SIZE_TTL: Duration = Duration::from_secs(60);

async fn sizes(state: &AppState) -> DbResult<Sizes> {
    let cache = state.ext::<SizeCache>().clone();
    let mut slot = cache.0.lock().await;
    match &slot.sizes {
        Some((at, s)) if at.elapsed() < SIZE_TTL || slot.refreshing => Ok(s.clone()),
        Some((_, s)) => {
            let stale = s.clone();
            slot.refreshing = true;
            drop(slot);
            let state = state.clone();
            tokio::spawn(async move {
                let fresh = measure_sizes(&state).await;
                let mut slot = cache.0.lock().await;
                slot.refreshing = false;
                match fresh {
                    Ok(s) => slot.sizes = Some((Instant::now(), s)),
                    Err(e) => tracing::warn!(error = %e, "cannot size the datasets for about"),
                }
            });
            Ok(stale)
        }
        // The first request measures while the others wait for it (the lock is held).
        None => {
            let s = measure_sizes(state).await?;
            slot.sizes = Some((Instant::now(), s.clone()));
            Ok(s)
        }
    }
}

async fn measure_sizes(state: &AppState) -> DbResult<Sizes> {
    let db = &state.db;
    let mut tables = BTreeMap::new();
    for d in ABOUT_DATASETS {
        let rows = stats::row_estimate(db, d.table, "id").await?;
        let bytes = stats::table_size_bytes(db, d.table).await?;
        tables.insert(d.table, (rows.max(0), bytes));
    }
    if let Some(intel) = state.ext.get::<IntelLists>() {
        for table in intel.tables {
            tables.insert(table, (0, stats::table_size_bytes(db, table).await?));
        }
    }
    Ok(Sizes {
        database: stats::database_size_bytes(db).await?,
        tables,
    })
}

/// The tenant's rows per dataset, from the counts the database keeps with the rows: a few
/// index reads, so no cache is needed and the figure is exact.
async fn tenant_counts(state: &AppState, tenant: TenantId) -> DbResult<Counts> {
    let tables: Vec<&str> = ABOUT_DATASETS.iter().map(|d| d.table).collect();
    let rows = counts::per_dataset(&mut &state.db, tenant, &tables).await?;
    Ok(rows.into_iter().map(|r| (r.dataset, r.n)).collect())
}

fn share(table_bytes: i64, tenant_rows: i64, all_rows: i64) -> i64 {
    if tenant_rows <= 0 || table_bytes <= 0 {
        return 0;
    }
    let all = all_rows.max(tenant_rows) as f64;
    (table_bytes as f64 * tenant_rows as f64 / all).round() as i64
}

#[derive(sqlx::FromRow)]
struct Edges {
    dataset: String,
    first_ts: Option<i64>,
    last_ts: Option<i64>,
}

/// The tenant's first and last record time of every timed dataset in one statement: two
/// indexed `(tenant_id, ts)` reads per table, one round trip to the database in all.
async fn edge_times(
    db: &Db,
    tenant: TenantId,
) -> DbResult<BTreeMap<String, (Option<i64>, Option<i64>)>> {
    let p = placeholder(db.backend(), 1);
    let sql = ABOUT_DATASETS
        .iter()
        .filter(|d| d.has_times)
        .map(|d| {
            let t = d.table;
            format!(
                "SELECT '{t}' AS dataset, \
                 (SELECT ts FROM {t} WHERE tenant_id = {p} ORDER BY ts ASC LIMIT 1) AS first_ts, \
                 (SELECT ts FROM {t} WHERE tenant_id = {p} ORDER BY ts DESC LIMIT 1) AS last_ts"
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let rows: Vec<Edges> = db.fetch_all_sql(&sql, Values(vec![tenant.into()])).await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.dataset, (r.first_ts, r.last_ts)))
        .collect())
}

/// Fast system and database information.
#[utoipa::path(get, path = "/api/v1/about", tag = "about",
    responses((status = 200, body = About), (status = 401, body = NetworkErrorBody)))]
pub async fn about(State(s): State<AppState>, who: Principal) -> Result<Json<About>, ApiError> {
    let tz = s.tz;
    let sizes = sizes(&s).await?;
    let edges = edge_times(&s.db, who.tenant_id).await?;
    let counts = tenant_counts(&s, who.tenant_id).await?;
    let rows_of = |table: &str| counts.get(table).copied().unwrap_or(0);
    let mut info = BTreeMap::new();
    for d in ABOUT_DATASETS.iter().filter(|d| d.has_times) {
        let (first, last) = edges.get(d.table).copied().unwrap_or_default();
        let (all_rows, bytes) = sizes.tables.get(d.table).copied().unwrap_or_default();
        let rows = rows_of(d.table);
        info.insert(
            d.about_key,
            DatasetInfo {
                row_count: rows,
                row_count_is_estimate: true,
                size_bytes: share(bytes, rows, all_rows),
                first_record_at: first.map(|t| clock::format(t, tz)),
                last_record_at: last.map(|t| clock::format(t, tz)),
            },
        );
    }
    let mut take = |k: &str| {
        info.remove(k).unwrap_or(DatasetInfo {
            row_count: 0,
            row_count_is_estimate: true,
            size_bytes: 0,
            first_record_at: None,
            last_record_at: None,
        })
    };
    let lists = intel_lists(&s, &sizes).await?;
    let [tor_relays, misp_ip_records, misp_dns_records] = lists;
    let database = DatabaseInfo {
        size_bytes: sizes.database,
        network_alerts: RowCount {
            row_count: rows_of("network_alerts"),
            row_count_is_estimate: true,
        },
        tcp_records: take("tcp_records"),
        dns_records: take("dns_records"),
        dhcp_records: take("dhcp_records"),
        http_records: take("http_records"),
        tor_relays,
        misp_ip_records,
        misp_dns_records,
    };
    // Not cached: an index dropped by hand shows at once; it is one catalog statement.
    let health = schema_health(&s.db, &s.schema).await?;
    Ok(Json(About {
        version: env!("CARGO_PKG_VERSION").to_string(),
        runtime_memory_bytes: memory_stats::memory_stats().map_or(0, |m| m.physical_mem as u64),
        database,
        schema_health: health,
    }))
}

/// The Tor relay list's (a date) and the MISP lists' (a timestamp) freshness and size; a list
/// never imported is `null` and 0.
async fn intel_lists(s: &AppState, sizes: &Sizes) -> DbResult<[ListInfo; 3]> {
    let Some(intel) = s.ext.get::<IntelLists>() else {
        return Ok(std::array::from_fn(|_| ListInfo {
            last_updated_at: None,
            size_bytes: 0,
        }));
    };
    let updated = (intel.updated)(&s.db).await?;
    Ok(std::array::from_fn(|i| match updated[i] {
        None => ListInfo {
            last_updated_at: None,
            size_bytes: 0,
        },
        Some(at) => ListInfo {
            // §2.9: the Tor list's freshness is a date, the MISP lists' a timestamp.
            last_updated_at: Some(if i == 0 {
                picket_core::time::to_datetime(at)
                    .with_timezone(&s.tz)
                    .format("%Y-%m-%d")
                    .to_string()
            } else {
                clock::format(at, s.tz)
            }),
            size_bytes: sizes.tables.get(intel.tables[i]).map_or(0, |t| t.1),
        },
    }))
}
