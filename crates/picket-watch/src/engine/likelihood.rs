//! Likelihood: how sure it is that the event happened (or, for a warning, will happen), from
//! what its source is.
//!
//! * Observed natural hazards from authoritative sensor networks — USGS (seismic networks),
//!   GDACS (automatic hazard models over observations) — have happened: 1.0, almost certain.
//! * NASA FIRMS satellite fire detections: almost certain (1.0), except pixels whose detection
//!   confidence is below 30 %, which FIRMS itself flags as likely false alarms (0.3).
//! * Warnings (CAP): the sender's `certainty` — Observed 1.0, Likely (and CAP 1.0's Very
//!   Likely) 0.85, Possible 0.6, Unlikely 0.3, Unknown 0.6 — times its `urgency` — Immediate
//!   and Expected 1.0, Future 0.85, Unknown 0.9, Past 0.5.
//! * Reports of human events (ACLED, GDELT, tenants' pushes, anything else): the source's
//!   reliability r (ACLED 0.9, a tenant's own report 0.85, GDELT 0.5, another source 0.6),
//!   raised by corroboration — each further independent source removes 40 % of the remaining
//!   doubt, each doubling of articles 10 % — capped at 0.95, then weighed by recency: 1 for a
//!   fresh report down to 0.5 at the category's maximum age:
//!   L = min(0.95, 1 − (1 − r)·0.6^(sources − 1)·0.9^log₂(articles)) × recency.
//!
//! Source names match without regard to case (USGS's own records say `USGS`).

use picket_corpus::taxonomy::{EventAttributes, Warning};

/// What kind of source an event comes from, which decides how its likelihood is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// An authoritative sensor network observed it (its display name).
    Observed(&'static str),
    /// A satellite detected it (NASA FIRMS).
    Satellite,
    /// An official warning (CAP).
    Warning,
    /// A report of a human event.
    Report,
}

impl SourceKind {
    /// The kind of the event's own source (the importer that created it), else of its
    /// `data_source`.
    pub fn of(source: &str, data_source: &str) -> SourceKind {
        let named = |name: &str| {
            let n = name.to_ascii_lowercase();
            match n.as_str() {
                "usgs" => Some(SourceKind::Observed("USGS")),
                "gdacs" => Some(SourceKind::Observed("GDACS")),
                "firms" | "nasa firms" => Some(SourceKind::Satellite),
                "cap" | "nws" | "ipaws" => Some(SourceKind::Warning),
                _ => None,
            }
        };
        named(source)
            .or_else(|| named(data_source))
            .unwrap_or(SourceKind::Report)
    }

    /// Whether the event is a hazard observed as it happens (no recency discount).
    pub fn is_observation(self) -> bool {
        matches!(self, SourceKind::Observed(_) | SourceKind::Satellite)
    }
}

/// Reliability of a reporting source, 0–1.
pub fn reliability(source: &str) -> f64 {
    match source.to_ascii_lowercase().as_str() {
        "acled" => 0.9,
        // Events a tenant pushes itself (`POST /v1/events`).
        "push" | "tenant" => 0.85,
        "gdelt" => 0.5,
        _ => 0.6,
    }
}

/// A likelihood and the sentence that explains it.
#[derive(Debug, Clone, PartialEq)]
pub struct Likelihood {
    pub value: f64,
    pub rationale: String,
}

/// What the likelihood of a report is judged from.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    pub source: &'a str,
    pub distinct_sources: u32,
    pub article_count: u32,
    pub age_hours: f64,
    pub max_age_hours: f64,
    pub attributes: &'a EventAttributes,
}

pub fn likelihood(kind: SourceKind, e: &Evidence<'_>) -> Likelihood {
    match kind {
        SourceKind::Observed(name) => Likelihood {
            value: 1.0,
            rationale: format!(
                "observed by {name}, an authoritative monitoring network: a hazard that has happened is not in doubt"
            ),
        },
        SourceKind::Satellite => match e.attributes.confidence {
            Some(c) if c < 0.3 => Likelihood {
                value: 0.3,
                rationale: format!(
                    "a NASA FIRMS detection at {:.0} % confidence, which FIRMS flags as a likely false alarm",
                    c * 100.0
                ),
            },
            c => Likelihood {
                value: 1.0,
                rationale: format!(
                    "detected by NASA FIRMS satellites{}",
                    c.map_or(String::new(), |c| format!(" at {:.0} % confidence", c * 100.0))
                ),
            },
        },
        SourceKind::Warning => warning(e.attributes.warning.as_ref()),
        SourceKind::Report => report(e),
    }
}

fn warning(w: Option<&Warning>) -> Likelihood {
    let Some(w) = w else {
        return Likelihood {
            value: 0.85,
            rationale: "an official warning without certainty or urgency: likely (0.85)".into(),
        };
    };
    let certainty = match w.certainty.to_ascii_lowercase().as_str() {
        "observed" => 1.0,
        "likely" | "very likely" => 0.85,
        "possible" => 0.6,
        "unlikely" => 0.3,
        _ => 0.6,
    };
    let urgency = match w.urgency.to_ascii_lowercase().as_str() {
        "immediate" | "expected" => 1.0,
        "future" => 0.85,
        "past" => 0.5,
        _ => 0.9,
    };
    Likelihood {
        value: certainty * urgency,
        rationale: format!(
            "an official warning with certainty {} ({certainty:.2}) and urgency {} ({urgency:.2})",
            w.certainty, w.urgency
        ),
    }
}

