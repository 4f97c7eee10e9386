//! Storing a batch of records with a few statements per chunk instead of several per record.
//!
//! For each chunk the rows it can touch are read at once: the events its origins already name
//! (`(source, source_id)`), the events its merged origins were folded into (aliases), and the
//! merge candidates in the chunk's bounding box and time window. The records are then applied
//! one by one, in file order, to that working set in memory — exactly the decisions the
//! record-at-a-time path made, including records that update or merge into an event created
//! earlier in the same chunk — and the result is written back: multi-row inserts for new
//! events and aliases, one `UPDATE` per changed existing event.

use std::collections::{BTreeMap, HashMap};

use picket_core::db::bulk::insert_rows;
use picket_core::db::{DbResult, Tx};
use picket_core::time::now_ms;
use sea_query::{Expr, Iden, Query, SimpleExpr, Value};

use super::merge::{self, EventAliases};
use super::model::{Attribution, NewEvent, Severity};
use super::store::{Events, Scope, Upserted};
use crate::grid::Grid;

/// Records per chunk: bounds the lookups' parameter lists and the candidate window.
const CHUNK: usize = 1000;

/// The columns read for an event the batch may touch.
#[derive(sqlx::FromRow)]
struct Stored {
    id: String,
    source: String,
    source_id: String,
    title: String,
    event_category: String,
    severity: String,
    occurred_at: i64,
    lat: f64,
    lng: f64,
    article_count: i64,
    sources: String,
    updated_at: i64,
}

const STORED: [Events; 12] = [
    Events::Id,
    Events::Source,
    Events::SourceId,
    Events::Title,
    Events::EventCategory,
    Events::Severity,
    Events::OccurredAt,
    Events::Lat,
    Events::Lng,
    Events::ArticleCount,
    Events::Sources,
    Events::UpdatedAt,
];

/// An event of the working set, as it stands after the records applied so far.
struct Slot {
    id: String,
    /// Created by this chunk: written with one multi-row insert.
    created: bool,
    /// Changed by this chunk: an existing event gets an `UPDATE`.
    dirty: bool,
    /// The record (its index in the chunk) whose data columns replace the stored ones (a new
    /// event, or an update of the event's own origin).
    data: Option<usize>,
    source: String,
    source_id: String,
    title: String,
    category: String,
    severity: Severity,
    occurred_at: i64,
    lat: f64,
    lng: f64,
    article_count: i64,
    sources: Vec<Attribution>,
    updated_at: i64,
}

impl Slot {
    fn from_stored(s: Stored) -> Slot {
        Slot {
            id: s.id,
            created: false,
            dirty: false,
            data: None,
            source: s.source,
            source_id: s.source_id,
            title: s.title,
            category: s.event_category,
            severity: Severity::parse(&s.severity).unwrap_or(Severity::Low),
            occurred_at: s.occurred_at,
            lat: s.lat,
            lng: s.lng,
            article_count: s.article_count,
            sources: merge::parse(&s.sources),
            updated_at: s.updated_at,
        }
    }

    /// Takes the record's data columns (its own origin reported again).
    fn take_data(&mut self, e: &NewEvent, at: usize) {
        self.title = e.title.clone();
        self.category = e.event_category.to_string();
        self.severity = e.severity;
        self.occurred_at = e.occurred_at;
        self.lat = e.lat;
        self.lng = e.lng;
        self.data = Some(at);
    }

    /// Strictly later than before, so a client polling `updated_at` sees every change even
    /// when two imports land in the same millisecond.
    fn touch(&mut self, now: i64) {
        self.updated_at = now.max(self.updated_at + 1);
        self.dirty = true;
    }

    /// Whether the record may be folded into this event (contract §9).
    fn merges(&self, e: &NewEvent) -> bool {
        (self.lat - e.lat).abs() <= merge::MAX_DISTANCE_KM / 100.0
            && self.category == e.event_category
            && self.source != e.source
            && (self.occurred_at - e.occurred_at).abs() <= merge::MAX_GAP_MS
            && merge::distance_km(self.lat, self.lng, e.lat, e.lng) <= merge::MAX_DISTANCE_KM
            && !self.sources.iter().any(|a| a.source == e.source)
    }
}

type Origin = (String, String);

fn origin(e: &NewEvent) -> Origin {
    (e.source.clone(), e.source_id.clone())
}

/// A map keyed by origin, looked up by `(&str, &str)` without building a key per record.
struct ByOrigin<V>(HashMap<String, HashMap<String, V>>);

