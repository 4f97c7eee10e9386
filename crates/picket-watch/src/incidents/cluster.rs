//! Which threats cluster into automatic incidents (§5.8, §10.11): the pure decision, no I/O.
//! [`super::auto`] loads the threats around a batch, asks [`decide`], and writes the answer.
//!
//! Two threats are related when they belong to the same tenant and category family, were
//! observed within [`CLUSTER_HOURS`] of each other, lie within [`CLUSTER_KM`] of each other
//! and share at least one affected asset. A cluster is a connected group of related threats
//! (related to each other directly or through others). A cluster holding a threat of an open
//! `aggregate` incident extends that incident (the oldest, when there are several) with its
//! threats that no aggregate incident holds yet; a cluster without one opens an incident for
//! its free threats when there are at least two. A threat joins at most one aggregate incident:
//! one an analyst closed or resolved keeps its threats, and they open nothing new. Analysts'
//! `investigation` incidents are not seen here.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use picket_corpus::grid::{distance_km, Grid};

/// Threats this close (great circle) can be related.
pub const CLUSTER_KM: f64 = 25.0;
/// Threats observed this close in time can be related.
pub const CLUSTER_HOURS: i64 = 72;
const CLUSTER_MS: i64 = CLUSTER_HOURS * 3_600_000;

/// Half a degree by one: the 25 km around a point touch a few cells.
const GRID: Grid = Grid::new(2.0, 1.0);

/// The category family of a threat category (§10.11); `None` for a category outside them.
pub fn family(category: &str) -> Option<&'static str> {
    Some(match category {
        "armed_conflict" | "terrorism" | "civil_unrest" | "crime_violence" => "security",
        "fire_hazard" | "weather" | "geological" => "natural",
        "transport" | "infrastructure" => "infrastructure",
        "health" => "health",
        "cyber_attack" => "cyber",
        _ => return None,
    })
}

/// The categories of a family.
pub fn categories(family: &str) -> &'static [&'static str] {
    match family {
        "security" => &[
            "armed_conflict",
            "terrorism",
            "civil_unrest",
            "crime_violence",
        ],
        "natural" => &["fire_hazard", "weather", "geological"],
        "infrastructure" => &["transport", "infrastructure"],
        "health" => &["health"],
        "cyber" => &["cyber_attack"],
        _ => &[],
    }
}

fn label(family: &str) -> &'static str {
    match family {
        "security" => "Security threats",
        "natural" => "Natural hazards",
        "infrastructure" => "Infrastructure disruptions",
        "health" => "Health threats",
        _ => "Cyber attacks",
    }
}

/// A threat as the decision sees it.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: String,
    pub tenant: i64,
    pub category: String,
    pub lat: f64,
    pub lng: f64,
    pub observed_at: i64,
    /// Affected assets: server id → name.
    pub assets: BTreeMap<String, String>,
    /// Written by the batch being clustered: only clusters holding one are decided.
    pub fresh: bool,
    /// The open `aggregate` incident holding it, if any.
    pub open_incident: Option<String>,
    /// Held by an aggregate incident of any status.
    pub held: bool,
}

/// What to write for one cluster.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Open {
        tenant: i64,
        title: String,
        threat_ids: Vec<String>,
    },
    Extend {
        tenant: i64,
        incident_id: String,
        threat_ids: Vec<String>,
    },
}

fn related(a: &Member, b: &Member) -> bool {
    a.tenant == b.tenant
        && family(&a.category).is_some()
        && family(&a.category) == family(&b.category)
        && (a.observed_at - b.observed_at).abs() <= CLUSTER_MS
        && a.assets.keys().any(|k| b.assets.contains_key(k))
        && distance_km(a.lat, a.lng, b.lat, b.lng) <= CLUSTER_KM
}

