//! GDELT 2.0 event export (`*.export.CSV`): tab-separated, 61 columns, no header, one coded
//! event per line (column layout: the GDELT 2.0 Event Database codebook).
//!
//! * `source_id` is `GLOBALEVENTID`, so a later export that revises an event updates it.
//! * `EventCode` maps to the taxonomy through [`super::cameo`]; codes that are not security
//!   events (statements, cooperation, threats) and codes CAMEO does not define are refused.
//! * Coordinates are `ActionGeo_Lat`/`ActionGeo_Long` (where the event happened, not where its
//!   actors are from); a row without them is refused. `ActionGeo_CountryCode` is FIPS 10-4 and
//!   becomes ISO alpha-2 ([`super::countries`]).
//! * `event_date` is `SQLDATE`; `published_at` is `DATEADDED` (when GDELT coded it).
//! * Actors: `Actor1*` with role `source`, `Actor2*` with role `target` (CAMEO's terms).
//! * `url` is `SOURCEURL`; `article_count` is `NumArticles`.
//!
//! Severity: the Goldstein scale (−10 most destabilising … +10) gives the base — ≤ −9 high,
//! ≤ −6 medium, ≤ −3 low, otherwise negligible; then attention raises it: `NumMentions` ≥ 50
//! one level, ≥ 200 two levels, up to critical. A single GDELT row is a machine-coded news
//! mention, so only wide coverage of a violent event reaches critical. `salience_score` is
//! `NumMentions` / 100, capped at 1.
//!
//! The event's attributes keep `NumSources` (independent sources, which corroborate the
//! report) and the precision of its place from `ActionGeo_Type`: 1 country, 2 US state and 5
//! world state (region), 3 US city and 4 world city (city).

use chrono::{NaiveDate, NaiveDateTime};

use super::{cameo, countries, Record};
use crate::model::{
    check_lat_lng, start_of_day_ms, Actor, EventAttributes, NewEvent, Precision, Severity,
};

const COLUMNS: usize = 61;

const GLOBALEVENTID: usize = 0;
const SQLDATE: usize = 1;
const ACTOR1_CODE: usize = 5;
const ACTOR1_NAME: usize = 6;
const ACTOR1_COUNTRY: usize = 7;
const ACTOR1_TYPE1: usize = 12;
const ACTOR2_CODE: usize = 15;
const ACTOR2_NAME: usize = 16;
const ACTOR2_COUNTRY: usize = 17;
const ACTOR2_TYPE1: usize = 22;
const EVENT_CODE: usize = 26;
const EVENT_ROOT_CODE: usize = 28;
const GOLDSTEIN: usize = 30;
const ACTION_GEO_TYPE: usize = 51;
const NUM_MENTIONS: usize = 31;
const NUM_SOURCES: usize = 32;
const NUM_ARTICLES: usize = 33;
const AVG_TONE: usize = 34;
const ACTION_GEO_FULLNAME: usize = 52;
const ACTION_GEO_COUNTRY: usize = 53;
const ACTION_GEO_LAT: usize = 56;
const ACTION_GEO_LONG: usize = 57;
const DATEADDED: usize = 59;
const SOURCEURL: usize = 60;

/// Every non-blank line is one record, indexed by its 0-based line number.
pub fn parse(bytes: &[u8]) -> Result<Vec<Record>, String> {
    let text = String::from_utf8_lossy(bytes);
    let records: Vec<Record> = text
        .split('\n')
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| (i, record(line.trim_end_matches('\r'))))
        .collect();
    // A JSON or HTML answer where an export was expected: nothing is a GDELT row.
    if !records.is_empty() && records.iter().all(|(_, r)| r.is_err()) {
        let tabs = text.lines().next().map_or(0, |l| l.matches('\t').count());
        if tabs == 0 {
            return Err("not a GDELT export: no tab-separated columns".into());
        }
    }
    Ok(records)
}

fn number(f: &[&str], idx: usize, name: &str) -> Result<f64, String> {
    f[idx]
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or_else(|| format!("`{name}` is not a number: `{}`", f[idx]))
}

fn count(f: &[&str], idx: usize, name: &str) -> Result<i64, String> {
    f[idx]
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| format!("`{name}` is not a count: `{}`", f[idx]))
}

