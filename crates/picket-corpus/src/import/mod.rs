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
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr, strum::VariantArray,
)]
#[strum(serialize_all = "lowercase")]
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
    pub const ALL: &'static [Format] = <Format as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Format> {
        s.parse().ok()
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

/// The rows of a CSV file with a header row, each deserialized into `T` by column name.
struct CsvRows<T> {
    /// Header names, lower-cased.
    header: csv::StringRecord,
    /// Each row's 0-based index and its value or why it could not be read.
    rows: Vec<(usize, Result<T, String>)>,
}

impl<T> CsvRows<T> {
    fn has(&self, column: &str) -> bool {
        self.header.iter().any(|h| h == column)
    }
}

/// Reads a CSV file with a header row into `T`s (a `#[serde(default)]` struct of `String`
/// fields named after the columns in lower case). Column names match case-insensitively and
/// fields are trimmed. A file whose header lacks a `required` column fails as a whole; a row that
/// cannot be read is refused on its own. A short row reads its missing fields as empty, so the
/// importer names the field it lacks.
fn csv_rows<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    required: &[&str],
) -> Result<CsvRows<T>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let header: csv::StringRecord = reader
        .headers()
        .map_err(|e| format!("cannot read the CSV header: {e}"))?
        .iter()
        .map(str::to_ascii_lowercase)
        .collect();
    if let Some(missing) = required.iter().find(|c| !header.iter().any(|h| h == **c)) {
        return Err(format!("the CSV header has no `{missing}` column"));
    }
    let rows = reader
        .records()
        .enumerate()
        .map(|(i, row)| {
            let row = row
                .map_err(|e| format!("unreadable CSV row: {e}"))
                .and_then(|mut row| {
                    while row.len() < header.len() {
                        row.push_field("");
                    }
                    row.deserialize(Some(&header))
                        .map_err(|e| format!("unreadable CSV row: {e}"))
                });
            (i, row)
        })
        .collect();
    Ok(CsvRows { header, rows })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_named_in_lower_case() {
        let names: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
        assert_eq!(
            names,
            ["usgs", "gdacs", "geojson", "ndjson", "cap", "firms", "gdelt", "acled"]
        );
        for f in Format::ALL {
            assert_eq!(Format::parse(f.as_str()), Some(*f));
        }
        assert_eq!(Format::parse("GDELT"), None);
        assert_eq!(Format::parse("csv"), None);
    }

    #[derive(Debug, Default, PartialEq, serde::Deserialize)]
    #[serde(default)]
    struct Row {
        id: String,
        name: String,
        note: String,
    }

    #[test]
    fn csv_rows_match_headers_by_name_in_any_case() {
        let file = b"Name , ID,extra\n ada , 1 ,x\nbob\n\xff,2\n";
        let csv = csv_rows::<Row>(file, &["id", "name"]).unwrap();
        assert!(csv.has("extra") && !csv.has("Name") && !csv.has("note"));
        let row = |id: &str, name: &str| Row {
            id: id.into(),
            name: name.into(),
            note: String::new(),
        };
        assert_eq!(
            csv.rows[..2],
            [(0, Ok(row("1", "ada"))), (1, Ok(row("", "bob"))),]
        );
        let unreadable = csv.rows[2].1.as_ref().unwrap_err();
        assert!(unreadable.starts_with("unreadable CSV row"), "{unreadable}");
        let missing = csv_rows::<Row>(b"name\nada\n", &["id", "name"]);
        assert_eq!(
            missing.err().as_deref(),
            Some("the CSV header has no `id` column")
        );
    }
}
