//! The event taxonomy shared by importers, the threat engine and asset configuration: the
//! categories with their default radius and maximum age, the severities, and the attributes
//! an event may carry beyond the shared fields ([`EventAttributes`]: physical measures,
//! warning qualifiers, last report, location precision).

/// A category of the contract's radius table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Category {
    pub key: &'static str,
    /// Default matching radius; `None` for country-wide matching (cyber).
    pub radius_km: Option<f64>,
    pub max_age_hours: f64,
}

pub const CATEGORIES: &[Category] = &[
    Category {
        key: "armed_conflict",
        radius_km: Some(50.0),
        max_age_hours: 72.0,
    },
    Category {
        key: "crime_violence",
        radius_km: Some(5.0),
        max_age_hours: 24.0,
    },
    Category {
        key: "civil_unrest",
        radius_km: Some(10.0),
        max_age_hours: 48.0,
    },
    Category {
        key: "terrorism",
        radius_km: Some(25.0),
        max_age_hours: 72.0,
    },
    Category {
        key: "transport",
        radius_km: Some(15.0),
        max_age_hours: 24.0,
    },
    Category {
        key: "infrastructure",
        radius_km: Some(20.0),
        max_age_hours: 48.0,
    },
    Category {
        key: "fire_hazard",
        radius_km: Some(15.0),
        max_age_hours: 48.0,
    },
    Category {
        key: "weather",
        radius_km: Some(100.0),
        max_age_hours: 72.0,
    },
    Category {
        key: "geological",
        radius_km: Some(150.0),
        max_age_hours: 72.0,
    },
    Category {
        key: "health",
        radius_km: Some(50.0),
        max_age_hours: 168.0,
    },
    Category {
        key: "cyber_attack",
        radius_km: None,
        max_age_hours: 72.0,
    },
];

pub fn category(key: &str) -> Option<&'static Category> {
    CATEGORIES.iter().find(|c| c.key == key)
}

pub fn category_keys() -> String {
    CATEGORIES
        .iter()
        .map(|c| c.key)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Event and threat severity: the contract's five levels, most severe first.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
#[derive(strum::EnumString, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "lowercase")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Negligible,
}

impl Severity {
    /// Most severe first.
    pub const ALL: &'static [Severity] = <Severity as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Severity> {
        s.parse().ok()
    }

    /// The band of a 0–100 risk score (§10.9: ≥ 80 critical, ≥ 60 high, ≥ 40 medium, ≥ 20 low).
    pub fn from_score(score: f64) -> Severity {
        match score {
            s if s >= 80.0 => Severity::Critical,
            s if s >= 60.0 => Severity::High,
            s if s >= 40.0 => Severity::Medium,
            s if s >= 20.0 => Severity::Low,
            _ => Severity::Negligible,
        }
    }
}

/// How exactly an event's coordinates place it (the threat's `location_precision_level`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// The place itself (an epicentre, a fire pixel, a tenant's own report).
    #[default]
    Exact,
    /// A city or town: the event is somewhere in it.
    City,
    /// A region (a state, province or district).
    Region,
    /// Only the country.
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

    /// Radius of uncertainty implied by the precision, in km (the threat's
    /// `location_uncertainty_km`).
    pub fn uncertainty_km(self) -> f64 {
        match self {
            Precision::Exact => 1.0,
            Precision::City => 10.0,
            Precision::Region => 100.0,
            Precision::Country => 500.0,
        }
    }

    /// How much farther than its radius an event of this precision may reach an asset, km: the
    /// event may lie anywhere within its uncertainty (0 for an exact place).
    pub fn widening_km(self) -> f64 {
        match self {
            Precision::Exact => 0.0,
            other => other.uncertainty_km(),
        }
    }
}

/// The area a warning covers, as its sender drew it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Area {
    /// A closed ring of `[lat, lng]` points.
    Polygon {
        points: Vec<[f64; 2]>,
    },
    Circle {
        lat: f64,
        lng: f64,
        radius_km: f64,
    },
}

/// A CAP `info` block's qualifiers, as the sender wrote them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Warning {
    /// Extreme, Severe, Moderate, Minor, Unknown.
    pub severity: String,
    /// Observed, Likely, Possible, Unlikely, Unknown.
    pub certainty: String,
    /// Immediate, Expected, Future, Past, Unknown.
    pub urgency: String,
}

/// What a source says of an event beyond the shared fields: the physical measures the threat
/// engine judges impact by, the qualifiers of a warning, when the source last reported the
/// event going on, and how exactly it is placed. Importers fill what their format carries;
/// every field is optional and an absent one is left out of the stored JSON.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct EventAttributes {
    /// When the source last reported the event as going on, Unix ms: the last update of a
    /// GDACS event with a span (a cyclone, flood, drought), a CAP message's `sent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reported_at: Option<i64>,
    /// When the event ends or ended by its source, Unix ms (a CAP warning's `expires`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<i64>,
    /// Earthquake magnitude.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub magnitude: Option<f64>,
    /// Hypocentre depth, km.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depth_km: Option<f64>,
    /// USGS ShakeMap's maximum intensity (MMI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mmi: Option<f64>,
    /// USGS PAGER alert: green, yellow, orange, red.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pager_alert: Option<String>,
    /// GDACS alert level: Green, Orange, Red.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert_level: Option<String>,
    /// Maximum sustained wind of a tropical cyclone, km/h.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wind_kmh: Option<f64>,
    /// A warning's CAP qualifiers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<Warning>,
    /// The area a warning covers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area: Option<Area>,
    /// Fire radiative power of a satellite fire detection, MW.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frp_mw: Option<f64>,
    /// Detection confidence, 0–1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// Independent sources the record itself counts (GDELT `NumSources`, ACLED's `source`
    /// list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_count: Option<u32>,
    /// How exactly the coordinates place the event; absent means exact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision: Option<Precision>,
}

impl EventAttributes {
    /// Whether nothing is set (stored as no attributes at all).
    pub fn is_empty(&self) -> bool {
        *self == EventAttributes::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_are_listed_most_severe_first_as_serde_spells_them() {
        let names: Vec<&str> = Severity::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["critical", "high", "medium", "low", "negligible"]);
        for s in Severity::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert!(Severity::ALL.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(Severity::parse("High"), None);
    }

    #[test]
    fn attributes_store_only_what_is_set() {
        let a = EventAttributes {
            magnitude: Some(5.3),
            precision: Some(Precision::City),
            area: Some(Area::Circle {
                lat: 1.0,
                lng: 2.0,
                radius_km: 3.0,
            }),
            ..EventAttributes::default()
        };
        let text = serde_json::to_string(&a).unwrap();
        assert_eq!(
            text,
            r#"{"magnitude":5.3,"area":{"kind":"circle","lat":1.0,"lng":2.0,"radius_km":3.0},"precision":"city"}"#
        );
        assert_eq!(serde_json::from_str::<EventAttributes>(&text).unwrap(), a);
        assert!(EventAttributes::default().is_empty());
        assert_eq!(
            serde_json::from_str::<EventAttributes>("{}").unwrap(),
            EventAttributes::default()
        );
        assert_eq!(Precision::Region.widening_km(), 100.0);
        assert_eq!(Precision::Exact.widening_km(), 0.0);
    }
}
