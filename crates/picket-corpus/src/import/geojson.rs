//! Generic GeoJSON: a FeatureCollection of Point features whose `properties` are Picket's
//! event shape ([`EventInput`], without `coordinates`, which come from the geometry). The
//! feature's `id` is the source id when the properties carry none.
//!
//! Each feature is read straight into typed structs from its own slice of the file; building a
//! `serde_json::Value` tree per feature (and copying it) cost more than storing the event. A
//! feature the typed reading refuses, or one that could be read differently as a tree, is read
//! again the general way, so every outcome and reason is the general reading's.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::input::{from_value, EventInput};
use crate::model::{check_lat_lng, NewEvent};

use super::{features, point, Record};

pub fn parse(bytes: &[u8]) -> Result<Vec<Record>, String> {
    let typed = match bytes.trim_ascii_start().first() {
        Some(b'{') => serde_json::from_slice::<Collection>(bytes).ok(),
        _ => None,
    };
    let Some(doc) = typed.filter(|d| d.kind == "FeatureCollection") else {
        return general(bytes);
    };
    let mut out = Vec::with_capacity(doc.features.len());
    for (i, f) in doc.features.into_iter().enumerate() {
        let r = match fast(f) {
            Some(r) => r,
            // Splitting the file checks its syntax but not its numbers' range: a feature the
            // general reading cannot parse fails the whole file, as it always did.
            None => match serde_json::from_str(f.get()) {
                Ok(v) => record(v),
                Err(_) => return general(bytes),
            },
        };
        out.push((i, r));
    }
    Ok(out)
}

/// The general reading: the whole file as a tree, each feature mapped from its subtree.
fn general(bytes: &[u8]) -> Result<Vec<Record>, String> {
    Ok(features(bytes)?
        .into_iter()
        .enumerate()
        .map(|(i, f)| (i, record(f)))
        .collect())
}

#[derive(Deserialize)]
struct Collection<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(borrow)]
    features: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Feature<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    geometry: &'a RawValue,
    #[serde(borrow)]
    properties: &'a RawValue,
}

#[derive(Deserialize)]
struct Point<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    coordinates: Vec<f64>,
}

/// Serde also reads a struct from an array, by position; the general reading wants objects.
fn object(raw: &RawValue) -> Option<&str> {
    Some(raw.get()).filter(|s| s.trim_start().starts_with('{'))
}

