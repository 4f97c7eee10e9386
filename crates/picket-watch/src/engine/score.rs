//! Deterministic scoring: likelihood × impact → `risk_score` 0–100, its bands, and rationales
//! written from the factors that drove them (no language model).
//!
//! Likelihood (0–1) = reliability × corroboration × recency × precision, where
//! * reliability is the source's track record (instrumented networks highest, media-coded
//!   datasets lowest; [`source_reliability`]),
//! * corroboration = 0.6 + 0.1 per further distinct source + 0.05 per doubling of articles,
//!   capped at 1,
//! * recency falls linearly from 1 for a fresh event to 0.5 at the category's maximum age,
//! * precision is 1 for exact coordinates, 0.85 city, 0.65 region, 0.4 country.
//!
//! Impact (0–1) = severity × proximity × exposure, where severity maps the five levels to
//! 1 / 0.75 / 0.5 / 0.25 / 0.1, proximity falls from 1 at the asset to 0.3 at the edge of its
//! radius (0.5 for country-wide matches), and exposure is 1 for facilities and 0.9 for
//! residences.
//!
//! `risk_score` = 100 × likelihood × impact, rounded to one decimal; `severity` and
//! `risk_level` are its bands (§10.9).

use picket_corpus::taxonomy::Severity;

/// How exactly an event's coordinates place it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    Exact,
    City,
    Region,
    Country,
}

impl Precision {
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Exact => "exact",
            Precision::City => "city",
            Precision::Region => "region",
            Precision::Country => "country",
        }
    }
    fn factor(self) -> f64 {
        match self {
            Precision::Exact => 1.0,
            Precision::City => 0.85,
            Precision::Region => 0.65,
            Precision::Country => 0.4,
        }
    }
    /// Radius of uncertainty implied by the precision, in km.
    pub fn uncertainty_km(self) -> f64 {
        match self {
            Precision::Exact => 1.0,
            Precision::City => 10.0,
            Precision::Region => 100.0,
            Precision::Country => 500.0,
        }
    }
}

/// Reliability of a data source, 0–1.
pub fn source_reliability(data_source: &str) -> f64 {
    match data_source {
        "usgs" => 0.95,
        "gdacs" | "nws" | "ipaws" | "cap" => 0.9,
        "acled" => 0.85,
        "firms" => 0.8,
        // Events a tenant pushes itself (`POST /v1/events`).
        "tenant" | "push" => 0.75,
        "gdelt" => 0.55,
        _ => 0.65,
    }
}

/// What scoring needs to know about an event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventFacts {
    pub severity: Severity,
    pub data_source: String,
    pub distinct_sources: u32,
    pub article_count: u32,
    pub precision: Precision,
    pub age_hours: f64,
    pub max_age_hours: f64,
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

fn severity_weight(s: Severity) -> f64 {
    match s {
        Severity::Critical => 1.0,
        Severity::High => 0.75,
        Severity::Medium => 0.5,
        Severity::Low => 0.25,
        Severity::Negligible => 0.1,
    }
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

fn impact_band(i: f64) -> &'static str {
    match i {
        i if i >= 0.8 => "catastrophic",
        i if i >= 0.6 => "major",
        i if i >= 0.4 => "moderate",
        i if i >= 0.2 => "minor",
        _ => "negligible",
    }
}