impl<V> Default for ByOrigin<V> {
    fn default() -> Self {
        ByOrigin(HashMap::new())
    }
}

impl<V> ByOrigin<V> {
    fn get(&self, source: &str, source_id: &str) -> Option<&V> {
        self.0.get(source)?.get(source_id)
    }

    fn insert(&mut self, source: &str, source_id: &str, value: V) {
        match self.0.get_mut(source) {
            Some(m) => m.insert(source_id.to_string(), value),
            None => self
                .0
                .entry(source.to_string())
                .or_default()
                .insert(source_id.to_string(), value),
        };
    }

    fn values(&self) -> impl Iterator<Item = &V> {
        self.0.values().flat_map(HashMap::values)
    }
}

/// The working set of one chunk.
#[derive(Default)]
struct Working {
    slots: Vec<Slot>,
    by_id: HashMap<String, usize>,
    by_origin: ByOrigin<usize>,
    /// Slots by the grid cell of their position, so a record tests only its neighbours (an
    /// entry goes stale when its event moves; candidates are tested on the slot itself).
    by_cell: HashMap<i64, Vec<usize>>,
    aliases: ByOrigin<String>,
    new_aliases: Vec<(Origin, String)>,
}

impl Working {
    fn add(&mut self, slot: Slot) -> usize {
        if let Some(&i) = self.by_id.get(&slot.id) {
            return i;
        }
        let i = self.slots.len();
        self.by_id.insert(slot.id.clone(), i);
        self.by_origin.insert(&slot.source, &slot.source_id, i);
        self.slots.push(slot);
        self.place(i);
        i
    }

    fn place(&mut self, i: usize) {
        let s = &self.slots[i];
        let list = self.by_cell.entry(GRID.cell(s.lat, s.lng)).or_default();
        if !list.contains(&i) {
            list.push(i);
        }
    }

    /// The best merge candidate for the record: most similar title among those close enough;
    /// on a tie the slot added last, as when every slot was tested in order.
    fn candidate(&self, e: &NewEvent) -> Option<usize> {
        let mut near: Vec<usize> = near_cells(e.lat, e.lng)
            .iter()
            .filter_map(|c| self.by_cell.get(c))
            .flatten()
            .copied()
            .collect();
        near.sort_unstable();
        near.dedup();
        near.into_iter()
            .filter(|&i| self.slots[i].merges(e))
            .map(|i| (merge::title_similarity(&self.slots[i].title, &e.title), i))
            .filter(|(sim, _)| *sim >= merge::MIN_TITLE_SIMILARITY)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, i)| i)
    }

    /// Applies record `at` of the chunk: update its origin's event, else the event its alias
    /// names, else merge into a candidate, else create.
    fn apply(&mut self, e: &NewEvent, at: usize, now: i64) -> Outcome {
        if let Some(&i) = self.by_origin.get(&e.source, &e.source_id) {
            let s = &mut self.slots[i];
            // Keep what other sources merged in: their attributions and their article counts.
            s.sources = merge::with_attribution(&s.sources, e.attribution());
            s.article_count = e.article_count + s.sources.len() as i64 - 1;
            s.take_data(e, at);
            s.touch(now);
            self.place(i);
            return Outcome::Updated;
        }
        if let Some(i) = self
            .aliases
            .get(&e.source, &e.source_id)
            .and_then(|id| self.by_id.get(id))
        {
            let s = &mut self.slots[*i];
            s.sources = merge::with_attribution(&s.sources, e.attribution());
            s.touch(now);
            return Outcome::Updated;
        }
        if let Some(i) = self.candidate(e) {
            let s = &mut self.slots[i];
            s.sources = merge::with_attribution(&s.sources, e.attribution());
            s.article_count += e.article_count;
            s.severity = s.severity.min(e.severity);
            s.touch(now);
            let id = s.id.clone();
            self.aliases.insert(&e.source, &e.source_id, id.clone());
            self.new_aliases.push((origin(e), id));
            return Outcome::Merged;
        }
        let mut slot = Slot {
            id: format!("evt_{}", uuid::Uuid::now_v7()),
            created: true,
            dirty: true,
            data: None,
            source: e.source.clone(),
            source_id: e.source_id.clone(),
            title: String::new(),
            category: String::new(),
            severity: e.severity,
            occurred_at: 0,
            lat: 0.0,
            lng: 0.0,
            article_count: e.article_count,
            sources: vec![e.attribution()],
            updated_at: now,
        };
        slot.take_data(e, at);
        self.add(slot);
        Outcome::New
    }
}

