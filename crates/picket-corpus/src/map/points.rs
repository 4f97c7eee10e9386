//! The map's points in memory: every event's position, the fields the event filters test, and
//! what a tile or a GeoJSON feature shows, sorted by Morton code (see [`super::mercator`]).
//!
//! A snapshot is a sorted `base`, a `dead` mark per base point that a later version replaced,
//! and a small unsorted `delta` of the versions that replaced them or came since. Scans read
//! the base slice of a tile's code range and the delta; when the delta grows past a quarter of
//! the base, the two are merged into a new base.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;

use super::mercator::{self, Tile};
use crate::store::{Bbox, EventFilter};
use crate::taxonomy::Severity;

/// Severity names by rank, 0 the lowest.
pub const SEVERITIES: [&str; 5] = ["negligible", "low", "medium", "high", "critical"];

/// A severity's rank in [`SEVERITIES`] (unknown names rank lowest).
pub fn severity_rank(name: &str) -> u8 {
    match Severity::parse(name) {
        Some(Severity::Critical) => 4,
        Some(Severity::High) => 3,
        Some(Severity::Medium) => 2,
        Some(Severity::Low) => 1,
        _ => 0,
    }
}

/// Strings stored once and referred to by number; 0 is "none".
#[derive(Debug, Default, Clone)]
pub struct Vocab {
    names: Vec<Box<str>>,
    numbers: HashMap<Box<str>, u32>,
}

impl Vocab {
    pub fn number(&mut self, name: Option<&str>) -> u32 {
        let Some(name) = name else { return 0 };
        if let Some(&n) = self.numbers.get(name) {
            return n;
        }
        self.names.push(name.into());
        let n = self.names.len() as u32;
        self.numbers.insert(name.into(), n);
        n
    }

    /// Names known; their numbers run 1 to `len`.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn name(&self, n: u32) -> Option<&str> {
        (n > 0).then(|| &*self.names[n as usize - 1])
    }

    /// The numbers of `names` that are known: a filter on names never seen matches nothing.
    fn lookup(&self, names: &[String]) -> Option<Vec<u32>> {
        (!names.is_empty()).then(|| {
            names
                .iter()
                .filter_map(|n| self.numbers.get(n.as_str()).copied())
                .collect()
        })
    }
}

/// One event on the map.
#[derive(Debug, Clone)]
pub struct MapPoint {
    pub code: u64,
    pub lat: f64,
    pub lng: f64,
    /// 0 for the global corpus, else the tenant whose pushed event it is.
    pub scope: i64,
    /// `event_date` as days since 1970-01-01.
    pub day: i32,
    pub severity: u8,
    pub category: u32,
    pub kind: u32,
    pub country: u32,
    pub id: Box<str>,
    pub title: Box<str>,
}

/// An event row as the map reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MapRow {
    pub id: String,
    pub scope: i64,
    pub title: String,
    pub event_category: String,
    pub event_type: Option<String>,
    pub severity: String,
    pub event_date: String,
    pub location_country: Option<String>,
    pub lat: f64,
    pub lng: f64,
    pub updated_at: i64,
}

fn day_number(date: NaiveDate) -> i32 {
    (date - NaiveDate::default()).num_days() as i32
}

/// `YYYY-MM-DD` as a day number; what does not parse sorts first.
fn parse_day(s: &str) -> i32 {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_or(i32::MIN, day_number)
}

/// The date of a day number.
pub fn date_of(day: i32) -> NaiveDate {
    NaiveDate::default() + chrono::Days::new(day.max(0) as u64)
}

/// The shared event filters as the map tests them, for one tenant's view.
#[derive(Debug)]
pub struct Matcher {
    tenant: i64,
    bbox: Option<Bbox>,
    day_from: i32,
    day_to: i32,
    categories: Option<Vec<u32>>,
    kinds: Option<Vec<u32>>,
    countries: Option<Vec<u32>>,
    /// The ids matching the `keyword`, read from the database (the map keeps no text).
    ids: Option<HashSet<String>>,
}

impl Matcher {
    pub fn matches(&self, p: &MapPoint) -> bool {
        let listed = |set: &Option<Vec<u32>>, v: u32| set.as_ref().is_none_or(|s| s.contains(&v));
        (p.scope == 0 || p.scope == self.tenant)
            && p.day >= self.day_from
            && p.day <= self.day_to
            && listed(&self.categories, p.category)
            && listed(&self.kinds, p.kind)
            && listed(&self.countries, p.country)
            && self.bbox.is_none_or(|b| inside(&b, p.lat, p.lng))
            && self.ids.as_ref().is_none_or(|ids| ids.contains(&*p.id))
    }
}