fn report(e: &Evidence<'_>) -> Likelihood {
    let r = reliability(e.source);
    let sources = e
        .distinct_sources
        .max(e.attributes.source_count.unwrap_or(0))
        .max(1);
    let doublings = f64::from(e.article_count.max(1)).log2();
    let doubt = (1.0 - r) * 0.6f64.powi(sources as i32 - 1) * 0.9f64.powf(doublings);
    let corroborated = (1.0 - doubt).min(0.95);
    let recency = if e.max_age_hours > 0.0 {
        1.0 - 0.5 * (e.age_hours / e.max_age_hours).clamp(0.0, 1.0)
    } else {
        1.0
    };
    Likelihood {
        value: corroborated * recency,
        rationale: format!(
            "source {} reliability {r:.2}; {sources} source{} and {} article{} give {corroborated:.2}; \
             {:.0} h since the last report of a {:.0} h window gives recency {recency:.2}",
            e.source,
            if sources == 1 { "" } else { "s" },
            e.article_count.max(1),
            if e.article_count > 1 { "s" } else { "" },
            e.age_hours.max(0.0),
            e.max_age_hours,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence<'a>(source: &'a str, attrs: &'a EventAttributes) -> Evidence<'a> {
        Evidence {
            source,
            distinct_sources: 1,
            article_count: 1,
            age_hours: 0.0,
            max_age_hours: 72.0,
            attributes: attrs,
        }
    }

    #[test]
    fn sources_are_recognised_whatever_their_case() {
        assert_eq!(SourceKind::of("usgs", "USGS"), SourceKind::Observed("USGS"));
        assert_eq!(SourceKind::of("USGS", ""), SourceKind::Observed("USGS"));
        assert_eq!(
            SourceKind::of("geojson", "GDACS"),
            SourceKind::Observed("GDACS")
        );
        assert_eq!(SourceKind::of("firms", "NASA FIRMS"), SourceKind::Satellite);
        assert_eq!(
            SourceKind::of("cap", "Montgomery County MD"),
            SourceKind::Warning
        );
        assert_eq!(SourceKind::of("acled", "acled"), SourceKind::Report);
        assert_eq!(reliability("ACLED"), 0.9);
        assert_eq!(reliability("Gdelt"), 0.5);
    }

    #[test]
    fn golden_likelihoods() {
        let none = EventAttributes::default();
        let e = evidence("usgs", &none);
        assert_eq!(likelihood(SourceKind::of("usgs", "USGS"), &e).value, 1.0);

        // A CAP warning, Severe/Likely/Expected: 0.85 × 1.0.
        let likely = EventAttributes {
            warning: Some(Warning {
                severity: "Severe".into(),
                certainty: "Likely".into(),
                urgency: "Expected".into(),
            }),
            ..EventAttributes::default()
        };
        assert_eq!(
            likelihood(SourceKind::Warning, &evidence("cap", &likely)).value,
            0.85
        );
        // A cancellation: Unlikely (0.3) × Past (0.5).
        let past = EventAttributes {
            warning: Some(Warning {
                severity: "Unknown".into(),
                certainty: "Unlikely".into(),
                urgency: "Past".into(),
            }),
            ..EventAttributes::default()
        };
        assert!(
            (likelihood(SourceKind::Warning, &evidence("cap", &past)).value - 0.15).abs() < 1e-12
        );

        // GDELT, 9 sources and 60 articles, 36 h into 72 h:
        // doubt = 0.5 × 0.6^8 × 0.9^log2(60) = 0.5 × 0.016796 × 0.53668 = 0.0045071;
        // corroboration min(0.95, 0.99549) = 0.95; recency 0.75; L = 0.7125.
        let gdelt = EventAttributes {
            source_count: Some(9),
            ..EventAttributes::default()
        };
        let mut e = evidence("gdelt", &gdelt);
        e.article_count = 60;
        e.age_hours = 36.0;
        let l = likelihood(SourceKind::Report, &e);
        assert!((l.value - 0.7125).abs() < 1e-9, "{l:?}");
        assert!(l.rationale.contains("9 sources and 60 articles"), "{l:?}");

        // One GDELT article, fresh: 0.5.
        let e = evidence("gdelt", &none);
        assert_eq!(likelihood(SourceKind::Report, &e).value, 0.5);

        // FIRMS below 30 % confidence.
        let faint = EventAttributes {
            confidence: Some(0.2),
            ..EventAttributes::default()
        };
        assert_eq!(
            likelihood(SourceKind::Satellite, &evidence("firms", &faint)).value,
            0.3
        );
    }

    #[test]
    fn more_corroboration_never_lowers_a_report() {
        let none = EventAttributes::default();
        let mut last = 0.0;
        for sources in 1..6 {
            for articles in [1, 2, 5, 40, 1000] {
                let mut e = evidence("gdelt", &none);
                e.distinct_sources = sources;
                e.article_count = articles;
                let v = likelihood(SourceKind::Report, &e).value;
                assert!((0.5..=0.95).contains(&v));
                if articles == 1 {
                    assert!(v >= last);
                    last = v;
                }
            }
        }
    }
}
