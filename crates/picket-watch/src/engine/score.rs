//! Deterministic scoring: likelihood × impact → `risk_score` 0–100, its bands, and rationales
//! written from the factors that drove them (no language model).
//!
//! * Likelihood ([`super::likelihood`]): how sure it is that the event happened, by what its
//!   source is — observed hazards from authoritative networks almost certain, warnings by
//!   their certainty and urgency, reports by reliability, corroboration and recency.
//! * Impact ([`super::impact`]): what the event does at the nearest affected asset, per
//!   hazard, from the physical intensity there where the source measures one.
//!
//! `risk_score` = 100 × likelihood × impact, rounded to one decimal; `severity` and
//! `risk_level` are its bands (§10.9: ≥ 80 critical, ≥ 60 high, ≥ 40 medium, ≥ 20 low). With
//! an observed hazard (likelihood 1) the severity is the impact's band: the shaking, wind or
//! warning level at the asset.

use picket_corpus::taxonomy::{EventAttributes, Severity};

pub use picket_corpus::taxonomy::Precision;

use super::impact::{self, Event, Hazard, Site};
use super::likelihood::{self, Evidence, SourceKind};

/// What scoring needs to know about an event.
#[derive(Debug, Clone, Copy)]
pub struct EventFacts<'a> {
    pub kind: SourceKind,
    pub hazard: Hazard,
    pub category: &'a str,
    pub event_type: &'a str,
    pub severity: Severity,
    /// The event's own source (the importer that created it, or a tenant's push).
    pub source: &'a str,
    pub distinct_sources: u32,
    pub article_count: u32,
    /// Hours since the event was last reported going on.
    pub age_hours: f64,
    pub max_age_hours: f64,
    pub attributes: &'a EventAttributes,
}

/// The scored relation of one event to its nearest affected asset.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub likelihood: &'static str,
    pub impact_severity: &'static str,
    pub risk_score: f64,
    pub severity: Severity,
    pub likelihood_rationale: String,
    pub impact_rationale: String,
}

fn likelihood_band(l: f64) -> &'static str {
    match l {
        l if l >= 0.8 => "almost_certain",
        l if l >= 0.6 => "likely",
        l if l >= 0.4 => "possible",
        l if l >= 0.2 => "unlikely",
        _ => "rare",
    }
}

