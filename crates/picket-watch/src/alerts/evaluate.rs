//! Rule evaluation around the pure [`super::matching`]: inside the engine's batches (threats
//! created or materially updated), and the backfill job that re-evaluates a tenant's active
//! threats after its rule set changes.

use std::collections::{BTreeSet, HashMap};

use picket_core::db::{Db, DbResult, Tx};
use picket_core::identity::TenantId;
use picket_corpus::taxonomy::Severity;

use super::matching::{self, Affected, RuleFilter, ThreatFacts};
use super::store::{self, AlertRow, RuleRow};
use super::wire::{Alert, AlertState, AlertType, ExternalReceiver, UserReceiverType};
use crate::engine::ThreatDraft;
use crate::threats::store::{self as threats, Filter, Sort, ThreatAssetRow};
use crate::threats::writer::Written;

/// Active threats read and matched at a time by the backfill.
const BACKFILL_PAGE: u64 = 1_000;

/// An alert just written, with what its delivery needs: the rule's channel toggles and
/// receivers, and the alert as the API shows it.
#[derive(Debug, Clone)]
pub struct Fired {
    pub tenant_id: TenantId,
    pub alert: Alert,
    pub email_enabled: bool,
    pub sms_enabled: bool,
    pub slack_enabled: bool,
    pub user_receiver_type: UserReceiverType,
    pub external_receivers: Vec<ExternalReceiver>,
}

impl RuleRow {
    fn filter(&self) -> RuleFilter {
        RuleFilter {
            enabled: self.enabled,
            severities: self.severity_threshold.0.clone(),
            asset_keys: self.asset_ids.as_ref().map(|a| a.0.clone()),
            threat_types: self.threat_types.as_ref().map(|t| t.0.clone()),
            max_distance_km: self.max_distance_km,
            mute_interval_hours: self.mute_interval_hours,
        }
    }
}

/// One threat as evaluation sees it.
struct Candidate<'a> {
    tenant_id: i64,
    threat_id: &'a str,
    title: &'a str,
    category: &'a str,
    facts: ThreatFacts<'a>,
    kind: AlertType,
}

/// The alert of a rule's match, and its hand-off to delivery.
fn fire(
    rule: &RuleRow,
    c: &Candidate<'_>,
    matched: &matching::Matched,
    now: i64,
) -> (AlertRow, Fired) {
    let row = AlertRow {
        id: uuid::Uuid::now_v7().to_string(),
        tenant_id: c.tenant_id,
        threat_id: c.threat_id.to_string(),
        rule_id: rule.rule_id.clone(),
        rule_title: Some(rule.title.clone()),
        threat_title: c.title.to_string(),
        alert_type: c.kind.as_str().into(),
        severity: c.facts.severity.as_str().into(),
        title: matching::title(c.kind, c.facts.severity, c.title),
        message: Some(matching::message(c.kind, &rule.title, &c.facts, matched)),
        threat_type: Some(c.facts.threat_type.to_string()),
        threat_category: Some(c.category.to_string()),
        min_distance_km: matched.min_distance_km.map(round_m),
        max_distance_km: matched.max_distance_km.map(round_m),
        state: AlertState::New.as_str().into(),
        created_at: now,
        updated_at: now,
    };
    let fired = Fired {
        tenant_id: TenantId(c.tenant_id),
        alert: row.to_wire(Vec::new()),
        email_enabled: rule.email_enabled,
        sms_enabled: rule.sms_enabled,
        slack_enabled: rule.slack_enabled,
        user_receiver_type: rule.user_receiver_type.parse().unwrap_or_default(),
        external_receivers: rule.external_receivers.0.clone(),
    };
    (row, fired)
}

/// Kilometres to the metre, as threats show distances.
fn round_m(km: f64) -> f64 {
    (km * 1000.0).round() / 1000.0
}

