//! Physical intensity at an asset, from what the feeds measure: earthquake shaking from
//! magnitude, depth and distance; tropical-cyclone wind from maximum wind and distance; and
//! the maps from an intensity to an impact on the 0–1 scale whose bands (≥ 0.8, 0.6, 0.4, 0.2)
//! are the threat severities.
//!
//! * Shaking: the intensity prediction equation of Allen, Wald & Worden (2012), "Intensity
//!   attenuation for active crustal regions", J. Seismology 16, 409–433, in its
//!   hypocentral-distance form (the one for real-time use, when only the epicentre and depth
//!   are known): MMI = c0 + c1·M + c2·ln√(R² + Rm²) [+ c4·ln(R/50) for R > 50 km], with
//!   Rm = m1 + m2·e^(M−5), R the hypocentral distance in km, and c0 = 2.085, c1 = 1.428,
//!   c2 = −1.402, c4 = 0.078, m1 = −0.209, m2 = 2.042. It is the median for active shallow
//!   crust without site amplification; the hypocentre is taken at least 5 km deep, below which
//!   the equation's near-source saturation would let shaking fall as magnitude rises.
//! * Wind: the modified Rankine vortex (Depperman 1947): the maximum sustained wind V within
//!   the radius of maximum wind Rmax, V·(Rmax/r)^0.5 beyond it, with Rmax = 40 km (feeds give
//!   no wind radii; 40 km is mid-range for mature storms).

/// Coefficients of the hypocentral form of Allen, Wald & Worden (2012).
const C0: f64 = 2.085;
const C1: f64 = 1.428;
const C2: f64 = -1.402;
const C4: f64 = 0.078;
const M1: f64 = -0.209;
const M2: f64 = 2.042;
/// The shallowest hypocentre the equation is evaluated at, km.
pub const MIN_DEPTH_KM: f64 = 5.0;
/// Depth assumed when a feed gives none, km (the usual fixed depth of shallow solutions).
pub const DEFAULT_DEPTH_KM: f64 = 10.0;

/// Hypocentral distance, km, from the distance on the ground and the depth.
pub fn hypocentral_km(epicentral_km: f64, depth_km: f64) -> f64 {
    let h = depth_km.max(MIN_DEPTH_KM);
    (epicentral_km * epicentral_km + h * h).sqrt()
}

/// Median Modified Mercalli intensity at hypocentral distance `r_km` of a magnitude `m` quake.
pub fn mmi(m: f64, r_km: f64) -> f64 {
    let r = r_km.max(MIN_DEPTH_KM);
    let rm = M1 + M2 * (m - 5.0).exp();
    let mut f = C2 * (r * r + rm * rm).sqrt().ln();
    if r > 50.0 {
        f += C4 * (r / 50.0).ln();
    }
    C0 + C1 * m + f
}

/// The distance on the ground within which a quake shakes at least `level` (0 when nowhere):
/// the equation decreases with distance, so bisection finds it.
pub fn shaking_radius_km(m: f64, depth_km: f64, level: f64) -> f64 {
    let at = |d: f64| mmi(m, hypocentral_km(d, depth_km));
    if at(0.0) < level {
        return 0.0;
    }
    let (mut lo, mut hi) = (0.0, 20_000.0);
    if at(hi) >= level {
        return hi;
    }
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if at(mid) >= level {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The Roman numeral of the intensity level an MMI value rounds to (I–XII).
pub fn roman(mmi: f64) -> &'static str {
    const LEVELS: [&str; 12] = [
        "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII",
    ];
    LEVELS[(mmi.round().clamp(1.0, 12.0) as usize) - 1]
}

/// Radius of maximum wind of the vortex, km.
pub const RMAX_KM: f64 = 40.0;
/// Decay exponent of the vortex beyond its radius of maximum wind.
const VORTEX_EXPONENT: f64 = 0.5;

/// Sustained wind at `r_km` from the centre of a storm whose maximum wind is `vmax_kmh`.
pub fn wind_kmh(vmax_kmh: f64, r_km: f64) -> f64 {
    if r_km <= RMAX_KM {
        vmax_kmh
    } else {
        vmax_kmh * (RMAX_KM / r_km).powf(VORTEX_EXPONENT)
    }
}

/// The distance within which a storm's wind reaches `level_kmh` (0 when nowhere).
pub fn wind_radius_km(vmax_kmh: f64, level_kmh: f64) -> f64 {
    if vmax_kmh < level_kmh || level_kmh <= 0.0 {
        return 0.0;
    }
    RMAX_KM * (vmax_kmh / level_kmh).powf(1.0 / VORTEX_EXPONENT)
}

/// Gale force (Beaufort 8, tropical-storm force), km/h: the wind a storm's radius reaches.
pub const GALE_KMH: f64 = 63.0;
/// Hurricane force (Saffir–Simpson category 1), km/h.
pub const HURRICANE_KMH: f64 = 119.0;

/// The Saffir–Simpson name of a sustained wind.
pub fn wind_class(kmh: f64) -> &'static str {
    match kmh {
        k if k >= 252.0 => "category 5",
        k if k >= 209.0 => "category 4",
        k if k >= 178.0 => "category 3",
        k if k >= 154.0 => "category 2",
        k if k >= HURRICANE_KMH => "category 1",
        k if k >= 89.0 => "storm force",
        k if k >= GALE_KMH => "gale force",
        _ => "below gale force",
    }
}

