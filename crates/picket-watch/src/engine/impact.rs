//! Impact: what an event does at the asset, 0–1 on the scale whose bands are the threat
//! severities (≥ 0.8 critical, 0.6 high, 0.4 medium, 0.2 low), judged per hazard from the
//! physical intensity at the asset where the source measures one.
//!
//! * Earthquakes: expected shaking at the asset ([`intensity::mmi`]) from magnitude, depth and
//!   distance, mapped by [`intensity::shaking_impact`] (VIII+ critical, VI–VII high, V medium,
//!   IV low).
//! * Tropical cyclones: the sustained wind at the asset ([`intensity::wind_kmh`]) from the
//!   storm's maximum wind and the asset's distance from its centre, mapped by
//!   [`intensity::wind_impact`] (category 3+ critical, 1–2 high, storm force medium, gale
//!   force low).
//! * Satellite fire detections: the pixel's fire radiative power ([`intensity::fire_impact`]),
//!   falling with distance beyond the pixel.
//! * Warnings (CAP): the sender's severity — Extreme 0.95, Severe 0.75, Moderate 0.55, Minor
//!   0.35, Unknown 0.15 — inside the warning area, falling with distance outside it.
//! * Other natural hazards (floods, droughts, volcanoes, wildfires, weather without a
//!   measure): the event's severity on the same scale, falling with distance.
//! * Human events: the report's own severity — critical 1.0, high 0.85, medium 0.65, low 0.45,
//!   negligible 0.2, each at the top of its band, so that a well-corroborated report (whose
//!   likelihood nears 1) keeps its band and a thin one falls a band — raised to the floor of
//!   its type (a bombing, suicide attack or armed clash is at least 0.7; a riot, assault or
//!   abduction at least 0.45) and lowered for peaceful protest (× 0.85); then distance within
//!   the radius and the asset's exposure (facility 1, residence 0.9).
//!
//! "Falling with distance" is × (1 − 0.5·d/radius): half the impact at the edge of the radius.
//! GDACS alert levels and USGS PAGER alerts are floors within the event's core (100 km; for a
//! cyclone, as far as hurricane-force winds reach if farther): Red 0.8, Orange 0.6, PAGER
//! Yellow 0.4. An imprecise location lowers every impact: × 0.85 for a city, 0.65 a region,
//! 0.4 a country.

use picket_corpus::taxonomy::{EventAttributes, Precision, Severity};

use super::intensity;
use super::likelihood::SourceKind;

/// The model an event is judged by, chosen from what it is and what its source measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Hazard {
    Earthquake { magnitude: f64, depth_km: f64 },
    Cyclone { wind_kmh: f64 },
    Fire { frp_mw: Option<f64> },
    Warning,
    Natural,
    Human,
}

const NATURAL: [&str; 3] = ["geological", "weather", "fire_hazard"];

impl Hazard {
    pub fn of(
        kind: SourceKind,
        category: &str,
        event_type: &str,
        attributes: &EventAttributes,
    ) -> Hazard {
        if kind == SourceKind::Warning {
            return Hazard::Warning;
        }
        if category == "geological" && event_type != "volcano" {
            if let Some(m) = attributes.magnitude.filter(|m| m.is_finite()) {
                return Hazard::Earthquake {
                    magnitude: m,
                    depth_km: attributes
                        .depth_km
                        .filter(|d| d.is_finite())
                        .unwrap_or(intensity::DEFAULT_DEPTH_KM),
                };
            }
        }
        if let Some(w) = attributes.wind_kmh.filter(|w| w.is_finite() && *w > 0.0) {
            return Hazard::Cyclone { wind_kmh: w };
        }
        if kind == SourceKind::Satellite && category == "fire_hazard" {
            return Hazard::Fire {
                frp_mw: attributes.frp_mw,
            };
        }
        if NATURAL.contains(&category) {
            Hazard::Natural
        } else {
            Hazard::Human
        }
    }

    /// How far this event reaches when its category's default radius is `base_km`: an
    /// earthquake as far as it shakes at level IV (3.5), a cyclone as far as its winds reach
    /// gale force, both at least the default; others the default.
    pub fn reach_km(self, base_km: f64) -> f64 {
        let physical = match self {
            Hazard::Earthquake {
                magnitude,
                depth_km,
            } => intensity::shaking_radius_km(magnitude, depth_km, 3.5),
            Hazard::Cyclone { wind_kmh } => {
                intensity::wind_radius_km(wind_kmh, intensity::GALE_KMH)
            }
            _ => 0.0,
        };
        base_km.max(physical)
    }