/// The `bbox` test of [`crate::store`]'s filters, inclusive, wrapping at the antimeridian.
fn inside(b: &Bbox, lat: f64, lng: f64) -> bool {
    let lng_in = if b.min_lng <= b.max_lng {
        lng >= b.min_lng && lng <= b.max_lng
    } else {
        lng >= b.min_lng || lng <= b.max_lng
    };
    lat >= b.min_lat && lat <= b.max_lat && lng_in
}

/// The map's points at one moment.
#[derive(Debug, Default)]
pub struct Snapshot {
    base: Vec<MapPoint>,
    dead: Vec<bool>,
    /// Base positions in `id` order, to find the point an update replaces.
    by_id: Vec<u32>,
    delta: Vec<MapPoint>,
    delta_at: HashMap<Box<str>, usize>,
    /// Bumped by every change, so answers computed from an older state are not reused.
    pub version: u64,
    pub categories: Vocab,
    pub kinds: Vocab,
    pub countries: Vocab,
}

impl Snapshot {
    /// A snapshot of `rows` (at most one row per id).
    pub fn build(rows: Vec<MapRow>) -> Snapshot {
        let mut s = Snapshot::default();
        let points = rows.into_iter().map(|r| s.point(r)).collect();
        s.rebase(points);
        s
    }

    fn point(&mut self, r: MapRow) -> MapPoint {
        let (x, y) = mercator::quantise(r.lng, r.lat);
        MapPoint {
            code: mercator::code(x, y),
            lat: r.lat,
            lng: r.lng,
            scope: r.scope,
            day: parse_day(&r.event_date),
            severity: severity_rank(&r.severity),
            category: self.categories.number(Some(&r.event_category)),
            kind: self.kinds.number(r.event_type.as_deref()),
            country: self.countries.number(r.location_country.as_deref()),
            id: r.id.into(),
            title: r.title.into(),
        }
    }

    fn rebase(&mut self, mut points: Vec<MapPoint>) {
        points.sort_unstable_by_key(|p| p.code);
        let mut by_id: Vec<u32> = (0..points.len() as u32).collect();
        by_id.sort_unstable_by(|&a, &b| points[a as usize].id.cmp(&points[b as usize].id));
        self.dead = vec![false; points.len()];
        self.base = points;
        self.by_id = by_id;
        self.delta.clear();
        self.delta_at.clear();
    }

    /// Takes in changed events: a new version replaces the point of the same id.
    pub fn apply(&mut self, rows: Vec<MapRow>) {
        self.version += 1;
        for r in rows {
            let p = self.point(r);
            if let Ok(at) = self
                .by_id
                .binary_search_by(|&i| (*self.base[i as usize].id).cmp(&*p.id))
            {
                self.dead[self.by_id[at] as usize] = true;
            }
            match self.delta_at.get(&p.id) {
                Some(&i) => self.delta[i] = p,
                None => {
                    self.delta_at.insert(p.id.clone(), self.delta.len());
                    self.delta.push(p);
                }
            }
        }
        if self.delta.len() > 10_000.max(self.base.len() / 4) {
            let mut points = std::mem::take(&mut self.base);
            let dead = std::mem::take(&mut self.dead);
            let mut keep = dead.iter().map(|d| !d);
            points.retain(|_| keep.next().unwrap_or(true));
            points.append(&mut self.delta);
            self.rebase(points);
        }
    }

    /// The filters for `tenant`'s view; `ids` are the matches of the `keyword` when one is set.
    pub fn matcher(&self, tenant: i64, f: &EventFilter, ids: Option<HashSet<String>>) -> Matcher {
        Matcher {
            tenant,
            bbox: f.bbox,
            day_from: f.date_from.map_or(i32::MIN, day_number),
            day_to: f.date_to.map_or(i32::MAX, day_number),
            categories: self.categories.lookup(&f.categories),
            kinds: self.kinds.lookup(&f.types),
            countries: self.countries.lookup(&f.countries),
            ids,
        }
    }