/// Evaluates the tenants' rules against threats an engine batch has just written (`drafts`
/// and their `written` results, in the same order), inside the batch's transaction: threats
/// created, or updated with a material change (and not dismissed), alert on every enabled rule
/// they match unless the rule alerted on them within its mute interval. A handful of statements per call: the
/// rules of the batch's tenants, the mute state, the previous severities of escalations,
/// and multi-row inserts. Returns the alerts written, for delivery.
pub async fn evaluate(
    tx: &mut Tx,
    drafts: &[ThreatDraft],
    written: &[Written],
    now: i64,
) -> DbResult<Vec<Fired>> {
    let changed: Vec<(&ThreatDraft, &str, Option<&[String]>)> = drafts
        .iter()
        .zip(written)
        .filter_map(|(d, w)| match w {
            Written::Created(id) => Some((d, id.as_str(), None)),
            Written::Updated(id, fields) if !fields.is_empty() => {
                Some((d, id.as_str(), Some(fields.as_slice())))
            }
            Written::Updated(..) => None,
        })
        .collect();
    if changed.is_empty() {
        return Ok(Vec::new());
    }
    let tenants: Vec<i64> = changed
        .iter()
        .map(|(d, ..)| d.tenant_id.0)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let rules = store::enabled_rules_of(tx, &tenants).await?;
    let changed: Vec<_> = changed
        .into_iter()
        .filter(|(d, ..)| rules.contains_key(&d.tenant_id.0))
        .collect();
    if changed.is_empty() {
        return Ok(Vec::new());
    }
    let updated: Vec<String> = changed
        .iter()
        .filter(|(_, _, fields)| fields.is_some())
        .map(|(_, id, _)| id.to_string())
        .collect();
    // An analyst's dismissal stands: a dismissed threat's updates do not alert.
    let dismissed = store::dismissed(tx, &updated).await?;
    let changed: Vec<_> = changed
        .into_iter()
        .filter(|(_, id, _)| !dismissed.contains(*id))
        .collect();
    let last = store::last_alerts(tx, &updated).await?;
    let severity_changed: Vec<String> = changed
        .iter()
        .filter(|(_, _, f)| f.is_some_and(|f| f.iter().any(|x| x == "severity")))
        .map(|(_, id, _)| id.to_string())
        .collect();
    let before = if severity_changed.is_empty() {
        HashMap::new()
    } else {
        store::severities_before(tx, &severity_changed, now).await?
    };

    let mut rows = Vec::new();
    let mut fired = Vec::new();
    for (d, id, fields) in changed {
        let affected: Vec<Affected<'_>> = d
            .affected
            .iter()
            .map(|a| Affected {
                uuid: &a.asset_uuid,
                asset_id: &a.asset_id,
                name: &a.asset_name,
                distance_km: a.distance_km,
            })
            .collect();
        let severity = d.assessment.severity;
        let c = Candidate {
            tenant_id: d.tenant_id.0,
            threat_id: id,
            title: &d.title,
            category: &d.category,
            facts: ThreatFacts {
                severity,
                threat_type: &d.threat_type,
                affected: &affected,
            },
            kind: matching::alert_type(fields.is_none(), before.get(id).copied(), severity),
        };
        for rule in &rules[&c.tenant_id] {
            let Some(m) = matching::matches(&rule.filter(), &c.facts) else {
                continue;
            };
            let key = (c.tenant_id, rule.rule_id.clone(), id.to_string());
            if matching::muted(rule.mute_interval_hours, last.get(&key).copied(), now) {
                continue;
            }
            let (row, f) = fire(rule, &c, &m, now);
            rows.push(row);
            fired.push(f);
        }
    }
    store::insert_alerts(tx, &rows).await?;
    Ok(fired)
}

/// Re-evaluates a tenant's active threats against its rules after the rule set changed, so
/// the alert feed reflects the new rules: each (rule, threat) pair that matches and has never
/// alerted alerts now, as `threat_created` (the rule sees the threat for the first time).
/// Pairs that alerted before wait for a threat update, as muting says. Returns the alerts
/// written, for delivery.
pub async fn backfill(db: &Db, tenant: TenantId, now: i64) -> DbResult<Vec<Fired>> {
    let rules: Vec<RuleRow> = store::rules(&mut db.conn().await?, tenant)
        .await?
        .into_iter()
        .filter(|r| r.enabled)
        .collect();
    if rules.is_empty() {
        return Ok(Vec::new());
    }
    let mut fired = Vec::new();
    let mut offset = 0;
    loop {
        let filter = Filter {
            asset_keys: Vec::new(),
            severities: Vec::new(),
            statuses: vec!["active".into()],
            threat_types: Vec::new(),
            pinned: None,
            observed_from: None,
            observed_to: None,
            limit: BACKFILL_PAGE,
            offset,
            sort: Sort::ObservedAt,
            descending: false,
        };
        // A connection per page, given back before the page's alerts are written.
        let mut conn = db.conn().await?;
        let (page, _) = threats::list(&mut conn, tenant, &filter).await?;
        if page.is_empty() {
            break;
        }
        let ids: Vec<String> = page.iter().map(|t| t.id.clone()).collect();
        let assets = threats::affected_on(&mut conn, tenant, &ids).await?;
        let mut by_threat: HashMap<&str, Vec<&ThreatAssetRow>> = HashMap::new();
        for a in &assets {
            by_threat.entry(a.threat_id.as_str()).or_default().push(a);
        }
        let alerted = store::alerted_pairs(&mut conn, tenant, &ids).await?;
        drop(conn);
        let mut rows = Vec::new();
        for t in &page {
            let affected: Vec<Affected<'_>> = by_threat
                .get(t.id.as_str())
                .map(|v| v.as_slice())
                .unwrap_or_default()
                .iter()
                .map(|a| Affected {
                    uuid: &a.asset_uuid,
                    asset_id: &a.asset_id,
                    name: &a.asset_name,
                    distance_km: a.distance_km,
                })
                .collect();
            let c = Candidate {
                tenant_id: tenant.0,
                threat_id: &t.id,
                title: &t.title,
                category: &t.category,
                facts: ThreatFacts {
                    severity: Severity::parse(&t.severity).unwrap_or(Severity::Negligible),
                    threat_type: &t.threat_type,
                    affected: &affected,
                },
                kind: AlertType::ThreatCreated,
            };
            for rule in &rules {
                if alerted.contains(&(rule.rule_id.clone(), t.id.clone())) {
                    continue;
                }
                if let Some(m) = matching::matches(&rule.filter(), &c.facts) {
                    let (row, f) = fire(rule, &c, &m, now);
                    rows.push(row);
                    fired.push(f);
                }
            }
        }
        if !rows.is_empty() {
            let mut tx = db.begin().await?;
            store::insert_alerts(&mut tx, &rows).await?;
            tx.commit().await?;
        }
        let n = page.len() as u64;
        offset += n;
        if n < BACKFILL_PAGE {
            break;
        }
    }
    Ok(fired)
}
