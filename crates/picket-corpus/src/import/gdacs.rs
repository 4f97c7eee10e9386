//! GDACS RSS feeds (`gdacs.org/xml/rss*.xml`): one `<item>` per disaster event.
//!
//! The key is the item's `guid` (`EQ1200043`: event type and GDACS event id), so a later episode
//! of the same event updates it. Event types map onto the taxonomy: EQ earthquake and VO volcano
//! are `geological`; TC tropical cyclone, FL flood and DR drought are `weather`; WF wildfire is
//! `fire_hazard`. The alert level is GDACS's own estimate of humanitarian impact: Green low,
//! Orange high, Red critical (GDACS has no level between Green and Orange, so nothing is medium).
//! GDACS names countries with ISO-3 codes; `location` keeps its country list and
//! `location_country` is left to the store, which takes it from the coordinates.
//!
//! The event's attributes keep what the threat engine judges by: the alert level; for an
//! earthquake its magnitude and depth (`gdacs:severity`, unit `M`, and its text `Depth:10km`);
//! for a tropical cyclone its maximum sustained wind (`gdacs:severity` in km/h). Every event
//! type but earthquakes has a span (`fromdate` to `todate`) and is re-published while it goes
//! on: its last report is the later of `todate` and `pubDate`, so a drought that began last
//! year but was updated today is current.
//!
//! The file is read as a stream: items before a malformed or cut-off spot are kept, the item
//! in which reading stopped is rejected.

use chrono::DateTime;

use super::xml::{self, Fields, Names};
use super::Record;
use crate::model::{check_lat_lng, EventAttributes, NewEvent, Severity};

pub fn parse(bytes: &[u8]) -> Result<Vec<Record>, String> {
    let walk = xml::walk(bytes, "item", Names::Qualified, record)?;
    if !walk.saw("rss") {
        return Err("not an RSS document (no `<rss>` element)".into());
    }
    Ok(walk.records)
}

fn category(event_type: &str) -> Result<(&'static str, &'static str), String> {
    Ok(match event_type {
        "EQ" => ("geological", "earthquake"),
        "VO" => ("geological", "volcano"),
        "TC" => ("weather", "tropical_cyclone"),
        "FL" => ("weather", "flood"),
        "DR" => ("weather", "drought"),
        "WF" => ("fire_hazard", "wildfire"),
        other => return Err(format!("unknown GDACS event type `{other}`")),
    })
}

fn severity(alert_level: &str) -> Result<Severity, String> {
    Ok(match alert_level.to_ascii_lowercase().as_str() {
        "green" => Severity::Low,
        "orange" => Severity::High,
        "red" => Severity::Critical,
        _ => return Err(format!("unknown GDACS alert level `{alert_level}`")),
    })
}

fn rfc2822_ms(field: &str, value: &str) -> Result<i64, String> {
    DateTime::parse_from_rfc2822(value.trim())
        .map(|t| t.timestamp_millis())
        .map_err(|_| format!("`{field}` is not an RFC 2822 date: `{value}`"))
}

/// The depth in `Magnitude 5.3M, Depth:10km`.
fn depth_km(text: &str) -> Option<f64> {
    let rest = &text[text.find("Depth:")? + "Depth:".len()..];
    rest.trim_start()
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .next()?
        .parse()
        .ok()
}

/// What the threat engine reads of an item (see the module comment).
fn attributes(f: &Fields, event_type: &str, level: &str, last: Option<i64>) -> EventAttributes {
    let value = f
        .get("gdacs:severity@value")
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v > 0.0);
    let unit = f.get("gdacs:severity@unit").unwrap_or("");
    let mut a = EventAttributes {
        alert_level: Some(level.to_string()),
        ..EventAttributes::default()
    };
    match event_type {
        "EQ" => {
            a.magnitude = value.filter(|_| unit.eq_ignore_ascii_case("M"));
            a.depth_km = f
                .get("gdacs:severity")
                .and_then(depth_km)
                .or_else(|| f.get("title").and_then(depth_km));
        }
        "TC" => {
            a.wind_kmh = value.filter(|_| unit.eq_ignore_ascii_case("km/h"));
            a.reported_at = last;
        }
        _ => a.reported_at = last,
    }
    a
}

