//! The map layer of event intelligence: vector tiles, country summaries and the GeoJSON layer,
//! answered from an in-memory index of every event's position and filter fields.
//!
//! Counting or clustering the events of a continent-sized tile means reading hundreds of
//! thousands of rows, which no index of the events table makes fast; the index in memory
//! answers a tile of a million events in milliseconds (see [`points`] and [`mercator`]). It is
//! the database's, not a copy with a life of its own:
//!
//! * loaded on first use from the events table;
//! * brought up to date before every answer that follows a write of this process (storing
//!   events notes the write, with the earliest `updated_at` it may have written, so a
//!   transaction that committed late is re-read), and at least every second otherwise, for
//!   the writes of other servers sharing a PostgreSQL database; every [`SWEEP_MS`] it also
//!   re-reads the changes since [`OVERLAP_MS`] before the previous sweep, which finds their
//!   transactions that committed after a later `updated_at` had been read;
//! * the `keyword` filter, which needs the text the index does not keep, is answered by the
//!   database as a set of ids the index then filters by.
//!
//! Tenants see what `/v1/events` shows them: the global corpus and their own pushed events.

pub(crate) mod handlers;
pub mod mercator;
pub mod points;
pub mod summary;
pub mod tile;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock, RwLockReadGuard};

use axum::body::Bytes;
use std::time::Instant;

use picket_core::db::{Db, DbResult};
use picket_core::identity::TenantId;
use picket_core::time::now_ms;
use sea_query::{Expr, Order, Query};

use crate::store::{self, EventFilter, Events};
use points::{MapRow, Matcher, Snapshot};

/// How long after its `updated_at` another server's transaction may commit and still be
/// found by the sweeps; one that takes longer is seen at the next restart.
pub const OVERLAP_MS: i64 = 10_000;
/// How often the index sweeps for such late commits.
pub const SWEEP_MS: i64 = 10_000;
/// The longest the index trusts itself without asking the database.
const POLL_MS: u64 = 1_000;
/// Rows read per query while loading or catching up.
const PAGE: u64 = 20_000;

/// Writes of events by this process: how many, and the recent ones with the earliest
/// `updated_at` each may have written. Every index (one per server state; tests run many in
/// one process) compares them with the count it has seen.
static WRITES: AtomicU64 = AtomicU64::new(0);
static RECENT: Mutex<VecDeque<(u64, i64)>> = Mutex::new(VecDeque::new());
/// Writes remembered: an index that fell further behind re-reads from the oldest kept.
const RECENT_WRITES: usize = 4096;

/// Storing events calls this after its transaction committed, with a time no later than any
/// `updated_at` it wrote.
pub(crate) fn note_write(earliest: i64) {
    let mut recent = RECENT.lock().unwrap_or_else(|e| e.into_inner());
    let n = WRITES.fetch_add(1, Ordering::SeqCst) + 1;
    recent.push_back((n, earliest));
    if recent.len() > RECENT_WRITES {
        recent.pop_front();
    }
}

/// The count of writes so far, and the earliest `updated_at` of those after `seen`.
fn writes_since(seen: u64) -> (u64, i64) {
    let recent = RECENT.lock().unwrap_or_else(|e| e.into_inner());
    let n = WRITES.load(Ordering::SeqCst);
    let earliest = recent
        .iter()
        .filter(|(at, _)| *at > seen)
        .map(|(_, t)| *t)
        .min()
        .unwrap_or(i64::MAX);
    (n, earliest)
}

/// Where the index has read to.
#[derive(Debug, Default)]
struct Progress {
    /// The highest `updated_at` applied.
    high: i64,
    /// When the last sweep (or the load) started (`now_ms`).
    swept_at: i64,
}

/// Encoded answers (tiles, country summaries, heatmaps, GeoJSON) by tenant and request, for
/// the index version they were made from: a map asks for the same low-zoom tiles and
/// whole-map summaries again and again, and those are the costly ones.
#[derive(Debug, Default)]
struct Answers {
    version: u64,
    bytes: usize,
    answers: HashMap<(i64, String), Option<Bytes>>,
}

/// Bounds of [`Answers`]: it is emptied when either is reached (and on every index change).
const CACHED_ANSWERS: usize = 4096;
const CACHED_BYTES: usize = 64 << 20;

/// The map's index of events, one per server state (in [`picket_core::AppState`]'s
/// extensions).
#[derive(Debug)]
pub struct MapIndex {
    snapshot: RwLock<Snapshot>,
    progress: tokio::sync::Mutex<Progress>,
    answers: Mutex<Answers>,
    loaded: AtomicBool,
    seen_writes: AtomicU64,
    checked: AtomicU64,
    epoch: Instant,
}

impl Default for MapIndex {
    fn default() -> Self {
        MapIndex {
            snapshot: RwLock::default(),
            progress: tokio::sync::Mutex::default(),
            answers: Mutex::default(),
            loaded: AtomicBool::new(false),
            seen_writes: AtomicU64::new(0),
            checked: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }
}

impl MapIndex {
    fn elapsed_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn is_current(&self) -> bool {
        self.loaded.load(Ordering::SeqCst)
            && self.seen_writes.load(Ordering::SeqCst) == WRITES.load(Ordering::SeqCst)
            && self.elapsed_ms() < self.checked.load(Ordering::SeqCst) + POLL_MS
    }