fn root(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// The incidents to open and extend for the clusters that `members` (a batch's threats and
/// the stored threats around them, each once) form. Deterministic: the same members in any
/// order give the same decisions.
pub fn decide(members: &[Member]) -> Vec<Decision> {
    let mut order: Vec<usize> = (0..members.len()).collect();
    order.sort_by(|&a, &b| members[a].id.cmp(&members[b].id));
    let mut parent: Vec<usize> = (0..members.len()).collect();
    let mut cells: HashMap<(i64, &str, i64), Vec<usize>> = HashMap::new();
    for &i in &order {
        let m = &members[i];
        let Some(fam) = family(&m.category) else {
            continue;
        };
        for c in GRID.near(m.lat, m.lng, CLUSTER_KM) {
            for &j in cells.get(&(m.tenant, fam, c)).into_iter().flatten() {
                // Already joined (through another threat): the union would change nothing,
                // so the costlier test is skipped. Where thousands of threats share a place
                // (a city's centroid) it was made for every pair of them.
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                if a != b && related(m, &members[j]) {
                    parent[a.max(b)] = a.min(b);
                }
            }
        }
        cells
            .entry((m.tenant, fam, GRID.cell(m.lat, m.lng)))
            .or_default()
            .push(i);
    }
    let mut clusters: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &i in &order {
        let r = root(&mut parent, i);
        clusters.entry(r).or_default().push(i);
    }
    let mut out = Vec::new();
    for group in clusters.values() {
        if group.len() < 2 || !group.iter().any(|&i| members[i].fresh) {
            continue;
        }
        let free: Vec<&Member> = group
            .iter()
            .map(|&i| &members[i])
            .filter(|m| !m.held)
            .collect();
        let tenant = members[group[0]].tenant;
        let open: BTreeSet<&str> = group
            .iter()
            .filter_map(|&i| members[i].open_incident.as_deref())
            .collect();
        if let Some(incident) = open.first() {
            if !free.is_empty() {
                out.push(Decision::Extend {
                    tenant,
                    incident_id: incident.to_string(),
                    threat_ids: free.iter().map(|m| m.id.clone()).collect(),
                });
            }
        } else if free.len() >= 2 {
            out.push(Decision::Open {
                tenant,
                title: title(&free),
                threat_ids: free.iter().map(|m| m.id.clone()).collect(),
            });
        }
    }
    out
}

/// "Natural hazards near Hualien office": the family, and the asset most of the threats
/// affect (ties: the name first in order).
fn title(threats: &[&Member]) -> String {
    let fam = family(&threats[0].category).unwrap_or("security");
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for m in threats {
        for name in m.assets.values() {
            *counts.entry(name.as_str()).or_default() += 1;
        }
    }
    let best = counts
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(name, _)| *name);
    match best {
        Some(name) => format!("{} near {name}", label(fam)),
        None => label(fam).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    fn m(id: &str, category: &str, lat: f64, lng: f64, hours: i64, assets: &[&str]) -> Member {
        Member {
            id: id.into(),
            tenant: 1,
            category: category.into(),
            lat,
            lng,
            observed_at: hours * H,
            assets: assets
                .iter()
                .map(|a| (a.to_string(), format!("{a} office")))
                .collect(),
            fresh: true,
            open_incident: None,
            held: false,
        }
    }

    fn ids(d: &Decision) -> Vec<&str> {
        match d {
            Decision::Open { threat_ids, .. } | Decision::Extend { threat_ids, .. } => {
                threat_ids.iter().map(String::as_str).collect()
            }
        }
    }

    #[test]
    fn families_follow_the_contract() {
        assert_eq!(family("geological"), family("weather"));
        assert_eq!(family("civil_unrest"), family("terrorism"));
        assert_ne!(family("transport"), family("weather"));
        assert_eq!(family("cyber_attack"), Some("cyber"));
        assert_eq!(family("other"), None);
        for fam in ["security", "natural", "infrastructure", "health", "cyber"] {
            assert!(categories(fam).iter().all(|c| family(c) == Some(fam)));
        }
    }

    #[test]
    fn related_threats_open_one_incident() {
        let got = decide(&[
            m("a", "geological", 24.04, 121.72, 0, &["hq"]),
            m("b", "weather", 24.10, 121.76, 50, &["hq", "depot"]),
            m("c", "geological", 24.05, 121.74, 10, &["hq"]),
        ]);
        assert_eq!(got.len(), 1, "{got:?}");
        match &got[0] {
            Decision::Open { title, tenant, .. } => {
                assert_eq!(title, "Natural hazards near hq office");
                assert_eq!(*tenant, 1);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(ids(&got[0]), ["a", "b", "c"]);
    }

    #[test]
    fn each_condition_keeps_threats_apart() {
        let base = m("a", "civil_unrest", 6.45, 3.39, 0, &["hq"]);
        let apart = [
            // another family
            m("b", "weather", 6.45, 3.39, 1, &["hq"]),
            // 73 h later
            m("b", "terrorism", 6.45, 3.39, 73, &["hq"]),
            // about 28 km away
            m("b", "terrorism", 6.70, 3.39, 1, &["hq"]),
            // no shared asset
            m("b", "terrorism", 6.45, 3.39, 1, &["depot"]),
            // another tenant
            Member {
                tenant: 2,
                ..m("b", "terrorism", 6.45, 3.39, 1, &["hq"])
            },
        ];
        for other in apart {
            assert_eq!(decide(&[base.clone(), other.clone()]), vec![], "{other:?}");
        }
        let together = m("b", "terrorism", 6.60, 3.39, 72, &["depot", "hq"]);
        assert_eq!(decide(&[base, together]).len(), 1);
    }

    #[test]
    fn chains_join_through_a_middle_threat() {
        // a and c are 40 km apart; b is within 25 km of each.
        let got = decide(&[
            m("a", "geological", 0.0, 0.0, 0, &["hq"]),
            m("c", "geological", 0.36, 0.0, 0, &["hq"]),
            m("b", "geological", 0.18, 0.0, 0, &["hq"]),
        ]);
        assert_eq!(got.len(), 1);
        assert_eq!(ids(&got[0]), ["a", "b", "c"]);
    }

    #[test]
    fn an_open_incident_is_extended_and_never_duplicated() {
        let held = |id: &str, incident: &str| Member {
            open_incident: Some(incident.into()),
            held: true,
            fresh: false,
            ..m(id, "geological", 24.04, 121.72, 0, &["hq"])
        };
        // Re-evaluating the same threats: all held, nothing to do.
        let again = [
            Member {
                fresh: true,
                ..held("a", "inc-1")
            },
            held("b", "inc-1"),
        ];
        assert_eq!(decide(&again), vec![]);
        // A new threat joins: the oldest open incident takes it.
        let got = decide(&[
            held("a", "inc-2"),
            held("b", "inc-1"),
            m("c", "geological", 24.05, 121.73, 5, &["hq"]),
        ]);
        assert_eq!(
            got,
            vec![Decision::Extend {
                tenant: 1,
                incident_id: "inc-1".into(),
                threat_ids: vec!["c".into()]
            }]
        );
    }

    #[test]
    fn a_closed_incident_keeps_its_threats_and_a_lone_newcomer_opens_nothing() {
        let closed = |id: &str| Member {
            held: true,
            fresh: false,
            ..m(id, "geological", 24.04, 121.72, 0, &["hq"])
        };
        let one = m("c", "geological", 24.05, 121.73, 5, &["hq"]);
        assert_eq!(decide(&[closed("a"), closed("b"), one.clone()]), vec![]);
        let two = m("d", "geological", 24.05, 121.74, 6, &["hq"]);
        let got = decide(&[closed("a"), closed("b"), one, two]);
        assert_eq!(got.len(), 1);
        assert_eq!(ids(&got[0]), ["c", "d"]);
    }

    #[test]
    fn clusters_without_a_fresh_threat_are_left_alone() {
        let old = |id: &str| Member {
            fresh: false,
            ..m(id, "geological", 24.04, 121.72, 0, &["hq"])
        };
        assert_eq!(decide(&[old("a"), old("b")]), vec![]);
    }
}
