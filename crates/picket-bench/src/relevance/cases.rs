//! Labelled cases from the real feeds in the fixtures, with their dates shifted so that each
//! record's latest report is an hour old (spans stay as they were: a GDACS drought that began in
//! 2018 still began 14 months before its last update).
//!
//! What labels a case, and why:
//!
//! * USGS: the ShakeMap maximum intensity (`mmi`) is the shaking near the epicentre, so it labels
//!   an asset near an epicentre on land (offshore, the maximum lies on the nearest coast, not
//!   next to the epicentre); the PAGER `alert` (all green in this week) joins the Green target.
//! * GDACS: the alert level estimates humanitarian impact of the whole event, not shaking at one
//!   site, so Orange (high) and Red (critical) label near cases, and Green only counts against
//!   the "never critical" target.
//! * CAP: the sender's severity for an asset inside the warning area.
//! * FIRMS: the importer's band of the pixel (confidence, then fire radiative power).
//! * ACLED, GDELT and tenant pushes: the event's own severity from its fields (fatalities;
//!   Goldstein scale and mentions; the pushed value).

use anyhow::Context;
use chrono::{DateTime, Duration, FixedOffset, Utc};
use picket_corpus::import::{self, Format, Record};
use picket_corpus::model::{EventAttributes, NewEvent, Severity};
use serde_json::{json, Value};

/// One labelled event and where its assets go.
#[derive(Debug, Clone)]
pub struct Case {
    pub source: &'static str,
    pub label: String,
    /// The band the source implies for an asset at `near_km` (`None`: targets only).
    pub expected: Option<Severity>,
    /// GDACS Green or PAGER green, sudden onset.
    pub green: bool,
    /// GDACS Orange or Red, sudden onset.
    pub orange_red: bool,
    pub title: String,
    pub lat: f64,
    pub lng: f64,
    pub category: &'static str,
    pub event_type: String,
    /// The importer, as the engine reads the event's source.
    pub importer: String,
    pub attributes: EventAttributes,
    pub magnitude: Option<f64>,
    pub near_km: f64,
    /// The magnitude group (a labelled USGS event and its variants), compared at 25 km.
    pub mag_group: Option<usize>,
    /// A magnitude variant: one asset, at 25 km.
    pub variant: bool,
    /// An event each of the case's tenants pushes itself (`POST /v1/events`).
    pub push: Option<Value>,
}

/// Records to import globally, and the cases they make.
#[derive(Default)]
pub struct Corpus {
    pub files: Vec<(Format, Vec<Record>)>,
    pub cases: Vec<Case>,
}

fn fixture(path: &str) -> anyhow::Result<Vec<u8>> {
    let full = format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).with_context(|| format!("reading {full}"))
}

fn parsed(format: Format, bytes: &[u8]) -> anyhow::Result<Vec<Record>> {
    import::parse(format, bytes).map_err(anyhow::Error::msg)
}

fn ok(records: &[Record]) -> impl Iterator<Item = &NewEvent> {
    records.iter().filter_map(|(_, r)| r.as_ref().ok())
}

/// The accepted records with their index in the file.
fn ok_at(records: &[Record]) -> impl Iterator<Item = (usize, &NewEvent)> {
    records
        .iter()
        .filter_map(|(i, r)| r.as_ref().ok().map(|e| (*i, e)))
}

fn case(source: &'static str, label: String, e: &NewEvent, near_km: f64) -> Case {
    Case {
        source,
        label,
        expected: None,
        green: false,
        orange_red: false,
        title: e.title.clone(),
        lat: e.lat,
        lng: e.lng,
        category: e.event_category,
        event_type: e.event_type.clone().unwrap_or_default(),
        importer: e.source.clone(),
        attributes: e.attributes.clone(),
        magnitude: e.attributes.magnitude,
        near_km,
        mag_group: None,
        variant: false,
        push: None,
    }
}

/// The band of a Modified Mercalli intensity (VIII+ critical, VI–VII high, V medium, IV low).
pub fn mmi_band(mmi: f64) -> Severity {
    match mmi.round() {
        i if i >= 8.0 => Severity::Critical,
        i if i >= 6.0 => Severity::High,
        i if i >= 5.0 => Severity::Medium,
        i if i >= 4.0 => Severity::Low,
        _ => Severity::Negligible,
    }
}

pub fn build(at: DateTime<Utc>) -> anyhow::Result<Corpus> {
    let mut c = Corpus::default();
    usgs(&mut c, at)?;
    gdacs(&mut c, at)?;
    cap(&mut c, at)?;
    firms(&mut c, at)?;
    acled(&mut c, at)?;
    gdelt(&mut c, at)?;
    pushed(&mut c, at);
    Ok(c)
}