fn text(f: &[&str], idx: usize) -> Option<String> {
    Some(f[idx].trim())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn actor(
    f: &[&str],
    code: usize,
    name: usize,
    country: usize,
    kind: usize,
    role: &str,
) -> Option<Actor> {
    let canonical_name = text(f, name);
    let id = text(f, code);
    if canonical_name.is_none() && id.is_none() {
        return None;
    }
    Some(Actor {
        id,
        canonical_name,
        role: Some(role.into()),
        actor_category: text(f, kind),
        country: text(f, country),
        ..Actor::default()
    })
}

/// The Goldstein base raised by attention (see the module comment).
pub fn severity(goldstein: f64, mentions: i64) -> Severity {
    let base: usize = match goldstein {
        g if g <= -9.0 => 1,
        g if g <= -6.0 => 2,
        g if g <= -3.0 => 3,
        _ => 4,
    };
    let raise = match mentions {
        m if m >= 200 => 2,
        m if m >= 50 => 1,
        _ => 0,
    };
    Severity::ALL[base.saturating_sub(raise)]
}

fn record(line: &str) -> Result<NewEvent, String> {
    let f: Vec<&str> = line.split('\t').collect();
    if f.len() != COLUMNS {
        return Err(format!(
            "expected {COLUMNS} tab-separated columns, found {} (truncated or not a GDELT 2.0 export row)",
            f.len()
        ));
    }
    let id = text(&f, GLOBALEVENTID).ok_or("`GLOBALEVENTID` is empty")?;
    let date_s = f[SQLDATE].trim();
    let event_date = NaiveDate::parse_from_str(date_s, "%Y%m%d")
        .map_err(|_| format!("`SQLDATE` is not `YYYYMMDD`: `{date_s}`"))?;
    let code = f[EVENT_CODE].trim();
    let root = f[EVENT_ROOT_CODE].trim();
    if root.is_empty() || !code.starts_with(root) {
        return Err(format!(
            "`EventCode` `{code}` does not belong to `EventRootCode` `{root}`"
        ));
    }
    let mapped = cameo::map(code)?.ok_or_else(|| {
        format!(
            "CAMEO {code} ({}) is not a security event",
            cameo::name(code).unwrap_or_default()
        )
    })?;
    let (lat_s, lng_s) = (f[ACTION_GEO_LAT].trim(), f[ACTION_GEO_LONG].trim());
    if lat_s.is_empty() || lng_s.is_empty() {
        return Err("missing coordinates: `ActionGeo_Lat` / `ActionGeo_Long` are empty".into());
    }
    let lat = number(&f, ACTION_GEO_LAT, "ActionGeo_Lat")?;
    let lng = number(&f, ACTION_GEO_LONG, "ActionGeo_Long")?;
    check_lat_lng(lat, lng)?;
    let goldstein = number(&f, GOLDSTEIN, "GoldsteinScale")?;
    if !(-10.0..=10.0).contains(&goldstein) {
        return Err(format!(
            "`GoldsteinScale` {goldstein} is not between -10 and 10"
        ));
    }
    let mentions = count(&f, NUM_MENTIONS, "NumMentions")?;
    let sources = count(&f, NUM_SOURCES, "NumSources")?;
    let articles = count(&f, NUM_ARTICLES, "NumArticles")?;
    let location_country = match text(&f, ACTION_GEO_COUNTRY) {
        Some(c) => countries::from_fips(&c)?.map(str::to_string),
        None => None,
    };
    let added_s = f[DATEADDED].trim();
    let published_at = NaiveDateTime::parse_from_str(added_s, "%Y%m%d%H%M%S")
        .map_err(|_| format!("`DATEADDED` is not `YYYYMMDDHHMMSS`: `{added_s}`"))?
        .and_utc()
        .timestamp_millis();
    let actors: Vec<Actor> = [
        actor(
            &f,
            ACTOR1_CODE,
            ACTOR1_NAME,
            ACTOR1_COUNTRY,
            ACTOR1_TYPE1,
            "source",
        ),
        actor(
            &f,
            ACTOR2_CODE,
            ACTOR2_NAME,
            ACTOR2_COUNTRY,
            ACTOR2_TYPE1,
            "target",
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    let location = text(&f, ACTION_GEO_FULLNAME);
    let mut title = mapped.name.clone();
    if let Some(a) = text(&f, ACTOR1_NAME) {
        title.push_str(&format!(" by {a}"));
    }
    if let Some(a) = text(&f, ACTOR2_NAME) {
        title.push_str(&format!(" against {a}"));
    }
    if let Some(place) = &location {
        title.push_str(&format!(" in {place}"));
    }
    let mut description = format!(
        "CAMEO {code} {}; Goldstein {goldstein}; {mentions} mentions in {sources} sources, {articles} articles",
        mapped.name
    );
    if let Ok(tone) = number(&f, AVG_TONE, "AvgTone") {
        description.push_str(&format!("; average tone {tone:.1}"));
    }
    Ok(NewEvent {
        source: "gdelt".into(),
        source_id: id,
        title,
        description: Some(description),
        event_category: mapped.category,
        event_type: Some(mapped.event_type.into()),
        event_subtype: Some(mapped.subtype),
        severity: severity(goldstein, mentions),
        event_date,
        event_date_end: None,
        occurred_at: start_of_day_ms(event_date),
        location,
        location_country,
        lat,
        lng,
        salience_score: Some((mentions as f64 / 100.0).min(1.0)),
        article_count: articles,
        actor_count: actors.len() as i64,
        actors,
        data_source: "GDELT".into(),
        url: text(&f, SOURCEURL),
        published_at: Some(published_at),
        attributes: EventAttributes {
            source_count: u32::try_from(sources).ok().filter(|n| *n > 0),
            precision: match f[ACTION_GEO_TYPE].trim() {
                "1" => Some(Precision::Country),
                "2" | "5" => Some(Precision::Region),
                "3" | "4" => Some(Precision::City),
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
        let records = parse(&fixture("gdelt-20260418.export.tsv")).unwrap();
        assert_eq!(records.len(), 8);
        let bad = errs(&records);
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert_eq!(bad[0].0, 5);
        assert!(bad[0].1.contains("not a security event"), "{bad:?}");
        let ok = oks(&records);
        let lagos = ok[0];
        assert_eq!(lagos.source_id, "1287654301");
        assert_eq!(
            lagos.title,
            "Demonstrate or rally by PROTESTER against POLICE in Lagos, Lagos, Nigeria"
        );
        assert_eq!(
            (lagos.event_category, lagos.event_type.as_deref()),
            ("civil_unrest", Some("protest"))
        );
        assert_eq!(lagos.event_subtype.as_deref(), Some("demonstrate_or_rally"));
        assert_eq!(lagos.severity, Severity::Medium);
        assert_eq!(lagos.location_country.as_deref(), Some("NG"));
        assert_eq!((lagos.lat, lagos.lng), (6.45306, 3.39583));
        assert_eq!(lagos.event_date.to_string(), "2026-04-18");
        assert_eq!(lagos.article_count, 10);
        assert_eq!(lagos.actors.len(), 2);
        assert_eq!(lagos.actors[0].canonical_name.as_deref(), Some("PROTESTER"));
        assert_eq!(lagos.actors[1].role.as_deref(), Some("target"));
        assert_eq!(
            lagos.url.as_deref(),
            Some("https://news.example.org/2026/04/18/lagos-rally")
        );
        assert_eq!(lagos.published_at, Some(1776503700000));
        assert_eq!(lagos.attributes.precision, Some(Precision::City));
        assert_eq!(lagos.attributes.source_count, Some(3));
        let by_id = |id: &str| *ok.iter().find(|e| e.source_id == id).unwrap();
        let fight = by_id("1287654302");
        assert_eq!(fight.event_category, "armed_conflict");
        assert_eq!(
            fight.severity,
            Severity::Critical,
            "Goldstein -10, 64 mentions"
        );
        assert_eq!(by_id("1287654303").event_category, "terrorism");
        assert_eq!(by_id("1287654303").location_country.as_deref(), Some("AF"));
        assert_eq!(by_id("1287654304").event_type.as_deref(), Some("riot"));
        assert_eq!(by_id("1287654305").event_category, "cyber_attack");
        assert_eq!(by_id("1287654307").location_country.as_deref(), Some("PS"));
        assert_eq!(by_id("1287654307").severity, Severity::Low);
    }

    #[test]
    fn broken_rows_are_refused_one_by_one() {
        let records = parse(&fixture("gdelt-broken.export.tsv")).unwrap();
        assert_refused(
            &records,
            &[
                (1, "missing coordinates"),
                (2, "found 30"),
                (3, "SQLDATE"),
                (4, "unknown CAMEO EventCode `999`"),
                (5, "unknown FIPS 10-4 country code `QQ`"),
                (6, "EventRootCode"),
                (7, "GoldsteinScale"),
            ],
        );
        assert_eq!(oks(&records).len(), 1);
        assert!(parse(b"{\"not\": \"gdelt\"}")
            .unwrap_err()
            .contains("not a GDELT export"));
        assert!(parse(b"").unwrap().is_empty());
    }

    #[test]
    fn severity_rule() {
        assert_eq!(severity(-10.0, 1), Severity::High);
        assert_eq!(severity(-10.0, 50), Severity::Critical);
        assert_eq!(severity(-6.5, 12), Severity::Medium);
        assert_eq!(severity(-5.0, 200), Severity::High);
        assert_eq!(severity(-2.0, 3), Severity::Negligible);
        assert_eq!(severity(-2.0, 1000), Severity::Medium);
    }
}
