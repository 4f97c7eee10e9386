//! Web Mercator tile arithmetic on whole numbers (pure).
//!
//! A point's position is quantised to 32 bits per axis over the Web Mercator square, and its
//! two coordinates interleaved into one 64-bit Morton code (x in the even bits, y in the odd).
//! A tile `z/x/y` is then the set of codes sharing the tile's `2z`-bit prefix: one contiguous
//! range, so the points of any tile at any zoom are one slice of the points sorted by code,
//! and the cells a tile is cut into for clustering are runs inside that slice.
//!
//! Latitudes beyond Web Mercator's ±85.0511° are drawn on the top or bottom edge, so polar
//! events still appear in the polar tiles; longitude 180 is drawn on the east edge of the last
//! column (the same meridian as −180 on the west edge of the first).

/// The highest zoom a tile may be asked for.
pub const MAX_ZOOM: u8 = 22;

/// The bits of a quantised coordinate.
const BITS: u32 = 32;

/// The latitude where Web Mercator's square ends.
pub const MAX_LAT: f64 = 85.051_128_779_806_59;

/// `lng`/`lat` as quantised Web Mercator `(x, y)`, x growing east and y south.
pub fn quantise(lng: f64, lat: f64) -> (u32, u32) {
    let x = (lng + 180.0) / 360.0;
    let lat = lat.clamp(-MAX_LAT, MAX_LAT).to_radians();
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0;
    let scale = |v: f64| (v * f64::from(u32::MAX) + 0.5).clamp(0.0, f64::from(u32::MAX)) as u32;
    (scale(x), scale(y))
}

/// The Morton code of a quantised position.
pub fn code(x: u32, y: u32) -> u64 {
    spread(x) | (spread(y) << 1)
}

/// The quantised position of a Morton code.
pub fn position(code: u64) -> (u32, u32) {
    (squeeze(code), squeeze(code >> 1))
}

