//! ACLED CSV export (Armed Conflict Location & Event Data): a header row, then one event per
//! row. Columns are found by header name, so the export tool's and the API's CSV both work;
//! `event_id_cnty`, `event_date`, `event_type`, `sub_event_type`, `latitude` and `longitude`
//! are required.
//!
//! * `source_id` is `event_id_cnty` (`NIG12345`); ACLED revises events under the same id.
//! * `event_date` is `YYYY-MM-DD` (API) or `18 April 2026` (export tool).
//! * `iso` is ISO 3166-1 numeric and becomes alpha-2; `location`, `admin1`, `country` name the
//!   place.
//! * Actors: `actor1` / `assoc_actor_1` (role `actor1`) and `actor2` / `assoc_actor_2`
//!   (role `actor2`); `inter1` / `inter2` are their categories.
//! * `description` is `notes`, with ACLED's `source` list after it; `published_at` is
//!   `timestamp` (when ACLED last changed the row).
//!
//! Taxonomy (`event_type` and `event_subtype` are ACLED's names in snake case):
//!
//! | ACLED event_type | sub_event_type | category |
//! |---|---|---|
//! | Battles | any | armed_conflict |
//! | Explosions/Remote violence | Suicide bomb | terrorism |
//! | Explosions/Remote violence | any other | armed_conflict |
//! | Violence against civilians | any | crime_violence |
//! | Protests, Riots | any | civil_unrest |
//! | Strategic developments | Looting/property destruction, Arrests | crime_violence |
//! | Strategic developments | Disrupted weapons use | armed_conflict |
//! | Strategic developments | any other (agreements, HQ established…) | refused: not an incident |
//!
//! Severity from `fatalities`: ≥ 25 critical, ≥ 5 high, ≥ 1 medium; without deaths, low for
//! violent events and negligible for peaceful protests and strategic developments.
//!
//! The event's attributes keep how many sources ACLED names (`source`, `;`-separated), which
//! corroborate it, and the precision of its place from `geo_precision`: 1 (the town or site
//! itself) exact, 2 (near it, in its district) city, 3 (only the region) region.

use chrono::NaiveDate;
use serde::Deserialize;

use super::{countries, csv_rows, Record};
use crate::model::{
    check_lat_lng, start_of_day_ms, Actor, EventAttributes, NewEvent, Precision, Severity,
};

/// The columns in the header that every ACLED file must have.
const REQUIRED: [&str; 6] = [
    "event_id_cnty",
    "event_date",
    "event_type",
    "sub_event_type",
    "latitude",
    "longitude",
];

pub fn parse(bytes: &[u8]) -> Result<Vec<Record>, String> {
    let csv = csv_rows::<Row>(bytes, &REQUIRED)?;
    Ok(csv
        .rows
        .into_iter()
        .map(|(i, row)| (i, row.and_then(|row| record(&row))))
        .collect())
}

/// One row by column name; a column the file lacks reads as empty.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Row {
    event_id_cnty: String,
    event_date: String,
    event_type: String,
    sub_event_type: String,
    latitude: String,
    longitude: String,
    actor1: String,
    assoc_actor_1: String,
    inter1: String,
    actor2: String,
    assoc_actor_2: String,
    inter2: String,
    iso: String,
    country: String,
    admin1: String,
    location: String,
    geo_precision: String,
    fatalities: String,
    notes: String,
    source: String,
    timestamp: String,
}

/// `(category, violent)` of an ACLED type pair; `Ok(None)` for a development that is no incident.
fn taxonomy(event_type: &str, sub: &str) -> Result<Option<(&'static str, bool)>, String> {
    Ok(Some(match (event_type, sub) {
        ("Battles", _) => ("armed_conflict", true),
        ("Explosions/Remote violence", "Suicide bomb") => ("terrorism", true),
        ("Explosions/Remote violence", _) => ("armed_conflict", true),
        ("Violence against civilians", _) => ("crime_violence", true),
        ("Protests", "Peaceful protest") => ("civil_unrest", false),
        ("Protests", _) | ("Riots", _) => ("civil_unrest", true),
        ("Strategic developments", "Looting/property destruction") => ("crime_violence", true),
        ("Strategic developments", "Arrests") => ("crime_violence", false),
        ("Strategic developments", "Disrupted weapons use") => ("armed_conflict", false),
        ("Strategic developments", _) => return Ok(None),
        (other, _) => return Err(format!("unknown ACLED `event_type` `{other}`")),
    }))
}