/// USGS: events with a ShakeMap or PAGER value, and every M ≥ 4.5; the labelled ones also as
/// magnitude variants (±0.5, ±1) at the same place and depth.
fn usgs(c: &mut Corpus, at: DateTime<Utc>) -> anyhow::Result<()> {
    let text = fixture("picket-corpus/tests/fixtures/usgs-earthquakes-week.geojson")?;
    let mut doc: Value = serde_json::from_slice(&text)?;
    let t = at.timestamp_millis();
    let mut keep = Vec::new();
    let mut variants = Vec::new();
    for f in doc["features"].as_array().context("features")? {
        let p = &f["properties"];
        let mag = p["mag"].as_f64().unwrap_or(0.0);
        let labelled = p["mmi"].as_f64().is_some_and(|m| m > 0.0) || p["alert"].is_string();
        if !(labelled || mag >= 4.5) {
            continue;
        }
        let mut f = f.clone();
        let shift = t - f["properties"]["time"].as_i64().context("time")?;
        for key in ["time", "updated"] {
            if let Some(v) = f["properties"][key].as_i64() {
                f["properties"][key] = json!(v + shift);
            }
        }
        if labelled {
            for dm in [-1.0, -0.5, 0.5, 1.0] {
                let m = ((mag + dm) * 10.0).round() / 10.0;
                let mut v = f.clone();
                let place = v["properties"]["place"].as_str().unwrap_or("").to_string();
                v["id"] = json!(format!("{}-m{m}", v["id"].as_str().unwrap_or("")));
                v["properties"]["mag"] = json!(m);
                v["properties"]["title"] = json!(format!("M {m:.1} - {place}"));
                // PAGER and ShakeMap describe the real event, not the variant.
                v["properties"]["alert"] = Value::Null;
                v["properties"]["mmi"] = Value::Null;
                variants.push(v);
            }
        }
        keep.push(f);
    }
    let groups = keep.len();
    let all: Vec<Value> = keep.into_iter().chain(variants).collect();
    doc["features"] = Value::Array(all.clone());
    let records = parsed(Format::Usgs, doc.to_string().as_bytes())?;
    for (i, e) in ok_at(&records) {
        let f = &all[i];
        let p = &f["properties"];
        let mag = p["mag"].as_f64();
        let id = f["id"].as_str().unwrap_or("");
        let variant = id.contains("-m");
        let k_label = format!("{id} M{:.1}", mag.unwrap_or(0.0));
        let mut k = case("USGS", k_label, e, 5.0);
        if variant {
            // Variants follow their originals in the same order, four each.
            let base = id.split("-m").next().unwrap_or("");
            let g = all[..groups]
                .iter()
                .position(|o| o["id"].as_str() == Some(base))
                .unwrap_or(0);
            k.mag_group = Some(g);
            k.variant = true;
        } else {
            let mmi = p["mmi"].as_f64().filter(|m| *m > 0.0);
            let onshore = picket_corpus::country::country_at(e.lat, e.lng).is_some();
            if let (Some(mmi), true) = (mmi, onshore) {
                k.expected = Some(mmi_band(mmi));
                k.label = format!("{} (ShakeMap MMI {mmi:.1})", k.label);
            }
            k.green = p["alert"].as_str() == Some("green");
            if p["mmi"].as_f64().is_some_and(|m| m > 0.0) || p["alert"].is_string() {
                k.mag_group = Some(i);
            }
        }
        c.cases.push(k);
    }
    c.files.push((Format::Usgs, records));
    Ok(())
}

/// Rewrites the text of every `<tag>…</tag>` in `text` with `f`.
fn map_tag(text: &str, tag: &str, f: impl Fn(&str) -> Option<String>) -> String {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(&open) {
        let start = i + open.len();
        let Some(len) = rest[start..].find(&close) else {
            break;
        };
        out.push_str(&rest[..start]);
        let inner = &rest[start..start + len];
        out.push_str(&f(inner).unwrap_or_else(|| inner.to_string()));
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    out
}

fn tag<'a>(text: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let i = text.find(&open)? + open.len();
    let len = text[i..].find(&format!("</{tag}>"))?;
    Some(&text[i..i + len])
}

fn rfc2822(v: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc2822(v.trim()).ok()
}

