//! What a report says, as stored: a summary of figures and a list of sections, each of one
//! kind the renderers know. Report generation builds this once; the JSON endpoint returns it
//! and both renderers read it, so the three forms always agree and a report stays as it was
//! generated.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A report as the renderers see it: what it is, and what it says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub id: String,
    /// `threat`, `incident` or `landscape`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    /// RFC 3339.
    pub created_at: String,
    #[serde(flatten)]
    pub content: Content,
}

/// The stored content of a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Content {
    /// Figures by name (`threats`, `critical`, `risk_score`…): numbers, strings or null.
    pub summary: Map<String, Value>,
    pub sections: Vec<Section>,
}

/// One section: a title and a body of one kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub title: String,
    #[serde(flatten)]
    pub body: Body,
}

/// A section's body; on the wire `{"kind": "...", "content": ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "content", rename_all = "snake_case")]
pub enum Body {
    /// Paragraphs of prose.
    Text { paragraphs: Vec<String> },
    /// Label and value pairs.
    Facts { items: Vec<Fact> },
    /// Rows of objects, with the columns to show.
    Table(Table),
    /// Threat and asset locations.
    Map(MapData),
    /// Threats per day, by severity.
    Trend { days: Vec<Day> },
    /// Threats by severity.
    SeverityMix { counts: SeverityCounts },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    pub label: String,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub columns: Vec<Column>,
    /// Each row an object keyed by the columns' `key` (and possibly more keys, not shown).
    pub rows: Vec<Map<String, Value>>,
    /// Shown instead of an empty table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty: Option<String>,
    /// How many rows there were before the table was cut to `rows`; absent when none were cut.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub key: String,
    pub label: String,
    /// Relative width in print; 1 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct MapData {
    pub threats: Vec<MapThreat>,
    pub assets: Vec<MapAsset>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapThreat {
    pub lat: f64,
    pub lng: f64,
    pub severity: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapAsset {
    pub lat: f64,
    pub lng: f64,
    pub asset_id: String,
    pub name: String,
}

/// Threats first observed on one UTC day, by severity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Day {
    /// `YYYY-MM-DD`.
    pub date: String,
    #[serde(flatten)]
    pub counts: SeverityCounts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SeverityCounts {
    pub critical: u64,
    pub high: u64,
    pub medium: u64,
    pub low: u64,
    pub negligible: u64,
}

/// The five severities, most severe first.
pub const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "negligible"];

impl SeverityCounts {
    pub fn total(&self) -> u64 {
        self.critical + self.high + self.medium + self.low + self.negligible
    }

    /// Adds one of `severity`; an unknown severity counts as negligible.
    pub fn add(&mut self, severity: &str) {
        *self.slot(severity) += 1;
    }

    fn slot(&mut self, severity: &str) -> &mut u64 {
        match severity {
            "critical" => &mut self.critical,
            "high" => &mut self.high,
            "medium" => &mut self.medium,
            "low" => &mut self.low,
            _ => &mut self.negligible,
        }
    }

    /// `(severity, count)`, most severe first.
    pub fn pairs(&self) -> [(&'static str, u64); 5] {
        [
            ("critical", self.critical),
            ("high", self.high),
            ("medium", self.medium),
            ("low", self.low),
            ("negligible", self.negligible),
        ]
    }
}

/// The order figures are shown in: the headline figures of each kind first, then any other
/// in name order (stored summaries are objects, whose keys come back sorted).
const FIGURE_ORDER: &[&str] = &[
    "threat_count",
    "critical",
    "high",
    "medium",
    "low",
    "negligible",
    "assets_in_scope",
    "assets_affected",
    "incidents_opened",
    "incidents_resolved",
    "risk_score",
    "risk_level",
    "severity",
    "status",
    "scope",
    "most_severe",
    "linked_threats",
    "timeline_items",
    "affected_assets",
    "versions",
    "developments",
    "from",
    "to",
    "started_at",
    "resolved_at",
];

/// A summary's figures in reading order.
pub fn figures(summary: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let rank = |k: &str| {
        FIGURE_ORDER
            .iter()
            .position(|x| *x == k)
            .unwrap_or(FIGURE_ORDER.len())
    };
    let mut v: Vec<(&String, &Value)> = summary.iter().collect();
    v.sort_by(|a, b| rank(a.0).cmp(&rank(b.0)).then(a.0.cmp(b.0)));
    v
}

/// A cell's text: strings as they are, whole numbers without decimals, other numbers with up to
/// one, booleans as yes/no, null and absent as an em dash, lists joined by commas.
pub fn cell_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "—".into(),
        Some(Value::String(s)) if s.is_empty() => "—".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => if *b { "yes" } else { "no" }.into(),
        Some(Value::Number(n)) => number_text(n.as_f64().unwrap_or(0.0)),
        Some(Value::Array(a)) if a.is_empty() => "—".into(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| cell_text(Some(v)))
            .collect::<Vec<_>>()
            .join(", "),
        Some(Value::Object(_)) => v.map(|v| v.to_string()).unwrap_or_default(),
    }
}

/// Text as people read it: an RFC 3339 UTC time (`2026-04-18T09:00:00Z`) becomes
/// `2026-04-18 09:00 UTC`; anything else stays as it is.
pub fn display_text(s: &str) -> String {
    let b = s.as_bytes();
    let is_time = b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
        && s.chars()
            .enumerate()
            .all(|(i, c)| [4, 7, 10, 13, 16, 19].contains(&i) || c.is_ascii_digit());
    if is_time {
        format!("{} {} UTC", &s[..10], &s[11..16])
    } else {
        s.to_string()
    }
}

/// `12`, `3.5`, `1,234`.
pub fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        let s = format!("{}", n.abs() as u64);
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        if n < 0.0 {
            out.insert(0, '-');
        }
        out
    } else {
        format!("{:.1}", n)
    }
}

/// `risk_score` → `Risk score`.
pub fn label_of(key: &str) -> String {
    let mut s = key.replace('_', " ");
    if let Some(first) = s.get(0..1) {
        let up = first.to_uppercase();
        s.replace_range(0..1, &up);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_read_back_with_kind_and_content() {
        let s = Section {
            title: "Severity mix".into(),
            body: Body::SeverityMix {
                counts: SeverityCounts {
                    critical: 1,
                    ..Default::default()
                },
            },
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["kind"], "severity_mix");
        assert_eq!(v["content"]["counts"]["critical"], 1);
        assert_eq!(serde_json::from_value::<Section>(v).unwrap(), s);

        let day = Day {
            date: "2026-04-18".into(),
            counts: SeverityCounts {
                high: 2,
                ..Default::default()
            },
        };
        let v = serde_json::to_value(&day).unwrap();
        assert_eq!(v["high"], 2);
        assert_eq!(serde_json::from_value::<Day>(v).unwrap(), day);
    }

    #[test]
    fn cells_read_well() {
        assert_eq!(cell_text(None), "—");
        assert_eq!(cell_text(Some(&serde_json::json!(1234567))), "1,234,567");
        assert_eq!(cell_text(Some(&serde_json::json!(2.345))), "2.3");
        assert_eq!(cell_text(Some(&serde_json::json!(["a", "b"]))), "a, b");
        assert_eq!(label_of("risk_score"), "Risk score");
        assert_eq!(display_text("2026-04-18T09:00:00Z"), "2026-04-18 09:00 UTC");
        assert_eq!(display_text("2026-04-18"), "2026-04-18");
    }
}