    /// How far an alert level's floor holds.
    fn core_km(self) -> f64 {
        match self {
            Hazard::Cyclone { wind_kmh } => CORE_KM.max(intensity::wind_radius_km(
                wind_kmh,
                intensity::HURRICANE_KMH,
            )),
            _ => CORE_KM,
        }
    }
}

/// Within this distance an alert level holds as a floor (GDACS and PAGER estimate exposure
/// within 100 km).
pub const CORE_KM: f64 = 100.0;

/// Where the asset is relative to the event.
#[derive(Debug, Clone, Copy)]
pub struct Site<'a> {
    pub name: &'a str,
    pub asset_type: &'a str,
    /// From the event's coordinates, km.
    pub distance_km: f64,
    /// From the event's area (0 inside), for events with one.
    pub area_km: Option<f64>,
    /// The radius that matched it; `None` for a country-wide match.
    pub radius_km: Option<f64>,
}

/// What the impact models read of an event.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    pub kind: SourceKind,
    pub category: &'a str,
    pub event_type: &'a str,
    pub severity: Severity,
    pub attributes: &'a EventAttributes,
}

/// An impact and the sentence that explains it.
#[derive(Debug, Clone, PartialEq)]
pub struct Impact {
    pub value: f64,
    pub rationale: String,
}

/// × (1 − 0.5·d/radius); 0.5 for a country-wide match.
fn falloff(d: f64, radius: Option<f64>) -> f64 {
    match radius {
        Some(r) if r > 0.0 => 1.0 - 0.5 * (d / r).clamp(0.0, 1.0),
        _ => 0.5,
    }
}

/// The event severity of an observed or warned hazard, centred in its band.
fn hazard_level(s: Severity) -> f64 {
    match s {
        Severity::Critical => 0.95,
        Severity::High => 0.75,
        Severity::Medium => 0.55,
        Severity::Low => 0.35,
        Severity::Negligible => 0.15,
    }
}

/// A report's own severity, at the top of its band.
fn report_level(s: Severity) -> f64 {
    match s {
        Severity::Critical => 1.0,
        Severity::High => 0.85,
        Severity::Medium => 0.65,
        Severity::Low => 0.45,
        Severity::Negligible => 0.2,
    }
}

/// CAP severity as the sender wrote it.
fn cap_level(severity: &str) -> Option<f64> {
    Some(match severity.to_ascii_lowercase().as_str() {
        "extreme" => 0.95,
        "severe" => 0.75,
        "moderate" => 0.55,
        "minor" => 0.35,
        "unknown" => 0.15,
        _ => return None,
    })
}

/// How a human event's type weighs: a floor for violence, a discount for peaceful protest.
fn human_type(category: &str, event_type: &str) -> (f64, f64, &'static str) {
    const ATTACK: [&str; 10] = [
        "bombing",
        "suicide_bomb",
        "explosions_remote_violence",
        "remote_explosive_landmine_ied",
        "air_drone_strike",
        "shelling_artillery_missile_attack",
        "armed_clash",
        "battles",
        "mass_violence",
        "assassination",
    ];
    const VIOLENT: [&str; 10] = [
        "riot",
        "riots",
        "violent_demonstration",
        "mob_violence",
        "assault",
        "abduction",
        "armed_robbery",
        "violence_against_civilians",
        "violent_repression",
        "looting_property_destruction",
    ];
    const PEACEFUL: [&str; 5] = [
        "protest",
        "protests",
        "peaceful_protest",
        "protest_with_intervention",
        "strike",
    ];
    if ATTACK.contains(&event_type) || category == "terrorism" {
        (0.7, 1.0, "an attack")
    } else if VIOLENT.contains(&event_type) {
        (0.45, 1.0, "violence")
    } else if PEACEFUL.contains(&event_type) {
        (0.0, 0.85, "a protest")
    } else if category == "armed_conflict" && event_type != "force_posture" {
        (0.6, 1.0, "armed conflict")
    } else {
        (0.0, 1.0, "")
    }
}

fn precision_factor(p: Precision) -> f64 {
    match p {
        Precision::Exact => 1.0,
        Precision::City => 0.85,
        Precision::Region => 0.65,
        Precision::Country => 0.4,
    }
}

/// The band name of an impact value.
pub fn band(i: f64) -> &'static str {
    match i {
        i if i >= 0.8 => "catastrophic",
        i if i >= 0.6 => "major",
        i if i >= 0.4 => "moderate",
        i if i >= 0.2 => "minor",
        _ => "negligible",
    }
}