/// GDACS: every item of the 7-day feed, shifted so its last update (`pubDate` or `todate`) is
/// `at`.
fn gdacs(c: &mut Corpus, at: DateTime<Utc>) -> anyhow::Result<()> {
    let text = String::from_utf8(fixture("picket/tests/fixtures/relevance/gdacs-rss-7d.xml")?)?;
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    let mut items = Vec::new();
    while let Some(i) = rest.find("<item>") {
        let end = rest[i..].find("</item>").context("unclosed item")? + i;
        out.push_str(&rest[..i]);
        let item = &rest[i..end];
        let last = ["pubDate", "gdacs:todate", "gdacs:fromdate"]
            .iter()
            .filter_map(|t| tag(item, t).and_then(rfc2822))
            .max()
            .context("an item without dates")?;
        let shift = at.signed_duration_since(last);
        let mut item = item.to_string();
        for t in ["pubDate", "gdacs:todate", "gdacs:fromdate"] {
            item = map_tag(&item, t, |v| rfc2822(v).map(|d| (d + shift).to_rfc2822()));
        }
        items.push(item.clone());
        out.push_str(&item);
        rest = &rest[end..];
    }
    out.push_str(rest);
    let records = parsed(Format::Gdacs, out.as_bytes())?;
    for (i, e) in ok_at(&records) {
        let item = &items[i];
        let level = tag(item, "gdacs:alertlevel").unwrap_or("").to_string();
        let kind = tag(item, "gdacs:eventtype").unwrap_or("");
        let sudden = kind != "DR";
        let mut k = case("GDACS", format!("{} {level}", e.source_id), e, 5.0);
        k.expected = match level.as_str() {
            "Red" => Some(Severity::Critical),
            "Orange" => Some(Severity::High),
            _ => None,
        };
        k.green = sudden && level == "Green";
        k.orange_red = sudden && matches!(level.as_str(), "Orange" | "Red");
        c.cases.push(k);
    }
    c.files.push((Format::Gdacs, records));
    Ok(())
}

/// CAP: the alerts with an area (polygon or circle), shifted so that `sent` is `at`; an asset
/// inside the area.
fn cap(c: &mut Corpus, at: DateTime<Utc>) -> anyhow::Result<()> {
    for path in [
        "picket-corpus/tests/fixtures/ipaws-cap12-polygon.xml",
        "picket/tests/fixtures/relevance/cap12-severe-thunderstorm.xml",
        "picket/tests/fixtures/relevance/cap12-earthquake.xml",
        "picket/tests/fixtures/relevance/cap12-tsunami-cancellation.xml",
    ] {
        let text = String::from_utf8(fixture(path)?)?;
        let sent = tag(&text, "sent")
            .and_then(|v| DateTime::parse_from_rfc3339(v.trim()).ok())
            .context("sent")?;
        let shift = at.signed_duration_since(sent);
        let mut text = text.clone();
        for t in ["sent", "onset", "effective", "expires"] {
            text = map_tag(&text, t, |v| {
                DateTime::parse_from_rfc3339(v.trim())
                    .ok()
                    .map(|d| (d + shift).to_rfc3339())
            });
        }
        let records = parsed(Format::Cap, text.as_bytes())?;
        let Some(e) = ok(&records).next() else {
            continue;
        };
        let severity = tag(&text, "severity").unwrap_or("Unknown");
        let mut k = case(
            "CAP",
            format!(
                "{} ({severity}, {}, {})",
                tag(&text, "event").unwrap_or(""),
                tag(&text, "certainty").unwrap_or(""),
                tag(&text, "urgency").unwrap_or("")
            ),
            e,
            0.2,
        );
        k.expected = Some(match severity {
            "Extreme" => Severity::Critical,
            "Severe" => Severity::High,
            "Moderate" => Severity::Medium,
            "Minor" => Severity::Low,
            _ => Severity::Negligible,
        });
        c.cases.push(k);
        c.files.push((Format::Cap, records));
    }
    Ok(())
}

/// FIRMS: vegetation-fire pixels across the confidence and fire-radiative-power bands, dated
/// `at`; an asset inside the pixel (0.5 km).
fn firms(c: &mut Corpus, at: DateTime<Utc>) -> anyhow::Result<()> {
    let text = String::from_utf8(fixture(
        "picket-corpus/tests/fixtures/firms-modis-aus-2019.csv",
    )?)?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().context("header")?.split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).context("column");
    let (conf, frp, kind, date, time) = (
        col("confidence")?,
        col("frp")?,
        col("type")?,
        col("acq_date")?,
        col("acq_time")?,
    );
    // (lowest FRP, highest, rows wanted, low confidence)
    let buckets = [
        (0.0, f64::MAX, 2, true),
        (0.0, 10.0, 3, false),
        (10.0, 100.0, 3, false),
        (100.0, 500.0, 3, false),
        (500.0, f64::MAX, 3, false),
    ];
    let mut taken = [0; 5];
    let mut rows = vec![header.join(",")];
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let (Ok(cf), Ok(p)) = (f[conf].parse::<f64>(), f[frp].parse::<f64>()) else {
            continue;
        };
        if f[kind] != "0" {
            continue;
        }
        let Some(b) = buckets
            .iter()
            .position(|(lo, hi, _, low)| (cf < 30.0) == *low && (*low || (p >= *lo && p < *hi)))
        else {
            continue;
        };
        if taken[b] >= buckets[b].2 {
            continue;
        }
        taken[b] += 1;
        let mut f: Vec<String> = f.iter().map(|s| s.to_string()).collect();
        f[date] = at.format("%Y-%m-%d").to_string();
        f[time] = at.format("%H%M").to_string();
        rows.push(f.join(","));
    }
    let records = parsed(Format::Firms, rows.join("\n").as_bytes())?;
    for e in ok(&records) {
        let mut k = case("FIRMS", e.description.clone().unwrap_or_default(), e, 0.5);
        k.expected = Some(e.severity);
        c.cases.push(k);
    }
    c.files.push((Format::Firms, records));
    Ok(())
}

