//! Generic GeoJSON: a FeatureCollection of Point features whose `properties` are Picket's
//! event shape ([`EventInput`], without `coordinates`, which come from the geometry). The
//! feature's `id` is the source id when the properties carry none.

use crate::corpus::input::{from_value, EventInput};
use crate::corpus::model::NewEvent;

use super::{features, point, Record};

pub fn parse(bytes: &[u8]) -> Result<Vec<Record>, String> {
    Ok(features(bytes)?
        .into_iter()
        .enumerate()
        .map(|(i, f)| (i, record(f)))
        .collect())
}

fn record(feature: serde_json::Value) -> Result<NewEvent, String> {
    let (lng, lat) = point(&feature)?;
    let mut props = match feature.get("properties") {
        Some(serde_json::Value::Object(p)) => p.clone(),
        _ => return Err("the feature has no `properties` object".into()),
    };
    if props.contains_key("coordinates") {
        return Err("`properties.coordinates`: coordinates come from the geometry".into());
    }
    props.insert("coordinates".into(), serde_json::json!([lng, lat]));
    let mut input: EventInput =
        from_value(serde_json::Value::Object(props)).map_err(|e| format!("properties: {e}"))?;
    if input.source_id.is_none() && input.id.is_none() {
        input.id = match feature.get("id") {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
    }
    input.validate("geojson")
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{errs, oks};
    use super::*;
    use serde_json::json;

    #[test]
    fn features_become_events_and_bad_ones_are_named() {
        let doc = json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": 7, "geometry": {"type": "Point", "coordinates": [13.4, 52.5]},
             "properties": {"title": "Blackout", "event_category": "infrastructure", "event_date": "2026-01-03"}},
            {"type": "Feature", "geometry": null,
             "properties": {"title": "x", "event_category": "weather", "event_date": "2026-01-03"}},
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [0, 0]},
             "properties": {"title": "x", "event_category": "storms", "event_date": "2026-01-03"}},
            {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
             "properties": {}}
        ]});
        let records = parse(doc.to_string().as_bytes()).unwrap();
        let ok = oks(&records);
        assert_eq!(ok.len(), 1);
        assert_eq!(
            (ok[0].source.as_str(), ok[0].source_id.as_str()),
            ("geojson", "7")
        );
        assert_eq!((ok[0].lng, ok[0].lat), (13.4, 52.5));
        let bad = errs(&records);
        assert_eq!(bad.iter().map(|b| b.0).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert!(bad[0].1.contains("missing coordinates"));
        assert!(bad[1].1.contains("storms"));
        assert!(bad[2].1.contains("not a Point"));
    }

    #[test]
    fn a_file_that_is_not_a_feature_collection_fails_whole() {
        assert!(parse(b"{\"type\": \"Feature\"}")
            .unwrap_err()
            .contains("FeatureCollection"));
        assert!(parse(b"{\"type\": \"FeatureCollection\", \"feat").is_err());
    }
}
