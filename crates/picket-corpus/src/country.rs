//! The country of a point, offline: events whose source names no country get one from their
//! coordinates. Boundaries are the `country-boundaries` crate's 360×180 raster of
//! OpenStreetMap borders (data © OpenStreetMap contributors, ODbL), loaded once.

use std::sync::LazyLock;

use country_boundaries::{CountryBoundaries, LatLon, BOUNDARIES_ODBL_360X180};

static BOUNDARIES: LazyLock<Option<CountryBoundaries>> =
    LazyLock::new(|| CountryBoundaries::from_reader(BOUNDARIES_ODBL_360X180).ok());

/// ISO 3166-1 alpha-2 code of the country containing the point; `None` at sea or outside any
/// country. Subdivision ids (`US-TX`) are skipped; territories with their own code (`GP`)
/// keep it.
pub fn country_at(lat: f64, lng: f64) -> Option<String> {
    let point = LatLon::new(lat, lng).ok()?;
    BOUNDARIES
        .as_ref()?
        .ids(point)
        .into_iter()
        .find(|id| id.len() == 2 && id.bytes().all(|b| b.is_ascii_uppercase()))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::country_at;

    #[test]
    fn countries_of_known_places() {
        assert_eq!(country_at(6.4541, 3.3947).as_deref(), Some("NG"), "Lagos");
        assert_eq!(country_at(33.0, -97.0).as_deref(), Some("US"), "Dallas");
        assert_eq!(country_at(24.0, 121.7).as_deref(), Some("TW"), "Hualien");
        assert_eq!(
            country_at(47.6973, 8.6910).as_deref(),
            Some("DE"),
            "Büsingen"
        );
        assert_eq!(country_at(30.0, -40.0), None, "mid-Atlantic");
        assert_eq!(country_at(91.0, 0.0), None, "not a latitude");
    }
}
