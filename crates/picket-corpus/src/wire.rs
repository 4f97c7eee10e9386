//! Wire types of `/v1/events`: the Event object (§2.7), the list query and envelopes.

use picket_core::time::serde_rfc3339;
use picket_core::ApiError;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::model::{check_category, check_country, parse_date, Actor, Attribution};
use super::store::{Bbox, EventFilter, EventRow};

/// An event as the API returns it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Event {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub event_category: String,
    pub event_type: Option<String>,
    pub event_subtype: Option<String>,
    /// critical, high, medium, low or negligible.
    pub severity: String,
    pub article_count: i64,
    pub actor_count: i64,
    #[serde(serialize_with = "serde_rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    #[serde(serialize_with = "serde_rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
    /// `YYYY-MM-DD`.
    pub event_date: String,
    pub event_date_end: Option<String>,
    pub location: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub location_country: Option<String>,
    /// `[lng, lat]`.
    pub coordinates: [f64; 2],
    pub salience_score: Option<f64>,
    pub actors: Vec<Actor>,
    pub data_source: String,
    /// Where the event comes from: `[{source, source_id, url, published_at}]`.
    pub sources: Vec<Attribution>,
}

impl EventRow {
    pub fn to_wire(&self) -> Event {
        Event {
            id: self.id.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            event_category: self.event_category.clone(),
            event_type: self.event_type.clone(),
            event_subtype: self.event_subtype.clone(),
            severity: self.severity.clone(),
            article_count: self.article_count,
            actor_count: self.actor_count,
            created_at: self.created_at,
            updated_at: self.updated_at,
            event_date: self.event_date.clone(),
            event_date_end: self.event_date_end.clone(),
            location: self.location.clone(),
            location_country: self.location_country.clone(),
            coordinates: [self.lng, self.lat],
            salience_score: self.salience_score,
            actors: self.actors.0.clone(),
            data_source: self.data_source.clone(),
            sources: self.sources.0.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    pub events: Vec<Event>,
    pub total: i64,
    pub limit: u64,
    pub offset: u64,
}

/// One refused record of a push.
#[derive(Debug, Serialize, ToSchema)]
pub struct Rejected {
    /// 0-based position in the array, or among the non-blank NDJSON lines.
    pub index: usize,
    pub error: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PushResult {
    /// Events added or updated.
    pub accepted: usize,
    pub rejected: Vec<Rejected>,
}

/// Query of `GET /v1/events`. Repeat `event_category`, `event_type` or `location_country` to
/// match any of several values.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `minLng,minLat,maxLng,maxLat`; `minLng > maxLng` crosses the antimeridian.
    pub bbox: Option<String>,
    /// Inclusive, on `event_date`.
    pub date_from: Option<String>,
    /// Inclusive, on `event_date`.
    pub date_to: Option<String>,
    #[serde(default)]
    pub event_category: Vec<String>,
    #[serde(default)]
    pub event_type: Vec<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default)]
    pub location_country: Vec<String>,
    /// Case-insensitive substring of title or description.
    pub keyword: Option<String>,
    /// 1–1000, default 100.
    pub limit: Option<i64>,
    /// ≥ 0, default 0.
    pub offset: Option<i64>,
}

fn bad(param: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("invalid query parameter `{param}`: {why}"))
}

pub fn parse_bbox(s: &str) -> Result<Bbox, ApiError> {
    let parts: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            bad(
                "bbox",
                "expected four numbers `minLng,minLat,maxLng,maxLat`",
            )
        })?;
    let [min_lng, min_lat, max_lng, max_lat] = parts[..] else {
        return Err(bad(
            "bbox",
            "expected four numbers `minLng,minLat,maxLng,maxLat`",
        ));
    };
    for lng in [min_lng, max_lng] {
        if !(-180.0..=180.0).contains(&lng) {
            return Err(bad("bbox", "longitudes must be between -180 and 180"));
        }
    }
    for lat in [min_lat, max_lat] {
        if !(-90.0..=90.0).contains(&lat) {
            return Err(bad("bbox", "latitudes must be between -90 and 90"));
        }
    }
    if min_lat > max_lat {
        return Err(bad("bbox", "minLat is greater than maxLat"));
    }
    Ok(Bbox {
        min_lng,
        min_lat,
        max_lng,
        max_lat,
    })
}