/// ACLED: the hand-written export's incidents, dated `at`; an asset 1 km away.
fn acled(c: &mut Corpus, at: DateTime<Utc>) -> anyhow::Result<()> {
    let text = String::from_utf8(fixture("picket-corpus/tests/fixtures/acled-2026-04.csv")?)?;
    let mut lines = text.lines();
    let header = lines.next().context("header")?;
    let mut out = vec![header.to_string()];
    for line in lines {
        // Dates are the second column; one row spells them `17 April 2026`.
        let (id, rest) = line.split_once(',').context("row")?;
        let (_, rest) = rest.split_once(',').context("row")?;
        let stamp = at.timestamp().to_string();
        let mut row = format!("{id},{},{rest}", at.format("%Y-%m-%d"));
        if let Some(i) = row.rfind(',') {
            row.replace_range(i + 1.., &stamp);
        }
        out.push(row);
    }
    let records = parsed(Format::Acled, out.join("\n").as_bytes())?;
    for e in ok(&records) {
        let mut k = case("ACLED", e.title.clone(), e, 1.0);
        k.expected = Some(e.severity);
        c.cases.push(k);
    }
    c.files.push((Format::Acled, records));
    Ok(())
}

/// GDELT: the hand-written export's security events, dated the day before `at` (so they do not
/// merge with the ACLED reports of the same places); an asset 1 km away.
fn gdelt(c: &mut Corpus, at: DateTime<Utc>) -> anyhow::Result<()> {
    let text = String::from_utf8(fixture(
        "picket-corpus/tests/fixtures/gdelt-20260418.export.tsv",
    )?)?;
    let day = at - Duration::days(1);
    let rows: Vec<String> = text
        .lines()
        .map(|l| {
            let mut f: Vec<String> = l.split('\t').map(str::to_string).collect();
            if f.len() == 61 {
                f[1] = day.format("%Y%m%d").to_string();
                f[59] = day.format("%Y%m%d%H%M%S").to_string();
            }
            f.join("\t")
        })
        .collect();
    let records = parsed(Format::Gdelt, rows.join("\n").as_bytes())?;
    for e in ok(&records) {
        let mut k = case("GDELT", e.title.clone(), e, 1.0);
        k.expected = Some(e.severity);
        c.cases.push(k);
    }
    c.files.push((Format::Gdelt, records));
    Ok(())
}

/// Events a tenant reports itself, as the example: a "high" bombing 1.6 km from a
/// facility.
fn pushed(c: &mut Corpus, at: DateTime<Utc>) {
    let date = at.format("%Y-%m-%d").to_string();
    for (title, category, kind, severity, near) in [
        (
            "Car bomb near the plant gate",
            "terrorism",
            "bombing",
            Severity::High,
            1.6,
        ),
        (
            "Peaceful march on the ring road",
            "civil_unrest",
            "protest",
            Severity::Medium,
            1.0,
        ),
        (
            "Armed robbery at a fuel station",
            "crime_violence",
            "armed_robbery",
            Severity::High,
            1.0,
        ),
    ] {
        let (lat, lng) = (6.4541, 3.3947);
        c.cases.push(Case {
            source: "push",
            label: title.into(),
            expected: Some(severity),
            green: false,
            orange_red: false,
            title: title.into(),
            lat,
            lng,
            category,
            event_type: kind.into(),
            importer: "push".into(),
            attributes: EventAttributes::default(),
            magnitude: None,
            near_km: near,
            mag_group: None,
            variant: false,
            push: Some(
                json!({"title": title, "event_category": category, "event_type": kind,
                "severity": severity.as_str(), "event_date": date, "coordinates": [lng, lat]}),
            ),
        });
    }
}