/// Scores an event against its nearest affected asset.
///
/// `distance_km` / `radius_km` locate the asset (`radius_km` `None` = country-wide match).
pub fn assess(
    e: &EventFacts,
    asset_name: &str,
    asset_type: &str,
    distance_km: f64,
    radius_km: Option<f64>,
) -> Assessment {
    let reliability = source_reliability(&e.data_source);
    let further = e.distinct_sources.saturating_sub(1) as f64;
    let doublings = (e.article_count.max(1) as f64).log2();
    let corroboration = (0.6 + 0.1 * further + 0.05 * doublings).min(1.0);
    let recency = if e.max_age_hours > 0.0 {
        1.0 - 0.5 * (e.age_hours / e.max_age_hours).clamp(0.0, 1.0)
    } else {
        1.0
    };
    let precision = e.precision.factor();
    let likelihood = reliability * corroboration * recency * precision;

    let severity = severity_weight(e.severity);
    let proximity = match radius_km {
        Some(r) if r > 0.0 => 1.0 - 0.7 * (distance_km / r).clamp(0.0, 1.0),
        _ => 0.5,
    };
    let exposure = if asset_type == "residence" { 0.9 } else { 1.0 };
    let impact = severity * proximity * exposure;

    let risk_score = (1000.0 * likelihood * impact).round() / 10.0;
    let likelihood_band = likelihood_band(likelihood);
    let impact_band = impact_band(impact);

    let likelihood_rationale = format!(
        "{} ({:.2}): source {} reliability {:.2}; {} source{} and {} article{} give corroboration {:.2}; \
         {:.0} h old of a {:.0} h window gives recency {:.2}; {} location precision {:.2}.",
        likelihood_band.replace('_', " "),
        likelihood,
        e.data_source,
        reliability,
        e.distinct_sources.max(1),
        if e.distinct_sources > 1 { "s" } else { "" },
        e.article_count.max(1),
        if e.article_count > 1 { "s" } else { "" },
        corroboration,
        e.age_hours.max(0.0),
        e.max_age_hours,
        recency,
        e.precision.as_str(),
        precision
    );
    let where_ = match radius_km {
        Some(r) => format!("{distance_km:.1} km from {asset_name} within its {r:.0} km radius gives proximity {proximity:.2}"),
        None => format!("same-country match for {asset_name} gives proximity {proximity:.2}"),
    };
    let impact_rationale = format!(
        "{} ({:.2}): {} event severity {:.2}; {}; {} exposure {:.2}.",
        impact_band,
        impact,
        e.severity.as_str(),
        severity,
        where_,
        asset_type,
        exposure
    );
    Assessment {
        likelihood: likelihood_band,
        impact_severity: impact_band,
        risk_score,
        severity: Severity::from_score(risk_score),
        likelihood_rationale,
        impact_rationale,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(severity: Severity, source: &str, age: f64) -> EventFacts {
        EventFacts {
            severity,
            data_source: source.into(),
            distinct_sources: 1,
            article_count: 1,
            precision: Precision::Exact,
            age_hours: age,
            max_age_hours: 72.0,
        }
    }

    #[test]
    fn golden_scores() {
        // Critical USGS quake, fresh, 5 km inside a 150 km radius of a facility:
        // L = 0.95 × 0.6 × 1 × 1 = 0.57; I = 1 × (1 − 0.7 × 5/150) × 1 = 0.976667; 100·L·I = 55.67.
        let a = assess(
            &facts(Severity::Critical, "usgs", 0.0),
            "Lagos HQ",
            "facility",
            5.0,
            Some(150.0),
        );
        assert_eq!(a.risk_score, 55.7);
        assert_eq!(a.severity, Severity::Medium);
        assert_eq!(a.likelihood, "possible");
        assert_eq!(a.impact_severity, "catastrophic");
        assert!(
            a.impact_rationale
                .contains("5.0 km from Lagos HQ within its 150 km radius"),
            "{}",
            a.impact_rationale
        );

        // Corroborated by three sources and 8 articles: corroboration 0.6+0.2+0.15 = 0.95;
        // L = 0.95 × 0.95 = 0.9025 → almost certain; risk 100 × 0.9025 × 0.976667 = 88.1.
        let mut f = facts(Severity::Critical, "usgs", 0.0);
        f.distinct_sources = 3;
        f.article_count = 8;
        let a = assess(&f, "Lagos HQ", "facility", 5.0, Some(150.0));
        assert_eq!(a.risk_score, 88.1);
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.likelihood, "almost_certain");

        // A medium GDELT protest at the edge of a residence's radius, 36 h into a 72 h window:
        // L = 0.55 × 0.6 × 0.75 × 1 = 0.2475; I = 0.5 × 0.3 × 0.9 = 0.135; risk 3.3.
        let a = assess(
            &facts(Severity::Medium, "gdelt", 36.0),
            "Abuja residence",
            "residence",
            10.0,
            Some(10.0),
        );
        assert_eq!(a.risk_score, 3.3);
        assert_eq!(a.severity, Severity::Negligible);
        assert_eq!(a.likelihood, "unlikely");
        assert_eq!(a.impact_severity, "negligible");
    }

    #[test]
    fn monotone_in_each_factor() {
        let base = assess(
            &facts(Severity::High, "acled", 10.0),
            "a",
            "facility",
            20.0,
            Some(50.0),
        )
        .risk_score;
        assert!(
            assess(
                &facts(Severity::High, "acled", 10.0),
                "a",
                "facility",
                40.0,
                Some(50.0)
            )
            .risk_score
                < base,
            "farther is lower"
        );
        assert!(
            assess(
                &facts(Severity::Critical, "acled", 10.0),
                "a",
                "facility",
                20.0,
                Some(50.0)
            )
            .risk_score
                > base,
            "more severe is higher"
        );
        assert!(
            assess(
                &facts(Severity::High, "acled", 60.0),
                "a",
                "facility",
                20.0,
                Some(50.0)
            )
            .risk_score
                < base,
            "older is lower"
        );
        assert!(
            assess(
                &facts(Severity::High, "gdelt", 10.0),
                "a",
                "facility",
                20.0,
                Some(50.0)
            )
            .risk_score
                < base,
            "less reliable is lower"
        );
    }

    #[test]
    fn bands() {
        assert_eq!(Severity::from_score(80.0), Severity::Critical);
        assert_eq!(Severity::from_score(79.9), Severity::High);
        assert_eq!(Severity::from_score(40.0), Severity::Medium);
        assert_eq!(Severity::from_score(19.99), Severity::Negligible);
    }
}
