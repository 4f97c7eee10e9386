//! NASA FIRMS active-fire CSV (MODIS and VIIRS archive or near-real-time downloads): one row
//! per fire pixel detected by a satellite pass. Columns are found by header name, so the MODIS
//! and VIIRS layouts both work; `latitude`, `longitude`, `acq_date` and `acq_time` are required.
//!
//! FIRMS rows carry no id, so the source id is derived from what makes a detection unique:
//! satellite, acquisition date and time, and position (`Terra-2019-08-01-0056--11.807-142.0583`).
//! Re-importing an overlapping download therefore updates instead of duplicating.
//!
//! `type` (MODIS collection 6) maps 0 presumed vegetation fire, 2 other static land source and
//! 3 offshore to `fire_hazard` / `active_fire` with that subtype, and 1 active volcano to
//! `geological` / `volcano`; without the column a row is a vegetation fire.
//!
//! Severity of one pixel: confidence below 30 % (MODIS) or `l` (VIIRS) is negligible, as FIRMS
//! itself flags those as likely false alarms; otherwise the fire radiative power decides: ≥ 500
//! MW high, ≥ 100 MW medium, else low. A single pixel is never critical; the threat engine
//! judges spread from many. `salience_score` is the confidence as a fraction (VIIRS l/n/h:
//! 0.2/0.5/0.9). The event's attributes keep the fire radiative power (`frp_mw`) and the
//! confidence, which the threat engine judges a detection by.

use chrono::{NaiveDate, NaiveTime};
use serde::Deserialize;

use super::{csv_rows, Record};
use crate::model::{check_lat_lng, EventAttributes, NewEvent, Severity};

/// The columns in the header that every FIRMS file must have.
const REQUIRED: [&str; 4] = ["latitude", "longitude", "acq_date", "acq_time"];

pub fn parse(bytes: &[u8]) -> Result<Vec<Record>, String> {
    let csv = csv_rows::<Row>(bytes, &REQUIRED)?;
    // MODIS calls the brightness `brightness`, VIIRS `bright_ti4`.
    let viirs = !csv.has("brightness");
    Ok(csv
        .rows
        .into_iter()
        .map(|(i, row)| (i, row.and_then(|row| record(&row, viirs))))
        .collect())
}

/// One row by column name; a column the file lacks reads as empty.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Row {
    latitude: String,
    longitude: String,
    acq_date: String,
    acq_time: String,
    satellite: String,
    instrument: String,
    confidence: String,
    frp: String,
    brightness: String,
    bright_ti4: String,
    #[serde(rename = "type")]
    kind: String,
}

fn number(v: &str, name: &str) -> Result<f64, String> {
    v.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or_else(|| format!("`{name}` is not a number: `{v}`"))
}

fn optional_number(v: &str, name: &str) -> Result<Option<f64>, String> {
    match v {
        "" => Ok(None),
        _ => number(v, name).map(Some),
    }
}

/// Confidence as a fraction 0..1, from MODIS percent or VIIRS `l`/`n`/`h`.
fn confidence(v: &str) -> Result<f64, String> {
    match v {
        "l" | "low" => Ok(0.2),
        "n" | "nominal" => Ok(0.5),
        "h" | "high" => Ok(0.9),
        _ => v
            .parse::<f64>()
            .ok()
            .filter(|c| (0.0..=100.0).contains(c))
            .map(|c| c / 100.0)
            .ok_or_else(|| format!("`confidence` is neither 0–100 nor l/n/h: `{v}`")),
    }
}