enum Outcome {
    New,
    Updated,
    Merged,
}

/// Stores the records in the caller's transaction, chunk by chunk.
pub(crate) async fn store(tx: &mut Tx, scope: Scope, events: &[NewEvent]) -> DbResult<Upserted> {
    let mut out = Upserted::default();
    for chunk in events.chunks(CHUNK) {
        let now = now_ms();
        let mut w = load(tx, scope, chunk).await?;
        for (at, e) in chunk.iter().enumerate() {
            match w.apply(e, at, now) {
                Outcome::New => out.new += 1,
                Outcome::Updated => out.updated += 1,
                Outcome::Merged => out.merged += 1,
            }
        }
        write(tx, scope, w, chunk, now).await?;
    }
    Ok(out)
}

/// Origins of the chunk grouped by source, so each lookup uses the `(scope, source,
/// source_id)` unique index.
fn by_source<'a>(origins: impl Iterator<Item = &'a Origin>) -> BTreeMap<&'a str, Vec<String>> {
    let mut m: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (source, id) in origins {
        m.entry(source.as_str()).or_default().push(id.clone());
    }
    m
}

async fn load(tx: &mut Tx, scope: Scope, chunk: &[NewEvent]) -> DbResult<Working> {
    let mut w = Working::default();
    let origins: Vec<Origin> = chunk.iter().map(origin).collect();

    // Events the chunk's origins already name.
    for (source, ids) in by_source(origins.iter()) {
        let q = Query::select()
            .columns(STORED)
            .from(Events::Table)
            .and_where(Expr::col(Events::Scope).eq(scope.key()))
            .and_where(Expr::col(Events::Source).eq(source))
            .and_where(Expr::col(Events::SourceId).is_in(ids))
            .to_owned();
        for s in tx.fetch_all::<Stored>(&q).await? {
            w.add(Slot::from_stored(s));
        }
    }

    // Origins merged earlier into another source's event.
    #[derive(sqlx::FromRow)]
    struct Alias {
        source: String,
        source_id: String,
        event_id: String,
    }
    let unknown: Vec<&Origin> = origins
        .iter()
        .filter(|(source, id)| w.by_origin.get(source, id).is_none())
        .collect();
    for (source, ids) in by_source(unknown.into_iter()) {
        let q = Query::select()
            .columns([
                EventAliases::Source,
                EventAliases::SourceId,
                EventAliases::EventId,
            ])
            .from(EventAliases::Table)
            .and_where(Expr::col(EventAliases::Scope).eq(scope.key()))
            .and_where(Expr::col(EventAliases::Source).eq(source))
            .and_where(Expr::col(EventAliases::SourceId).is_in(ids))
            .to_owned();
        for a in tx.fetch_all::<Alias>(&q).await? {
            w.aliases.insert(&a.source, &a.source_id, a.event_id);
        }
    }
    let aliased: Vec<String> = w
        .aliases
        .values()
        .filter(|id| !w.by_id.contains_key(*id))
        .cloned()
        .collect();
    if !aliased.is_empty() {
        let q = Query::select()
            .columns(STORED)
            .from(Events::Table)
            .and_where(Expr::col(Events::Id).is_in(aliased))
            .to_owned();
        for s in tx.fetch_all::<Stored>(&q).await? {
            w.add(Slot::from_stored(s));
        }
    }

    // Merge candidates: the grid cells within merging distance of any record, in the chunk's
    // time window; the exact test is made per record in memory. Rows stored before cells
    // existed (null) are read too, so nothing older is missed.
    let mut cells: Vec<i64> = chunk
        .iter()
        .flat_map(|e| near_cells(e.lat, e.lng))
        .collect();
    cells.sort_unstable();
    cells.dedup();
    let t0 = chunk.iter().map(|e| e.occurred_at).min().unwrap_or(0) - merge::MAX_GAP_MS;
    let t1 = chunk.iter().map(|e| e.occurred_at).max().unwrap_or(0) + merge::MAX_GAP_MS;
    let single_source = match by_source(origins.iter()).keys().collect::<Vec<_>>()[..] {
        [only] => Some(String::from(*only)),
        _ => None,
    };
    // The rows without a cell are read by a statement of their own: `IN (…) OR IS NULL` made
    // SQLite walk the whole scope in the cell index, once per chunk, which grew with the
    // corpus (most of a 1M-event import).
    let lookups = std::iter::once(None).chain(cells.chunks(LOOKUP_CELLS).map(Some));
    for part in lookups {
        let cell = match part {
            None => Expr::col(Events::MergeCell).is_null(),
            Some(part) => Expr::col(Events::MergeCell).is_in(part.to_vec()),
        };
        let mut q = Query::select()
            .columns(STORED)
            .from(Events::Table)
            .and_where(Expr::col(Events::Scope).eq(scope.key()))
            .and_where(cell)
            .and_where(Expr::col(Events::OccurredAt).between(t0, t1))
            .to_owned();
        // A chunk from one feed never merges into that feed's own events.
        if let Some(only) = &single_source {
            q.and_where(Expr::col(Events::Source).ne(only.as_str()));
        }
        for s in tx.fetch_all::<Stored>(&q).await? {
            w.add(Slot::from_stored(s));
        }
    }
    Ok(w)
}

