//! Picket's own event shape as clients and files send it: the body items of `POST /v1/events`,
//! the lines of an NDJSON file and the properties of a generic GeoJSON feature.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::{
    check_category, check_country, check_lat_lng, check_len, non_empty, parse_date,
    start_of_day_ms, Actor, EventAttributes, NewEvent, Severity, MAX_SHORT, MAX_TEXT, MAX_TITLE,
};

/// An event in Picket's shape. Required: `title`, `event_category`, `event_date`,
/// `coordinates`. `source_id` (or `id`) makes a record re-sendable: the same pair of
/// `source` and `source_id` updates the event instead of adding another.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    /// Taken as `source_id` when that is absent (so exported events re-import as updates).
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// A category of the taxonomy, e.g. `armed_conflict`.
    #[serde(default)]
    pub event_category: Option<String>,
    #[serde(default)]
    pub event_type: Option<String>,
    #[serde(default)]
    pub event_subtype: Option<String>,
    /// One of the five threat severities; default `low`.
    #[serde(default)]
    pub severity: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub event_date: Option<String>,
    #[serde(default)]
    pub event_date_end: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default)]
    pub location_country: Option<String>,
    /// `[lng, lat]`.
    #[serde(default)]
    pub coordinates: Option<Vec<f64>>,
    #[serde(default)]
    pub salience_score: Option<f64>,
    /// Default 1.
    #[serde(default)]
    pub article_count: Option<i64>,
    /// Default: the number of `actors`.
    #[serde(default)]
    pub actor_count: Option<i64>,
    #[serde(default)]
    pub actors: Vec<Actor>,
    /// Default: `source`.
    #[serde(default)]
    pub data_source: Option<String>,
    /// Default: the importer's name, or `push` for `POST /v1/events`.
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub source_id: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

fn required(field: &str, value: Option<String>) -> Result<String, String> {
    non_empty(value).ok_or_else(|| format!("`{field}` is required"))
}

fn optional(field: &str, value: Option<String>, max: usize) -> Result<Option<String>, String> {
    let v = non_empty(value);
    if let Some(s) = &v {
        check_len(field, s, max)?;
    }
    Ok(v)
}

impl EventInput {
    /// Checks the record. Without a `source_id` (or `id`) the event gets a fresh one, so
    /// sending it again adds another event.
    pub fn validate(self, default_source: &str) -> Result<NewEvent, String> {
        let title = required("title", self.title)?;
        check_len("title", &title, MAX_TITLE)?;
        let category = required("event_category", self.event_category)?;
        let event_category = check_category("event_category", &category)?;
        let event_date = parse_date("event_date", &required("event_date", self.event_date)?)?;
        let event_date_end = match non_empty(self.event_date_end) {
            Some(s) => {
                let end = parse_date("event_date_end", &s)?;
                if end < event_date {
                    return Err("`event_date_end` is before `event_date`".into());
                }
                Some(end)
            }
            None => None,
        };
        let coords = self
            .coordinates
            .ok_or_else(|| "`coordinates` is required".to_string())?;
        let [lng, lat] = coords[..] else {
            return Err("`coordinates` must be `[lng, lat]`".into());
        };
        check_lat_lng(lat, lng).map_err(|e| format!("`coordinates`: {e}"))?;
        let severity = match non_empty(self.severity) {
            Some(s) => Severity::parse(&s).ok_or_else(|| {
                format!(
                    "`severity`: unknown value `{s}`; expected critical, high, medium, low or negligible"
                )
            })?,
            None => Severity::Low,
        };
        let location_country = match non_empty(self.location_country) {
            Some(c) => Some(check_country("location_country", &c)?),
            None => None,
        };
        if let Some(s) = self.salience_score {
            if !s.is_finite() || s < 0.0 {
                return Err("`salience_score` must be a number ≥ 0".into());
            }
        }
        let article_count = self.article_count.unwrap_or(1);
        if article_count < 0 {
            return Err("`article_count` must be ≥ 0".into());
        }
        let actor_count = self.actor_count.unwrap_or(self.actors.len() as i64);
        if actor_count < 0 {
            return Err("`actor_count` must be ≥ 0".into());
        }
        let source = optional("source", self.source, MAX_SHORT)?
            .unwrap_or_else(|| default_source.to_string());
        let source_id = match optional("source_id", self.source_id, MAX_SHORT)? {
            Some(id) => id,
            None => optional("id", self.id, MAX_SHORT)?
                .unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
        };
        Ok(NewEvent {
            data_source: optional("data_source", self.data_source, MAX_SHORT)?
                .unwrap_or_else(|| source.clone()),
            source,
            source_id,
            title,
            description: optional("description", self.description, MAX_TEXT)?,
            event_category,
            event_type: optional("event_type", self.event_type, MAX_SHORT)?,
            event_subtype: optional("event_subtype", self.event_subtype, MAX_SHORT)?,
            severity,
            event_date,
            event_date_end,
            occurred_at: start_of_day_ms(event_date),
            location: optional("location", self.location, MAX_SHORT)?,
            location_country,
            lat,
            lng,
            salience_score: self.salience_score,
            article_count,
            actor_count,
            actors: self.actors,
            url: optional("url", self.url, MAX_TEXT)?,
            published_at: None,
            attributes: EventAttributes::default(),
        })
    }
}

/// Deserialises one record, naming the offending field on failure.
pub fn from_value(value: serde_json::Value) -> Result<EventInput, String> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        if path.is_empty() || path == "." {
            e.into_inner().to_string()
        } else {
            format!("`{path}`: {}", e.into_inner())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(v: serde_json::Value) -> Result<NewEvent, String> {
        from_value(v)?.validate("push")
    }

    #[test]
    fn minimal_record_gets_defaults() {
        let e = check(json!({"title": " Riot ", "event_category": "civil_unrest",
            "event_date": "2026-04-18", "coordinates": [3.39, 6.45]}))
        .unwrap();
        assert_eq!(e.title, "Riot");
        assert_eq!((e.lng, e.lat), (3.39, 6.45));
        assert_eq!(e.severity, Severity::Low);
        assert_eq!(e.source, "push");
        assert_eq!(e.data_source, "push");
        assert_eq!(e.article_count, 1);
        assert!(!e.source_id.is_empty());
    }

    #[test]
    fn bad_records_name_the_field() {
        let base = json!({"title": "t", "event_category": "weather",
            "event_date": "2026-04-18", "coordinates": [0.0, 0.0]});
        let cases = [
            ("title", json!(null), "title"),
            ("event_category", json!("volcano"), "event_category"),
            ("event_date", json!("18/04/2026"), "event_date"),
            ("coordinates", json!([1.0]), "coordinates"),
            ("coordinates", json!([0.0, 95.0]), "latitude"),
            ("severity", json!("severe"), "severity"),
            ("location_country", json!("NGA"), "location_country"),
            ("event_date_end", json!("2026-04-17"), "event_date_end"),
            ("colour", json!("red"), "colour"),
        ];
        for (field, value, needle) in cases {
            let mut v = base.clone();
            v[field] = value;
            let err = check(v).unwrap_err();
            assert!(err.contains(needle), "{field}: {err}");
        }
    }
}
