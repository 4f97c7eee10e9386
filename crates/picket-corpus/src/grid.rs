//! Distances on the sphere, and fixed latitude/longitude grids that let an ordinary index
//! answer "what is near here": a row stores the number of the cell holding its point, and a
//! lookup seeks the cells that cover a distance around a point. Events use one (merge
//! candidates, `bbox` filters), threats another (follow-ups). Pure: no storage here.
//!
//! Cells are numbered row by row from the south-west (`row * columns + column`), so the cells
//! of a latitude band form one range. Numbers are stored: a grid's sizes never change.

use geo::{Distance, Haversine, Point};

/// Kilometres per degree of latitude on the mean sphere that distances are measured on
/// ([`distance_km`]).
pub const KM_PER_DEG: f64 = 111.194_93;

/// Great-circle distance in km (mean Earth radius): the one measure of the engine's radii,
/// event merging and follow-ups.
pub fn distance_km(lat1: f64, lng1: f64, lat2: f64, lng2: f64) -> f64 {
    Haversine.distance(Point::new(lng1, lat1), Point::new(lng2, lat2)) / 1000.0
}

#[derive(Debug, Clone, Copy)]
pub struct Grid {
    rows_per_degree: f64,
    columns_per_degree: f64,
}

impl Grid {
    /// A grid of `1 / rows_per_degree` degrees of latitude by `1 / columns_per_degree` of
    /// longitude per cell.
    pub const fn new(rows_per_degree: f64, columns_per_degree: f64) -> Grid {
        Grid {
            rows_per_degree,
            columns_per_degree,
        }
    }

    fn rows(self) -> i64 {
        (180.0 * self.rows_per_degree) as i64
    }

    fn columns(self) -> i64 {
        (360.0 * self.columns_per_degree) as i64
    }

    fn row(self, lat: f64) -> i64 {
        (((lat.clamp(-90.0, 90.0) + 90.0) * self.rows_per_degree).floor() as i64)
            .min(self.rows() - 1)
    }

    fn column_of(self, lng: f64) -> i64 {
        ((lng + 180.0) * self.columns_per_degree).floor() as i64
    }

    /// The cell of a point; the antimeridian wraps.
    pub fn cell(self, lat: f64, lng: f64) -> i64 {
        self.row(lat) * self.columns() + self.column_of(lng).rem_euclid(self.columns())
    }

    /// The first and last cell of the rows covering latitudes `min_lat..=max_lat`: every point
    /// in that band has its cell in the range.
    pub fn band(self, min_lat: f64, max_lat: f64) -> (i64, i64) {
        (
            self.row(min_lat) * self.columns(),
            self.row(max_lat) * self.columns() + self.columns() - 1,
        )
    }

    /// Every cell holding a point within `km` of `(lat, lng)`: a latitude band, widened by
    /// `1/cos` of its widest latitude in longitude, wrapping at the antimeridian and all the
    /// way round near the poles.
    pub fn near(self, lat: f64, lng: f64, km: f64) -> Vec<i64> {
        let dlat = km / KM_PER_DEG;
        let (south, north) = ((lat - dlat).max(-90.0), (lat + dlat).min(90.0));
        let widest = south.abs().max(north.abs());
        let cos = widest.to_radians().cos();
        let columns: Vec<i64> = if cos < 1e-3 || dlat / cos >= 180.0 {
            (0..self.columns()).collect()
        } else {
            let dlng = dlat / cos;
            let mut c: Vec<i64> = (self.column_of(lng - dlng)..=self.column_of(lng + dlng))
                .map(|c| c.rem_euclid(self.columns()))
                .collect();
            c.sort_unstable();
            c.dedup();
            c
        };
        (self.row(south)..=self.row(north))
            .flat_map(|r| columns.iter().map(move |c| r * self.columns() + c))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_numbers_are_the_stored_ones() {
        // Events: 0.1° cells, 3,600 to a row; threats: 0.5° x 1°, 360 to a row.
        let events = Grid::new(10.0, 10.0);
        assert_eq!(events.cell(6.45, 3.39), 964 * 3600 + 1833);
        assert_eq!(events.cell(-90.0, -180.0), 0);
        assert_eq!(events.cell(90.0, 179.99), 1799 * 3600 + 3599);
        let threats = Grid::new(2.0, 1.0);
        assert_eq!(threats.cell(6.45, 3.39), 192 * 360 + 183);
        assert_eq!(threats.cell(-0.25, -0.5), 179 * 360 + 179);
        assert_eq!(threats.band(0.0, 0.9), (180 * 360, 181 * 360 + 359));
    }
}