    /// The index, brought up to date as the module notes say.
    pub async fn current(&self, db: &Db) -> DbResult<RwLockReadGuard<'_, Snapshot>> {
        if !self.is_current() {
            let mut progress = self.progress.lock().await;
            if !self.is_current() {
                self.catch_up(db, &mut progress).await?;
            }
        }
        Ok(self.snapshot.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// The answer `make` gives for `tenant`'s view under `filter` (`None`: empty), made once
    /// per index version for the same tenant, `request` and filters. A `keyword`, which the
    /// index cannot answer, is read from the database first.
    pub async fn answer(
        &self,
        db: &Db,
        tenant: TenantId,
        filter: &EventFilter,
        request: &str,
        make: impl FnOnce(&Snapshot, &Matcher) -> Option<Vec<u8>>,
    ) -> DbResult<Option<Bytes>> {
        let ids = keyword_ids(db, tenant, filter).await?;
        let snapshot = self.current(db).await?;
        let key = (tenant.0, format!("{request} {filter:?}"));
        Ok(self.cached(&snapshot, key, || {
            make(&snapshot, &snapshot.matcher(tenant.0, filter, ids))
        }))
    }

    /// The answer `make` gives from `snapshot`, made once per index version for `key`.
    fn cached(
        &self,
        snapshot: &Snapshot,
        key: (i64, String),
        make: impl FnOnce() -> Option<Vec<u8>>,
    ) -> Option<Bytes> {
        {
            let cache = self.answers.lock().unwrap_or_else(|e| e.into_inner());
            if cache.version == snapshot.version {
                if let Some(hit) = cache.answers.get(&key) {
                    return hit.clone();
                }
            }
        }
        let made = make().map(Bytes::from);
        let size = made.as_ref().map_or(0, Bytes::len);
        let mut cache = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        if cache.version != snapshot.version
            || cache.answers.len() >= CACHED_ANSWERS
            || cache.bytes + size > CACHED_BYTES
        {
            cache.answers.clear();
            cache.bytes = 0;
            cache.version = snapshot.version;
        }
        cache.bytes += size;
        cache.answers.insert(key, made.clone());
        made
    }

    async fn catch_up(&self, db: &Db, progress: &mut Progress) -> DbResult<()> {
        let (writes, rewind) = writes_since(self.seen_writes.load(Ordering::SeqCst));
        let checked = self.elapsed_ms();
        let started = now_ms();
        if !self.loaded.load(Ordering::SeqCst) {
            let (rows, high) = read_since(db, i64::MIN).await?;
            let built = Snapshot::build(rows);
            *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = built;
            progress.high = high.unwrap_or(i64::MIN);
            progress.swept_at = started;
            self.loaded.store(true, Ordering::SeqCst);
        } else {
            let mut since = progress.high.min(rewind);
            if started - progress.swept_at >= SWEEP_MS {
                since = since.min(progress.swept_at - OVERLAP_MS);
                progress.swept_at = started;
            }
            let (rows, high) = read_since(db, since).await?;
            if !rows.is_empty() {
                self.snapshot
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .apply(rows);
            }
            progress.high = progress.high.max(high.unwrap_or(i64::MIN));
        }
        // Writes noted after `writes` was read count as unseen, so the next answer catches
        // up again.
        self.seen_writes.store(writes, Ordering::SeqCst);
        self.checked.store(checked, Ordering::SeqCst);
        Ok(())
    }
}

/// Every event with `updated_at >= since`, in `(updated_at, id)` order, and the highest
/// `updated_at` among them.
async fn read_since(db: &Db, since: i64) -> DbResult<(Vec<MapRow>, Option<i64>)> {
    let mut rows: Vec<MapRow> = Vec::new();
    loop {
        let mut q = Query::select();
        q.columns([
            Events::Id,
            Events::Scope,
            Events::Title,
            Events::EventCategory,
            Events::EventType,
            Events::Severity,
            Events::EventDate,
            Events::LocationCountry,
            Events::Lat,
            Events::Lng,
            Events::UpdatedAt,
        ])
        .from(Events::table())
        .and_where(Expr::col(Events::UpdatedAt).gte(since))
        .order_by(Events::UpdatedAt, Order::Asc)
        .order_by(Events::Id, Order::Asc)
        .limit(PAGE);
        if let Some(last) = rows.last() {
            q.and_where(
                Expr::tuple([
                    Expr::col(Events::UpdatedAt).into(),
                    Expr::col(Events::Id).into(),
                ])
                .gt(Expr::tuple([
                    last.updated_at.into(),
                    last.id.clone().into(),
                ])),
            );
        }
        let page: Vec<MapRow> = db.fetch_all(&q).await?;
        let done = (page.len() as u64) < PAGE;
        rows.extend(page);
        if done {
            break;
        }
    }
    let high = rows.last().map(|r| r.updated_at);
    Ok((rows, high))
}

/// The ids of the events `tenant` sees whose title or description contains the filter's
/// keyword, or `None` without one.
async fn keyword_ids(
    db: &Db,
    tenant: TenantId,
    f: &EventFilter,
) -> DbResult<Option<HashSet<String>>> {
    let Some(keyword) = &f.keyword else {
        return Ok(None);
    };
    let only = EventFilter {
        keyword: Some(keyword.clone()),
        ..EventFilter::default()
    };
    #[derive(sqlx::FromRow)]
    struct Id {
        id: String,
    }
    let q = store::filtered(db.backend(), tenant, &only, false)
        .column(Events::Id)
        .to_owned();
    let ids: Vec<Id> = db.fetch_all(&q).await?;
    Ok(Some(ids.into_iter().map(|r| r.id).collect()))
}
