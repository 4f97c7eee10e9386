//! Event storage: one table for the global corpus and every tenant's private events.
//!
//! `scope` is 0 for the global corpus and the tenant id for a tenant's own events; it exists
//! beside the nullable `tenant_id` (which cascades on tenant deletion) because SQL unique
//! indexes treat NULLs as distinct, and de-duplication needs `(scope, source, source_id)` to
//! be unique for global events too. A tenant reads `scope IN (0, tenant)`.
//!
//! Records are written by [`super::batch`]; this module holds the tables and the reads.

use chrono::NaiveDate;
use picket_core::db::json::JsonText;
use picket_core::db::schema::{OnDelete, Table};
use picket_core::db::{Backend, Db, DbResult};
use picket_core::identity::TenantId;
use sea_query::{
    Alias, Asterisk, Cond, Expr, Func, LikeExpr, Order, Query, SelectStatement, SimpleExpr,
};

use crate::grid::{distance_km, Grid, KM_PER_DEG};
use crate::model::{Actor, Attribution};

/// The events' grid: 0.1° × 0.1° cells, about 11 km north-south, wider than the merging
/// distance, so a record's candidates lie in its own cell or a neighbour. Stored with each
/// event (`merge_cell`).
pub(crate) const GRID: Grid = Grid::new(10.0, 10.0);

picket_core::table! {
    /// Not `tenant_owned`: global events (scope 0) belong to every tenant, a tenant's pushed
    /// events (scope = its id) to it alone. Tenant reads filter with `visible`.
    pub(crate) enum Events in "events" {
        Id: Text .primary_key(),
        Scope: BigInt,
        TenantId: BigInt .nullable() .references("tenants", "id", OnDelete::Cascade),
        Source: Text,
        SourceId: Text,
        Title: Text,
        Description: Text .nullable(),
        EventCategory: Text,
        EventType: Text .nullable(),
        EventSubtype: Text .nullable(),
        Severity: Text,
        EventDate: Text,
        EventDateEnd: Text .nullable(),
        OccurredAt: BigInt,
        Location: Text .nullable(),
        LocationCountry: Text .nullable(),
        Lat: Double,
        Lng: Double,
        SalienceScore: Double .nullable(),
        ArticleCount: BigInt,
        ActorCount: BigInt,
        Actors: Text,
        DataSource: Text,
        Sources: Text,
        CreatedAt: BigInt,
        UpdatedAt: BigInt,
        // The 0.1° grid cell of the coordinates (see [`GRID`]), for merge candidates;
        // null on rows stored before it existed, which the lookup also reads.
        MergeCell: BigInt .nullable(),
        // What the source says beyond the shared fields, as JSON (`taxonomy::EventAttributes`);
        // null when it says nothing more, and on rows stored before the column existed.
        Attributes: Text .nullable(),
    }
    indexes {
        unique events_scope_source (Scope, Source, SourceId),
        index events_scope_date (Scope, EventDate, Id),
        index events_scope_category_date (Scope, EventCategory, EventDate),
        index events_scope_country_date (Scope, LocationCountry, EventDate),
        // Merge candidates (a few grid cells, then a time window) and `bbox` filters (the
        // latitude band's run of cells). A spatial key lands anywhere in its index, so
        // every such index costs imports a random page per event; one serves both.
        index events_scope_cell_time (Scope, MergeCell, OccurredAt),
        // The engine walks changed events in (updated_at, id) order.
        index events_updated (UpdatedAt, Id),
    }
    text_indexes {
        // `keyword`: a substring of the title or the description. The key is the text `id`.
        events_text (key Text) {
            title: "{t}title",
            description: "{t}description",
        },
    }
}

picket_core::table! {
    pub(crate) enum EventAliases in "event_aliases" {
        Scope: BigInt,
        Source: Text,
        SourceId: Text,
        EventId: Text .references("events", "id", OnDelete::Cascade),
    }
    indexes {
        unique event_aliases_origin (Scope, Source, SourceId),
        index event_aliases_event (EventId),
    }
}

pub const TABLES: &[Table] = &[Events::DECLARED, EventAliases::DECLARED];