/// Grid cells per lookup statement.
const LOOKUP_CELLS: usize = 500;
/// The events' grid: 0.1° × 0.1° cells, about 11 km north-south, wider than the merging
/// distance, so a record's candidates lie in its own cell or a neighbour. Stored with each
/// event (`merge_cell`).
pub(crate) const GRID: Grid = Grid::new(10.0, 10.0);

/// Every cell holding a point within merging distance of `(lat, lng)`.
fn near_cells(lat: f64, lng: f64) -> Vec<i64> {
    GRID.near(lat, lng, merge::MAX_DISTANCE_KM)
}

fn json(sources: &[Attribution]) -> Value {
    serde_json::to_string(sources).unwrap_or_default().into()
}

/// The record's data columns, in the order of [`DATA_COLUMNS`].
fn data_values(e: &NewEvent) -> Vec<Value> {
    vec![
        e.title.clone().into(),
        e.description.clone().into(),
        e.event_category.into(),
        e.event_type.clone().into(),
        e.event_subtype.clone().into(),
        e.event_date.to_string().into(),
        e.event_date_end.map(|d| d.to_string()).into(),
        e.occurred_at.into(),
        e.location.clone().into(),
        e.location_country.clone().into(),
        e.lat.into(),
        e.lng.into(),
        e.salience_score.into(),
        e.actor_count.into(),
        serde_json::to_string(&e.actors).unwrap_or_default().into(),
        e.data_source.clone().into(),
        GRID.cell(e.lat, e.lng).into(),
    ]
}

const DATA_COLUMNS: [Events; 17] = [
    Events::Title,
    Events::Description,
    Events::EventCategory,
    Events::EventType,
    Events::EventSubtype,
    Events::EventDate,
    Events::EventDateEnd,
    Events::OccurredAt,
    Events::Location,
    Events::LocationCountry,
    Events::Lat,
    Events::Lng,
    Events::SalienceScore,
    Events::ActorCount,
    Events::Actors,
    Events::DataSource,
    Events::MergeCell,
];

/// What every change writes besides the data columns.
fn state_values(s: &Slot) -> Vec<(Events, Value)> {
    vec![
        (Events::Severity, s.severity.as_str().into()),
        (Events::ArticleCount, s.article_count.into()),
        (Events::Sources, json(&s.sources)),
        (Events::UpdatedAt, s.updated_at.into()),
    ]
}