fn record(row: &Row, viirs: bool) -> Result<NewEvent, String> {
    fn text(v: &str) -> Option<&str> {
        (!v.is_empty()).then_some(v)
    }
    let lat = number(&row.latitude, "latitude")?;
    let lng = number(&row.longitude, "longitude")?;
    check_lat_lng(lat, lng)?;
    let date_s = &row.acq_date;
    let date = NaiveDate::parse_from_str(date_s, "%Y-%m-%d")
        .map_err(|_| format!("`acq_date` is not `YYYY-MM-DD`: `{date_s}`"))?;
    let time_s = &row.acq_time;
    // `acq_time` is HHMM UTC; some exports drop leading zeros (`56` for 00:56).
    let time = format!("{time_s:0>4}");
    let time = NaiveTime::parse_from_str(&time, "%H%M")
        .map_err(|_| format!("`acq_time` is not `HHMM`: `{time_s}`"))?;
    let occurred_at = date.and_time(time).and_utc().timestamp_millis();
    let conf = text(&row.confidence).map(confidence).transpose()?;
    let frp = optional_number(&row.frp, "frp")?;
    let (category, event_type, subtype) = match text(&row.kind).unwrap_or("0") {
        "0" => ("fire_hazard", "active_fire", "vegetation_fire"),
        "1" => ("geological", "volcano", "thermal_anomaly"),
        "2" => ("fire_hazard", "active_fire", "static_land_source"),
        "3" => ("fire_hazard", "active_fire", "offshore"),
        other => return Err(format!("unknown FIRMS `type` `{other}`")),
    };
    let severity = match (conf, frp) {
        (Some(c), _) if c < 0.3 => Severity::Negligible,
        (_, Some(p)) if p >= 500.0 => Severity::High,
        (_, Some(p)) if p >= 100.0 => Severity::Medium,
        _ => Severity::Low,
    };
    let satellite = text(&row.satellite).unwrap_or("unknown");
    let instrument = text(&row.instrument).unwrap_or("satellite");
    let brightness = if viirs {
        &row.bright_ti4
    } else {
        &row.brightness
    };
    let mut details = Vec::new();
    if let Some(p) = frp {
        details.push(format!("fire radiative power {p} MW"));
    }
    if let Some(v) = text(&row.confidence) {
        details.push(format!("confidence {v}"));
    }
    if let Some(b) = optional_number(brightness, "brightness")? {
        details.push(format!("brightness {b} K"));
    }
    Ok(NewEvent {
        source: "firms".into(),
        source_id: format!(
            "{satellite}-{date}-{}-{}-{}",
            time.format("%H%M"),
            row.latitude,
            row.longitude
        ),
        title: format!("Active fire detected by {instrument} ({satellite})"),
        description: (!details.is_empty()).then(|| details.join(", ")),
        event_category: category,
        event_type: Some(event_type.into()),
        event_subtype: Some(subtype.into()),
        severity,
        event_date: date,
        event_date_end: None,
        occurred_at,
        location: None,
        location_country: None,
        lat,
        lng,
        salience_score: conf,
        article_count: 1,
        actor_count: 0,
        actors: vec![],
        data_source: "NASA FIRMS".into(),
        url: None,
        published_at: None,
        attributes: EventAttributes {
            frp_mw: frp,
            confidence: conf,
            ..EventAttributes::default()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{errs, fixture, oks};
    use super::*;

    #[test]
    fn parses_the_real_modis_archive() {
        let records = parse(&fixture("firms-modis-aus-2019.csv")).unwrap();
        assert_eq!(records.len(), 36_011);
        assert!(errs(&records).is_empty());
        let ok = oks(&records);
        let first = ok[0];
        assert_eq!(first.source_id, "Terra-2019-08-01-0056--11.807-142.0583");
        assert_eq!((first.lat, first.lng), (-11.807, 142.0583));
        assert_eq!(first.title, "Active fire detected by MODIS (Terra)");
        assert_eq!(
            first.description.as_deref(),
            Some("fire radiative power 6.6 MW, confidence 48, brightness 313 K")
        );
        assert_eq!(first.severity, Severity::Low);
        assert_eq!(first.salience_score, Some(0.48));
        assert_eq!(
            (first.attributes.frp_mw, first.attributes.confidence),
            (Some(6.6), Some(0.48))
        );
        assert_eq!(first.occurred_at, 1564620960000);
        let count = |s| ok.iter().filter(|e| e.severity == s).count();
        assert_eq!(count(Severity::Negligible), 2438);
        assert_eq!(
            ok.iter()
                .filter(|e| e.event_subtype.as_deref() == Some("offshore"))
                .count(),
            10
        );
        assert_eq!(
            ok.iter()
                .filter(|e| e.event_date.to_string() == "2019-09-10")
                .count(),
            1317
        );
        let ids: std::collections::HashSet<&str> =
            ok.iter().map(|e| e.source_id.as_str()).collect();
        assert_eq!(ids.len(), 36_011, "derived ids are unique");
    }

    #[test]
    fn broken_variants() {
        let text = String::from_utf8(fixture("firms-modis-aus-2019.csv")).unwrap();
        let mut lines: Vec<String> = text.lines().take(8).map(str::to_string).collect();
        let set = |line: &str, col: usize, value: &str| {
            let mut f: Vec<&str> = line.split(',').collect();
            f[col] = value;
            f.join(",")
        };
        lines[1] = set(&lines[1], 0, "");
        lines[2] = set(&lines[2], 5, "2019-08-32");
        lines[3] = set(&lines[3], 6, "2561");
        lines[4] = set(&lines[4], 14, "7");
        lines[5] = set(&lines[5], 9, "high-ish");
        // Cut inside the last row's longitude: the row lacks its date columns.
        let truncated = format!("{}\n{}", lines.join("\n"), &lines[7][..10]);
        let records = parse(truncated.as_bytes()).unwrap();
        let bad = errs(&records);
        let reasons: Vec<(usize, bool)> = bad
            .iter()
            .zip([
                "latitude",
                "acq_date",
                "acq_time",
                "type",
                "confidence",
                "acq_date",
            ])
            .map(|((i, why), needle)| (*i, why.contains(needle)))
            .collect();
        assert_eq!(
            reasons,
            vec![
                (0, true),
                (1, true),
                (2, true),
                (3, true),
                (4, true),
                (7, true)
            ],
            "{bad:?}"
        );
        assert_eq!(oks(&records).len(), 2);
        assert!(parse(b"lat,lon\n1,2\n").unwrap_err().contains("latitude"));
    }
}
