//! Alerts of a batch: Suricata's signature alerts and anomalies as network alerts, then every
//! alert the batch found (those, `new_device`, `new_service` and the detections') stored with
//! the batch, pending captures attached, and a notice for each to delivery
//! (`network_alert.created` / `server_alert.created`, with the alert as the API answers it).
//!
//! | EVE event | `type` | `level` | `subject` | `message` |
//! |---|---|---|---|---|
//! | `alert` | `ids` | severity 1 → 30, 2 → 20, 3 and above → 10 | the signature | category, app protocol, flow id, signature id |
//! | `anomaly` | `anomaly` | 10 | `<type> anomaly: <event>` | layer, app protocol, flow id |

use std::collections::BTreeMap;

use picket_core::db::{DbResult, Tx};
use picket_core::identity::{AgentPrincipal, TenantId};
use picket_core::AppState;
use picket_netmon::alerts::network::{described, flow_alerts};
use picket_netmon::alerts::server::wire::ServerAlert;
use picket_netmon::alerts::{
    insert_network_alerts, insert_pcap, insert_server_alerts, NewNetworkAlert, NewServerAlert,
};
use picket_netmon::clock;
use picket_notify::{Direct, EventType, Notice, Summary};

use super::store;
use crate::record::{IdsAlert, Record};

/// The level of a Suricata severity (1 is the most severe); none given counts as low.
pub fn level_of(severity: Option<u8>) -> i64 {
    match severity {
        Some(1) => 30,
        Some(2) => 20,
        _ => 10,
    }
}

fn ids_alert(a: &IdsAlert, agent: &AgentPrincipal) -> NewNetworkAlert {
    let ip = |ip: Option<std::net::IpAddr>| ip.map(|i| i.to_string()).unwrap_or_default();
    let mut about = Vec::new();
    let (kind, level, subject) = if a.anomaly {
        if !a.category.is_empty() {
            about.push(format!("layer: {}", a.category));
        }
        ("anomaly", 10, a.signature.clone())
    } else {
        if !a.category.is_empty() {
            about.push(format!("category: {}", a.category));
        }
        let subject = if a.signature.is_empty() {
            a.signature_id.map_or("Suricata alert".to_string(), |s| {
                format!("Suricata signature {s}")
            })
        } else {
            a.signature.clone()
        };
        ("ids", level_of(a.severity), subject)
    };
    if !a.app_proto.is_empty() {
        about.push(format!("app_proto: {}", a.app_proto));
    }
    about.push(format!("proto: {}", a.at.proto.as_str()));
    if let Some(f) = a.flow_id {
        about.push(format!("flow_id: {f}"));
    }
    if let Some(sid) = a.signature_id {
        about.push(format!("signature_id: {sid}"));
    }
    NewNetworkAlert {
        ts: a.ts,
        agent: agent.agent.clone(),
        agent_name: agent.name.clone(),
        src_mac: a.at.src_mac.clone().unwrap_or_default(),
        dst_mac: a.at.dst_mac.clone().unwrap_or_default(),
        src_ip: ip(a.at.src_ip),
        dst_ip: ip(a.at.dst_ip),
        src_port: i64::from(a.at.src_port),
        dst_port: i64::from(a.at.dst_port),
        level,
        kind: kind.into(),
        subject,
        message: about.join("; "),
        flow_id: a.flow_id,
    }
}

/// The network alerts the sensor itself raised in `records`.
pub fn sensor_alerts(records: &[Record], agent: &AgentPrincipal) -> Vec<NewNetworkAlert> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Alert(a) => Some(ids_alert(a, agent)),
            _ => None,
        })
        .collect()
}

/// What one batch stored: each alert's id and type.
#[derive(Debug, Default)]
pub struct Stored {
    pub network: Vec<(i64, String)>,
    pub server: Vec<(i64, String)>,
}

fn level_name(level: i64) -> &'static str {
    match level {
        l if l >= 30 => "high",
        l if l >= 20 => "medium",
        _ => "low",
    }
}