/// The bits of `v` moved to the even positions of a u64.
fn spread(v: u32) -> u64 {
    let mut v = u64::from(v);
    v = (v | (v << 16)) & 0x0000_FFFF_0000_FFFF;
    v = (v | (v << 8)) & 0x00FF_00FF_00FF_00FF;
    v = (v | (v << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    v = (v | (v << 2)) & 0x3333_3333_3333_3333;
    (v | (v << 1)) & 0x5555_5555_5555_5555
}

/// The even bits of `v`, packed: the inverse of [`spread`].
fn squeeze(v: u64) -> u32 {
    let mut v = v & 0x5555_5555_5555_5555;
    v = (v | (v >> 1)) & 0x3333_3333_3333_3333;
    v = (v | (v >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    v = (v | (v >> 4)) & 0x00FF_00FF_00FF_00FF;
    v = (v | (v >> 8)) & 0x0000_FFFF_0000_FFFF;
    ((v | (v >> 16)) & 0x0000_0000_FFFF_FFFF) as u32
}

/// A map tile in the XYZ scheme (y grows south).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tile {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

impl Tile {
    /// A tile, or why there is none: `z` 0–22 and `x`, `y` below `2^z`.
    pub fn new(z: u32, x: u32, y: u32) -> Result<Tile, String> {
        if z > u32::from(MAX_ZOOM) {
            return Err(format!("zoom {z} is out of range 0–{MAX_ZOOM}"));
        }
        let n = 1u64 << z;
        if u64::from(x) >= n || u64::from(y) >= n {
            return Err(format!(
                "tile {x}/{y} is outside zoom {z}, whose x and y run 0–{}",
                n - 1
            ));
        }
        Ok(Tile { z: z as u8, x, y })
    }

    /// Quantised units per tile side.
    fn shift(self) -> u32 {
        BITS - u32::from(self.z)
    }

    /// The quantised position of the tile's north-west corner.
    fn origin(self) -> (u32, u32) {
        if self.z == 0 {
            return (0, 0);
        }
        (self.x << self.shift(), self.y << self.shift())
    }

    /// The first and last Morton code inside the tile.
    pub fn codes(self) -> (u64, u64) {
        let (x0, y0) = self.origin();
        let first = code(x0, y0);
        let span = if self.z == 0 {
            u64::MAX
        } else {
            (1u64 << (2 * self.shift())) - 1
        };
        (first, first + span)
    }

    /// Where a position falls on the tile's `extent × extent` grid (`extent` a power of two
    /// up to 4096), clamped inside it.
    pub fn pixel(self, (x, y): (u32, u32), extent: u32) -> (i32, i32) {
        let (x0, y0) = self.origin();
        let scale = f64::from(extent) / 2f64.powi(self.shift() as i32);
        let at = |v: u32, v0: u32| {
            let p = (f64::from(v.wrapping_sub(v0)) * scale).floor();
            p.clamp(0.0, f64::from(extent - 1)) as i32
        };
        (at(x, x0), at(y, y0))
    }

    /// The cell of a `2^k × 2^k` grid over the tile holding a position, numbered row by row.
    pub fn cell(self, (x, y): (u32, u32), k: u32) -> usize {
        let (x0, y0) = self.origin();
        let s = self.shift() - k;
        let cx = (x.wrapping_sub(x0) as u64) >> s;
        let cy = (y.wrapping_sub(y0) as u64) >> s;
        ((cy << k) | cx) as usize
    }

    /// The tile's box in degrees `(min_lng, min_lat, max_lng, max_lat)`; the polar rows reach
    /// the poles, as their points do (see the module notes).
    pub fn bounds(self) -> (f64, f64, f64, f64) {
        let n = f64::from(1u32 << self.z.min(31));
        let n = if self.z == 0 { 1.0 } else { n };
        let lng = |x: f64| x / n * 360.0 - 180.0;
        let lat = |y: f64| {
            let m = std::f64::consts::PI * (1.0 - 2.0 * y / n);
            m.sinh().atan().to_degrees()
        };
        let (x, y) = (f64::from(self.x), f64::from(self.y));
        let mut south = lat(y + 1.0);
        let mut north = lat(y);
        if self.y == 0 {
            north = 90.0;
        }
        if f64::from(self.y) + 1.0 >= n {
            south = -90.0;
        }
        (lng(x), south, lng(x + 1.0), north)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_keep_tiles_contiguous() {
        for (x, y) in [
            (0, 0),
            (u32::MAX, 0),
            (0, u32::MAX),
            (123_456_789, 987_654_321),
        ] {
            assert_eq!(position(code(x, y)), (x, y));
        }
        // Every point of a tile has a code inside the tile's range, and no other does.
        let t = Tile::new(3, 5, 2).unwrap();
        let (first, last) = t.codes();
        let (west, south, east, north) = t.bounds();
        let inside = quantise((west + east) / 2.0, (south + north) / 2.0);
        assert!((first..=last).contains(&code(inside.0, inside.1)));
        let outside = quantise(east + 1.0, (south + north) / 2.0);
        assert!(!(first..=last).contains(&code(outside.0, outside.1)));
        assert_eq!(Tile::new(0, 0, 0).unwrap().codes(), (0, u64::MAX));
    }

    #[test]
    fn tiles_are_checked() {
        assert!(Tile::new(22, (1 << 22) - 1, 0).is_ok());
        assert!(Tile::new(23, 0, 0).unwrap_err().contains("zoom 23"));
        assert!(Tile::new(2, 4, 0).unwrap_err().contains("outside zoom 2"));
    }

    #[test]
    fn the_antimeridian_and_the_poles_land_on_the_edges() {
        // 179.99° is on the east edge of the last column, −179.99° on the west edge of the first.
        let east = Tile::new(2, 3, 1).unwrap();
        let (px, _) = east.pixel(quantise(179.99, 10.0), 4096);
        assert_eq!(px, 4095);
        let west = Tile::new(2, 0, 1).unwrap();
        assert_eq!(west.pixel(quantise(-179.99, 10.0), 4096).0, 0);
        // A point at the North Pole is on the top edge of the top row.
        let (x, y) = quantise(0.0, 90.0);
        assert_eq!(y, 0);
        let top = Tile::new(4, 8, 0).unwrap();
        let (first, last) = top.codes();
        assert!((first..=last).contains(&code(x, y)));
        assert_eq!(top.bounds().3, 90.0);
        // Lagos at zoom 2 is in tile 2/2/1, as the usual slippy-map formula has it.
        let (x, y) = quantise(3.39, 6.45);
        assert_eq!((x >> 30, y >> 30), (2, 1));
    }

    #[test]
    fn cells_number_row_by_row() {
        let t = Tile::new(1, 1, 0).unwrap();
        let (x0, y0) = (1u32 << 31, 0u32);
        assert_eq!(t.cell((x0, y0), 2), 0);
        assert_eq!(t.cell((x0 + (1 << 29), y0), 2), 1);
        assert_eq!(t.cell((x0, y0 + (1 << 29)), 2), 4);
        assert_eq!(t.cell((u32::MAX, u32::MAX >> 1), 2), 15);
    }
}
