//! The map: country outlines (Natural Earth 1:110m, shipped in `data/`) in an equirectangular
//! projection framed on the threats and assets, with threats as dots coloured by severity and
//! assets as dark squares.

use std::sync::OnceLock;

use crate::charts::{capitalised, WIDTH};
use crate::content::{MapData, SEVERITIES};
use crate::figure::{severity_color, Anchor, Color, Figure, Shape, INK, MUTED};

/// One outline ring in degrees, with its bounding box.
struct Ring {
    points: Vec<(f32, f32)>,
    min: (f32, f32),
    max: (f32, f32),
}

/// The country outlines, parsed once.
fn world() -> &'static [Ring] {
    static WORLD: OnceLock<Vec<Ring>> = OnceLock::new();
    WORLD.get_or_init(|| parse(include_str!("../data/countries-110m.rings")))
}

fn parse(text: &str) -> Vec<Ring> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.split(' ');
            parts.next()?;
            let points: Vec<(f32, f32)> = parts
                .filter_map(|p| {
                    let (x, y) = p.split_once(',')?;
                    Some((x.parse::<f32>().ok()? / 10.0, y.parse::<f32>().ok()? / 10.0))
                })
                .collect();
            if points.len() < 3 {
                return None;
            }
            let mut min = (f32::MAX, f32::MAX);
            let mut max = (f32::MIN, f32::MIN);
            for &(x, y) in &points {
                min = (min.0.min(x), min.1.min(y));
                max = (max.0.max(x), max.1.max(y));
            }
            Some(Ring { points, min, max })
        })
        .collect()
}

/// The area shown, in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Extent {
    pub west: f64,
    pub south: f64,
    pub east: f64,
    pub north: f64,
}

const HEIGHT_MIN: f32 = 180.0;
const HEIGHT_MAX: f32 = 400.0;

/// The smallest area holding every point with a margin, at least 8° across, widened to the
/// figure's proportions; the whole world without points.
pub(crate) fn extent(points: &[(f64, f64)]) -> Extent {
    let world = Extent {
        west: -180.0,
        south: -60.0,
        east: 180.0,
        north: 85.0,
    };
    if points.is_empty() {
        return world;
    }
    let (mut w, mut s, mut e, mut n) = (180f64, 90f64, -180f64, -90f64);
    for &(lat, lng) in points {
        w = w.min(lng);
        e = e.max(lng);
        s = s.min(lat);
        n = n.max(lat);
    }
    let pad_x = ((e - w) * 0.1).max(4.0 - (e - w) / 2.0).max(1.0);
    let pad_y = ((n - s) * 0.1).max(4.0 - (n - s) / 2.0).max(1.0);
    let mut x = Extent {
        west: (w - pad_x).max(-180.0),
        east: (e + pad_x).min(180.0),
        south: (s - pad_y).max(-85.0),
        north: (n + pad_y).min(85.0),
    };
    // Not taller than HEIGHT_MAX allows: widen the longitudes instead.
    let ratio = HEIGHT_MAX / WIDTH;
    let k = k_of(&x);
    let lat_span = x.north - x.south;
    let lng_span = x.east - x.west;
    let min_lng_span = lat_span / (ratio as f64) / k;
    if lng_span < min_lng_span {
        let grow = (min_lng_span - lng_span) / 2.0;
        x.west = (x.west - grow).max(-180.0);
        x.east = (x.east + grow).min(180.0);
    }
    x
}

/// Horizontal scale of an equirectangular projection at the extent's middle latitude, so
/// shapes keep their proportions away from the equator.
fn k_of(x: &Extent) -> f64 {
    ((x.north + x.south) / 2.0).to_radians().cos().max(0.2)
}