/// Stores the batch's alerts, attaches captures that were waiting for them, and queues their
/// notices, all in the batch's transaction.
pub async fn store(
    tx: &mut Tx,
    state: &AppState,
    agent: &AgentPrincipal,
    network: &[NewNetworkAlert],
    server: &[NewServerAlert],
    now: i64,
) -> DbResult<Stored> {
    let tenant = agent.tenant_id;
    let mut stored = Stored::default();
    let inserted = match network.is_empty() {
        true => Vec::new(),
        false => insert_network_alerts(tx, tenant, network).await?,
    };
    let servers = match server.is_empty() {
        true => Vec::new(),
        false => insert_server_alerts(tx, tenant, server).await?,
    };
    stored.network = inserted.iter().map(|a| (a.id, a.kind.clone())).collect();
    stored.server = servers.iter().map(|a| (a.id, a.kind.clone())).collect();
    // Each flow's first alert of the batch.
    let mut flows: BTreeMap<i64, i64> = BTreeMap::new();
    for a in &inserted {
        if let Some(f) = a.flow_id {
            let first = flows.entry(f).or_insert(a.id);
            *first = (*first).min(a.id);
        }
    }
    if !flows.is_empty() {
        let ids: Vec<i64> = flows.keys().copied().collect();
        let agent_hash = agent.agent.to_lowercase();
        // A capture waited only while its flow had no alert: this batch's first one takes it.
        for p in store::take_pending(tx, tenant, &agent_hash, &ids).await? {
            if let Some(alert) = flows.get(&p.flow_id) {
                insert_pcap(tx, tenant, *alert, &p.data).await?;
            }
        }
    }
    if inserted.is_empty() && servers.is_empty() {
        return Ok(stored);
    }
    // Only alerts some webhook would take are described (the rest cost nothing more);
    // `enqueue` applies each webhook's own filter.
    let (net_min, server_min) = listening(tx, tenant).await?;
    let mut notices = Vec::new();
    let mut ids: Vec<i64> = match net_min {
        None => Vec::new(),
        Some(min) => inserted
            .iter()
            .filter(|a| a.level >= min)
            .map(|a| a.id)
            .collect(),
    };
    ids.sort_unstable();
    for a in described(tx, tenant, &ids, state.tz).await? {
        let location = [&a.dst_network_name, &a.src_network_name]
            .into_iter()
            .find(|n| !n.is_empty())
            .cloned();
        notices.push(Notice {
            tenant,
            event_type: EventType::NetworkAlertCreated,
            subject: a.id.to_string(),
            level: Some(a.level),
            summary: Summary {
                title: format!("{} ({})", a.subject, a.kind),
                severity: level_name(a.level).into(),
                location,
                assets: [&a.src_ip, &a.dst_ip]
                    .into_iter()
                    .filter(|ip| !ip.is_empty())
                    .cloned()
                    .collect(),
                link: Some(format!("/api/v1/networkalerts/{}", a.id)),
            },
            payload: serde_json::to_value(&a).unwrap_or_default(),
            direct: Direct::default(),
        });
    }
    let mut servers = servers;
    servers.sort_unstable_by_key(|a| a.id);
    for a in servers {
        if server_min.is_none_or(|min| a.level < min) {
            continue;
        }
        let (id, level) = (a.id, a.level);
        let wire = ServerAlert {
            id,
            timestamp: clock::format(a.ts, state.tz),
            agent: a.agent,
            agent_name: a.agent_name,
            hostname: a.hostname,
            level,
            kind: a.kind,
            title: a.title,
            line: a.line,
        };
        notices.push(Notice {
            tenant,
            event_type: EventType::ServerAlertCreated,
            subject: id.to_string(),
            level: Some(level),
            summary: Summary {
                title: format!("{} ({})", wire.title, wire.kind),
                severity: level_name(level).into(),
                location: (!wire.hostname.is_empty()).then(|| wire.hostname.clone()),
                assets: Vec::new(),
                link: Some(format!("/api/v1/serveralerts/{id}")),
            },
            payload: serde_json::to_value(&wire).unwrap_or_default(),
            direct: Direct::default(),
        });
    }
    if !notices.is_empty() {
        picket_notify::enqueue(tx, &notices, now).await?;
    }
    Ok(stored)
}

/// The lowest level any enabled webhook of the tenant takes network and server alerts at;
/// `None` when no webhook takes them.
async fn listening(tx: &mut Tx, tenant: TenantId) -> DbResult<(Option<i64>, Option<i64>)> {
    let mut net: Option<i64> = None;
    let mut server: Option<i64> = None;
    for hook in picket_notify::webhooks::enabled_tx(tx, tenant).await? {
        let min = hook.min_level.unwrap_or(i64::MIN);
        for t in hook.event_types() {
            let slot = if t == EventType::NetworkAlertCreated.as_str() {
                &mut net
            } else if t == EventType::ServerAlertCreated.as_str() {
                &mut server
            } else {
                continue;
            };
            *slot = Some(slot.map_or(min, |m| m.min(min)));
        }
    }
    Ok((net, server))
}

/// Attaches an uploaded capture to the first of `agent`'s alerts of `flow_id` (a flow often
/// raises many alerts; its capture is stored once); with no such alert yet, keeps it until one
/// arrives. A flow that has its capture already keeps it (a retried upload changes nothing).
/// Answers the alert it was attached to, and whether it was kept waiting.
pub async fn attach_capture(
    tx: &mut Tx,
    state: &AppState,
    agent: &AgentPrincipal,
    flow_id: i64,
    data: &[u8],
    now: i64,
) -> DbResult<(Vec<i64>, bool)> {
    let tenant = agent.tenant_id;
    let agent_hash = agent.agent.to_lowercase();
    let alerts = flow_alerts(tx, tenant, &agent_hash, &[flow_id]).await?;
    let mut attached = Vec::new();
    if let (Some(first), false) = (alerts.first(), alerts.iter().any(|a| a.has_pcap)) {
        insert_pcap(tx, tenant, first.id, data).await?;
        attached.push(first.id);
    }
    let pending = alerts.is_empty();
    if pending {
        let days = state.config.retention.captures_days;
        let max_age = (days > 0).then(|| i64::from(days) * 24 * 3600 * 1000);
        store::keep_pending(tx, tenant, &agent_hash, flow_id, data, now, max_age).await?;
    }
    Ok((attached, pending))
}
