//! CAP 1.1 / 1.2 alerts (Common Alerting Protocol: NWS, IPAWS, many national warning systems).
//! A file holds one or more `<alert>` elements, each one record keyed by its `identifier`
//! (`source` `cap`); the first `<info>` block is read.
//!
//! Place: the centroid of the first non-empty `<polygon>` (`lat,lng` pairs), else the centre of
//! the first `<circle>` (`lat,lng radius`). An area described only by geocodes (FIPS, UGC, SAME)
//! is rejected: turning those into coordinates needs a gazetteer Picket does not ship.
//!
//! Category follows the sender's CAP `<category>`: Geo `geological`, Met `weather`, Fire
//! `fire_hazard`, Health `health`, Transport `transport`, Infra `infrastructure`, Safety and
//! Security `crime_violence`; Env, Rescue, CBRNE and Other have no single counterpart in the
//! taxonomy and are rejected. Severity: Extreme critical, Severe high, Moderate medium, Minor
//! low, Unknown negligible. `event_type` is the `<event>` text in snake case
//! (`blizzard_warning`). The event runs from `onset` (else `effective`, else `sent`) to
//! `expires`.
//!
//! The event's attributes keep what the threat engine judges a warning by: its `severity`,
//! `certainty` and `urgency` as sent, the area (the first polygon, else the first circle),
//! `sent` as its last report and `expires` as its end.

use chrono::DateTime;

use super::xml::{self, Fields, Names};
use super::Record;
use crate::model::{check_lat_lng, date_of_ms, Area, EventAttributes, NewEvent, Severity, Warning};

pub fn parse(bytes: &[u8]) -> Result<Vec<Record>, String> {
    // Feeds prefix CAP elements (`cap:alert`); the local name is what counts.
    let records = xml::walk(bytes, "alert", Names::Local, record)?.records;
    if records.is_empty() {
        return Err("no CAP `<alert>` element in the file".into());
    }
    Ok(records)
}

fn category(cap: &str) -> Result<&'static str, String> {
    Ok(match cap {
        "Geo" => "geological",
        "Met" => "weather",
        "Fire" => "fire_hazard",
        "Health" => "health",
        "Transport" => "transport",
        "Infra" => "infrastructure",
        "Safety" | "Security" => "crime_violence",
        other => {
            return Err(format!(
                "CAP category `{other}` has no counterpart in the event taxonomy"
            ))
        }
    })
}

fn severity(cap: &str) -> Result<Severity, String> {
    Ok(match cap {
        "Extreme" => Severity::Critical,
        "Severe" => Severity::High,
        "Moderate" => Severity::Medium,
        "Minor" => Severity::Low,
        "Unknown" => Severity::Negligible,
        other => return Err(format!("unknown CAP severity `{other}`")),
    })
}

fn time_ms(field: &str, value: &str) -> Result<i64, String> {
    DateTime::parse_from_rfc3339(value.trim())
        .map(|t| t.timestamp_millis())
        .map_err(|_| format!("`{field}` is not a CAP date-time: `{value}`"))
}

fn lat_lng(pair: &str) -> Result<(f64, f64), String> {
    let (lat, lng) = pair
        .split_once(',')
        .ok_or_else(|| format!("`{pair}` is not `lat,lng`"))?;
    let n = |s: &str| {
        s.trim()
            .parse::<f64>()
            .map_err(|_| format!("`{pair}` is not `lat,lng`"))
    };
    let (lat, lng) = (n(lat)?, n(lng)?);
    check_lat_lng(lat, lng)?;
    Ok((lat, lng))
}

/// The points of a `polygon`, `lat,lng` pairs separated by spaces.
fn ring(polygon: &str) -> Result<Vec<(f64, f64)>, String> {
    let pts: Vec<(f64, f64)> = polygon
        .split_whitespace()
        .map(lat_lng)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("`polygon`: {e}"))?;
    if pts.len() < 3 {
        return Err("`polygon` has fewer than 3 points".into());
    }
    Ok(pts)
}

