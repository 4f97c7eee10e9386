//! The pure core of alerting (§6.4): whether a rule matches a threat, whether a match is muted,
//! and the texts of the alert it makes. Plain data in, decisions out; no I/O.

use picket_corpus::taxonomy::Severity;

use super::wire::AlertType;

const HOUR_MS: f64 = 3_600_000.0;

/// The filters of a rule, as matching reads them.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleFilter {
    pub enabled: bool,
    pub severities: Vec<Severity>,
    /// Asset server ids or client `asset_id`s; `None` = any asset.
    pub asset_keys: Option<Vec<String>>,
    pub threat_types: Option<Vec<String>>,
    pub max_distance_km: Option<f64>,
    pub mute_interval_hours: f64,
}

/// An asset a threat affects.
#[derive(Debug, Clone, PartialEq)]
pub struct Affected<'a> {
    pub uuid: &'a str,
    pub asset_id: &'a str,
    pub name: &'a str,
    pub distance_km: f64,
}

/// The facts of a threat that rules read.
#[derive(Debug, Clone)]
pub struct ThreatFacts<'a> {
    pub severity: Severity,
    pub threat_type: &'a str,
    pub affected: &'a [Affected<'a>],
}

/// A rule's match: the affected assets that passed its filters, nearest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Matched {
    /// Indexes into the threat's `affected`.
    pub assets: Vec<usize>,
    pub min_distance_km: Option<f64>,
    pub max_distance_km: Option<f64>,
}

/// Whether `rule` matches the threat: enabled, the severity listed, the threat type listed,
/// and at least one affected asset both listed and within the distance cap. `None` filters do
/// not restrict.
pub fn matches(rule: &RuleFilter, t: &ThreatFacts<'_>) -> Option<Matched> {
    if !rule.enabled || !rule.severities.contains(&t.severity) {
        return None;
    }
    if let Some(types) = &rule.threat_types {
        if !types.iter().any(|x| x == t.threat_type) {
            return None;
        }
    }
    let assets: Vec<usize> = t
        .affected
        .iter()
        .enumerate()
        .filter(|(_, a)| {
            rule.asset_keys.as_ref().is_none_or(|keys| {
                keys.iter()
                    .any(|k| k.as_str() == a.uuid || k.as_str() == a.asset_id)
            })
        })
        .filter(|(_, a)| rule.max_distance_km.is_none_or(|max| a.distance_km <= max))
        .map(|(i, _)| i)
        .collect();
    // A threat always affects an asset; one with none (never written so) passes only rules
    // that name no asset and no distance.
    if assets.is_empty() && (rule.asset_keys.is_some() || rule.max_distance_km.is_some()) {
        return None;
    }
    let distances = assets.iter().map(|&i| t.affected[i].distance_km);
    let min = distances.clone().reduce(f64::min);
    let max = distances.reduce(f64::max);
    Some(Matched {
        assets,
        min_distance_km: min,
        max_distance_km: max,
    })
}

/// Whether the rule's last alert for the threat (at `last_alert_at`) mutes a new one at `now`:
/// the same rule does not alert again for the same threat within its mute interval.
pub fn muted(mute_interval_hours: f64, last_alert_at: Option<i64>, now: i64) -> bool {
    match last_alert_at {
        None => false,
        Some(at) => ((now - at) as f64) < mute_interval_hours.max(0.0) * HOUR_MS,
    }
}

/// The alert type of a threat's change: created, escalated (severity rose) or updated.
pub fn alert_type(created: bool, before: Option<Severity>, now: Severity) -> AlertType {
    match (created, before) {
        (true, _) => AlertType::ThreatCreated,
        // `Severity` orders most severe first.
        (false, Some(b)) if now < b => AlertType::ThreatEscalated,
        _ => AlertType::ThreatUpdated,
    }
}

/// The alert's title: what happened to which threat.
pub fn title(kind: AlertType, severity: Severity, threat_title: &str) -> String {
    let what = match kind {
        AlertType::ThreatCreated => "New",
        AlertType::ThreatUpdated => "Updated",
        AlertType::ThreatEscalated => "Escalated",
    };
    format!("{what} {} threat: {threat_title}", severity.as_str())
}

