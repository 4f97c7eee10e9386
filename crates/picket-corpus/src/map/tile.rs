//! A tile's features: the events themselves where they are few enough, clusters where not,
//! encoded as Mapbox Vector Tile v2 with one layer, `events` (pure).
//!
//! Clustering cuts the tile into a 64 × 64 grid and draws each occupied cell as one point at
//! the mean position of its events, carrying `point_count` and `severity_max`. The cells of a
//! tile are quarters of the cells of its parent, so clusters split as a map zooms in, and the
//! counts of a tile's clusters add up to the events in it. A tile draws its events unclustered
//! when at most [`MAX_POINTS`] match and their text fits [`MAX_TEXT_BYTES`]; clustering bounds
//! a tile at 4,096 small features, far below the 500 KB a tile may weigh.

use prost::Message;
use tinymvt::geometry::GeometryEncoder;
use tinymvt::tag::TagsEncoder;
use tinymvt::vector_tile::tile::{Feature, GeomType, Layer};

use super::mercator::{self, Tile};
use super::points::{date_of, MapPoint, Snapshot, SEVERITIES};

/// The tile grid's resolution.
pub const EXTENT: u32 = 4096;
/// The most events a tile draws one by one.
pub const MAX_POINTS: usize = 1500;
/// The most id and title text a tile of single events carries.
pub const MAX_TEXT_BYTES: usize = 300_000;
/// Clusters per tile side, as a power of two (64 × 64 cells).
const CLUSTER_BITS: u32 = 6;
/// The layer's name.
pub const LAYER: &str = "events";

#[derive(Debug, Clone, Copy, Default)]
struct Cluster {
    count: u64,
    sum_x: f64,
    sum_y: f64,
    severity: u8,
}

/// The encoded tile of `points` (the tile's matching events), or `None` when there are none.
/// One pass: every point is tallied into its cluster cell, and kept as itself while there are
/// few enough to draw one by one.
pub fn encode<'a>(
    tile: Tile,
    snapshot: &Snapshot,
    points: impl Iterator<Item = &'a MapPoint>,
) -> Option<Vec<u8>> {
    let mut cells = vec![Cluster::default(); 1 << (2 * CLUSTER_BITS)];
    let mut singles: Vec<&MapPoint> = Vec::new();
    let (mut count, mut text) = (0usize, 0usize);
    for p in points {
        let at = mercator::position(p.code);
        let c = &mut cells[tile.cell(at, CLUSTER_BITS)];
        let (x, y) = tile.pixel(at, EXTENT);
        c.count += 1;
        c.sum_x += f64::from(x);
        c.sum_y += f64::from(y);
        c.severity = c.severity.max(p.severity);
        count += 1;
        if count <= MAX_POINTS {
            text += p.id.len() + p.title.len();
            singles.push(p);
        }
    }
    if count == 0 {
        return None;
    }
    let layer = if count <= MAX_POINTS && text <= MAX_TEXT_BYTES {
        single_features(tile, snapshot, &singles)
    } else {
        cluster_features(&cells)
    };
    let tile = tinymvt::vector_tile::Tile {
        layers: vec![layer],
    };
    Some(tile.encode_to_vec())
}

fn layer(features: Vec<Feature>, tags: TagsEncoder) -> Layer {
    let (keys, values) = tags.into_keys_and_values();
    Layer {
        version: 2,
        name: LAYER.to_string(),
        features,
        keys,
        values,
        extent: Some(EXTENT),
    }
}

/// A point feature at `(x, y)` on the tile's grid.
fn point_feature(id: u64, (x, y): (i32, i32), tags: Vec<u32>) -> Feature {
    let mut g = GeometryEncoder::new();
    g.add_points([[x, y]]);
    Feature {
        id: Some(id),
        tags,
        r#type: Some(GeomType::Point as i32),
        geometry: g.into_vec(),
    }
}

fn single_features(tile: Tile, snapshot: &Snapshot, points: &[&MapPoint]) -> Layer {
    let mut tags = TagsEncoder::new();
    let mut features = Vec::with_capacity(points.len());
    for (n, p) in points.iter().enumerate() {
        tags.add("id", &*p.id);
        tags.add("title", &*p.title);
        tags.add(
            "event_category",
            snapshot.categories.name(p.category).unwrap_or_default(),
        );
        tags.add("severity", SEVERITIES[usize::from(p.severity)]);
        tags.add("event_date", date_of(p.day).to_string());
        let at = tile.pixel(mercator::position(p.code), EXTENT);
        features.push(point_feature(n as u64 + 1, at, tags.take_tags()));
    }
    layer(features, tags)
}

fn cluster_features(cells: &[Cluster]) -> Layer {
    let mut tags = TagsEncoder::new();
    let mut features = Vec::new();
    for (n, c) in cells.iter().enumerate().filter(|(_, c)| c.count > 0) {
        let (x, y) = (
            (c.sum_x / c.count as f64).round() as i32,
            (c.sum_y / c.count as f64).round() as i32,
        );
        tags.add("cluster", true);
        tags.add("point_count", c.count);
        tags.add("severity_max", SEVERITIES[usize::from(c.severity)]);
        features.push(point_feature(n as u64 + 1, (x, y), tags.take_tags()));
    }
    layer(features, tags)
}