async fn write(
    tx: &mut Tx,
    scope: Scope,
    w: Working,
    chunk: &[NewEvent],
    now: i64,
) -> DbResult<()> {
    let mut created: Vec<Vec<Value>> = Vec::new();
    for s in w.slots.iter().filter(|s| s.dirty) {
        let data = s.data.map(|at| data_values(&chunk[at]));
        if s.created {
            let mut row: Vec<Value> = vec![
                s.id.clone().into(),
                scope.key().into(),
                scope.tenant_id().into(),
                s.source.clone().into(),
                s.source_id.clone().into(),
                now.into(),
            ];
            row.extend(data.expect("a created event has its record"));
            row.extend(state_values(s).into_iter().map(|(_, v)| v));
            created.push(row);
            continue;
        }
        let mut values: Vec<(Events, SimpleExpr)> = state_values(s)
            .into_iter()
            .map(|(c, v)| (c, v.into()))
            .collect();
        if let Some(data) = data {
            values.extend(
                DATA_COLUMNS
                    .into_iter()
                    .zip(data.into_iter().map(Into::into)),
            );
        }
        tx.execute(
            &Query::update()
                .table(Events::Table)
                .values(values)
                .and_where(Expr::col(Events::Id).eq(s.id.clone()))
                .to_owned(),
        )
        .await?;
    }
    let mut columns: Vec<String> = [
        Events::Id,
        Events::Scope,
        Events::TenantId,
        Events::Source,
        Events::SourceId,
        Events::CreatedAt,
    ]
    .iter()
    .chain(DATA_COLUMNS.iter())
    .map(Iden::to_string)
    .collect();
    columns.extend(
        [
            Events::Severity,
            Events::ArticleCount,
            Events::Sources,
            Events::UpdatedAt,
        ]
        .iter()
        .map(Iden::to_string),
    );
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    insert_rows(tx, "events", &columns, created).await?;
    insert_rows(
        tx,
        "event_aliases",
        &["scope", "source", "source_id", "event_id"],
        w.new_aliases.into_iter().map(|((source, source_id), id)| {
            vec![
                scope.key().into(),
                source.into(),
                source_id.into(),
                id.into(),
            ]
        }),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_cells_cover_the_merging_distance() {
        // Every point within 2 km lies in one of the cells listed for the centre.
        for (lat, lng) in [
            (6.45, 3.39),
            (0.0, 179.999),
            (-33.95, -0.001),
            (60.0, 10.05),
            (89.99, 0.0),
        ] {
            let cells = near_cells(lat, lng);
            for bearing in 0..16 {
                let a = f64::from(bearing) * std::f64::consts::PI / 8.0;
                let dlat = 1.99 / 111.0 * a.cos();
                let dlng = 1.99 / 111.0 * a.sin() / lat.to_radians().cos().max(1e-6);
                let (plat, mut plng) = ((lat + dlat).clamp(-90.0, 90.0), lng + dlng);
                if plng > 180.0 {
                    plng -= 360.0;
                }
                assert!(
                    cells.contains(&GRID.cell(plat, plng)),
                    "({plat}, {plng}) near ({lat}, {lng})"
                );
            }
        }
        assert_eq!(
            GRID.cell(0.0, 180.0),
            GRID.cell(0.0, -180.0),
            "one meridian, one cell"
        );
        assert!(near_cells(10.0, 20.0).len() <= 9);
    }

    fn record(source: &str, id: &str, title: &str, lat: f64, lng: f64) -> NewEvent {
        crate::corpus::input::EventInput {
            source: Some(source.into()),
            source_id: Some(id.into()),
            title: Some(title.into()),
            event_category: Some("civil_unrest".into()),
            event_date: Some("2026-04-18".into()),
            coordinates: Some(vec![lng, lat]),
            ..Default::default()
        }
        .validate("test")
        .unwrap()
    }

    /// An event that moves within a chunk is a candidate where it now is, not where it was.
    #[test]
    fn candidates_follow_an_event_that_moved() {
        let mut w = Working::default();
        let chunk = [
            record("a", "1", "Protest at the port", 6.45, 3.39),
            record("a", "1", "Protest at the port", 9.05, 7.49),
            record("b", "1", "Protest at the port", 9.051, 7.49),
            record("c", "1", "Protest at the port", 6.451, 3.39),
        ];
        let outcomes: Vec<&str> = chunk
            .iter()
            .enumerate()
            .map(|(at, e)| match w.apply(e, at, 0) {
                Outcome::New => "new",
                Outcome::Updated => "updated",
                Outcome::Merged => "merged",
            })
            .collect();
        assert_eq!(outcomes, ["new", "updated", "merged", "new"]);
    }

    #[test]
    fn a_latitude_band_holds_the_cells_of_its_points() {
        for (min, max) in [
            (21.0, 26.0),
            (-90.0, 90.0),
            (0.05, 0.05),
            (-0.1, 0.1),
            (89.9, 90.0),
        ] {
            let (first, last) = GRID.band(min, max);
            for step in 0..=100 {
                let lat = min + (max - min) * f64::from(step) / 100.0;
                for lng in [-180.0, -0.05, 0.0, 179.99, 180.0] {
                    let c = GRID.cell(lat, lng);
                    assert!(
                        (first..=last).contains(&c),
                        "({lat}, {lng}) in {min}..{max}"
                    );
                }
            }
        }
        // Outside the band's rows, outside the range.
        let (first, last) = GRID.band(21.0, 26.0);
        assert!(GRID.cell(20.89, 0.0) < first && GRID.cell(26.11, 0.0) > last);
    }
}
