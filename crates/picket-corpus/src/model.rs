//! A corpus event before it is stored ([`NewEvent`]), the severities it carries, and the
//! checks every importer and `POST /v1/events` share, so that nothing unchecked reaches storage.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::taxonomy;

/// Events use the five threat severities (contract §10.16).
pub use crate::taxonomy::Severity;
/// What a source says beyond the shared fields (stored as the event's `attributes`).
pub use crate::taxonomy::{Area, EventAttributes, Precision, Warning};

/// An actor of an event; every field is optional text (contract §2.7).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub canonical_name: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub actor_category: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub position: Option<String>,
    #[serde(default)]
    pub role_description: Option<String>,
}

/// One origin of an event: which feed said so, under which id, where to read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Attribution {
    pub source: String,
    pub source_id: String,
    pub url: Option<String>,
    /// RFC 3339, when the source published or last updated the record.
    pub published_at: Option<String>,
}

/// A checked event, ready to store. `(source, source_id)` identifies it within its tenant scope:
/// storing the same pair again updates the event instead of adding one.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub source: String,
    pub source_id: String,
    pub title: String,
    pub description: Option<String>,
    pub event_category: &'static str,
    pub event_type: Option<String>,
    pub event_subtype: Option<String>,
    pub severity: Severity,
    pub event_date: NaiveDate,
    pub event_date_end: Option<NaiveDate>,
    /// When it happened, Unix ms; the start of `event_date` when the source gives only a date.
    pub occurred_at: i64,
    pub location: Option<String>,
    pub location_country: Option<String>,
    pub lat: f64,
    pub lng: f64,
    pub salience_score: Option<f64>,
    pub article_count: i64,
    pub actor_count: i64,
    pub actors: Vec<Actor>,
    pub data_source: String,
    pub url: Option<String>,
    /// Unix ms.
    pub published_at: Option<i64>,
    /// Physical measures, warning qualifiers, last report, location precision.
    pub attributes: EventAttributes,
}

impl NewEvent {
    pub fn attribution(&self) -> Attribution {
        Attribution {
            source: self.source.clone(),
            source_id: self.source_id.clone(),
            url: self.url.clone(),
            published_at: self.published_at.map(picket_core::time::rfc3339),
        }
    }
}

pub const MAX_SHORT: usize = 200;
pub const MAX_TITLE: usize = 1_000;
pub const MAX_TEXT: usize = 10_000;

/// Checks a text field's length; `field` names it in the reason.
pub fn check_len(field: &str, value: &str, max: usize) -> Result<(), String> {
    if value.chars().count() > max {
        return Err(format!("`{field}` is longer than {max} characters"));
    }
    Ok(())
}

/// Trims; empty becomes `None`.
pub fn non_empty(value: Option<String>) -> Option<String> {
    value
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

pub fn check_category(field: &str, key: &str) -> Result<&'static str, String> {
    taxonomy::category(key).map(|c| c.key).ok_or_else(|| {
        format!(
            "`{field}`: unknown category `{key}`; expected one of {}",
            taxonomy::category_keys()
        )
    })
}

pub fn check_lat_lng(lat: f64, lng: f64) -> Result<(), String> {
    if !(lat.is_finite() && (-90.0..=90.0).contains(&lat)) {
        return Err(format!("latitude {lat} is not between -90 and 90"));
    }
    if !(lng.is_finite() && (-180.0..=180.0).contains(&lng)) {
        return Err(format!("longitude {lng} is not between -180 and 180"));
    }
    Ok(())
}

/// An ISO 3166-1 alpha-2 code, upper-cased.
pub fn check_country(field: &str, value: &str) -> Result<String, String> {
    let upper = value.trim().to_ascii_uppercase();
    if upper.len() != 2 || !upper.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(format!(
            "`{field}` must be an ISO 3166-1 alpha-2 code such as `NG`"
        ));
    }
    Ok(upper)
}

pub fn parse_date(field: &str, value: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|_| format!("`{field}` must be a date `YYYY-MM-DD`, got `{value}`"))
}

/// The UTC date and millisecond time of a Unix-ms instant.
pub fn date_of_ms(ms: i64) -> Option<NaiveDate> {
    DateTime::<Utc>::from_timestamp_millis(ms).map(|t| t.date_naive())
}

/// Midnight UTC of a date, in Unix ms.
pub fn start_of_day_ms(date: NaiveDate) -> i64 {
    date.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_name_the_problem() {
        assert!(check_category("event_category", "volcano")
            .unwrap_err()
            .contains("volcano"));
        assert_eq!(check_country("c", " ng ").unwrap(), "NG");
        assert!(check_country("location_country", "NGA")
            .unwrap_err()
            .contains("location_country"));
        assert!(check_lat_lng(91.0, 0.0).is_err());
        assert!(check_lat_lng(0.0, -180.5).is_err());
        assert!(parse_date("event_date", "2024-02-30")
            .unwrap_err()
            .contains("event_date"));
        assert_eq!(
            start_of_day_ms(parse_date("d", "1970-01-02").unwrap()),
            86_400_000
        );
    }

    #[test]
    fn severities_round_trip_in_order() {
        for s in ["critical", "high", "medium", "low", "negligible"] {
            assert_eq!(Severity::parse(s).unwrap().as_str(), s);
        }
        assert!(Severity::Critical < Severity::Negligible);
        assert_eq!(Severity::parse("severe"), None);
    }
}
