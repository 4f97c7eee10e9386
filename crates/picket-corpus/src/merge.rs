//! Merging near-identical reports (contract §9): a record from one source that describes an
//! event another source already reported — same category, within 2 km and 6 hours, similar
//! title — is folded into that event instead of becoming a second one. The event counts one
//! more article and lists the record in `sources`; the record's `(source, source_id)` is kept
//! as an alias so that importing it again updates the same event. The rules are applied by
//! [`super::batch`] (its `working` set).

use super::model::Attribution;

pub const MAX_DISTANCE_KM: f64 = 2.0;
pub const MAX_GAP_MS: i64 = 6 * 3600 * 1000;
/// Share of distinct title words two reports must have in common (Jaccard index).
pub const MIN_TITLE_SIMILARITY: f64 = 0.5;

/// Great-circle distance: the engine's, so merging and matching measure alike.
pub use crate::grid::distance_km;

fn words(title: &str) -> std::collections::BTreeSet<String> {
    title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Jaccard index of the two titles' word sets, 0..1.
pub fn title_similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (words(a), words(b));
    let union = a.union(&b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(&b).count() as f64 / union as f64
}

/// The attribution list with `a` added, or replacing the entry of the same origin.
pub(crate) fn with_attribution(sources: &[Attribution], a: Attribution) -> Vec<Attribution> {
    let mut list = sources.to_vec();
    match list
        .iter_mut()
        .find(|x| x.source == a.source && x.source_id == a.source_id)
    {
        Some(x) => *x = a,
        None => list.push(a),
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_and_similarity() {
        // One hundredth of a degree of latitude is about 1.11 km.
        assert!((distance_km(10.0, 20.0, 10.01, 20.0) - 1.112).abs() < 0.01);
        assert!(distance_km(0.0, 179.999, 0.0, -179.999) < 0.3);
        assert_eq!(
            title_similarity("M 5.3 - Papua New Guinea", "Papua New Guinea: M 5.3"),
            1.0
        );
        assert!(title_similarity("Flood in Lagos", "Riot in Abuja") < MIN_TITLE_SIMILARITY);
        assert_eq!(title_similarity("", ""), 0.0);
    }

    #[test]
    fn attributions_are_replaced_by_origin() {
        let a = |id: &str, url: &str| Attribution {
            source: "usgs".into(),
            source_id: id.into(),
            url: Some(url.into()),
            published_at: None,
        };
        let list = vec![a("x", "old")];
        assert_eq!(with_attribution(&list, a("x", "new")), vec![a("x", "new")]);
        assert_eq!(with_attribution(&list, a("y", "u")).len(), 2);
    }
}