/// Linear interpolation through `(x, y)` points sorted by `x`, constant beyond the ends.
fn interpolate(points: &[(f64, f64)], x: f64) -> f64 {
    let (first, last) = (points[0], points[points.len() - 1]);
    if x <= first.0 {
        return first.1;
    }
    if x >= last.0 {
        return last.1;
    }
    for w in points.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        if x <= x1 {
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
        }
    }
    last.1
}

/// Impact of shaking: level VIII and above (7.5) critical, VI–VII high, V medium, IV low
/// (each level spanning ±0.5 around its number), linear within each band.
pub fn shaking_impact(mmi: f64) -> f64 {
    interpolate(
        &[
            (1.5, 0.0),
            (3.5, 0.2),
            (4.5, 0.4),
            (5.5, 0.6),
            (7.5, 0.8),
            (9.5, 1.0),
        ],
        mmi,
    )
}

/// Impact of wind: Saffir–Simpson category 3 and above critical, categories 1–2 high, storm
/// force medium, gale force low.
pub fn wind_impact(kmh: f64) -> f64 {
    interpolate(
        &[
            (30.0, 0.0),
            (GALE_KMH, 0.2),
            (89.0, 0.4),
            (HURRICANE_KMH, 0.6),
            (178.0, 0.8),
            (252.0, 1.0),
        ],
        kmh,
    )
}

/// Impact of a fire pixel by its fire radiative power, in the bands the FIRMS importer uses
/// (below 100 MW low, from 100 MW medium, from 500 MW high); one pixel stays below critical.
pub fn fire_impact(frp_mw: f64) -> f64 {
    interpolate(
        &[(0.0, 0.2), (100.0, 0.4), (500.0, 0.6), (1500.0, 0.75)],
        frp_mw,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shaking_matches_hand_computation() {
        // M5.3 at 10 km depth, 5 km away: R = √125 = 11.180; Rm = −0.209 + 2.042·e^0.3 =
        // 2.5474; ln√(125 + 6.489) = 2.4395; MMI = 2.085 + 7.5684 − 3.4202 = 6.233.
        let r = hypocentral_km(5.0, 10.0);
        assert!((r - 11.1803).abs() < 1e-3);
        assert!((mmi(5.3, r) - 6.233).abs() < 0.002, "{}", mmi(5.3, r));
        // M7.0 at 100 km: R = √(100² + 10²) = 100.50; Rm = 14.879; the far term adds
        // 0.078·ln(100.50/50) = 0.0545: 2.085 + 9.996 − 1.402·ln(101.59) + 0.0545 = 5.657.
        let r = hypocentral_km(100.0, 10.0);
        assert!((mmi(7.0, r) - 5.657).abs() < 0.002, "{}", mmi(7.0, r));
        assert_eq!(roman(6.233), "VI");
        assert_eq!(roman(7.5), "VIII");
        // A hypocentre above 5 km is taken at 5 km.
        assert_eq!(hypocentral_km(0.0, -1.0), 5.0);
    }

    #[test]
    fn shaking_radius_inverts_the_equation() {
        for (m, h) in [(4.5, 10.0), (6.0, 35.0), (7.5, 10.0)] {
            let d = shaking_radius_km(m, h, 3.5);
            assert!(d > 0.0);
            assert!((mmi(m, hypocentral_km(d, h)) - 3.5).abs() < 1e-6);
        }
        // Deep and small: never felt at level IV.
        assert_eq!(shaking_radius_km(4.0, 300.0, 3.5), 0.0);
    }

    #[test]
    fn wind_follows_the_vortex() {
        assert_eq!(wind_kmh(150.0, 10.0), 150.0);
        // 160 km out: 150·(40/160)^0.5 = 75.
        assert!((wind_kmh(150.0, 160.0) - 75.0).abs() < 1e-9);
        assert!((wind_radius_km(150.0, 75.0) - 160.0).abs() < 1e-9);
        assert_eq!(wind_radius_km(50.0, GALE_KMH), 0.0);
        assert_eq!(wind_class(129.6), "category 1");
    }

    #[test]
    fn impacts_put_the_band_edges_where_the_scales_do() {
        assert!((shaking_impact(7.5) - 0.8).abs() < 1e-12);
        assert!((shaking_impact(5.5) - 0.6).abs() < 1e-12);
        assert!((shaking_impact(6.233) - 0.6733).abs() < 1e-3);
        assert_eq!(shaking_impact(1.0), 0.0);
        assert!((wind_impact(178.0) - 0.8).abs() < 1e-12);
        assert!((wind_impact(HURRICANE_KMH) - 0.6).abs() < 1e-12);
        assert!((fire_impact(100.0) - 0.4).abs() < 1e-12);
        assert!((fire_impact(6.6) - 0.2132).abs() < 1e-12);
        assert_eq!(fire_impact(5000.0), 0.75);
    }
}
