//! A landscape report: a window of a tenant's threats over all or some of its assets —
//! counts by severity and category for the portfolio and per asset, a daily trend, the
//! threats of highest risk, the incidents opened and resolved, and a map.
//!
//! [`Landscape`] folds the window's threats one at a time (a hundred thousand of them need
//! not be held at once) and [`Landscape::finish`] writes the content.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use chrono::{Duration, NaiveDate};
use picket_core::time::to_datetime;
use picket_report_render::content::{
    Body, Content, Day, MapAsset, MapData, MapThreat, Section, SeverityCounts,
};
use serde_json::{json, Value};

use super::{fact, rounded, row, table, time};
use crate::assets::store::AssetRow;
use crate::reports::source::{AssetCount, WindowIncident, WindowThreat};

/// Threats in the "top by risk" table.
pub const TOP: usize = 25;
/// Threats drawn on the map: the riskiest.
pub const MAP_THREATS: usize = 2_000;
/// Assets drawn on the map.
pub const MAP_ASSETS: usize = 5_000;

/// A threat kept for the top table or the map, ordered by risk, then the newest, then id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Ranked {
    risk_milli: i64,
    observed_at: i64,
    id: String,
    kept: Kept,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Kept {
    title: String,
    severity: String,
    threat_type: String,
    location: String,
    lat_micro: i64,
    lng_micro: i64,
}

/// The `n` largest items seen, in a min-heap.
#[derive(Debug)]
struct TopN {
    n: usize,
    heap: BinaryHeap<Reverse<Ranked>>,
}

impl TopN {
    fn new(n: usize) -> TopN {
        TopN {
            n,
            heap: BinaryHeap::with_capacity(n + 1),
        }
    }

    fn offer(&mut self, r: &Ranked) {
        if self.heap.len() < self.n {
            self.heap.push(Reverse(r.clone()));
        } else if let Some(Reverse(least)) = self.heap.peek() {
            if r > least {
                self.heap.pop();
                self.heap.push(Reverse(r.clone()));
            }
        }
    }

    /// Largest first.
    fn into_sorted(self) -> Vec<Ranked> {
        let mut v: Vec<Ranked> = self.heap.into_iter().map(|r| r.0).collect();
        v.sort_by(|a, b| b.cmp(a));
        v
    }
}

/// A landscape being folded.
#[derive(Debug)]
pub struct Landscape {
    from: i64,
    to: i64,
    first_day: NaiveDate,
    days: Vec<SeverityCounts>,
    severity: SeverityCounts,
    by_category: BTreeMap<String, SeverityCounts>,
    top: TopN,
    map: TopN,
}

impl Landscape {
    /// An empty landscape of the window `[from, to]` (Unix ms).
    pub fn new(from: i64, to: i64) -> Landscape {
        let first_day = to_datetime(from).date_naive();
        let last_day = to_datetime(to).date_naive();
        let n = (last_day - first_day).num_days().max(0) as usize + 1;
        Landscape {
            from,
            to,
            first_day,
            days: vec![SeverityCounts::default(); n],
            severity: SeverityCounts::default(),
            by_category: BTreeMap::new(),
            top: TopN::new(TOP),
            map: TopN::new(MAP_THREATS),
        }
    }

    /// Counts one threat of the window.
    pub fn add(&mut self, t: WindowThreat) {
        self.severity.add(&t.severity);
        self.by_category
            .entry(t.category.clone())
            .or_default()
            .add(&t.severity);
        let day = (to_datetime(t.observed_at).date_naive() - self.first_day).num_days();
        if let Some(d) = usize::try_from(day).ok().and_then(|d| self.days.get_mut(d)) {
            d.add(&t.severity);
        }
        let ranked = Ranked {
            risk_milli: (t.risk_score * 1000.0).round() as i64,
            observed_at: t.observed_at,
            id: t.id,
            kept: Kept {
                title: t.title,
                severity: t.severity,
                threat_type: t.threat_type,
                location: match t.location_country {
                    Some(c) if !t.location.is_empty() => format!("{} ({c})", t.location),
                    Some(c) => c,
                    None => t.location,
                },
                lat_micro: (t.lat * 1e6).round() as i64,
                lng_micro: (t.lng * 1e6).round() as i64,
            },
        };
        self.top.offer(&ranked);
        self.map.offer(&ranked);
    }

