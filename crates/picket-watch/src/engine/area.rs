//! Where an event is: a point, or the area a warning covers (a polygon or a circle). Distances
//! to an area are measured on a local flat projection around the asset (equirectangular,
//! scaled by the cosine of its latitude), which is exact to well under a percent at the
//! hundreds of kilometres a warning spans.

use picket_corpus::grid::{distance_km, KM_PER_DEG};
use picket_corpus::taxonomy::Area;

/// The distance from `(lat, lng)` to the area, km: 0 inside it.
pub fn distance_to_area_km(area: &Area, lat: f64, lng: f64) -> f64 {
    match area {
        Area::Circle {
            lat: clat,
            lng: clng,
            radius_km,
        } => (distance_km(lat, lng, *clat, *clng) - radius_km.max(0.0)).max(0.0),
        Area::Polygon { points } => polygon_distance_km(points, lat, lng),
    }
}

/// The farthest the area reaches from `(lat, lng)` (its centre as stored), km: what a match
/// radius around the centre must add to reach every asset near the area.
pub fn extent_km(area: &Area, lat: f64, lng: f64) -> f64 {
    match area {
        Area::Circle {
            lat: clat,
            lng: clng,
            radius_km,
        } => distance_km(lat, lng, *clat, *clng) + radius_km.max(0.0),
        Area::Polygon { points } => points
            .iter()
            .map(|p| distance_km(lat, lng, p[0], p[1]))
            .fold(0.0, f64::max),
    }
}

/// Plane coordinates (km east, km north) of `p` around the origin `(lat0, lng0)`, taking the
/// shorter way round the antimeridian.
fn project(lat0: f64, lng0: f64, p: [f64; 2]) -> (f64, f64) {
    let mut dlng = p[1] - lng0;
    if dlng > 180.0 {
        dlng -= 360.0;
    } else if dlng < -180.0 {
        dlng += 360.0;
    }
    (
        dlng * KM_PER_DEG * lat0.to_radians().cos(),
        (p[0] - lat0) * KM_PER_DEG,
    )
}

fn polygon_distance_km(points: &[[f64; 2]], lat: f64, lng: f64) -> f64 {
    if points.len() < 3 {
        return points
            .iter()
            .map(|p| distance_km(lat, lng, p[0], p[1]))
            .fold(f64::INFINITY, f64::min);
    }
    let ring: Vec<(f64, f64)> = points.iter().map(|p| project(lat, lng, *p)).collect();
    // Ray casting from the origin (the asset) along +x.
    let mut inside = false;
    let mut nearest = f64::INFINITY;
    for i in 0..ring.len() {
        let (a, b) = (ring[i], ring[(i + 1) % ring.len()]);
        if (a.1 > 0.0) != (b.1 > 0.0) {
            let x = a.0 + (0.0 - a.1) * (b.0 - a.0) / (b.1 - a.1);
            if x > 0.0 {
                inside = !inside;
            }
        }
        nearest = nearest.min(segment_distance(a, b));
    }
    if inside {
        0.0
    } else {
        nearest
    }
}

/// Distance from the origin to the segment `a`–`b`.
fn segment_distance(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (-(a.0 * dx + a.1 * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (x, y) = (a.0 + t * dx, a.1 + t * dy);
    (x * x + y * y).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The NWS severe thunderstorm warning of the CAP 1.2 specification's example.
    fn storm() -> Area {
        Area::Polygon {
            points: vec![
                [38.47, -120.14],
                [38.34, -119.95],
                [38.52, -119.74],
                [38.62, -119.89],
                [38.47, -120.14],
            ],
        }
    }

    #[test]
    fn inside_is_zero_and_outside_is_the_distance_to_the_edge() {
        assert_eq!(distance_to_area_km(&storm(), 38.48, -119.92), 0.0);
        // Due south of the southern vertex (38.34, -119.95): 0.1° of latitude, 11.1 km.
        let d = distance_to_area_km(&storm(), 38.24, -119.95);
        assert!((d - 11.12).abs() < 0.05, "{d}");
        let circle = Area::Circle {
            lat: 32.9525,
            lng: -115.5527,
            radius_km: 10.0,
        };
        assert_eq!(distance_to_area_km(&circle, 32.95, -115.55), 0.0);
        let d = distance_to_area_km(&circle, 33.1325, -115.5527);
        assert!((d - 10.01).abs() < 0.05, "{d}");
    }

    #[test]
    fn extent_reaches_the_farthest_vertex() {
        let e = extent_km(&storm(), 38.48, -119.92);
        assert!(e > 15.0 && e < 25.0, "{e}");
        let across = Area::Polygon {
            points: vec![[0.0, 179.9], [0.1, -179.9], [-0.1, -179.9]],
        };
        assert_eq!(distance_to_area_km(&across, 0.0, -179.95), 0.0);
    }
}