/// The alert's message: the rule that matched and the assets it matched on, nearest first.
pub fn message(
    kind: AlertType,
    rule_title: &str,
    t: &ThreatFacts<'_>,
    matched: &Matched,
) -> String {
    let mut text = match kind {
        AlertType::ThreatEscalated => format!(
            "Rule \"{rule_title}\": a {} threat escalated to {}",
            t.threat_type,
            t.severity.as_str()
        ),
        _ => format!(
            "Rule \"{rule_title}\": {} {} threat",
            t.severity.as_str(),
            t.threat_type
        ),
    };
    let near: Vec<String> = matched
        .assets
        .iter()
        .map(|&i| {
            let a = &t.affected[i];
            format!("{} ({:.1} km)", a.name, a.distance_km)
        })
        .collect();
    if !near.is_empty() {
        text.push_str(" near ");
        text.push_str(&near.join(", "));
    }
    text.push('.');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> RuleFilter {
        RuleFilter {
            enabled: true,
            severities: vec![Severity::Critical, Severity::High],
            asset_keys: None,
            threat_types: None,
            max_distance_km: None,
            mute_interval_hours: 6.0,
        }
    }

    const ASSETS: [Affected<'static>; 2] = [
        Affected {
            uuid: "u-hq",
            asset_id: "hq",
            name: "HQ",
            distance_km: 2.0,
        },
        Affected {
            uuid: "u-home",
            asset_id: "home",
            name: "Home",
            distance_km: 8.0,
        },
    ];

    fn threat(severity: Severity) -> ThreatFacts<'static> {
        ThreatFacts {
            severity,
            threat_type: "civil_unrest",
            affected: &ASSETS,
        }
    }

    #[test]
    fn severity_must_be_listed_exactly() {
        assert!(matches(&rule(), &threat(Severity::High)).is_some());
        assert!(matches(&rule(), &threat(Severity::Critical)).is_some());
        // A list of exact severities, not a minimum.
        let only_medium = RuleFilter {
            severities: vec![Severity::Medium],
            ..rule()
        };
        assert!(matches(&only_medium, &threat(Severity::Critical)).is_none());
        assert!(matches(&rule(), &threat(Severity::Low)).is_none());
    }

    #[test]
    fn disabled_rules_never_match() {
        let off = RuleFilter {
            enabled: false,
            ..rule()
        };
        assert!(matches(&off, &threat(Severity::Critical)).is_none());
    }

    #[test]
    fn null_filters_do_not_restrict_and_lists_do() {
        let m = matches(&rule(), &threat(Severity::High)).unwrap();
        assert_eq!(m.assets, [0, 1]);
        assert_eq!(
            (m.min_distance_km, m.max_distance_km),
            (Some(2.0), Some(8.0))
        );

        let types = RuleFilter {
            threat_types: Some(vec!["weather".into()]),
            ..rule()
        };
        assert!(matches(&types, &threat(Severity::High)).is_none());
        let types = RuleFilter {
            threat_types: Some(vec!["weather".into(), "civil_unrest".into()]),
            ..rule()
        };
        assert!(matches(&types, &threat(Severity::High)).is_some());
    }

    #[test]
    fn assets_match_by_server_or_client_id_and_within_the_distance() {
        let by_uuid = RuleFilter {
            asset_keys: Some(vec!["u-home".into()]),
            ..rule()
        };
        assert_eq!(
            matches(&by_uuid, &threat(Severity::High)).unwrap().assets,
            [1]
        );
        let by_key = RuleFilter {
            asset_keys: Some(vec!["hq".into()]),
            ..rule()
        };
        let m = matches(&by_key, &threat(Severity::High)).unwrap();
        assert_eq!((m.assets.clone(), m.min_distance_km), (vec![0], Some(2.0)));
        let elsewhere = RuleFilter {
            asset_keys: Some(vec!["abuja".into()]),
            ..rule()
        };
        assert!(matches(&elsewhere, &threat(Severity::High)).is_none());

        let near = RuleFilter {
            max_distance_km: Some(5.0),
            ..rule()
        };
        let m = matches(&near, &threat(Severity::High)).unwrap();
        assert_eq!((m.assets.clone(), m.max_distance_km), (vec![0], Some(2.0)));
        // The listed asset must itself be within the cap.
        let home_near = RuleFilter {
            asset_keys: Some(vec!["home".into()]),
            max_distance_km: Some(5.0),
            ..rule()
        };
        assert!(matches(&home_near, &threat(Severity::High)).is_none());
    }

    #[test]
    fn muting_holds_for_the_interval_only() {
        let h = HOUR_MS as i64;
        assert!(!muted(6.0, None, 0));
        assert!(muted(6.0, Some(0), 5 * h));
        assert!(!muted(6.0, Some(0), 6 * h));
        assert!(!muted(0.0, Some(0), 0));
        assert!(!muted(-1.0, Some(0), 1));
    }

    #[test]
    fn escalation_is_a_rise_in_severity() {
        use AlertType::*;
        assert_eq!(alert_type(true, None, Severity::High), ThreatCreated);
        assert_eq!(
            alert_type(false, Some(Severity::Medium), Severity::High),
            ThreatEscalated
        );
        assert_eq!(
            alert_type(false, Some(Severity::Critical), Severity::High),
            ThreatUpdated
        );
        assert_eq!(alert_type(false, None, Severity::High), ThreatUpdated);
    }

    #[test]
    fn texts_name_the_rule_the_threat_and_the_assets() {
        let t = threat(Severity::High);
        let m = matches(&rule(), &t).unwrap();
        assert_eq!(
            title(AlertType::ThreatEscalated, Severity::High, "Protest"),
            "Escalated high threat: Protest"
        );
        assert_eq!(
            message(AlertType::ThreatCreated, "Lagos", &t, &m),
            "Rule \"Lagos\": high civil_unrest threat near HQ (2.0 km), Home (8.0 km)."
        );
    }
}