impl ListQuery {
    /// The checked filters, limit and offset.
    pub fn parse(self) -> Result<(EventFilter, u64, u64), ApiError> {
        let limit = self.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(bad("limit", "must be between 1 and 1000"));
        }
        let offset = self.offset.unwrap_or(0);
        if offset < 0 {
            return Err(bad("offset", "must be ≥ 0"));
        }
        let date = |name: &str, v: Option<String>| {
            v.map(|s| parse_date(name, &s).map_err(|e| bad(name, e)))
                .transpose()
        };
        let date_from = date("date_from", self.date_from)?;
        let date_to = date("date_to", self.date_to)?;
        for c in &self.event_category {
            check_category("event_category", c).map_err(|e| bad("event_category", e))?;
        }
        let countries = self
            .location_country
            .iter()
            .map(|c| check_country("location_country", c).map_err(|e| bad("location_country", e)))
            .collect::<Result<Vec<_>, _>>()?;
        let filter = EventFilter {
            bbox: self.bbox.as_deref().map(parse_bbox).transpose()?,
            date_from,
            date_to,
            categories: self.event_category,
            types: self.event_type,
            countries,
            keyword: self.keyword.filter(|k| !k.trim().is_empty()),
        };
        Ok((filter, limit as u64, offset as u64))
    }
}

/// The shared event filters without paging: the query of the heatmap, country summaries,
/// GeoJSON layer and tiles (their answers are capped or aggregated instead).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FilterQuery {
    /// `minLng,minLat,maxLng,maxLat`; `minLng > maxLng` crosses the antimeridian.
    pub bbox: Option<String>,
    /// Inclusive, on `event_date`.
    pub date_from: Option<String>,
    /// Inclusive, on `event_date`.
    pub date_to: Option<String>,
    #[serde(default)]
    pub event_category: Vec<String>,
    #[serde(default)]
    pub event_type: Vec<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default)]
    pub location_country: Vec<String>,
    /// Case-insensitive substring of title or description.
    pub keyword: Option<String>,
}

impl FilterQuery {
    /// The checked filters, by the rules of `GET /v1/events`.
    pub fn parse(self) -> Result<EventFilter, ApiError> {
        let list = ListQuery {
            bbox: self.bbox,
            date_from: self.date_from,
            date_to: self.date_to,
            event_category: self.event_category,
            event_type: self.event_type,
            location_country: self.location_country,
            keyword: self.keyword,
            limit: None,
            offset: None,
        };
        Ok(list.parse()?.0)
    }
}

/// `{"points": [[lng, lat, weight]], "total"}`: weight 2 for high or critical, 1 for medium,
/// 0 for low or negligible; at most 100,000 points (the most severe, then the newest), `total`
/// counting all.
#[derive(Debug, Serialize, ToSchema)]
pub struct Heatmap {
    /// `[lng, lat, weight]`, the weight an integer.
    #[schema(value_type = Vec<Vec<f64>>)]
    pub points: Vec<(f64, f64, u8)>,
    pub total: usize,
}

/// `GET /v1/events/at-point`: a map point and a page. `lat` and `lng` are options here so
/// that a missing one gets its own message.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AtPointQuery {
    /// Latitude of the point, −90 to 90.
    #[param(required = true, value_type = f64)]
    pub lat: Option<f64>,
    /// Longitude of the point, −180 to 180.
    #[param(required = true, value_type = f64)]
    pub lng: Option<f64>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
    /// ≥ 0, default 0.
    pub offset: Option<i64>,
}

