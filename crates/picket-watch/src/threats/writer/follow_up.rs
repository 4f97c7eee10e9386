//! Follow-ups: a new threat near an open one of the same tenant and category, within that
//! threat's window, is recorded as a development of it (an aftershock, a second protest on the
//! same square) — on the nearest such threat, stored before or created by the same batch.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use picket_core::db::{DbResult, Tx};

use crate::engine::ThreatDraft;
use crate::threats::store::{self, NewDevelopment, Parent, GRID};
use picket_corpus::grid::distance_km;

/// A new event this close to an active threat's event, of the same category and within that
/// threat's window, is a follow-up of it.
pub const FOLLOW_UP_KM: f64 = 25.0;

/// Finds the parents of newly created threats, counts the follow-ups on them, and returns
/// the developments to record.
pub(super) async fn follow_ups(
    tx: &mut Tx,
    nearby: &mut store::Nearby,
    created: &[&ThreatDraft],
    now: i64,
) -> DbResult<Vec<NewDevelopment>> {
    let Some(first) = created.iter().map(|d| d.observed_at).min() else {
        return Ok(Vec::new());
    };
    let mut wanted: BTreeMap<i64, BTreeMap<&str, BTreeSet<i64>>> = BTreeMap::new();
    for d in created {
        wanted
            .entry(d.tenant_id.0)
            .or_default()
            .entry(d.category.as_str())
            .or_default()
            .extend(GRID.near(d.lat, d.lng, FOLLOW_UP_KM));
    }
    let parents = store::open_parents(tx, nearby, &wanted, first).await?;
    let mut by_cell: HashMap<(i64, &str, i64), Vec<&Parent>> = HashMap::new();
    for p in &parents {
        let p: &Parent = p;
        by_cell
            .entry((p.tenant_id, p.category.as_str(), p.cell))
            .or_default()
            .push(p);
    }
    let mut developments = Vec::new();
    let mut followed: HashMap<&str, (i64, &str)> = HashMap::new();
    for d in created {
        let Some(p) = nearest_parent(&by_cell, d) else {
            continue;
        };
        developments.push(NewDevelopment {
            threat_id: p.id.clone(),
            title: d.title.clone(),
            at: d.observed_at,
            event_id: d.event_id.clone(),
            source: d.sources.first().cloned().unwrap_or_default(),
        });
        let e = followed.entry(p.id.as_str()).or_insert((0, &d.title));
        e.0 += 1;
        e.1 = &d.title;
    }
    for (parent, (n, title)) in followed {
        store::count_developments(tx, parent, n, title, now).await?;
    }
    Ok(developments)
}

/// The nearest earlier threat of the same tenant and category within [`FOLLOW_UP_KM`] whose
/// window covers the draft.
fn nearest_parent<'a>(
    by_cell: &HashMap<(i64, &str, i64), Vec<&'a Parent>>,
    d: &ThreatDraft,
) -> Option<&'a Parent> {
    GRID.near(d.lat, d.lng, FOLLOW_UP_KM)
        .into_iter()
        .filter_map(|c| by_cell.get(&(d.tenant_id.0, d.category.as_str(), c)))
        .flatten()
        .copied()
        .filter(|p| {
            p.event_id != d.event_id
                && p.observed_at < d.observed_at
                && d.observed_at <= p.expires_at
        })
        .map(|p| (distance_km(p.lat, p.lng, d.lat, d.lng), p))
        .filter(|(km, _)| *km <= FOLLOW_UP_KM)
        .min_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)))
        .map(|(_, p)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points 24.9 km from a centre in sixteen directions, on the mean sphere.
    fn ring(lat: f64, lng: f64) -> Vec<(f64, f64)> {
        (0..16)
            .map(|i| {
                let bearing = (i as f64 * 22.5).to_radians();
                let d: f64 = 24.9 / 6371.0088;
                let (p1, l1) = (lat.to_radians(), lng.to_radians());
                let p2 = (p1.sin() * d.cos() + p1.cos() * d.sin() * bearing.cos()).asin();
                let l2 =
                    l1 + (bearing.sin() * d.sin() * p1.cos()).atan2(d.cos() - p1.sin() * p2.sin());
                let lng2 = (l2.to_degrees() + 540.0).rem_euclid(360.0) - 180.0;
                (p2.to_degrees(), lng2)
            })
            .collect()
    }

    #[test]
    fn cells_near_cover_every_point_within_reach() {
        for (lat, lng) in [
            (6.45, 3.39),
            (0.0, 0.0),
            (59.99, 10.0),
            (-17.0, 179.95),
            (-17.0, -179.95),
            (71.0, -8.0),
            (89.9, 45.0),
            (-89.95, -120.0),
        ] {
            let near = GRID.near(lat, lng, FOLLOW_UP_KM);
            assert!(
                near.contains(&GRID.cell(lat, lng)),
                "own cell at {lat},{lng}"
            );
            for (plat, plng) in ring(lat, lng) {
                assert!(
                    distance_km(lat, lng, plat, plng) < FOLLOW_UP_KM,
                    "the ring is inside the reach"
                );
                assert!(
                    near.contains(&GRID.cell(plat, plng)),
                    "{plat},{plng} is within 25 km of {lat},{lng} but its cell was not looked up"
                );
            }
        }
    }

    #[test]
    fn cells_stay_few_away_from_the_poles() {
        assert!(GRID.near(6.45, 3.39, FOLLOW_UP_KM).len() <= 4);
        assert!(GRID.near(60.0, 10.0, FOLLOW_UP_KM).len() <= 6);
        let polar = GRID.near(89.9, 0.0, FOLLOW_UP_KM);
        assert_eq!(polar.len() as i64, 360, "all the way round at the pole");
        assert_ne!(GRID.cell(0.0, 179.99), GRID.cell(0.0, -179.99));
        assert_eq!(
            GRID.cell(0.0, 180.0),
            GRID.cell(0.0, -180.0),
            "the antimeridian wraps"
        );
    }
}
