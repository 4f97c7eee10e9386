//! USGS earthquake GeoJSON feeds (`earthquake.usgs.gov/earthquakes/feed/v1.0/summary/*.geojson`).
//!
//! Each feature becomes one `geological` event keyed by the USGS event id (`source` `usgs`), so a
//! later feed that revises the magnitude or location updates the event. `event_type` is the
//! feature's `properties.type` in snake case (`earthquake`, `explosion`, `quarry_blast`).
//!
//! Severity is the higher of two readings:
//! * magnitude: ≥ 7.0 critical, ≥ 6.0 high, ≥ 5.0 medium, ≥ 4.0 low, otherwise (or unknown)
//!   negligible — roughly "major", "strong", "moderate", "light" on the usual descriptive scale,
//!   where damage to ordinary buildings starts around 5 and becomes widespread around 7;
//! * the PAGER impact alert when present: red critical, orange high, yellow medium, green low,
//!   because PAGER accounts for population exposure that magnitude alone does not.
//!
//! `salience_score` is the USGS significance `sig` (0–1000+, from magnitude, felt reports and
//! PAGER) divided by 1000 and capped at 1.
//!
//! The event's attributes keep what the threat engine judges shaking by: `magnitude`,
//! `depth_km` (the third coordinate), ShakeMap's maximum intensity `mmi` and the PAGER
//! `alert`. A quake is instantaneous: later revisions (`updated`) do not make it current.

use serde_json::Value;

use super::{features, point, Record};
use crate::model::{date_of_ms, EventAttributes, NewEvent, Severity};

pub fn parse(bytes: &[u8]) -> Result<Vec<Record>, String> {
    Ok(features(bytes)?
        .iter()
        .enumerate()
        .map(|(i, f)| (i, record(f)))
        .collect())
}

fn magnitude_severity(mag: Option<f64>) -> Severity {
    match mag {
        Some(m) if m >= 7.0 => Severity::Critical,
        Some(m) if m >= 6.0 => Severity::High,
        Some(m) if m >= 5.0 => Severity::Medium,
        Some(m) if m >= 4.0 => Severity::Low,
        _ => Severity::Negligible,
    }
}

fn pager_severity(alert: &str) -> Result<Severity, String> {
    Ok(match alert {
        "red" => Severity::Critical,
        "orange" => Severity::High,
        "yellow" => Severity::Medium,
        "green" => Severity::Low,
        other => return Err(format!("unknown PAGER alert level `{other}`")),
    })
}

