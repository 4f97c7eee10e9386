//! What each kind of report says (§7.1), built from the tenant's data when the report is
//! generated: [`threat`], [`incident`] and [`landscape`]. Each loads what it needs and hands
//! it to a pure function that writes the summary and sections, so the wording and the counts
//! are tested without a database.

pub mod incident;
pub mod landscape;
pub mod threat;

use picket_core::time::rfc3339;
use picket_report_render::content::{Column, Fact, Table};
use serde_json::{Map, Value};

/// Rows a table keeps; the table says how many there were.
pub const TABLE_ROWS: usize = 200;

/// A table of `rows` with `columns` given as `(key, label, weight)`, cut to [`TABLE_ROWS`].
pub(crate) fn table(
    columns: &[(&str, &str, f32)],
    mut rows: Vec<Map<String, Value>>,
    empty: &str,
) -> Table {
    let total = rows.len();
    rows.truncate(TABLE_ROWS);
    Table {
        columns: columns
            .iter()
            .map(|(key, label, weight)| Column {
                key: key.to_string(),
                label: label.to_string(),
                weight: (*weight != 1.0).then_some(*weight),
            })
            .collect(),
        rows,
        empty: Some(empty.to_string()),
        total: (total > TABLE_ROWS).then_some(total as u64),
    }
}

/// One table row from `(key, value)` pairs.
pub(crate) fn row<const N: usize>(cells: [(&str, Value); N]) -> Map<String, Value> {
    cells.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

pub(crate) fn fact(label: &str, value: impl Into<Value>) -> Fact {
    Fact {
        label: label.to_string(),
        value: value.into(),
    }
}

/// A time as the API writes it.
pub(crate) fn time(ms: i64) -> Value {
    Value::String(rfc3339(ms))
}

pub(crate) fn opt_time(ms: Option<i64>) -> Value {
    ms.map(time).unwrap_or(Value::Null)
}

/// A distance or score rounded to `places` decimals.
pub(crate) fn rounded(x: f64, places: i32) -> Value {
    let k = 10f64.powi(places);
    serde_json::json!((x * k).round() / k)
}