const COLUMNS: [Events; 26] = [
    Events::Id,
    Events::Scope,
    Events::TenantId,
    Events::Source,
    Events::SourceId,
    Events::Title,
    Events::Description,
    Events::EventCategory,
    Events::EventType,
    Events::EventSubtype,
    Events::Severity,
    Events::EventDate,
    Events::EventDateEnd,
    Events::OccurredAt,
    Events::Location,
    Events::LocationCountry,
    Events::Lat,
    Events::Lng,
    Events::SalienceScore,
    Events::ArticleCount,
    Events::ActorCount,
    Events::Actors,
    Events::DataSource,
    Events::Sources,
    Events::CreatedAt,
    Events::UpdatedAt,
];

/// An event row as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: String,
    pub scope: i64,
    pub tenant_id: Option<i64>,
    pub source: String,
    pub source_id: String,
    pub title: String,
    pub description: Option<String>,
    pub event_category: String,
    pub event_type: Option<String>,
    pub event_subtype: Option<String>,
    pub severity: String,
    pub event_date: String,
    pub event_date_end: Option<String>,
    pub occurred_at: i64,
    pub location: Option<String>,
    pub location_country: Option<String>,
    pub lat: f64,
    pub lng: f64,
    pub salience_score: Option<f64>,
    pub article_count: i64,
    pub actor_count: i64,
    pub actors: JsonText<Vec<Actor>>,
    pub data_source: String,
    pub sources: JsonText<Vec<Attribution>>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Where an event lives: the global corpus or one tenant's private events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Global,
    Tenant(TenantId),
}

impl Scope {
    pub(crate) fn key(self) -> i64 {
        match self {
            Scope::Global => 0,
            Scope::Tenant(t) => t.0,
        }
    }
    pub(crate) fn tenant_id(self) -> Option<i64> {
        match self {
            Scope::Global => None,
            Scope::Tenant(t) => Some(t.0),
        }
    }
}

/// What storing a batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Upserted {
    pub new: usize,
    pub updated: usize,
    /// Records folded into another source's event (§9 merging).
    pub merged: usize,
}

/// `minLng,minLat,maxLng,maxLat`; `min_lng > max_lng` crosses the antimeridian.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bbox {
    pub min_lng: f64,
    pub min_lat: f64,
    pub max_lng: f64,
    pub max_lat: f64,
}

/// The shared event filters (contract §8); values of one filter OR, filters AND.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub bbox: Option<Bbox>,
    pub date_from: Option<NaiveDate>,
    pub date_to: Option<NaiveDate>,
    pub categories: Vec<String>,
    pub types: Vec<String>,
    pub countries: Vec<String>,
    pub keyword: Option<String>,
}