fn text(props: &Value, key: &str) -> Option<String> {
    props
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn record(feature: &Value) -> Result<NewEvent, String> {
    let id = match feature.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        _ => return Err("missing feature `id`".into()),
    };
    let props = feature
        .get("properties")
        .filter(|p| p.is_object())
        .ok_or("missing `properties`")?;
    let (lng, lat) = point(feature)?;
    let time = props
        .get("time")
        .and_then(Value::as_i64)
        .ok_or("missing or non-integer `properties.time`")?;
    let event_date = date_of_ms(time).ok_or("`properties.time` is out of range")?;
    let mag = match props.get("mag") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_f64().ok_or("`properties.mag` is not a number")?),
    };
    let mut severity = magnitude_severity(mag);
    let alert = text(props, "alert");
    if let Some(alert) = &alert {
        severity = severity.min(pager_severity(alert)?);
    }
    let place = text(props, "place");
    let depth = feature["geometry"]["coordinates"]
        .get(2)
        .and_then(Value::as_f64);
    let kind = text(props, "type").unwrap_or_else(|| "earthquake".into());
    let title = text(props, "title").unwrap_or_else(|| match (&mag, &place) {
        (Some(m), Some(p)) => format!("M {m:.1} - {p}"),
        _ => format!("{kind} {id}"),
    });
    let description = match (mag, props.get("magType").and_then(Value::as_str), depth) {
        (Some(m), mt, Some(d)) => Some(format!(
            "Magnitude {m} {}, depth {d} km",
            mt.unwrap_or_default()
        )),
        (Some(m), mt, None) => Some(format!("Magnitude {m} {}", mt.unwrap_or_default())),
        _ => None,
    };
    let salience = props
        .get("sig")
        .and_then(Value::as_f64)
        .map(|s| (s / 1000.0).clamp(0.0, 1.0));
    Ok(NewEvent {
        source: "usgs".into(),
        source_id: id,
        title,
        description,
        event_category: "geological",
        event_type: Some(kind.replace([' ', '-'], "_").to_lowercase()),
        event_subtype: None,
        severity,
        event_date,
        event_date_end: None,
        occurred_at: time,
        location: place,
        location_country: None,
        lat,
        lng,
        salience_score: salience,
        article_count: 1,
        actor_count: 0,
        actors: vec![],
        data_source: "USGS".into(),
        url: text(props, "url"),
        published_at: props.get("updated").and_then(Value::as_i64),
        attributes: EventAttributes {
            magnitude: mag,
            depth_km: depth,
            mmi: props
                .get("mmi")
                .and_then(Value::as_f64)
                .filter(|m| *m > 0.0),
            pager_alert: alert,
            ..EventAttributes::default()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{errs, fixture, oks};
    use super::*;

    #[test]
    fn parses_the_real_week_feed() {
        let records = parse(&fixture("usgs-earthquakes-week.geojson")).unwrap();
        assert_eq!(records.len(), 1707);
        assert!(errs(&records).is_empty());
        let ok = oks(&records);
        let first = ok[0];
        assert_eq!(first.source_id, "ci37868143");
        assert_eq!(first.title, "M 2.0 - 4km W of Castaic, CA");
        assert_eq!(first.event_date.to_string(), "2018-02-07");
        assert_eq!((first.lng, first.lat), (-118.6671667, 34.4945));
        assert_eq!(first.severity, Severity::Negligible);
        assert_eq!(first.occurred_at, 1517966773840);

        let taiwan = ok.iter().find(|e| e.source_id == "us1000chhc").unwrap();
        assert_eq!(taiwan.severity, Severity::High);
        assert_eq!(
            taiwan.location.as_deref(),
            Some("22km NNE of Hualian, Taiwan")
        );
        assert_eq!(taiwan.salience_score, Some(0.8));
        assert_eq!(
            taiwan.description.as_deref(),
            Some("Magnitude 6.4 mww, depth 10.64 km")
        );
        let a = &taiwan.attributes;
        assert_eq!(
            (a.magnitude, a.depth_km, a.mmi, a.pager_alert.as_deref()),
            (Some(6.4), Some(10.64), Some(6.7), Some("green"))
        );
        assert_eq!(a.reported_at, None, "a quake is judged by its time");
        assert_eq!(first.attributes.mmi, None);
        assert_eq!(first.attributes.depth_km, Some(26.49));
        // A green PAGER alert lifts a magnitude-3.7 event from negligible to low.
        let lifted = ok.iter().find(|e| e.source_id == "us1000cfxn").unwrap();
        assert_eq!(lifted.severity, Severity::Low);

        let count = |s| ok.iter().filter(|e| e.severity == s).count();
        assert_eq!(
            [
                Severity::Critical,
                Severity::High,
                Severity::Medium,
                Severity::Low,
                Severity::Negligible
            ]
            .map(count),
            [0, 5, 34, 90, 1578]
        );
        assert_eq!(
            ok.iter()
                .filter(|e| e.event_type.as_deref() == Some("quarry_blast"))
                .count(),
            13
        );
    }

    #[test]
    fn broken_variants() {
        let text = String::from_utf8(fixture("usgs-earthquakes-week.geojson")).unwrap();
        // Truncated: not JSON any more, so the file fails as a whole.
        assert!(parse(&text.as_bytes()[..text.len() / 2])
            .unwrap_err()
            .contains("not a JSON"));

        let mut doc: Value = serde_json::from_str(&text).unwrap();
        let f = doc["features"].as_array_mut().unwrap();
        f[0]["geometry"] = Value::Null;
        f[1]["geometry"]["coordinates"] = serde_json::json!([200.0, 10.0]);
        f[2]["properties"]["time"] = serde_json::json!("2018-02-07");
        f[3]["properties"]["alert"] = serde_json::json!("purple");
        f[4]["properties"]["mag"] = serde_json::json!("big");
        let records = parse(doc.to_string().as_bytes()).unwrap();
        let bad = errs(&records);
        assert_eq!(
            bad.iter().map(|b| b.0).collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4]
        );
        assert!(bad[0].1.contains("missing coordinates"));
        assert!(bad[1].1.contains("longitude"));
        assert!(bad[2].1.contains("properties.time"));
        assert!(bad[3].1.contains("purple"));
        assert!(bad[4].1.contains("mag"));
        assert_eq!(oks(&records).len(), 1702);
    }
}
