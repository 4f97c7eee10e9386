//! The working set of a chunk in memory, and the merging decisions made on it record by
//! record.

use std::collections::HashMap;

use crate::merge;
use crate::model::{Attribution, NewEvent, Severity};
use crate::store::GRID;

/// An event of the working set, as it stands after the records applied so far.
pub(super) struct Slot {
    pub(super) id: String,
    /// Created by this chunk: written with one multi-row insert.
    pub(super) created: bool,
    /// Changed by this chunk: an existing event gets an `UPDATE`.
    pub(super) dirty: bool,
    /// The record (its index in the chunk) whose data columns replace the stored ones (a new
    /// event, or an update of the event's own origin).
    pub(super) data: Option<usize>,
    pub(super) source: String,
    pub(super) source_id: String,
    pub(super) title: String,
    pub(super) category: String,
    pub(super) severity: Severity,
    pub(super) occurred_at: i64,
    pub(super) lat: f64,
    pub(super) lng: f64,
    pub(super) article_count: i64,
    pub(super) sources: Vec<Attribution>,
    pub(super) updated_at: i64,
}

impl Slot {
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

pub(super) type Origin = (String, String);

pub(super) fn origin(e: &NewEvent) -> Origin {
    (e.source.clone(), e.source_id.clone())
}

/// A map keyed by origin, looked up by `(&str, &str)` without building a key per record.
pub(super) struct ByOrigin<V>(HashMap<String, HashMap<String, V>>);

impl<V> Default for ByOrigin<V> {
    fn default() -> Self {
        ByOrigin(HashMap::new())
    }
}

impl<V> ByOrigin<V> {
    pub(super) fn get(&self, source: &str, source_id: &str) -> Option<&V> {
        self.0.get(source)?.get(source_id)
    }

    pub(super) fn insert(&mut self, source: &str, source_id: &str, value: V) {
        match self.0.get_mut(source) {
            Some(m) => m.insert(source_id.to_string(), value),
            None => self
                .0
                .entry(source.to_string())
                .or_default()
                .insert(source_id.to_string(), value),
        };
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &V> {
        self.0.values().flat_map(HashMap::values)
    }
}

/// The working set of one chunk.
#[derive(Default)]
pub(super) struct Working {
    pub(super) slots: Vec<Slot>,
    pub(super) by_id: HashMap<String, usize>,
    pub(super) by_origin: ByOrigin<usize>,
    /// Slots by the grid cell of their position, so a record tests only its neighbours (an
    /// entry goes stale when its event moves; candidates are tested on the slot itself).
    pub(super) by_cell: HashMap<i64, Vec<usize>>,
    pub(super) aliases: ByOrigin<String>,
    pub(super) new_aliases: Vec<(Origin, String)>,
}

impl Working {
    pub(super) fn add(&mut self, slot: Slot) -> usize {
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
    pub(super) fn apply(&mut self, e: &NewEvent, at: usize, now: i64) -> Outcome {
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

pub(super) enum Outcome {
    New,
    Updated,
    Merged,
}

/// Every cell holding a point within merging distance of `(lat, lng)`.
pub(super) fn near_cells(lat: f64, lng: f64) -> Vec<i64> {
    GRID.near(lat, lng, merge::MAX_DISTANCE_KM)
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
        crate::input::EventInput {
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