/// Escapes LIKE wildcards so a keyword matches literally.
fn like_pattern(keyword: &str) -> String {
    let mut p = String::from("%");
    for c in keyword.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

fn visible(tenant: TenantId) -> SimpleExpr {
    Expr::col(Events::Scope).is_in([0, tenant.0])
}

/// Whether the tenant sees rows stored before grid cells existed (no `merge_cell`): one probe
/// of the cell index.
async fn rows_without_cells(db: &Db, tenant: TenantId) -> DbResult<bool> {
    let q = Query::select()
        .expr_as(Expr::col(Events::Scope), Alias::new("n"))
        .from(Events::table())
        .and_where(visible(tenant))
        .and_where(Expr::col(Events::MergeCell).is_null())
        .limit(1)
        .to_owned();
    Ok(db.fetch_optional::<Count>(&q).await?.is_some())
}

/// The filters as a query; `cells` lets a `bbox` read its latitude band through the cell
/// index, which only finds rows that have a cell.
pub(crate) fn filtered(
    backend: Backend,
    tenant: TenantId,
    f: &EventFilter,
    cells: bool,
) -> SelectStatement {
    let mut q = Query::select().from(Events::table()).to_owned();
    q.and_where(visible(tenant));
    if let Some(b) = f.bbox {
        // Cells are numbered row by row, so the band's cells are one range of the cell index.
        // (`… OR merge_cell IS NULL` would also find rows without a cell, but then SQLite
        // without statistics walks the whole index.)
        if cells {
            let (first, last) = GRID.band(b.min_lat, b.max_lat);
            q.and_where(Expr::col(Events::MergeCell).between(first, last));
        }
        q.and_where(Expr::col(Events::Lat).between(b.min_lat, b.max_lat));
        if b.min_lng <= b.max_lng {
            q.and_where(Expr::col(Events::Lng).between(b.min_lng, b.max_lng));
        } else {
            q.cond_where(
                Cond::any()
                    .add(Expr::col(Events::Lng).gte(b.min_lng))
                    .add(Expr::col(Events::Lng).lte(b.max_lng)),
            );
        }
    }
    // Dates are stored as `YYYY-MM-DD`, so text order is date order.
    if let Some(d) = f.date_from {
        q.and_where(Expr::col(Events::EventDate).gte(d.to_string()));
    }
    if let Some(d) = f.date_to {
        q.and_where(Expr::col(Events::EventDate).lte(d.to_string()));
    }
    if !f.categories.is_empty() {
        q.and_where(Expr::col(Events::EventCategory).is_in(f.categories.clone()));
    }
    if !f.types.is_empty() {
        q.and_where(Expr::col(Events::EventType).is_in(f.types.clone()));
    }
    if !f.countries.is_empty() {
        q.and_where(Expr::col(Events::LocationCountry).is_in(f.countries.clone()));
    }
    if let Some(k) = &f.keyword {
        let pattern = like_pattern(k);
        let like = LikeExpr::new(pattern.clone()).escape('\\');
        q.cond_where(
            Cond::any()
                .add(Expr::expr(Func::lower(Expr::col(Events::Title))).like(like.clone()))
                .add(Expr::expr(Func::lower(Expr::col(Events::Description))).like(like)),
        );
        if let Some(narrow) = keyword_prefilter(backend, &pattern) {
            q.cond_where(narrow);
        }
    }
    q
}

/// The rows the trigram index says may contain the keyword (`pattern`, as the LIKE above has
/// it); the LIKE decides among them. SQLite only: on PostgreSQL that LIKE is itself on the
/// indexed expressions (`LOWER(title)`, `LOWER(description)`), whose GIN indexes it reads,
/// and repeating it would only skew the planner's estimates. `None` for a keyword shorter
/// than a trigram, which reads the rows as before.
fn keyword_prefilter(backend: Backend, pattern: &str) -> Option<Cond> {
    if backend != Backend::Sqlite {
        return None;
    }
    let [index] = Events::DECLARED.text_indexes else {
        return None;
    };
    index.prefilter(
        backend,
        Events::DECLARED.name,
        Expr::col(Events::Id).into(),
        &[pattern.to_string()],
        // Every third trigram: the event filters are built without a database at hand.
        &picket_core::db::text::Rarity::default(),
    )
}

#[derive(sqlx::FromRow)]
struct Count {
    n: i64,
}

/// One page of the events the tenant sees, `event_date` descending then `id`, and the total.
pub async fn list(
    db: &Db,
    tenant: TenantId,
    f: &EventFilter,
    limit: u64,
    offset: u64,
) -> DbResult<(Vec<EventRow>, i64)> {
    let cells = f.bbox.is_some() && !rows_without_cells(db, tenant).await?;
    let count = filtered(db.backend(), tenant, f, cells)
        .expr_as(Func::count(Expr::col(Asterisk)), Alias::new("n"))
        .to_owned();
    let total = db.fetch_one::<Count>(&count).await?.n;
    let page = filtered(db.backend(), tenant, f, cells)
        .columns(COLUMNS)
        .order_by(Events::EventDate, Order::Desc)
        .order_by(Events::Id, Order::Asc)
        .limit(limit)
        .offset(offset)
        .to_owned();
    Ok((db.fetch_all(&page).await?, total))
}

/// Events at a map point: within this distance of it (contract §8.2).
pub const AT_POINT_RADIUS_KM: f64 = 0.1;

/// The box around a circle of `radius_km` at the point: the whole longitude range where the
/// circle reaches a pole, and `min_lng > max_lng` where it crosses the antimeridian.
fn around(lat: f64, lng: f64, radius_km: f64) -> Bbox {
    let dlat = radius_km / KM_PER_DEG;
    let (min_lat, max_lat) = ((lat - dlat).max(-90.0), (lat + dlat).min(90.0));
    let width = KM_PER_DEG * lat.to_radians().cos();
    if min_lat <= -90.0 || max_lat >= 90.0 || radius_km >= width * 180.0 {
        return Bbox {
            min_lng: -180.0,
            min_lat,
            max_lng: 180.0,
            max_lat,
        };
    }
    let dlng = radius_km / width;
    let wrap = |x: f64| {
        if x < -180.0 {
            x + 360.0
        } else if x > 180.0 {
            x - 360.0
        } else {
            x
        }
    };
    Bbox {
        min_lng: wrap(lng - dlng),
        min_lat,
        max_lng: wrap(lng + dlng),
        max_lat,
    }
}

#[derive(sqlx::FromRow)]
struct Located {
    id: String,
    lat: f64,
    lng: f64,
}

/// One page of the events the tenant sees within `radius_km` of the point, `event_date`
/// descending then `id`, and their total. The box around the circle is read through the cell
/// index, the circle itself measured on the sphere; only the page's rows are read whole.
pub async fn at_point(
    db: &Db,
    tenant: TenantId,
    (lat, lng): (f64, f64),
    radius_km: f64,
    limit: u64,
    offset: u64,
) -> DbResult<(Vec<EventRow>, i64)> {
    let f = EventFilter {
        bbox: Some(around(lat, lng, radius_km)),
        ..EventFilter::default()
    };
    let cells = !rows_without_cells(db, tenant).await?;
    let candidates = filtered(db.backend(), tenant, &f, cells)
        .columns([Events::Id, Events::Lat, Events::Lng])
        .order_by(Events::EventDate, Order::Desc)
        .order_by(Events::Id, Order::Asc)
        .to_owned();
    let inside: Vec<String> = db
        .fetch_all::<Located>(&candidates)
        .await?
        .into_iter()
        .filter(|e| distance_km(lat, lng, e.lat, e.lng) <= radius_km)
        .map(|e| e.id)
        .collect();
    let total = inside.len() as i64;
    let page: Vec<String> = inside
        .into_iter()
        .skip(offset as usize)
        .take(limit as usize)
        .collect();
    if page.is_empty() {
        return Ok((Vec::new(), total));
    }
    let q = Query::select()
        .columns(COLUMNS)
        .from(Events::table())
        .and_where(visible(tenant))
        .and_where(Expr::col(Events::Id).is_in(page.clone()))
        .to_owned();
    let mut rows: Vec<EventRow> = db.fetch_all(&q).await?;
    // Back in the page's order.
    rows.sort_by_key(|r| page.iter().position(|id| *id == r.id));
    Ok((rows, total))
}

/// One event the tenant may see.
pub async fn get(db: &Db, tenant: TenantId, id: &str) -> DbResult<Option<EventRow>> {
    let q = Query::select()
        .columns(COLUMNS)
        .from(Events::table())
        .and_where(visible(tenant))
        .and_where(Expr::col(Events::Id).eq(id))
        .to_owned();
    db.fetch_optional(&q).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_box_around_a_point_wraps_and_reaches_the_poles() {
        let b = super::around(6.45, 3.39, 0.1);
        assert!(b.min_lat < 6.45 && b.max_lat > 6.45 && b.max_lat - b.min_lat < 0.002);
        assert!(b.min_lng < 3.39 && b.max_lng > 3.39 && b.min_lng < b.max_lng);
        // Across the antimeridian the box wraps: min_lng > max_lng.
        let b = super::around(0.0, 179.9999, 0.1);
        assert!(
            b.min_lng > b.max_lng && b.min_lng < 180.0 && b.max_lng < -179.0,
            "{b:?}"
        );
        let b = super::around(-10.0, -179.9999, 0.1);
        assert!(
            b.min_lng > 179.0 && b.max_lng > -180.0 && b.max_lng < -179.0,
            "{b:?}"
        );
        // At a pole every longitude is within reach.
        let b = super::around(89.9995, 10.0, 0.1);
        assert_eq!((b.min_lng, b.max_lng, b.max_lat), (-180.0, 180.0, 90.0));
    }

    #[test]
    fn keywords_match_literally() {
        assert_eq!(super::like_pattern("50%_A\\b"), "%50\\%\\_a\\\\b%");
    }
}