/// Area centroid of a closed ring (shoelace formula on plain lat/lng, fine at alert scale);
/// the vertex mean when the ring has no area.
fn centroid(pts: &[(f64, f64)]) -> Result<(f64, f64), String> {
    let (mut a, mut cx, mut cy) = (0.0, 0.0, 0.0);
    for i in 0..pts.len() {
        let (y0, x0) = pts[i];
        let (y1, x1) = pts[(i + 1) % pts.len()];
        let cross = x0 * y1 - x1 * y0;
        a += cross;
        cx += (x0 + x1) * cross;
        cy += (y0 + y1) * cross;
    }
    if a.abs() < 1e-12 {
        let n = pts.len() as f64;
        return Ok((
            pts.iter().map(|p| p.0).sum::<f64>() / n,
            pts.iter().map(|p| p.1).sum::<f64>() / n,
        ));
    }
    Ok((cy / (3.0 * a), cx / (3.0 * a)))
}

fn record(f: &Fields) -> Result<NewEvent, String> {
    let get = |path: &str| f.get(path);
    let id = get("identifier").ok_or("missing `identifier`")?;
    let sent = time_ms("sent", get("sent").ok_or("missing `sent`")?)?;
    let event_category = category(get("info/category").ok_or("missing `info/category`")?)?;
    let severity = severity(get("info/severity").ok_or("missing `info/severity`")?)?;
    let (lat, lng, area) = match (get("info/area/polygon"), get("info/area/circle")) {
        (Some(p), _) => {
            let pts = ring(p)?;
            let (lat, lng) = centroid(&pts)?;
            let points = pts.iter().map(|&(lat, lng)| [lat, lng]).collect();
            (lat, lng, Area::Polygon { points })
        }
        (None, Some(c)) => {
            let mut parts = c.split_whitespace();
            let centre = parts.next().unwrap_or_default();
            let (lat, lng) = lat_lng(centre).map_err(|e| format!("`circle`: {e}"))?;
            let radius_km = match parts.next() {
                Some(r) => r
                    .parse::<f64>()
                    .ok()
                    .filter(|r| r.is_finite() && *r >= 0.0)
                    .ok_or_else(|| format!("`circle`: radius `{r}` is not a number of km"))?,
                None => 0.0,
            };
            (lat, lng, Area::Circle { lat, lng, radius_km })
        }
        (None, None) if get("info/area/geocode/value").is_some() => {
            return Err(
                "missing coordinates: the area has only geocodes, and Picket has no gazetteer to place them"
                    .into(),
            )
        }
        (None, None) => return Err("missing coordinates: no `polygon` or `circle`".into()),
    };
    let start = match get("info/onset").or(get("info/effective")) {
        Some(v) => time_ms("onset", v)?,
        None => sent,
    };
    let end = match get("info/expires") {
        Some(v) => Some(time_ms("expires", v)?),
        None => None,
    };
    let event_date = date_of_ms(start).ok_or("date out of range")?;
    let event_date_end = match end {
        Some(ms) if ms < start => return Err("`expires` is before the alert starts".into()),
        Some(ms) => date_of_ms(ms),
        None => None,
    };
    let event = get("info/event");
    let title = get("info/headline")
        .or(event)
        .ok_or("missing `info/headline` and `info/event`")?;
    let data_source = get("info/senderName")
        .or(get("source"))
        .or(get("sender"))
        .unwrap_or("CAP");
    let said = |path: &str| get(path).unwrap_or("Unknown").to_string();
    let attributes = EventAttributes {
        reported_at: Some(sent),
        ends_at: end,
        warning: Some(Warning {
            severity: said("info/severity"),
            certainty: said("info/certainty"),
            urgency: said("info/urgency"),
        }),
        area: Some(area),
        ..EventAttributes::default()
    };
    Ok(NewEvent {
        source: "cap".into(),
        source_id: id.to_string(),
        title: title.to_string(),
        description: get("info/description").map(str::to_string),
        event_category,
        event_type: event.map(|e| e.to_lowercase().replace([' ', '-'], "_")),
        event_subtype: None,
        severity,
        event_date,
        event_date_end,
        occurred_at: start,
        location: get("info/area/areaDesc").map(str::to_string),
        location_country: None,
        lat,
        lng,
        salience_score: None,
        article_count: 1,
        actor_count: 0,
        actors: vec![],
        data_source: data_source.to_string(),
        url: get("info/web").map(str::to_string),
        published_at: Some(sent),
        attributes,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{errs, fixture, oks};
    use super::*;

    fn real(name: &str) -> String {
        String::from_utf8(fixture(name)).unwrap()
    }

    #[test]
    fn ipaws_polygon_alert() {
        let records = parse(real("ipaws-cap12-polygon.xml").as_bytes()).unwrap();
        assert_eq!(records.len(), 1);
        let e = oks(&records)[0];
        assert_eq!(e.source_id, "402013233923688");
        assert_eq!(
            e.title,
            "Alert Montgomery - Police Searching for Suspicious Person"
        );
        assert_eq!(
            (e.event_category, e.severity),
            ("geological", Severity::Critical)
        );
        assert_eq!(e.event_type.as_deref(), Some("local_area_emergency"));
        assert_eq!(e.event_date.to_string(), "2019-12-13");
        // The polygon is a circle of points around Rockville, MD.
        assert!(
            (e.lat - 39.0839).abs() < 1e-3 && (e.lng + 77.1494).abs() < 1e-3,
            "{e:?}"
        );
        assert_eq!(e.location.as_deref(), Some("Montgomery County"));
        assert_eq!(e.data_source, "Montgomery County MD");
        let a = &e.attributes;
        let w = a.warning.as_ref().unwrap();
        assert_eq!(
            (
                w.severity.as_str(),
                w.certainty.as_str(),
                w.urgency.as_str()
            ),
            ("Extreme", "Observed", "Immediate")
        );
        let Some(Area::Polygon { points }) = &a.area else {
            panic!("a polygon area: {a:?}")
        };
        assert!(points.len() > 10);
        assert_eq!(points[0], [39.09930403047015, -77.12967945345733]);
        assert_eq!(a.reported_at, Some(1576272290000));
        assert_eq!(
            a.ends_at,
            Some(1576275890000),
            "expires an hour after it was sent"
        );
    }

    #[test]
    fn nws_geocode_only_alert_is_rejected_with_reason() {
        let text = real("nws-cap11-blizzard.xml");
        let records = parse(text.as_bytes()).unwrap();
        let bad = errs(&records);
        assert_eq!(bad.len(), 1);
        assert!(bad[0].1.contains("only geocodes"), "{}", bad[0].1);

        // The same alert with a circle is placed at the circle's centre.
        let circled = text.replace("<polygon></polygon>", "<circle>47.6,-90.6 25</circle>");
        let records = parse(circled.as_bytes()).unwrap();
        let e = oks(&records)[0];
        assert_eq!((e.lat, e.lng), (47.6, -90.6));
        assert_eq!((e.event_category, e.severity), ("weather", Severity::High));
        assert_eq!(e.event_type.as_deref(), Some("blizzard_warning"));
        assert_eq!(e.occurred_at, 1640621280000);
        assert_eq!(e.event_date_end.unwrap().to_string(), "2021-12-28");
        assert_eq!(
            e.attributes.area,
            Some(Area::Circle {
                lat: 47.6,
                lng: -90.6,
                radius_km: 25.0
            })
        );
        assert_eq!(
            e.attributes.warning.as_ref().map(|w| w.certainty.as_str()),
            Some("Likely")
        );
    }

    #[test]
    fn broken_variants() {
        let text = real("ipaws-cap12-polygon.xml");
        let cut = text.find("<area>").unwrap() + 100;
        let records = parse(&text.as_bytes()[..cut]).unwrap();
        assert_eq!(errs(&records).len(), 1);
        for (from, to, needle) in [
            (
                "<severity>Extreme</severity>",
                "<severity>Dire</severity>",
                "Dire",
            ),
            (
                "<category>Geo</category>",
                "<category>CBRNE</category>",
                "CBRNE",
            ),
            (
                "<sent>2019-12-13T13:24:50-08:00</sent>",
                "<sent>13/12/2019</sent>",
                "sent",
            ),
            ("<polygon>39.09930403047015,", "<polygon>99.1,", "latitude"),
        ] {
            let records = parse(text.replacen(from, to, 1).as_bytes()).unwrap();
            let bad = errs(&records);
            assert!(
                bad.len() == 1 && bad[0].1.contains(needle),
                "{needle}: {bad:?}"
            );
        }
        assert!(parse(b"<rss></rss>").is_err());
    }
}