/// Fatalities decide; without deaths, whether the event was violent (see the module comment).
pub fn severity(fatalities: i64, violent: bool) -> Severity {
    match fatalities {
        f if f >= 25 => Severity::Critical,
        f if f >= 5 => Severity::High,
        f if f >= 1 => Severity::Medium,
        _ if violent => Severity::Low,
        _ => Severity::Negligible,
    }
}

fn snake(s: &str) -> String {
    s.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

fn number(v: &str, name: &str) -> Result<f64, String> {
    if v.is_empty() {
        return Err(format!("missing coordinates: `{name}` is empty"));
    }
    v.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or_else(|| format!("`{name}` is not a number: `{v}`"))
}

fn date(v: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(v, "%d %B %Y"))
        .map_err(|_| format!("`event_date` is neither `YYYY-MM-DD` nor `18 April 2026`: `{v}`"))
}

fn record(row: &Row) -> Result<NewEvent, String> {
    let text = |v: &str| (!v.is_empty()).then(|| v.to_string());
    let need = |v: &str, name: &str| text(v).ok_or_else(|| format!("`{name}` is empty or missing"));
    let id = need(&row.event_id_cnty, "event_id_cnty")?;
    let event_date = date(&need(&row.event_date, "event_date")?)?;
    let event_type = need(&row.event_type, "event_type")?;
    let sub = need(&row.sub_event_type, "sub_event_type")?;
    let (category, violent) = taxonomy(&event_type, &sub)?
        .ok_or_else(|| format!("`{event_type}` / `{sub}` is not a security incident"))?;
    let lat = number(&row.latitude, "latitude")?;
    let lng = number(&row.longitude, "longitude")?;
    check_lat_lng(lat, lng)?;
    let fatalities = match text(&row.fatalities) {
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|f| *f >= 0)
            .ok_or_else(|| format!("`fatalities` is not a count: `{v}`"))?,
        None => 0,
    };
    let location_country = match text(&row.iso) {
        Some(v) => {
            let n = v
                .parse::<u16>()
                .map_err(|_| format!("`iso` is not an ISO 3166-1 numeric code: `{v}`"))?;
            // ACLED writes 0 for places without a code (Kosovo).
            match countries::from_numeric(n) {
                Some(iso) => Some(iso.to_string()),
                None if n == 0 => None,
                None => return Err(format!("unknown ISO 3166-1 numeric country code `{v}`")),
            }
        }
        None => None,
    };
    let published_at = match text(&row.timestamp) {
        Some(v) => Some(
            v.parse::<i64>()
                .map_err(|_| format!("`timestamp` is not Unix seconds: `{v}`"))?
                * 1000,
        ),
        None => None,
    };
    let mut actors = Vec::new();
    for (name, assoc, inter, role) in [
        (&row.actor1, &row.assoc_actor_1, &row.inter1, "actor1"),
        (&row.actor2, &row.assoc_actor_2, &row.inter2, "actor2"),
    ] {
        let names = text(name)
            .into_iter()
            .chain(text(assoc).into_iter().flat_map(|a| {
                a.split(';')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
            }));
        for (k, n) in names.enumerate() {
            actors.push(Actor {
                canonical_name: Some(n),
                role: Some(if k == 0 {
                    role.into()
                } else {
                    format!("{role}_associate")
                }),
                actor_category: text(inter),
                ..Actor::default()
            });
        }
    }
    let place = [text(&row.location), text(&row.admin1), text(&row.country)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>();
    let location = (!place.is_empty()).then(|| place.join(", "));
    let mut title = sub.clone();
    match (text(&row.actor1), text(&row.actor2)) {
        (Some(a), Some(b)) => title.push_str(&format!(": {a} vs {b}")),
        (Some(a), None) => title.push_str(&format!(": {a}")),
        _ => {}
    }
    if let Some(l) = &location {
        title.push_str(&format!(" in {l}"));
    }
    let mut description = text(&row.notes).unwrap_or_default();
    if fatalities > 0 {
        description.push_str(&format!(" Fatalities: {fatalities}."));
    }
    if let Some(s) = text(&row.source) {
        description.push_str(&format!(" Source: {s}."));
    }
    let description = description.trim().to_string();
    Ok(NewEvent {
        source: "acled".into(),
        source_id: id,
        title,
        description: (!description.is_empty()).then_some(description),
        event_category: category,
        event_type: Some(snake(&event_type)),
        event_subtype: Some(snake(&sub)),
        severity: severity(fatalities, violent),
        event_date,
        event_date_end: None,
        occurred_at: start_of_day_ms(event_date),
        location,
        location_country,
        lat,
        lng,
        salience_score: None,
        article_count: 1,
        actor_count: actors.len() as i64,
        actors,
        data_source: "ACLED".into(),
        url: None,
        published_at,
        attributes: EventAttributes {
            source_count: text(&row.source)
                .map(|s| s.split(';').filter(|x| !x.trim().is_empty()).count() as u32)
                .filter(|n| *n > 0),
            precision: match row.geo_precision.as_str() {
                "2" => Some(Precision::City),
                "3" => Some(Precision::Region),
                _ => None,
            },
            ..EventAttributes::default()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_refused, errs, fixture, oks};
    use super::*;

    #[test]
    fn parses_the_sample_export() {
        let records = parse(&fixture("acled-2026-04.csv")).unwrap();
        assert_eq!(records.len(), 8);
        let bad = errs(&records);
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert_eq!(bad[0].0, 7);
        assert!(bad[0].1.contains("not a security incident"), "{bad:?}");
        let ok = oks(&records);
        let clash = ok[0];
        assert_eq!(clash.source_id, "NIG30001");
        assert_eq!(
            clash.title,
            "Armed clash: Military Forces of Nigeria (2023-) vs Boko Haram - JAS in Maiduguri, Borno, Nigeria"
        );
        assert_eq!(clash.event_category, "armed_conflict");
        assert_eq!(clash.event_type.as_deref(), Some("battles"));
        assert_eq!(clash.event_subtype.as_deref(), Some("armed_clash"));
        assert_eq!(clash.severity, Severity::High);
        assert_eq!(clash.location_country.as_deref(), Some("NG"));
        assert_eq!(clash.event_date.to_string(), "2026-04-18");
        assert_eq!((clash.lat, clash.lng), (11.8464, 13.1603));
        assert_eq!(clash.actors.len(), 3, "{:?}", clash.actors);
        assert_eq!(clash.actors[1].role.as_deref(), Some("actor2"));
        assert_eq!(clash.actors[2].role.as_deref(), Some("actor2_associate"));
        assert_eq!(clash.published_at, Some(1776600000000));
        assert_eq!(
            clash.attributes.source_count,
            Some(2),
            "Daily Trust; Premium Times"
        );
        assert_eq!(
            clash.attributes.precision, None,
            "geo_precision 1: the place itself"
        );
        assert!(clash
            .description
            .as_deref()
            .unwrap()
            .ends_with("Fatalities: 7. Source: Daily Trust; Premium Times."));
        let by_id = |id: &str| *ok.iter().find(|e| e.source_id == id).unwrap();
        assert_eq!(by_id("NIG30002").severity, Severity::Negligible);
        assert_eq!(
            by_id("NIG30002").event_date.to_string(),
            "2026-04-17",
            "export-tool date"
        );
        assert_eq!(by_id("AFG5001").event_category, "terrorism");
        assert_eq!(by_id("AFG5001").severity, Severity::Critical);
        assert_eq!(by_id("FRA1201").severity, Severity::Low);
        assert_eq!(by_id("FRA1201").location_country.as_deref(), Some("FR"));
        assert_eq!(by_id("KEN800").event_category, "crime_violence");
        assert_eq!(by_id("XKX10").location_country, None, "iso 0: Kosovo");
    }

    #[test]
    fn broken_rows_are_refused_one_by_one() {
        let records = parse(&fixture("acled-broken.csv")).unwrap();
        assert_refused(
            &records,
            &[
                (1, "missing coordinates"),
                (2, "event_date"),
                (3, "unknown ACLED `event_type` `Parades`"),
                (4, "fatalities"),
                (5, "unknown ISO 3166-1 numeric country code `999`"),
                (6, "latitude"),
            ],
        );
        assert_eq!(oks(&records).len(), 1);
        assert!(parse(b"id,date\n1,2\n")
            .unwrap_err()
            .contains("event_id_cnty"));
    }
}