/// The typed reading of a good feature; `None` sends the feature to the general reading.
fn fast(raw: &RawValue) -> Option<Result<NewEvent, String>> {
    let f: Feature = serde_json::from_str(object(raw)?).ok()?;
    let p: Point = serde_json::from_str(object(f.geometry)?).ok()?;
    let (lng, lat) = match p.coordinates[..] {
        [lng, lat, ..] if p.kind == "Point" && check_lat_lng(lat, lng).is_ok() => (lng, lat),
        _ => return None,
    };
    let props = object(f.properties)?;
    // A `coordinates` key is refused, even when null, which a typed field cannot tell from
    // absent; a `\u` escape could spell that key.
    if props.contains("coordinates") || props.contains("\\u") {
        return None;
    }
    let mut input: EventInput = serde_json::from_str(props).ok()?;
    input.coordinates = Some(vec![lng, lat]);
    if input.source_id.is_none() && input.id.is_none() {
        input.id = match f.id.map(|id| id.get().trim_start()) {
            Some(s) if s.starts_with('"') => Some(serde_json::from_str::<String>(s).ok()?),
            Some(s) => serde_json::from_str::<serde_json::Number>(s)
                .ok()
                .map(|n| n.to_string()),
            None => None,
        };
    }
    Some(input.validate("geojson"))
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

    /// The typed reading gives exactly the general reading's outcome, edge cases included.
    #[test]
    fn the_typed_reading_agrees_with_the_general_one() {
        let props = r#""title": "Blackout", "event_category": "infrastructure", "event_date": "2026-01-03""#;
        let point = r#"{"type": "Point", "coordinates": [13.4, 52.5]}"#;
        let features = [
            format!(
                r#"{{"type": "Feature", "id": 7, "geometry": {point}, "properties": {{{props}}}}}"#
            ),
            format!(
                r#"{{"id": 7.5, "geometry": {point}, "properties": {{{props}, "source_id": "s"}}}}"#
            ),
            format!(r#"{{"id": "x\"y", "geometry": {point}, "properties": {{{props}}}}}"#),
            format!(r#"{{"id": true, "geometry": {point}, "properties": {{{props}}}}}"#),
            format!(r#"{{"id": null, "geometry": {point}, "properties": {{{props}}}}}"#),
            format!(
                r#"{{"geometry": {{"type": "Point", "coordinates": [1, 2, 30, "m"]}}, "properties": {{{props}}}}}"#
            ),
            format!(
                r#"{{"geometry": {{"type": "Point", "coordinates": [1]}}, "properties": {{{props}}}}}"#
            ),
            format!(
                r#"{{"geometry": {{"type": "Point", "coordinates": [200, 2]}}, "properties": {{{props}}}}}"#
            ),
            format!(r#"{{"geometry": ["Point", [1, 2]], "properties": {{{props}}}}}"#),
            format!(r#"{{"geometry": {point}, "properties": {{{props}, "coordinates": null}}}}"#),
            format!(
                r#"{{"geometry": {point}, "properties": {{{props}, "coordin\u0061tes": null}}}}"#
            ),
            format!(r#"{{"geometry": {point}, "properties": {{{props}, "title": "Second"}}}}"#),
            format!(r#"{{"geometry": {point}, "properties": {{{props}, "colour": "red"}}}}"#),
            format!(r#"{{"geometry": {point}, "properties": {{{props}, "article_count": 2.0}}}}"#),
            format!(r#"{{"geometry": {point}, "properties": {{{props}, "severity": "severe"}}}}"#),
            format!(r#"{{"geometry": {point}, "properties": ["Blackout"]}}"#),
            format!(r#"{{"geometry": {point}, "properties": null}}"#),
            format!(r#"{{"geometry": {point}}}"#),
            format!(r#"[7, {point}, {{{props}}}]"#),
            "null".to_string(),
        ];
        let doc = format!(
            r#"{{"type": "FeatureCollection", "features": [{}]}}"#,
            features.join(", ")
        );
        let typed = parse(doc.as_bytes()).unwrap();
        let whole = general(doc.as_bytes()).unwrap();
        assert_eq!(typed.len(), features.len());
        // Fresh ids are random: compare everything else.
        let strip = |r: &[Record]| -> Vec<(usize, Result<NewEvent, String>)> {
            r.iter()
                .map(|(i, r)| {
                    let r = r.clone().map(|mut e| {
                        if e.source_id.len() == 36 {
                            e.source_id.clear();
                        }
                        e
                    });
                    (*i, r)
                })
                .collect()
        };
        assert_eq!(strip(&typed), strip(&whole));
        assert_eq!(oks(&typed).len(), 7, "{:?}", errs(&typed));
        assert_eq!(
            oks(&typed)[6].title,
            "Second",
            "the last of a repeated key counts"
        );

        // A number out of range fails the whole file, as the general reading always did.
        let huge = doc.replacen("13.4", "1e400", 1);
        assert_eq!(parse(huge.as_bytes()), general(huge.as_bytes()));
        assert!(parse(huge.as_bytes()).is_err());
        // So does a collection given as an array.
        assert!(parse(br#"["FeatureCollection", []]"#).is_err());
    }

    #[test]
    fn a_file_that_is_not_a_feature_collection_fails_whole() {
        assert!(parse(b"{\"type\": \"Feature\"}")
            .unwrap_err()
            .contains("FeatureCollection"));
        assert!(parse(b"{\"type\": \"FeatureCollection\", \"feat").is_err());
    }
}