    /// The report's content. `scope` is the assets the report covers (every asset of the
    /// tenant, or the ones asked for), `counts` the per-asset counts of the window.
    pub fn finish(
        self,
        scope: &[AssetRow],
        scoped: bool,
        counts: Vec<AssetCount>,
        incidents: Vec<WindowIncident>,
    ) -> Content {
        let (from, to) = (self.from, self.to);
        let in_window = |t: Option<i64>| t.is_some_and(|t| t >= from && t <= to);
        let opened = incidents
            .iter()
            .filter(|i| in_window(Some(i.created_at)))
            .count();
        let resolved = incidents
            .iter()
            .filter(|i| in_window(i.resolved_at))
            .count();

        // Per asset: counts by severity, and the category with most threats.
        struct PerAsset {
            asset_id: String,
            name: String,
            counts: SeverityCounts,
            categories: HashMap<String, u64>,
        }
        let mut per: HashMap<String, PerAsset> = HashMap::new();
        for c in counts {
            let p = per.entry(c.asset_uuid).or_insert_with(|| PerAsset {
                asset_id: c.asset_id.clone(),
                name: c.asset_name.clone(),
                counts: SeverityCounts::default(),
                categories: HashMap::new(),
            });
            for _ in 0..c.n {
                p.counts.add(&c.severity);
            }
            *p.categories.entry(c.category).or_default() += c.n as u64;
        }
        // Current names where the asset still exists.
        for a in scope {
            if let Some(p) = per.get_mut(&a.id) {
                p.asset_id = a.asset_id.clone();
                p.name = a.name.clone();
            }
        }
        let mut per: Vec<PerAsset> = per.into_values().collect();
        per.sort_by(|a, b| {
            b.counts
                .total()
                .cmp(&a.counts.total())
                .then(b.counts.critical.cmp(&a.counts.critical))
                .then(a.asset_id.cmp(&b.asset_id))
        });
        let assets_affected = per.len();

        let mut summary = serde_json::Map::new();
        summary.insert("from".into(), time(from));
        summary.insert("to".into(), time(to));
        summary.insert("assets_in_scope".into(), json!(scope.len()));
        summary.insert("assets_affected".into(), json!(assets_affected));
        summary.insert("threat_count".into(), json!(self.severity.total()));
        for (sev, n) in self.severity.pairs() {
            summary.insert(sev.into(), json!(n));
        }
        summary.insert("incidents_opened".into(), json!(opened));
        summary.insert("incidents_resolved".into(), json!(resolved));

        let scope_text = if scoped {
            let names: Vec<String> = scope
                .iter()
                .take(20)
                .map(|a| format!("{} ({})", a.name, a.asset_id))
                .collect();
            let more = scope.len().saturating_sub(20);
            let mut s = names.join(", ");
            if more > 0 {
                s.push_str(&format!(" and {more} more"));
            }
            s
        } else {
            format!("All {} assets of the tenant", scope.len())
        };
        let facts = vec![
            fact("From", time(from)),
            fact("To", time(to)),
            fact("Assets", scope_text),
            fact(
                "Threats counted",
                "Threats observed in the window that affect an asset in scope, except dismissed ones. Per-asset counts count a threat once for each asset it affects.",
            ),
        ];
        let days: Vec<Day> = self
            .days
            .iter()
            .enumerate()
            .map(|(i, c)| Day {
                date: (self.first_day + Duration::days(i as i64))
                    .format("%Y-%m-%d")
                    .to_string(),
                counts: *c,
            })
            .collect();
        let sev_cells = |c: &SeverityCounts| -> Vec<(String, Value)> {
            c.pairs()
                .iter()
                .map(|(s, n)| (s.to_string(), json!(n)))
                .collect()
        };
        let category_rows = self
            .by_category
            .iter()
            .map(|(cat, c)| {
                let mut r = row([("category", json!(cat))]);
                r.extend(sev_cells(c));
                r.insert("total".into(), json!(c.total()));
                r
            })
            .collect();
        let asset_rows = per
            .iter()
            .map(|p| {
                let top_category = p
                    .categories
                    .iter()
                    .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                    .map(|(c, _)| c.clone())
                    .unwrap_or_default();
                let mut r = row([("asset_id", json!(p.asset_id)), ("name", json!(p.name))]);
                r.extend(sev_cells(&p.counts));
                r.insert("total".into(), json!(p.counts.total()));
                r.insert("top_category".into(), json!(top_category));
                r
            })
            .collect();
        let top_rows = self
            .top
            .into_sorted()
            .into_iter()
            .map(|r| {
                row([
                    ("title", json!(r.kept.title)),
                    ("severity", json!(r.kept.severity)),
                    ("risk_score", rounded(r.risk_milli as f64 / 1000.0, 1)),
                    ("threat_type", json!(r.kept.threat_type)),
                    ("location", json!(r.kept.location)),
                    ("observed_at", time(r.observed_at)),
                    ("threat_id", json!(r.id)),
                ])
            })
            .collect();
        let incident_rows = incidents
            .iter()
            .map(|i| {
                row([
                    ("title", json!(i.title)),
                    ("status", json!(i.status)),
                    ("scope", json!(i.scope)),
                    ("created_at", time(i.created_at)),
                    (
                        "resolved_at",
                        i.resolved_at.map(time).unwrap_or(Value::Null),
                    ),
                    ("incident_id", json!(i.id)),
                ])
            })
            .collect();
        let map = MapData {
            threats: self
                .map
                .into_sorted()
                .into_iter()
                .map(|r| MapThreat {
                    lat: r.kept.lat_micro as f64 / 1e6,
                    lng: r.kept.lng_micro as f64 / 1e6,
                    severity: r.kept.severity,
                    title: r.kept.title,
                })
                .collect(),
            assets: scope
                .iter()
                .filter_map(|a| {
                    Some(MapAsset {
                        lat: a.lat?,
                        lng: a.lng?,
                        asset_id: a.asset_id.clone(),
                        name: a.name.clone(),
                    })
                })
                .take(MAP_ASSETS)
                .collect(),
        };
        let sev_columns = [
            ("critical", "Critical", 0.7),
            ("high", "High", 0.6),
            ("medium", "Medium", 0.7),
            ("low", "Low", 0.5),
            ("negligible", "Negligible", 0.8),
            ("total", "Total", 0.6),
        ];
        let mut category_columns = vec![("category", "Category", 1.4)];
        category_columns.extend(sev_columns);
        let mut asset_columns = vec![("asset_id", "Asset", 1.0), ("name", "Name", 1.4)];
        asset_columns.extend(sev_columns);
        asset_columns.push(("top_category", "Top category", 1.1));
        Content {
            summary,
            sections: vec![
                Section {
                    title: "Scope".into(),
                    body: Body::Facts { items: facts },
                },
                Section {
                    title: "Severity mix".into(),
                    body: Body::SeverityMix {
                        counts: self.severity,
                    },
                },
                Section {
                    title: "Daily trend".into(),
                    body: Body::Trend { days },
                },
                Section {
                    title: "By category".into(),
                    body: Body::Table(table(
                        &category_columns,
                        category_rows,
                        "No threat in the window.",
                    )),
                },
                Section {
                    title: "Assets".into(),
                    body: Body::Table(table(
                        &asset_columns,
                        asset_rows,
                        "No asset in scope was affected in the window.",
                    )),
                },
                Section {
                    title: "Top threats by risk".into(),
                    body: Body::Table(table(
                        &[
                            ("title", "Threat", 2.4),
                            ("severity", "Severity", 0.8),
                            ("risk_score", "Risk", 0.5),
                            ("threat_type", "Type", 1.0),
                            ("location", "Location", 1.3),
                            ("observed_at", "Observed", 1.2),
                        ],
                        top_rows,
                        "No threat in the window.",
                    )),
                },
                Section {
                    title: "Incidents".into(),
                    body: Body::Table(table(
                        &[
                            ("title", "Incident", 2.4),
                            ("status", "Status", 0.8),
                            ("scope", "Scope", 1.0),
                            ("created_at", "Opened", 1.2),
                            ("resolved_at", "Resolved", 1.2),
                        ],
                        incident_rows,
                        "No incident was opened or resolved in the window.",
                    )),
                },
                Section {
                    title: "Map".into(),
                    body: Body::Map(map),
                },
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn threat(id: &str, sev: &str, cat: &str, at: i64, risk: f64) -> WindowThreat {
        WindowThreat {
            id: id.into(),
            title: format!("T {id}"),
            severity: sev.into(),
            category: cat.into(),
            threat_type: "protest".into(),
            status: "active".into(),
            location: "Lagos".into(),
            location_country: Some("NG".into()),
            observed_at: at,
            lat: 6.5,
            lng: 3.4,
            risk_score: risk,
        }
    }

    #[test]
    fn folds_counts_days_and_the_riskiest() {
        let day = 86_400_000;
        let from = 1_776_470_400_000; // 2026-04-18T00:00Z
        let mut l = Landscape::new(from, from + 2 * day);
        l.add(threat("a", "high", "civil_unrest", from + 1000, 65.0));
        l.add(threat("b", "critical", "terrorism", from + day + 5, 91.0));
        l.add(threat("c", "low", "civil_unrest", from + day + 9, 22.0));
        assert_eq!(l.days.len(), 3);
        let c = l.finish(&[], false, vec![], vec![]);
        assert_eq!(c.summary["threat_count"], 3);
        assert_eq!(c.summary["critical"], 1);
        let Body::Trend { days } = &c.sections[2].body else {
            panic!()
        };
        assert_eq!(days[0].date, "2026-04-18");
        assert_eq!(days[1].counts.total(), 2);
        let Body::Table(top) = &c.sections[5].body else {
            panic!()
        };
        assert_eq!(top.rows[0]["threat_id"], "b");
        assert_eq!(top.rows[2]["threat_id"], "c");
        let Body::Table(cats) = &c.sections[3].body else {
            panic!()
        };
        assert_eq!(cats.rows[0]["category"], "civil_unrest");
        assert_eq!(cats.rows[0]["total"], 2);
    }

    #[test]
    fn keeps_only_the_top_n() {
        let mut t = TopN::new(2);
        for (i, risk) in [5, 9, 1, 7].into_iter().enumerate() {
            t.offer(&Ranked {
                risk_milli: risk,
                observed_at: 0,
                id: i.to_string(),
                kept: Kept {
                    title: String::new(),
                    severity: String::new(),
                    threat_type: String::new(),
                    location: String::new(),
                    lat_micro: 0,
                    lng_micro: 0,
                },
            });
        }
        let risks: Vec<i64> = t.into_sorted().iter().map(|r| r.risk_milli).collect();
        assert_eq!(risks, [9, 7]);
    }
}
