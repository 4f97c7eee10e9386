//! Threat links of incidents and the activity they leave: linking (idempotent), unlinking,
//! and the reads of both.

use std::collections::HashSet;

use picket_core::db::bulk::insert_owned_rows;
use picket_core::db::table::TenantTable;
use picket_core::db::{DbResult, Tx};
use picket_core::identity::TenantId;
use sea_query::{Cond, Expr, JoinType, Order, Value};

use super::{IncidentActivity, IncidentThreats, Incidents};
use crate::threats::store::LOOKUP_CHUNK;

/// A link between an incident and a threat.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkRow {
    pub id: String,
    pub incident_id: String,
    pub threat_id: String,
    pub added_at: i64,
}

/// A stored timeline item: `threat_linked` or `threat_unlinked`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActivityRow {
    pub kind: String,
    pub at: i64,
    pub threat_id: String,
    pub link_id: String,
}

const LINK_COLUMNS: [IncidentThreats; 4] = [
    IncidentThreats::Id,
    IncidentThreats::IncidentId,
    IncidentThreats::ThreatId,
    IncidentThreats::AddedAt,
];

/// The links of the given incidents, oldest first (then by link id).
pub async fn links_of(
    tx: &mut Tx,
    tenant: TenantId,
    incident_ids: &[String],
) -> DbResult<Vec<LinkRow>> {
    let mut out = Vec::new();
    for chunk in incident_ids.chunks(LOOKUP_CHUNK) {
        let q = IncidentThreats::select(tenant)
            .columns(LINK_COLUMNS)
            .and_where(Expr::col(IncidentThreats::IncidentId).is_in(chunk.iter().cloned()))
            .order_by(IncidentThreats::AddedAt, Order::Asc)
            .order_by(IncidentThreats::Id, Order::Asc)
            .to_owned();
        out.extend(tx.fetch_all::<LinkRow>(&q).await?);
    }
    Ok(out)
}

/// Links `threat_ids` (the tenant's, checked by the caller) to an incident; threats already
/// linked stay as they are. Returns the new links; each leaves a `threat_linked` item.
pub async fn link(
    tx: &mut Tx,
    tenant: TenantId,
    incident_id: &str,
    threat_ids: &[String],
    now: i64,
) -> DbResult<Vec<LinkRow>> {
    link_each(
        tx,
        tenant,
        &[(incident_id.to_string(), threat_ids.to_vec())],
        now,
    )
    .await
}

/// [`link`] for several incidents at once (the engine's clustering links a batch's threats to
/// many incidents): one read of their links, one insert of the new ones and one of their
/// timeline items, whatever their number.
pub async fn link_each(
    tx: &mut Tx,
    tenant: TenantId,
    wanted: &[(String, Vec<String>)],
    now: i64,
) -> DbResult<Vec<LinkRow>> {
    // What is linked already, read by the threats to link rather than by the incidents, whose
    // links grow with them.
    let threat_ids: Vec<String> = wanted
        .iter()
        .flat_map(|(_, t)| t.iter().cloned())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut linked: HashSet<(String, String)> = HashSet::new();
    for chunk in threat_ids.chunks(LOOKUP_CHUNK) {
        let q = IncidentThreats::select(tenant)
            .columns(LINK_COLUMNS)
            .and_where(Expr::col(IncidentThreats::ThreatId).is_in(chunk.iter().cloned()))
            .to_owned();
        for l in tx.fetch_all::<LinkRow>(&q).await? {
            linked.insert((l.incident_id, l.threat_id));
        }
    }
    let mut new = Vec::new();
    for (incident_id, threat_ids) in wanted {
        for t in threat_ids {
            if linked.insert((incident_id.clone(), t.clone())) {
                new.push(LinkRow {
                    id: uuid::Uuid::now_v7().to_string(),
                    incident_id: incident_id.clone(),
                    threat_id: t.clone(),
                    added_at: now,
                });
            }
        }
    }
    if new.is_empty() {
        return Ok(new);
    }
    // Rows built before the statement: an iterator held across the await would keep the
    // future from being `Send` for every lifetime.
    let rows: Vec<Vec<Value>> = new
        .iter()
        .map(|l| {
            vec![
                l.id.clone().into(),
                l.incident_id.clone().into(),
                l.threat_id.clone().into(),
                l.added_at.into(),
            ]
        })
        .collect();
    insert_owned_rows(
        tx,
        tenant,
        &IncidentThreats::DECLARED,
        &["id", "incident_id", "threat_id", "added_at"],
        rows,
    )
    .await?;
    record(tx, tenant, "threat_linked", &new, now).await?;
    Ok(new)
}