    /// Every live point matching `m`, base first, in no particular order across the two.
    pub fn matching<'a>(&'a self, m: &'a Matcher) -> impl Iterator<Item = &'a MapPoint> + 'a {
        self.live(0, self.base.len())
            .chain(self.delta.iter())
            .filter(move |p| m.matches(p))
    }

    /// The live points matching `m` inside a tile.
    pub fn in_tile<'a>(
        &'a self,
        tile: Tile,
        m: &'a Matcher,
    ) -> impl Iterator<Item = &'a MapPoint> + 'a {
        let (first, last) = tile.codes();
        let start = self.base.partition_point(|p| p.code < first);
        let end = self.base.partition_point(|p| p.code <= last);
        self.live(start, end)
            .chain(
                self.delta
                    .iter()
                    .filter(move |p| p.code >= first && p.code <= last),
            )
            .filter(move |p| m.matches(p))
    }

    fn live(&self, start: usize, end: usize) -> impl Iterator<Item = &MapPoint> + '_ {
        self.base[start..end]
            .iter()
            .zip(&self.dead[start..end])
            .filter(|(_, dead)| !**dead)
            .map(|(p, _)| p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, scope: i64, lng: f64, lat: f64, category: &str, date: &str) -> MapRow {
        MapRow {
            id: id.into(),
            scope,
            title: format!("event {id}"),
            event_category: category.into(),
            event_type: None,
            severity: "high".into(),
            event_date: date.into(),
            location_country: Some("NG".into()),
            lat,
            lng,
            updated_at: 0,
        }
    }

    fn ids<'a>(it: impl Iterator<Item = &'a MapPoint>) -> Vec<String> {
        let mut v: Vec<String> = it.map(|p| p.id.to_string()).collect();
        v.sort();
        v
    }

    #[test]
    fn updates_replace_points_and_merges_keep_them() {
        let mut s = Snapshot::build(vec![
            row("a", 0, 3.39, 6.45, "terrorism", "2026-11-01"),
            row("b", 0, -70.0, -33.0, "weather", "2026-11-02"),
            row("c", 7, 3.40, 6.46, "terrorism", "2026-11-03"),
        ]);
        let all = EventFilter::default();
        assert_eq!(ids(s.matching(&s.matcher(0, &all, None))), ["a", "b"]);
        assert_eq!(ids(s.matching(&s.matcher(7, &all, None))), ["a", "b", "c"]);
        // `a` moves to Chile: one point, in the new place.
        s.apply(vec![row("a", 0, -70.1, -33.1, "terrorism", "2026-11-01")]);
        let m = s.matcher(0, &all, None);
        assert_eq!(ids(s.matching(&m)), ["a", "b"]);
        let lagos = Tile::new(2, 2, 1).unwrap();
        assert!(ids(s.in_tile(lagos, &m)).is_empty());
        // A merge of base and delta changes nothing that is seen.
        let many =
            (0..20_000).map(|i| row(&format!("n{i}"), 0, 10.0, 10.0, "weather", "2026-01-01"));
        s.apply(many.collect());
        assert_eq!(s.delta.len(), 0, "merged");
        let m = s.matcher(0, &all, None);
        assert_eq!(s.matching(&m).count(), 20_002);
        let chile = Tile::new(0, 0, 0).unwrap();
        assert_eq!(s.in_tile(chile, &m).filter(|p| &*p.id == "a").count(), 1);
    }

    #[test]
    fn filters_match_as_the_list_does() {
        let s = Snapshot::build(vec![
            row("a", 0, 179.5, 0.0, "terrorism", "2026-11-01"),
            row("b", 0, -179.5, 0.0, "weather", "2026-11-05"),
            row("c", 0, 0.0, 0.0, "weather", "2026-11-09"),
        ]);
        let f = |g: fn(&mut EventFilter)| {
            let mut f = EventFilter::default();
            g(&mut f);
            ids(s.matching(&s.matcher(0, &f, None)))
        };
        assert_eq!(f(|f| f.categories = vec!["weather".into()]), ["b", "c"]);
        assert!(f(|f| f.categories = vec!["never_seen".into()]).is_empty());
        assert_eq!(
            f(|f| {
                f.bbox = Some(Bbox {
                    min_lng: 170.0,
                    min_lat: -1.0,
                    max_lng: -170.0,
                    max_lat: 1.0,
                })
            }),
            ["a", "b"]
        );
        assert_eq!(
            f(|f| {
                f.date_from = NaiveDate::from_ymd_opt(2026, 11, 5);
                f.date_to = NaiveDate::from_ymd_opt(2026, 11, 5);
            }),
            ["b"]
        );
        assert_eq!(f(|f| f.countries = vec!["NG".into()]).len(), 3);
        let keyword: HashSet<String> = ["c".to_string()].into();
        let m = s.matcher(0, &EventFilter::default(), Some(keyword));
        assert_eq!(ids(s.matching(&m)), ["c"]);
        assert_eq!(date_of(parse_day("2026-11-05")).to_string(), "2026-11-05");
    }
}