impl AtPointQuery {
    /// The checked point, limit and offset.
    pub fn parse(self) -> Result<((f64, f64), u64, u64), ApiError> {
        let coordinate = |name: &str, v: Option<f64>, bound: f64| {
            let v = v.ok_or_else(|| {
                ApiError::bad_request(format!("missing query parameter `{name}`"))
            })?;
            if !v.is_finite() || !(-bound..=bound).contains(&v) {
                return Err(bad(name, format!("must be between -{bound} and {bound}")));
            }
            Ok(v)
        };
        let lat = coordinate("lat", self.lat, 90.0)?;
        let lng = coordinate("lng", self.lng, 180.0)?;
        let limit = self.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(bad("limit", "must be between 1 and 200"));
        }
        let offset = self.offset.unwrap_or(0);
        if offset < 0 {
            return Err(bad("offset", "must be ≥ 0"));
        }
        Ok(((lat, lng), limit as u64, offset as u64))
    }
}

/// One country's events (`GET /v1/events/countries`).
#[derive(Debug, Serialize, ToSchema)]
pub struct CountrySummary {
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub total: u64,
    /// Every severity, zero where none.
    pub by_severity: BTreeMap<String, u64>,
    /// The categories that occur.
    pub by_category: BTreeMap<String, u64>,
    /// `YYYY-MM-DD`.
    pub latest_event_date: String,
}

/// `{"countries": [...], "total"}`: one entry per country with matching events, most events
/// first, then by country code; `total` counts the countries. Events without a country are in
/// no entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct Countries {
    pub countries: Vec<CountrySummary>,
    pub total: usize,
}

/// A point of the GeoJSON layer.
#[derive(Debug, Serialize, ToSchema)]
pub struct GeoPoint {
    /// Always `Point`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `[lng, lat]`.
    pub coordinates: [f64; 2],
}

/// What a GeoJSON feature says of its event.
#[derive(Debug, Serialize, ToSchema)]
pub struct GeoProperties {
    pub id: String,
    pub title: String,
    pub event_category: String,
    pub event_type: Option<String>,
    pub severity: String,
    pub event_date: String,
    pub location_country: Option<String>,
}

/// One event as a GeoJSON feature; its `id` is the event's.
#[derive(Debug, Serialize, ToSchema)]
pub struct GeoFeature {
    /// Always `Feature`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
    pub geometry: GeoPoint,
    pub properties: GeoProperties,
}

/// A GeoJSON `FeatureCollection` of the matching events, most severe then newest first, cut at
/// `limit` (10,000) features; `truncated` says whether it was cut and `total` counts every
/// match.
#[derive(Debug, Serialize, ToSchema)]
pub struct GeoJson {
    /// Always `FeatureCollection`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub features: Vec<GeoFeature>,
    pub total: usize,
    pub truncated: bool,
    pub limit: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_is_checked() {
        let q = |lat, lng, limit| AtPointQuery {
            lat,
            lng,
            limit,
            offset: None,
        };
        assert_eq!(
            q(Some(6.45), Some(3.39), None).parse().unwrap(),
            ((6.45, 3.39), 50, 0)
        );
        let err = |q: AtPointQuery| q.parse().unwrap_err().message;
        assert!(err(q(None, Some(3.0), None)).contains("missing query parameter `lat`"));
        assert!(err(q(Some(91.0), Some(3.0), None)).contains("`lat`"));
        assert!(err(q(Some(1.0), Some(-180.5), None)).contains("`lng`"));
        assert!(err(q(Some(1.0), Some(1.0), Some(201))).contains("`limit`"));
    }

    #[test]
    fn bbox_is_checked() {
        let b = parse_bbox("170,-10,-170,10").unwrap();
        assert_eq!((b.min_lng, b.max_lng), (170.0, -170.0));
        for s in ["1,2,3", "a,b,c,d", "0,0,181,1", "0,10,1,5"] {
            assert!(parse_bbox(s).unwrap_err().message.contains("bbox"), "{s}");
        }
    }
}
