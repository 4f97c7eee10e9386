//! Importers: each turns one file format into a list of per-record results. A bad record is
//! rejected on its own with its index and reason; only a file that cannot be parsed at all
//! (not JSON, no feature list) fails as a whole.

mod acled;
mod cameo;
mod cap;
mod countries;
mod firms;
mod gdacs;
mod gdelt;
mod geojson;
mod ndjson;
mod usgs;
mod xml;

use super::model::NewEvent;

/// One record's outcome: its 0-based index in the file and the event or why it was refused.
pub type Record = (usize, Result<NewEvent, String>);

/// The file formats `picket import events --format` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// USGS earthquake GeoJSON feed.
    Usgs,
    /// GDACS RSS feed.
    Gdacs,
    /// GeoJSON FeatureCollection of Point features whose properties are Picket's event shape.
    Geojson,
    /// One Picket-shape event per line.
    Ndjson,
    /// CAP 1.1 / 1.2 alerts (NWS, IPAWS).
    Cap,
    /// NASA FIRMS active-fire CSV.
    Firms,
    /// GDELT 2.0 event export (tab-separated, 61 columns, no header).
    Gdelt,
    /// ACLED CSV export.
    Acled,
}

impl Format {
    pub const ALL: [Format; 8] = [
        Format::Usgs,
        Format::Gdacs,
        Format::Geojson,
        Format::Ndjson,
        Format::Cap,
        Format::Firms,
        Format::Gdelt,
        Format::Acled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Usgs => "usgs",
            Format::Gdacs => "gdacs",
            Format::Geojson => "geojson",
            Format::Ndjson => "ndjson",
            Format::Cap => "cap",
            Format::Firms => "firms",
            Format::Gdelt => "gdelt",
            Format::Acled => "acled",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// Parses a whole file; `Err` only when nothing in it can be read as records.
pub fn parse(format: Format, bytes: &[u8]) -> Result<Vec<Record>, String> {
    match format {
        Format::Usgs => usgs::parse(bytes),
        Format::Gdacs => gdacs::parse(bytes),
        Format::Geojson => geojson::parse(bytes),
        Format::Ndjson => Ok(ndjson::parse(bytes, "ndjson")),
        Format::Cap => cap::parse(bytes),
        Format::Firms => firms::parse(bytes),
        Format::Gdelt => gdelt::parse(bytes),
        Format::Acled => acled::parse(bytes),
    }
}

pub use ndjson::parse as parse_ndjson;

/// The `features` array of a GeoJSON FeatureCollection.
fn features(bytes: &[u8]) -> Result<Vec<serde_json::Value>, String> {
    let mut doc: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not a JSON document: {e}"))?;
    if doc.get("type").and_then(|t| t.as_str()) != Some("FeatureCollection") {
        return Err("not a GeoJSON FeatureCollection (`type` is not `FeatureCollection`)".into());
    }
    match doc.get_mut("features").map(serde_json::Value::take) {
        Some(serde_json::Value::Array(f)) => Ok(f),
        _ => Err("the FeatureCollection has no `features` array".into()),
    }
}

/// `[lng, lat]` of a GeoJSON Point feature.
fn point(feature: &serde_json::Value) -> Result<(f64, f64), String> {
    let geometry = feature
        .get("geometry")
        .filter(|g| !g.is_null())
        .ok_or("missing coordinates: the feature has no geometry")?;
    if geometry.get("type").and_then(|t| t.as_str()) != Some("Point") {
        return Err("the geometry is not a Point".into());
    }
    let c = geometry
        .get("coordinates")
        .and_then(|c| c.as_array())
        .ok_or("missing coordinates: the Point has no `coordinates`")?;
    match (
        c.first().and_then(|v| v.as_f64()),
        c.get(1).and_then(|v| v.as_f64()),
    ) {
        (Some(lng), Some(lat)) => {
            super::model::check_lat_lng(lat, lng)?;
            Ok((lng, lat))
        }
        _ => Err("missing coordinates: expected `[lng, lat, …]` numbers".into()),
    }
}

/// A CSV file's header row, to find columns by name (case-insensitive).
struct CsvHeader(csv::StringRecord);

impl CsvHeader {
    fn col(&self, name: &str) -> Option<usize> {
        self.0.iter().position(|h| h.eq_ignore_ascii_case(name))
    }

    fn need(&self, name: &str) -> Result<usize, String> {
        self.col(name)
            .ok_or_else(|| format!("the CSV header has no `{name}` column"))
    }
}

/// A reader over a CSV file with a header row: fields trimmed, rows of any length (a short row
/// is refused by its importer, not the whole file).
fn csv_reader(bytes: &[u8]) -> Result<(csv::Reader<&[u8]>, CsvHeader), String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| format!("cannot read the CSV header: {e}"))?
        .clone();
    Ok((reader, CsvHeader(headers)))
}

#[cfg(test)]
pub(crate) mod testutil {
    use std::path::PathBuf;

    pub fn fixture(name: &str) -> Vec<u8> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    pub fn oks(records: &[super::Record]) -> Vec<&super::NewEvent> {
        records
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok())
            .collect()
    }

    pub fn errs(records: &[super::Record]) -> Vec<(usize, &str)> {
        records
            .iter()
            .filter_map(|(i, r)| r.as_ref().err().map(|e| (*i, e.as_str())))
            .collect()
    }

    /// Exactly these records are refused, each for a reason containing its needle.
    pub fn assert_refused(records: &[super::Record], expect: &[(usize, &str)]) {
        let bad = errs(records);
        assert_eq!(bad.len(), expect.len(), "{bad:?}");
        for ((i, why), (want_i, needle)) in bad.iter().zip(expect) {
            assert_eq!(i, want_i, "{bad:?}");
            assert!(why.contains(needle), "record {i}: {why}");
        }
    }
}