/// Unlinks a threat from an incident, leaving a `threat_unlinked` item; `None` when it was not
/// linked.
pub async fn unlink(
    tx: &mut Tx,
    tenant: TenantId,
    incident_id: &str,
    threat_id: &str,
    now: i64,
) -> DbResult<Option<LinkRow>> {
    let q = IncidentThreats::select(tenant)
        .columns(LINK_COLUMNS)
        .and_where(Expr::col(IncidentThreats::IncidentId).eq(incident_id))
        .and_where(Expr::col(IncidentThreats::ThreatId).eq(threat_id))
        .to_owned();
    let Some(found) = tx.fetch_optional::<LinkRow>(&q).await? else {
        return Ok(None);
    };
    let q = IncidentThreats::delete(tenant)
        .and_where(Expr::col(IncidentThreats::Id).eq(found.id.clone()))
        .to_owned();
    tx.execute(&q).await?;
    record(
        tx,
        tenant,
        "threat_unlinked",
        std::slice::from_ref(&found),
        now,
    )
    .await?;
    Ok(Some(found))
}

async fn record(
    tx: &mut Tx,
    tenant: TenantId,
    kind: &str,
    links: &[LinkRow],
    at: i64,
) -> DbResult<()> {
    let rows: Vec<Vec<Value>> = links
        .iter()
        .map(|l| {
            vec![
                l.incident_id.clone().into(),
                kind.into(),
                at.into(),
                l.threat_id.clone().into(),
                l.id.clone().into(),
            ]
        })
        .collect();
    insert_owned_rows(
        tx,
        tenant,
        &IncidentActivity::DECLARED,
        &["incident_id", "kind", "at", "threat_id", "link_id"],
        rows,
    )
    .await
    .map(|_| ())
}

/// The stored link and unlink items of an incident, oldest first.
pub async fn activity(
    tx: &mut Tx,
    tenant: TenantId,
    incident_id: &str,
) -> DbResult<Vec<ActivityRow>> {
    let q = IncidentActivity::select(tenant)
        .columns([
            IncidentActivity::Kind,
            IncidentActivity::At,
            IncidentActivity::ThreatId,
            IncidentActivity::LinkId,
        ])
        .and_where(Expr::col(IncidentActivity::IncidentId).eq(incident_id))
        .order_by(IncidentActivity::At, Order::Asc)
        .order_by(IncidentActivity::Id, Order::Asc)
        .to_owned();
    tx.fetch_all(&q).await
}

/// A threat's link to an `aggregate` incident, with that incident's status.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AggregateLink {
    pub threat_id: String,
    pub incident_id: String,
    pub status: String,
}

/// The links of the given threats to the tenant's `aggregate` incidents (analysts'
/// `investigation` incidents are left out: the engine never touches them).
pub async fn aggregate_links(
    tx: &mut Tx,
    tenant: TenantId,
    threat_ids: &[String],
) -> DbResult<Vec<AggregateLink>> {
    let mut out = Vec::new();
    for chunk in threat_ids.chunks(LOOKUP_CHUNK) {
        let mut q = IncidentThreats::select(tenant);
        q.column(IncidentThreats::col(IncidentThreats::ThreatId))
            .column(IncidentThreats::col(IncidentThreats::IncidentId))
            .column(Incidents::col(Incidents::Status))
            .and_where(
                Expr::col(IncidentThreats::col(IncidentThreats::ThreatId))
                    .is_in(chunk.iter().cloned()),
            );
        Incidents::join(
            &mut q,
            JoinType::InnerJoin,
            tenant,
            Cond::all()
                .add(
                    Expr::col(Incidents::col(Incidents::Id))
                        .equals(IncidentThreats::col(IncidentThreats::IncidentId)),
                )
                .add(Expr::col(Incidents::col(Incidents::Scope)).eq("aggregate")),
        );
        out.extend(tx.fetch_all::<AggregateLink>(&q).await?);
    }
    Ok(out)
}