/// The map of `data`, framed on its points.
pub fn map(data: &MapData) -> Figure {
    let points: Vec<(f64, f64)> = data
        .threats
        .iter()
        .map(|t| (t.lat, t.lng))
        .chain(data.assets.iter().map(|a| (a.lat, a.lng)))
        .filter(|(lat, lng)| lat.is_finite() && lng.is_finite())
        .collect();
    let ext = extent(&points);
    let k = k_of(&ext);
    let legend_h = 22.0;
    let map_w = WIDTH as f64;
    let scale = map_w / ((ext.east - ext.west) * k);
    let map_h = ((ext.north - ext.south) * scale).clamp(HEIGHT_MIN as f64, HEIGHT_MAX as f64);
    // Centre vertically when the clamp made the frame taller than the extent.
    let y_off = (map_h - (ext.north - ext.south) * scale) / 2.0;
    let project = |lat: f64, lng: f64| -> (f32, f32) {
        (
            ((lng - ext.west) * k * scale) as f32,
            (y_off + (ext.north - lat) * scale) as f32,
        )
    };
    let mut f = Figure::new(
        WIDTH,
        map_h as f32 + legend_h,
        format!(
            "Map of {} threat locations and {} assets, longitudes {:.0} to {:.0}, latitudes {:.0} to {:.0}",
            data.threats.len(),
            data.assets.len(),
            ext.west,
            ext.east,
            ext.south,
            ext.north
        ),
    );
    f.rect(0.0, 0.0, WIDTH, map_h as f32, Color(0xe8, 0xf1, 0xf8));
    // Outlines that reach into the frame (with a margin), their points thinned to about one
    // per half point of paper.
    let lat_margin = 90.0 / scale.max(1e-6);
    let min_step = 0.5 / scale;
    let mut land = Vec::new();
    for ring in world() {
        if (ring.max.0 as f64) < ext.west - 1.0
            || (ring.min.0 as f64) > ext.east + 1.0
            || (ring.max.1 as f64) < ext.south - lat_margin
            || (ring.min.1 as f64) > ext.north + lat_margin
        {
            continue;
        }
        let mut pts: Vec<(f32, f32)> = Vec::with_capacity(ring.points.len());
        let mut last: Option<(f32, f32)> = None;
        for &(lng, lat) in &ring.points {
            if let Some((px, py)) = last {
                if ((lng - px).abs() as f64) < min_step && ((lat - py).abs() as f64) < min_step {
                    continue;
                }
            }
            last = Some((lng, lat));
            pts.push(project(lat as f64, lng as f64));
        }
        if pts.len() >= 3 {
            land.push(pts);
        }
    }
    f.shapes.push(Shape::Path {
        rings: land,
        closed: true,
        fill: Some(Color(0xf3, 0xf1, 0xea)),
        stroke: Some((Color(0x9c, 0xa3, 0xaf), 0.4)),
    });
    // Assets under the threats, the most severe threats on top.
    for a in &data.assets {
        let (x, y) = project(a.lat, a.lng);
        f.rect(x - 2.2, y - 2.2, 4.4, 4.4, INK);
    }
    // Least severe first, so the most severe dots are drawn on top.
    for sev in SEVERITIES.iter().rev() {
        for t in data.threats.iter().filter(|t| t.severity == *sev) {
            let (x, y) = project(t.lat, t.lng);
            f.shapes.push(Shape::Circle {
                x,
                y,
                r: 2.6,
                fill: severity_color(sev),
                stroke: Some((Color(0xff, 0xff, 0xff), 0.4)),
            });
        }
    }
    // Legend under the frame.
    let y = map_h as f32 + 8.0;
    let mut x = 4.0;
    for sev in SEVERITIES {
        f.shapes.push(Shape::Circle {
            x: x + 4.0,
            y: y + 4.0,
            r: 3.0,
            fill: severity_color(sev),
            stroke: None,
        });
        f.shapes.push(Shape::Text {
            x: x + 10.0,
            y: y + 7.0,
            size: 8.0,
            text: capitalised(sev),
            anchor: Anchor::Start,
            bold: false,
            color: INK,
        });
        x += 66.0;
    }
    f.rect(x + 1.8, y + 1.8, 4.4, 4.4, INK);
    f.shapes.push(Shape::Text {
        x: x + 10.0,
        y: y + 7.0,
        size: 8.0,
        text: "Asset".into(),
        anchor: Anchor::Start,
        bold: false,
        color: INK,
    });
    f.shapes.push(Shape::Text {
        x: WIDTH - 2.0,
        y: y + 7.0,
        size: 7.0,
        text: "Outlines: Natural Earth".into(),
        anchor: Anchor::End,
        bold: false,
        color: MUTED,
    });
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{MapAsset, MapThreat};

    #[test]
    fn outlines_load() {
        let w = world();
        assert!(w.len() > 250, "{} rings", w.len());
        // Some ring covers Lagos.
        assert!(w
            .iter()
            .any(|r| r.min.0 < 3.4 && r.max.0 > 3.4 && r.min.1 < 6.5 && r.max.1 > 6.5));
    }

    #[test]
    fn frames_the_points_and_draws_them() {
        let data = MapData {
            threats: vec![MapThreat {
                lat: 6.5,
                lng: 3.4,
                severity: "high".into(),
                title: "Lagos".into(),
            }],
            assets: vec![MapAsset {
                lat: 9.05,
                lng: 7.49,
                asset_id: "abuja".into(),
                name: "Abuja".into(),
            }],
        };
        let e = extent(&[(6.5, 3.4), (9.05, 7.49)]);
        assert!(e.west < 3.4 && e.east > 7.49 && e.south < 6.5 && e.north > 9.05);
        assert!(e.east - e.west < 40.0, "{e:?}");
        let f = map(&data);
        let land = f
            .shapes
            .iter()
            .find_map(|s| match s {
                Shape::Path { rings, .. } => Some(rings.len()),
                _ => None,
            })
            .unwrap();
        assert!(land > 3, "Nigeria and its neighbours are drawn");
        assert!(f
            .shapes
            .iter()
            .any(|s| matches!(s, Shape::Circle { fill, .. } if *fill == severity_color("high"))));
    }
}
