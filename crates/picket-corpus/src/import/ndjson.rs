//! NDJSON: one Picket-shape event ([`EventInput`]) per line. Blank lines are skipped; a line
//! that is not JSON (such as the cut-off last line of a truncated file) rejects only itself.

use crate::input::{from_value, EventInput};

use super::Record;

/// Parses every non-blank line; indexes count records, not lines.
pub fn parse(bytes: &[u8], default_source: &str) -> Vec<Record> {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| (i, record(line, default_source)))
        .collect()
}

fn record(line: &str, default_source: &str) -> Result<crate::model::NewEvent, String> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("not a JSON object: {e}"))?;
    let input: EventInput = from_value(value)?;
    input.validate(default_source)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{errs, oks};
    use super::*;

    const GOOD: &str = r#"{"source_id":"a1","title":"Protest in Lagos","event_category":"civil_unrest","event_type":"protest","event_date":"2026-04-18","coordinates":[3.39,6.45],"location_country":"ng","severity":"medium"}"#;

    #[test]
    fn parses_lines_and_rejects_bad_ones_alone() {
        let text = format!(
            "{GOOD}\n\n{}\n{}\n{}",
            r#"{"title":"No place","event_category":"weather","event_date":"2026-04-18"}"#,
            r#"{"title":"Bad date","event_category":"weather","event_date":"2026-13-01","coordinates":[1,2]}"#,
            &GOOD[..40]
        );
        let records = parse(text.as_bytes(), "ndjson");
        assert_eq!(records.len(), 4);
        let ok = oks(&records);
        assert_eq!(ok.len(), 1);
        assert_eq!(ok[0].source, "ndjson");
        assert_eq!(ok[0].source_id, "a1");
        assert_eq!(ok[0].location_country.as_deref(), Some("NG"));
        let bad = errs(&records);
        assert_eq!(bad[0].0, 1);
        assert!(bad[0].1.contains("coordinates"), "{}", bad[0].1);
        assert!(bad[1].1.contains("event_date"), "{}", bad[1].1);
        assert!(bad[2].1.contains("not a JSON"), "{}", bad[2].1);
    }
}
