//! An incident's timeline: its link and unlink items merged with the versions of the threats
//! it links, sorted by `at`. Pure: the handler loads, this merges.

use std::collections::HashMap;

use super::store::{ActivityRow, LinkRow};
use super::wire::{ActivityItem, ActivityKind};
use crate::threats::wire::Version;

/// The timeline of an incident from its stored items, its current links and the versions of
/// the linked threats (as `/v1/threats/{id}/versions` gives them). A linked threat's versions
/// from before its link count only with `include_versions_before_link`. Items are sorted by
/// `at` ascending; at the same instant, link items come before versions.
pub(crate) fn timeline(
    stored: Vec<ActivityRow>,
    links: &[LinkRow],
    mut versions: HashMap<String, Vec<Version>>,
    include_versions_before_link: bool,
) -> Vec<ActivityItem> {
    let mut items: Vec<ActivityItem> = stored
        .into_iter()
        .map(|r| ActivityItem {
            kind: if r.kind == "threat_unlinked" {
                ActivityKind::ThreatUnlinked
            } else {
                ActivityKind::ThreatLinked
            },
            at: r.at,
            threat_id: r.threat_id,
            link_id: r.link_id,
            threat_version: None,
        })
        .collect();
    for link in links {
        for v in versions.remove(&link.threat_id).unwrap_or_default() {
            if include_versions_before_link || v.at >= link.added_at {
                items.push(ActivityItem {
                    kind: ActivityKind::ThreatVersion,
                    at: v.at,
                    threat_id: link.threat_id.clone(),
                    link_id: link.id.clone(),
                    threat_version: Some(v),
                });
            }
        }
    }
    // Stable: stored items (already in order) before versions at the same instant.
    items.sort_by_key(|i| i.at);
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(n: i64, at: i64) -> Version {
        Version {
            version: n,
            at,
            changes: serde_json::json!({}),
            snapshot: serde_json::json!({"n": n}),
        }
    }

    fn stored(kind: &str, at: i64, threat: &str, link: &str) -> ActivityRow {
        ActivityRow {
            kind: kind.into(),
            at,
            threat_id: threat.into(),
            link_id: link.into(),
        }
    }

    #[test]
    fn merges_by_time_and_hides_versions_before_the_link_unless_asked() {
        let links = vec![LinkRow {
            id: "l1".into(),
            incident_id: "i".into(),
            threat_id: "t1".into(),
            added_at: 100,
        }];
        let items = || {
            vec![
                stored("threat_linked", 30, "t0", "l0"),
                stored("threat_unlinked", 60, "t0", "l0"),
                stored("threat_linked", 100, "t1", "l1"),
            ]
        };
        let versions = || {
            HashMap::from([(
                "t1".to_string(),
                vec![version(1, 10), version(2, 100), version(3, 150)],
            )])
        };

        let got = timeline(items(), &links, versions(), false);
        let seen: Vec<(ActivityKind, i64)> = got.iter().map(|i| (i.kind, i.at)).collect();
        assert_eq!(
            seen,
            vec![
                (ActivityKind::ThreatLinked, 30),
                (ActivityKind::ThreatUnlinked, 60),
                (ActivityKind::ThreatLinked, 100),
                (ActivityKind::ThreatVersion, 100),
                (ActivityKind::ThreatVersion, 150),
            ]
        );
        assert_eq!(got[4].link_id, "l1");
        assert_eq!(got[4].threat_version.as_ref().unwrap().version, 3);

        let all = timeline(items(), &links, versions(), true);
        assert_eq!(all.len(), 6);
        assert_eq!((all[0].kind, all[0].at), (ActivityKind::ThreatVersion, 10));
    }

    #[test]
    fn an_unlinked_threat_keeps_its_items_but_not_its_versions() {
        let items = vec![
            stored("threat_linked", 1, "t", "l"),
            stored("threat_unlinked", 2, "t", "l"),
        ];
        let versions = HashMap::from([("t".to_string(), vec![version(1, 1)])]);
        let got = timeline(items, &[], versions, true);
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|i| i.threat_version.is_none()));
    }
}
