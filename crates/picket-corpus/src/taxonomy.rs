//! The event taxonomy shared by importers, the threat engine and asset configuration.

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
}