fn record(f: &Fields) -> Result<NewEvent, String> {
    let get = |path: &str| f.get(path);
    let guid = get("guid").ok_or("missing `guid`")?;
    let event_type = get("gdacs:eventtype").ok_or("missing `gdacs:eventtype`")?;
    let (event_category, kind) = category(event_type)?;
    let level = get("gdacs:alertlevel").ok_or("missing `gdacs:alertlevel`")?;
    let severity = severity(level)?;
    let (lat, lng) = match (get("geo:Point/geo:lat"), get("geo:Point/geo:long")) {
        (Some(lat), Some(lng)) => (lat.to_string(), lng.to_string()),
        _ => {
            // `georss:point` is "lat lng"; GDACS writes both forms, but either may be missing.
            let p = get("georss:point").ok_or("missing coordinates (`geo:Point`)")?;
            let mut it = p.split_whitespace();
            match (it.next(), it.next()) {
                (Some(a), Some(b)) => (a.to_string(), b.to_string()),
                _ => return Err(format!("`georss:point` is not `lat lng`: `{p}`")),
            }
        }
    };
    let lat: f64 = lat
        .parse()
        .map_err(|_| format!("latitude `{lat}` is not a number"))?;
    let lng: f64 = lng
        .parse()
        .map_err(|_| format!("longitude `{lng}` is not a number"))?;
    check_lat_lng(lat, lng)?;
    let from = rfc2822_ms(
        "gdacs:fromdate",
        get("gdacs:fromdate").ok_or("missing `gdacs:fromdate`")?,
    )?;
    let to = match get("gdacs:todate") {
        Some(v) => Some(rfc2822_ms("gdacs:todate", v)?),
        None => None,
    };
    let date = |ms: i64| crate::model::date_of_ms(ms).ok_or("date out of range");
    let event_date = date(from)?;
    let event_date_end = match to {
        Some(ms) if ms < from => return Err("`gdacs:todate` is before `gdacs:fromdate`".into()),
        Some(ms) => Some(date(ms)?),
        None => None,
    };
    let published_at = match get("pubDate") {
        Some(v) => Some(rfc2822_ms("pubDate", v)?),
        None => None,
    };
    let title = get("title")
        .map(str::to_string)
        .unwrap_or_else(|| format!("{kind} {guid}"));
    let last = [to, published_at].into_iter().flatten().max();
    let attributes = attributes(f, event_type, level, last);
    Ok(NewEvent {
        source: "gdacs".into(),
        source_id: guid.to_string(),
        title,
        description: get("description").map(str::to_string),
        event_category,
        event_type: Some(kind.into()),
        event_subtype: None,
        severity,
        event_date,
        event_date_end,
        occurred_at: from,
        location: get("gdacs:country").map(str::to_string),
        location_country: None,
        lat,
        lng,
        salience_score: None,
        article_count: 1,
        actor_count: 0,
        actors: vec![],
        data_source: "GDACS".into(),
        url: get("link").map(str::to_string),
        published_at,
        attributes,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{errs, fixture, oks};
    use super::*;

    fn real() -> String {
        String::from_utf8(fixture("gdacs-rss-24h.xml")).unwrap()
    }

    #[test]
    fn parses_the_real_feed() {
        let records = parse(real().as_bytes()).unwrap();
        assert_eq!(records.len(), 21);
        assert!(errs(&records).is_empty(), "{:?}", errs(&records));
        let ok = oks(&records);
        let count = |t: &str| {
            ok.iter()
                .filter(|e| e.event_type.as_deref() == Some(t))
                .count()
        };
        assert_eq!(
            (
                count("drought"),
                count("earthquake"),
                count("tropical_cyclone")
            ),
            (11, 8, 2)
        );

        let dr = ok[0];
        assert_eq!(dr.source_id, "DR1012728");
        assert_eq!(
            (dr.event_category, dr.severity),
            ("weather", Severity::High)
        );
        assert_eq!((dr.lat, dr.lng), (-22.932, 22.348));
        assert_eq!(dr.event_date.to_string(), "2018-10-21");
        assert_eq!(dr.event_date_end.unwrap().to_string(), "2019-12-30");
        assert_eq!(
            dr.url.as_deref(),
            Some("http://www.gdacs.org/report.aspx?eventtype=DR&eventid=1012728")
        );

        let eq = ok.iter().find(|e| e.source_id == "EQ1200043").unwrap();
        assert_eq!(
            (eq.event_category, eq.severity),
            ("geological", Severity::Low)
        );
        assert_eq!((eq.lat, eq.lng), (-52.8544, 11.3526));
        assert_eq!(eq.occurred_at, 1577643881000);
        assert!(eq
            .title
            .starts_with("Green earthquake alert (Magnitude 5.3M"));
        let tc = ok.iter().find(|e| e.source_id == "TC1000642").unwrap();
        assert_eq!(tc.location.as_deref(), Some("Fiji"));

        // What the engine judges by.
        let a = &eq.attributes;
        assert_eq!(
            (
                a.magnitude,
                a.depth_km,
                a.alert_level.as_deref(),
                a.reported_at
            ),
            (Some(5.3), Some(10.0), Some("Green"), None)
        );
        // The cyclone's wind is the attribute's value, not the number in its text (111 km/h).
        assert_eq!(tc.attributes.wind_kmh, Some(129.6288));
        // The drought began in October 2018; it was last reported on 30 December 2019.
        assert_eq!(dr.attributes.reported_at, Some(1577665020000));
        assert_eq!(dr.attributes.alert_level.as_deref(), Some("Orange"));
        let deep = ok.iter().find(|e| e.source_id == "EQ1200014").unwrap();
        assert_eq!(deep.attributes.depth_km, Some(65.42));
    }

    #[test]
    fn broken_variants() {
        let text = real();
        // Cut off in the middle of the fourth item: the first three survive.
        let item = text.match_indices("<item>").nth(3).unwrap().0;
        let records = parse(&text.as_bytes()[..item + 200]).unwrap();
        assert_eq!(oks(&records).len(), 3);
        let bad = errs(&records);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].0, 3);
        assert!(bad[0].1.starts_with("malformed XML"), "{}", bad[0].1);
        // Cut between two elements: well-formed so far, but the item never closes.
        let records = parse(&text.as_bytes()[..item + "<item>".len()]).unwrap();
        assert_eq!(errs(&records), vec![(3, "the file ends inside this item")]);

        let broken = text
            .replacen(
                "<gdacs:eventtype>DR</gdacs:eventtype>",
                "<gdacs:eventtype>XX</gdacs:eventtype>",
                1,
            )
            .replacen(
                "<gdacs:alertlevel>Orange</gdacs:alertlevel>",
                "<gdacs:alertlevel>Blue</gdacs:alertlevel>",
                2,
            )
            .replacen("Fri, 21 Dec 2018 00:00:00 GMT", "21/12/2018", 1)
            .replacen("<geo:lat>20.865</geo:lat>", "", 1)
            .replacen("<georss:point>20.865 99.342</georss:point>", "", 1);
        let records = parse(broken.as_bytes()).unwrap();
        let bad = errs(&records);
        assert_eq!(
            bad.iter().map(|b| b.0).collect::<Vec<_>>(),
            vec![0, 1, 2, 3]
        );
        assert!(bad[0].1.contains("`XX`"), "{}", bad[0].1);
        assert!(bad[1].1.contains("Blue"), "{}", bad[1].1);
        assert!(bad[2].1.contains("fromdate"), "{}", bad[2].1);
        assert!(bad[3].1.contains("coordinates"), "{}", bad[3].1);
        assert_eq!(oks(&records).len(), 17);

        assert!(parse(b"{\"not\": \"xml\"}").is_err());
    }
}