/// Where the asset stands, in words.
fn whereabouts(site: &Site<'_>) -> String {
    match (site.area_km, site.radius_km) {
        (Some(a), _) if a <= 0.0 => format!("{} is inside the warning area", site.name),
        (Some(a), Some(r)) => {
            format!(
                "{} is {a:.1} km outside the warning area, within its {r:.0} km radius",
                site.name
            )
        }
        (_, Some(r)) => format!(
            "{:.1} km from {} within its {r:.0} km radius",
            site.distance_km, site.name
        ),
        (_, None) => format!("a same-country match for {}", site.name),
    }
}

pub fn impact(h: Hazard, e: &Event<'_>, site: &Site<'_>) -> Impact {
    let d = site.distance_km;
    let (mut value, mut parts) = match h {
        Hazard::Earthquake {
            magnitude,
            depth_km,
        } => {
            let r = intensity::hypocentral_km(d, depth_km);
            let mmi = intensity::mmi(magnitude, r);
            (
                intensity::shaking_impact(mmi),
                vec![format!(
                    "M{magnitude:.1} at {depth_km:.0} km depth, {d:.1} km from {} ({r:.0} km from the hypocentre): \
                     expected shaking MMI {mmi:.1} ({}) by Allen, Wald & Worden (2012)",
                    site.name,
                    intensity::roman(mmi)
                )],
            )
        }
        Hazard::Cyclone { wind_kmh } => {
            let w = intensity::wind_kmh(wind_kmh, d);
            (
                intensity::wind_impact(w),
                vec![format!(
                    "maximum sustained wind {wind_kmh:.0} km/h; {d:.1} km from the centre, {} gets about \
                     {w:.0} km/h ({}) by a modified Rankine vortex",
                    site.name,
                    intensity::wind_class(w)
                )],
            )
        }
        Hazard::Fire { frp_mw } => {
            let base = frp_mw.map_or(hazard_level(e.severity), intensity::fire_impact);
            let f = falloff((d - 0.5).max(0.0), site.radius_km);
            (
                base * f,
                vec![format!(
                    "{} {base:.2}; {} gives {f:.2}",
                    frp_mw.map_or(format!("event severity {}", e.severity.as_str()), |p| {
                        format!("fire radiative power {p} MW")
                    }),
                    whereabouts(site)
                )],
            )
        }
        Hazard::Warning => {
            let (base, said) = match e
                .attributes
                .warning
                .as_ref()
                .and_then(|w| cap_level(&w.severity).map(|v| (v, w.severity.clone())))
            {
                Some((v, s)) => (v, format!("warning severity {s}")),
                None => (
                    hazard_level(e.severity),
                    format!("event severity {}", e.severity.as_str()),
                ),
            };
            let f = falloff(site.area_km.unwrap_or(d), site.radius_km);
            (
                base * f,
                vec![format!(
                    "{said} {base:.2}; {} gives {f:.2}",
                    whereabouts(site)
                )],
            )
        }
        Hazard::Natural => {
            let base = hazard_level(e.severity);
            let f = falloff(d, site.radius_km);
            (
                base * f,
                vec![format!(
                    "event severity {} {base:.2}; {} gives {f:.2}",
                    e.severity.as_str(),
                    whereabouts(site)
                )],
            )
        }
        Hazard::Human => {
            let own = report_level(e.severity);
            let (floor, weight, what) = human_type(e.category, e.event_type);
            let base = own.max(floor) * weight;
            let f = falloff(d, site.radius_km);
            let exposure = if site.asset_type == "residence" {
                0.9
            } else {
                1.0
            };
            let kind = match (floor > own, weight < 1.0) {
                (true, _) => format!(", raised to {floor:.2} as {what}"),
                (_, true) => format!(", × {weight:.2} as {what}"),
                _ => String::new(),
            };
            (
                base * f * exposure,
                vec![format!(
                    "event severity {} {own:.2}{kind}; {} gives {f:.2}; {} exposure {exposure:.2}",
                    e.severity.as_str(),
                    whereabouts(site),
                    site.asset_type
                )],
            )
        }
    };
    let precision = e.attributes.precision.unwrap_or_default();
    let p = precision_factor(precision);
    if p < 1.0 {
        value *= p;
        parts.push(format!("{} location precision {p:.2}", precision.as_str()));
    }
    if let Some((floor, said)) = alert_floor(e) {
        let core = h.core_km();
        let reach = site.area_km.unwrap_or(d);
        if reach <= core && floor > value {
            value = floor;
            parts.push(format!(
                "{said} keeps it at least {} within {core:.0} km",
                band(floor)
            ));
        }
    }
    let value = value.clamp(0.0, 1.0);
    Impact {
        value,
        rationale: format!("{} ({value:.2}): {}", band(value), parts.join("; ")),
    }
}