/// Scores an event against the asset at `site`.
pub fn assess(e: &EventFacts<'_>, site: &Site<'_>) -> Assessment {
    let l = likelihood::likelihood(
        e.kind,
        &Evidence {
            source: e.source,
            distinct_sources: e.distinct_sources,
            article_count: e.article_count,
            age_hours: e.age_hours,
            max_age_hours: e.max_age_hours,
            attributes: e.attributes,
        },
    );
    let i = impact::impact(
        e.hazard,
        &Event {
            kind: e.kind,
            category: e.category,
            event_type: e.event_type,
            severity: e.severity,
            attributes: e.attributes,
        },
        site,
    );
    let risk_score = (1000.0 * l.value * i.value).round() / 10.0;
    let band = likelihood_band(l.value);
    Assessment {
        likelihood: band,
        impact_severity: impact::band(i.value),
        risk_score,
        severity: Severity::from_score(risk_score),
        likelihood_rationale: format!(
            "{} ({:.2}): {}.",
            band.replace('_', " "),
            l.value,
            l.rationale
        ),
        impact_rationale: format!("{}.", i.rationale),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use picket_corpus::taxonomy::{Area, Warning};

    fn facts<'a>(
        kind: SourceKind,
        category: &'a str,
        event_type: &'a str,
        severity: Severity,
        source: &'a str,
        attributes: &'a EventAttributes,
    ) -> EventFacts<'a> {
        EventFacts {
            kind,
            hazard: Hazard::of(kind, category, event_type, attributes),
            category,
            event_type,
            severity,
            source,
            distinct_sources: 1,
            article_count: 1,
            age_hours: 0.0,
            max_age_hours: 72.0,
            attributes,
        }
    }

    fn site(d: f64, radius: f64) -> Site<'static> {
        Site {
            name: "Lagos HQ",
            asset_type: "facility",
            distance_km: d,
            area_km: None,
            radius_km: Some(radius),
        }
    }

    /// Golden values per hazard model, computed by hand (see each comment).
    #[test]
    fn golden_scores_per_hazard() {
        // Earthquake, the case: M5.3 at 10 km depth, 5 km from a facility, observed by
        // USGS. MMI 6.233 → impact 0.6733; likelihood 1; risk 67.3, high.
        let quake = EventAttributes {
            magnitude: Some(5.3),
            depth_km: Some(10.0),
            ..EventAttributes::default()
        };
        let kind = SourceKind::of("usgs", "USGS");
        let a = assess(
            &facts(
                kind,
                "geological",
                "earthquake",
                Severity::Medium,
                "usgs",
                &quake,
            ),
            &site(5.0, 150.0),
        );
        assert_eq!(a.risk_score, 67.3);
        assert_eq!(a.severity, Severity::High);
        assert_eq!(a.likelihood, "almost_certain");
        assert_eq!(a.impact_severity, "major");
        assert!(a
            .likelihood_rationale
            .starts_with("almost certain (1.00): observed by USGS"));

        // Cyclone: GDACS, 175.9 km/h, 60 km from the centre: 175.9·(40/60)^0.5 = 143.64 km/h;
        // impact 0.6 + 0.2 × (143.64 − 119)/59 = 0.6835; risk 68.4, high (Orange: floor 0.6).
        let storm = EventAttributes {
            wind_kmh: Some(175.9248),
            alert_level: Some("Orange".into()),
            ..EventAttributes::default()
        };
        let kind = SourceKind::of("gdacs", "GDACS");
        let a = assess(
            &facts(
                kind,
                "weather",
                "tropical_cyclone",
                Severity::High,
                "gdacs",
                &storm,
            ),
            &site(60.0, 311.8),
        );
        assert_eq!(a.risk_score, 68.4, "{a:?}");
        assert_eq!(a.severity, Severity::High);

        // Warning: CAP Severe, Likely, Expected, asset inside the area: 0.85 × 0.75 = 63.75.
        let cap = EventAttributes {
            warning: Some(Warning {
                severity: "Severe".into(),
                certainty: "Likely".into(),
                urgency: "Expected".into(),
            }),
            area: Some(Area::Circle {
                lat: 0.0,
                lng: 0.0,
                radius_km: 20.0,
            }),
            ..EventAttributes::default()
        };
        let mut inside = site(5.0, 100.0);
        inside.area_km = Some(0.0);
        let a = assess(
            &facts(
                SourceKind::Warning,
                "weather",
                "blizzard_warning",
                Severity::High,
                "cap",
                &cap,
            ),
            &inside,
        );
        assert_eq!(a.risk_score, 63.8);
        assert_eq!(a.severity, Severity::High);
        assert_eq!(a.likelihood, "almost_certain");

        // Fire: FIRMS 250 MW at 85 % confidence, 2 km away in a 15 km radius:
        // 0.4 + 0.2 × 150/400 = 0.475; × (1 − 0.5 × 1.5/15) = 0.95 → 0.45125; risk 45.1.
        let fire = EventAttributes {
            frp_mw: Some(250.0),
            confidence: Some(0.85),
            ..EventAttributes::default()
        };
        let a = assess(
            &facts(
                SourceKind::Satellite,
                "fire_hazard",
                "active_fire",
                Severity::Medium,
                "firms",
                &fire,
            ),
            &site(2.0, 15.0),
        );
        assert_eq!(a.risk_score, 45.1);
        assert_eq!(a.severity, Severity::Medium);

        // Human: the pushed "high" bombing 1.6 km from a facility: impact 0.8228;
        // likelihood 0.85 (a tenant's own report, fresh); risk 69.9, high (was 29, low).
        let none = EventAttributes::default();
        let a = assess(
            &facts(
                SourceKind::Report,
                "terrorism",
                "bombing",
                Severity::High,
                "push",
                &none,
            ),
            &site(1.6, 25.0),
        );
        assert_eq!(a.risk_score, 69.9);
        assert_eq!(a.severity, Severity::High);
        assert_eq!(a.likelihood, "almost_certain");

        // A single GDELT report of a medium protest at the edge of a residence's 10 km radius,
        // 36 h into 48 h: L = 0.5 × (1 − 0.5 × 0.75) = 0.3125;
        // I = 0.65 × 0.85 × 0.5 × 0.9 = 0.2486; risk 7.8, negligible.
        let mut f = facts(
            SourceKind::Report,
            "civil_unrest",
            "protest",
            Severity::Medium,
            "gdelt",
            &none,
        );
        f.age_hours = 36.0;
        f.max_age_hours = 48.0;
        let mut s = site(10.0, 10.0);
        s.asset_type = "residence";
        let a = assess(&f, &s);
        assert_eq!(a.risk_score, 7.8, "{a:?}");
        assert_eq!(a.severity, Severity::Negligible);
        assert_eq!(a.likelihood, "unlikely");
    }

    /// Risk at `d` km, or `None` beyond the event's radius (no threat: below every band).
    fn risk_at(f: &EventFacts<'_>, d: f64) -> Option<f64> {
        let radius = super::super::rules::default_radius_km(f.category, f.hazard)?;
        (d <= radius).then(|| assess(f, &site(d, radius)).risk_score)
    }

    /// A threat's rank for the monotonicity properties: no threat lowest, then by score (the
    /// severity is the score's band, so an ordered score orders severities).
    fn rank(r: Option<f64>) -> f64 {
        r.unwrap_or(-1.0)
    }

    /// Properties over dense grids of every input: at a fixed depth and distance a stronger
    /// quake never scores lower (nor reaches less far); at a fixed magnitude a farther asset
    /// never scores higher. Depths include the negative and zero ones USGS publishes.
    #[test]
    fn earthquakes_are_monotone_in_magnitude_and_distance() {
        let kind = SourceKind::of("usgs", "USGS");
        for depth in [-2.0, 0.0, 3.0, 10.0, 20.0, 35.0, 70.0, 150.0, 300.0, 650.0] {
            let mut previous: Option<Vec<f64>> = None;
            for mi in 0..=85 {
                let m = 1.0 + 0.1 * f64::from(mi);
                let a = EventAttributes {
                    magnitude: Some(m),
                    depth_km: Some(depth),
                    ..EventAttributes::default()
                };
                let f = facts(kind, "geological", "earthquake", Severity::Low, "usgs", &a);
                let row: Vec<f64> = (0..=250)
                    .map(|di| rank(risk_at(&f, 4.0 * f64::from(di))))
                    .collect();
                for w in row.windows(2) {
                    assert!(
                        w[1] <= w[0],
                        "M{m} at {depth} km depth rises with distance: {row:?}"
                    );
                }
                if let Some(p) = &previous {
                    for (d, (now, before)) in row.iter().zip(p).enumerate() {
                        assert!(
                            now >= before,
                            "M{m} at {depth} km depth, {} km: {before} → {now}",
                            4 * d
                        );
                    }
                }
                previous = Some(row);
            }
        }
    }

    #[test]
    fn cyclones_warnings_fires_and_reports_are_monotone() {
        // Wind: stronger never lower, farther never higher.
        let kind = SourceKind::of("gdacs", "GDACS");
        let mut previous: Option<Vec<f64>> = None;
        for v in (40..=320).step_by(5) {
            let a = EventAttributes {
                wind_kmh: Some(f64::from(v)),
                ..EventAttributes::default()
            };
            let f = facts(
                kind,
                "weather",
                "tropical_cyclone",
                Severity::Low,
                "gdacs",
                &a,
            );
            let row: Vec<f64> = (0..=200)
                .map(|di| rank(risk_at(&f, 5.0 * f64::from(di))))
                .collect();
            assert!(row.windows(2).all(|w| w[1] <= w[0]), "{v} km/h: {row:?}");
            if let Some(p) = &previous {
                assert!(row.iter().zip(p).all(|(n, b)| n >= b), "{v} km/h");
            }
            previous = Some(row);
        }
        // Fire: more radiative power never lower, farther never higher.
        let mut previous: Option<Vec<f64>> = None;
        for frp in [
            0.0, 5.0, 50.0, 99.0, 100.0, 300.0, 500.0, 1000.0, 1500.0, 9000.0,
        ] {
            let a = EventAttributes {
                frp_mw: Some(frp),
                ..EventAttributes::default()
            };
            let f = facts(
                SourceKind::Satellite,
                "fire_hazard",
                "active_fire",
                Severity::Low,
                "firms",
                &a,
            );
            let row: Vec<f64> = (0..=40)
                .map(|di| rank(risk_at(&f, 0.5 * f64::from(di))))
                .collect();
            assert!(row.windows(2).all(|w| w[1] <= w[0]), "{frp} MW: {row:?}");
            if let Some(p) = &previous {
                assert!(row.iter().zip(p).all(|(n, b)| n >= b), "{frp} MW");
            }
            previous = Some(row);
        }
        // Reports and warnings: a more severe event never lower, farther never higher.
        for (kind, category, event_type, source) in [
            (SourceKind::Report, "terrorism", "bombing", "acled"),
            (SourceKind::Report, "civil_unrest", "protest", "gdelt"),
            (SourceKind::Report, "crime_violence", "assault", "push"),
            (SourceKind::Warning, "weather", "flood_warning", "cap"),
            (SourceKind::Observed("GDACS"), "weather", "flood", "gdacs"),
        ] {
            let none = EventAttributes::default();
            let mut previous: Option<Vec<f64>> = None;
            for s in Severity::ALL.iter().rev() {
                let f = facts(kind, category, event_type, *s, source, &none);
                let row: Vec<f64> = (0..=60)
                    .map(|di| rank(risk_at(&f, 2.0 * f64::from(di))))
                    .collect();
                assert!(
                    row.windows(2).all(|w| w[1] <= w[0]),
                    "{category} {s:?}: {row:?}"
                );
                if let Some(p) = &previous {
                    assert!(row.iter().zip(p).all(|(n, b)| n >= b), "{category} {s:?}");
                }
                previous = Some(row);
            }
        }
    }

    #[test]
    fn bands() {
        assert_eq!(Severity::from_score(80.0), Severity::Critical);
        assert_eq!(Severity::from_score(79.9), Severity::High);
        assert_eq!(Severity::from_score(40.0), Severity::Medium);
        assert_eq!(Severity::from_score(19.99), Severity::Negligible);
        assert_eq!(likelihood_band(0.8), "almost_certain");
        assert_eq!(likelihood_band(0.19), "rare");
    }
}