/// The floor an observing source's alert level sets: GDACS Red/Orange, PAGER red/orange/yellow.
fn alert_floor(e: &Event<'_>) -> Option<(f64, String)> {
    if !e.kind.is_observation() {
        return None;
    }
    let level = |l: &str| match l.to_ascii_lowercase().as_str() {
        "red" => Some(0.8),
        "orange" => Some(0.6),
        "yellow" => Some(0.4),
        _ => None,
    };
    let gdacs = e
        .attributes
        .alert_level
        .as_deref()
        .and_then(|l| level(l).map(|v| (v, format!("the GDACS {l} alert"))));
    let pager = e
        .attributes
        .pager_alert
        .as_deref()
        .and_then(|l| level(l).map(|v| (v, format!("the USGS PAGER {l} alert"))));
    match (gdacs, pager) {
        (Some(a), Some(b)) => Some(if a.0 >= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(d: f64, radius: f64) -> Site<'static> {
        Site {
            name: "Lagos HQ",
            asset_type: "facility",
            distance_km: d,
            area_km: None,
            radius_km: Some(radius),
        }
    }

    fn event<'a>(
        kind: SourceKind,
        category: &'a str,
        t: &'a str,
        s: Severity,
        a: &'a EventAttributes,
    ) -> Event<'a> {
        Event {
            kind,
            category,
            event_type: t,
            severity: s,
            attributes: a,
        }
    }

    const USGS: SourceKind = SourceKind::Observed("USGS");
    const GDACS: SourceKind = SourceKind::Observed("GDACS");

    #[test]
    fn earthquake_golden() {
        // The case: M5.3 at 10 km depth, 5 km from a facility. MMI 6.233 (VI):
        // impact 0.6 + 0.2 × (6.233 − 5.5)/2 = 0.6733, major.
        let a = EventAttributes {
            magnitude: Some(5.3),
            depth_km: Some(10.0),
            ..EventAttributes::default()
        };
        let h = Hazard::of(USGS, "geological", "earthquake", &a);
        assert_eq!(
            h,
            Hazard::Earthquake {
                magnitude: 5.3,
                depth_km: 10.0
            }
        );
        let i = impact(
            h,
            &event(USGS, "geological", "earthquake", Severity::Medium, &a),
            &site(5.0, 150.0),
        );
        assert!((i.value - 0.6733).abs() < 1e-3, "{i:?}");
        assert!(
            i.rationale
                .starts_with("major (0.67): M5.3 at 10 km depth, 5.0 km from Lagos HQ"),
            "{}",
            i.rationale
        );
        assert!(i.rationale.contains("MMI 6.2 (VI)"), "{}", i.rationale);
    }

    #[test]
    fn cyclone_golden_and_the_gdacs_floor() {
        // GDACS Green storm, 129.6 km/h, 100 km from the centre: 129.6 × (40/100)^0.5 = 81.97
        // km/h; impact 0.2 + 0.2 × (81.97 − 63)/26 = 0.3459, minor.
        let a = EventAttributes {
            wind_kmh: Some(129.6),
            alert_level: Some("Green".into()),
            ..EventAttributes::default()
        };
        let h = Hazard::of(GDACS, "weather", "tropical_cyclone", &a);
        let e = event(GDACS, "weather", "tropical_cyclone", Severity::Low, &a);
        let i = impact(h, &e, &site(100.0, 100.0));
        assert!((i.value - 0.3459).abs() < 1e-3, "{i:?}");
        // Orange: at least 0.6 within the core, here 100 km.
        let orange = EventAttributes {
            alert_level: Some("Orange".into()),
            ..a.clone()
        };
        let e = event(
            GDACS,
            "weather",
            "tropical_cyclone",
            Severity::High,
            &orange,
        );
        let i = impact(h, &e, &site(100.0, 170.0));
        assert_eq!(i.value, 0.6, "{i:?}");
        assert!(i
            .rationale
            .contains("GDACS Orange alert keeps it at least major within 100 km"));
        // Beyond the core the wind decides: 129.6·(40/150)^0.5 = 66.9 km/h.
        let i = impact(h, &e, &site(150.0, 170.0));
        assert!(i.value < 0.3, "{i:?}");
    }

    #[test]
    fn warning_inside_and_outside_its_area() {
        let a = EventAttributes {
            warning: Some(picket_corpus::taxonomy::Warning {
                severity: "Severe".into(),
                certainty: "Observed".into(),
                urgency: "Immediate".into(),
            }),
            ..EventAttributes::default()
        };
        let e = event(
            SourceKind::Warning,
            "weather",
            "severe_thunderstorm",
            Severity::High,
            &a,
        );
        let mut s = site(8.0, 100.0);
        s.area_km = Some(0.0);
        let i = impact(Hazard::Warning, &e, &s);
        assert_eq!(i.value, 0.75);
        assert!(
            i.rationale.contains("inside the warning area"),
            "{}",
            i.rationale
        );
        // 20 km outside a 100 km radius: 0.75 × 0.9 = 0.675.
        s.area_km = Some(20.0);
        assert!((impact(Hazard::Warning, &e, &s).value - 0.675).abs() < 1e-12);
    }

    #[test]
    fn human_events_weigh_their_type() {
        let none = EventAttributes::default();
        // The case: a high bombing 1.6 km from a facility, 25 km radius:
        // 0.85 × (1 − 0.5 × 1.6/25) = 0.8228.
        let e = event(
            SourceKind::Report,
            "terrorism",
            "bombing",
            Severity::High,
            &none,
        );
        let i = impact(Hazard::Human, &e, &site(1.6, 25.0));
        assert!((i.value - 0.8228).abs() < 1e-9, "{i:?}");
        // A bombing reported as low is still an attack: raised to 0.7.
        let e = event(
            SourceKind::Report,
            "terrorism",
            "bombing",
            Severity::Low,
            &none,
        );
        assert!((impact(Hazard::Human, &e, &site(0.0, 25.0)).value - 0.7).abs() < 1e-12);
        // A high peaceful protest: 0.85 × 0.85.
        let e = event(
            SourceKind::Report,
            "civil_unrest",
            "protest",
            Severity::High,
            &none,
        );
        assert!((impact(Hazard::Human, &e, &site(0.0, 10.0)).value - 0.7225).abs() < 1e-12);
        // A city-level report: × 0.85; a residence: × 0.9.
        let city = EventAttributes {
            precision: Some(Precision::City),
            ..EventAttributes::default()
        };
        let e = event(
            SourceKind::Report,
            "crime_violence",
            "assault",
            Severity::High,
            &city,
        );
        let mut s = site(0.0, 5.0);
        s.asset_type = "residence";
        let i = impact(Hazard::Human, &e, &s);
        assert!((i.value - 0.85 * 0.85 * 0.9).abs() < 1e-12, "{i:?}");
        assert!(
            i.rationale.contains("city location precision 0.85"),
            "{}",
            i.rationale
        );
    }

    #[test]
    fn fire_follows_radiative_power_and_distance() {
        let a = EventAttributes {
            frp_mw: Some(600.0),
            confidence: Some(0.9),
            ..EventAttributes::default()
        };
        let kind = SourceKind::Satellite;
        let h = Hazard::of(kind, "fire_hazard", "active_fire", &a);
        let e = event(kind, "fire_hazard", "active_fire", Severity::High, &a);
        // 600 MW: 0.6 + 0.15 × 100/1000 = 0.615 within the pixel; at 8 km of 15: × (1 − 0.5 × 7.5/15).
        assert!((impact(h, &e, &site(0.3, 15.0)).value - 0.615).abs() < 1e-12);
        assert!((impact(h, &e, &site(8.0, 15.0)).value - 0.615 * 0.75).abs() < 1e-12);
    }

    #[test]
    fn models_are_chosen_by_what_the_source_measured() {
        let none = EventAttributes::default();
        assert_eq!(
            Hazard::of(USGS, "geological", "earthquake", &none),
            Hazard::Natural
        );
        assert_eq!(
            Hazard::of(SourceKind::Report, "civil_unrest", "riot", &none),
            Hazard::Human
        );
        assert_eq!(
            Hazard::of(SourceKind::Warning, "geological", "earthquake", &none),
            Hazard::Warning
        );
        let eq = Hazard::Earthquake {
            magnitude: 7.0,
            depth_km: 10.0,
        };
        // Felt at IV out to several hundred km: wider than the 150 km default.
        assert!(eq.reach_km(150.0) > 400.0);
        let small = Hazard::Earthquake {
            magnitude: 4.5,
            depth_km: 10.0,
        };
        assert_eq!(small.reach_km(150.0), 150.0);
        // 175.9 km/h reaches gale force 40·(175.9/63)² = 311.8 km out.
        assert!((Hazard::Cyclone { wind_kmh: 175.9 }.reach_km(100.0) - 311.8).abs() < 0.1);
    }
}
