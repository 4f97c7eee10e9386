//! The `reports.generate` job: loads what a pending report covers, builds its content and
//! stores it (ready), or records why it could not (failed). A report is generated once;
//! its content never changes afterwards.

use std::collections::HashMap;

use picket_core::identity::TenantId;
use picket_core::AppState;
use picket_report_render::Content;

use super::content::incident::{self, IncidentData};
use super::content::landscape::Landscape;
use super::content::threat::{self, ThreatData};
use super::source::{self, Window};
use super::store::{self, Params, ReportRow};
use crate::assets::store as assets;
use crate::incidents::activity::timeline;
use crate::incidents::store as incidents;
use crate::threats::history;
use crate::threats::store as threats;

/// Why a report could not be made, as its client should read it.
#[derive(Debug)]
pub enum Failure {
    /// What the report covers is gone (deleted since it was asked for).
    Gone(String),
    /// Anything else; logged, and answered with a generic message.
    Internal(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Internal(e.into())
    }
}

/// The job. A failure is recorded on the report and the job itself succeeds: the client asked
/// for one report and reads its outcome there.
pub async fn run(state: &AppState, payload: &serde_json::Value) -> anyhow::Result<()> {
    let id = payload["report_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let Some(report) = store::find(&state.db, &id).await? else {
        anyhow::bail!("report {id} does not exist");
    };
    if report.status != "pending" {
        return Ok(());
    }
    let tenant = TenantId(report.tenant_id);
    // In a task of its own, so that even a panic ends as a failed report, not a pending one.
    let outcome = {
        let (state, report) = (state.clone(), report.clone());
        tokio::spawn(async move { generate(&state, &report).await })
            .await
            .unwrap_or_else(|e| Err(Failure::Internal(anyhow::anyhow!("report task: {e}"))))
    };
    match outcome {
        Ok(content) => {
            store::mark_ready(&state.db, tenant, &id, &content).await?;
            super::schedules::deliver_if_scheduled(state, &report).await;
        }
        Err(Failure::Gone(why)) => store::mark_failed(&state.db, tenant, &id, &why).await?,
        Err(Failure::Internal(e)) => {
            tracing::warn!(report = %id, error = %format!("{e:#}"), "report generation failed");
            store::mark_failed(
                &state.db,
                tenant,
                &id,
                "the report could not be generated; see the server log",
            )
            .await?;
        }
    }
    Ok(())
}

/// The content of `report`, from the tenant's data as it is now.
pub async fn generate(state: &AppState, report: &ReportRow) -> Result<Content, Failure> {
    let tenant = TenantId(report.tenant_id);
    let p = &report.params.0;
    match report.kind.as_str() {
        "threat" => threat_content(state, tenant, p).await,
        "incident" => incident_content(state, tenant, p).await,
        _ => landscape_content(state, tenant, p).await,
    }
}

async fn threat_content(
    state: &AppState,
    tenant: TenantId,
    p: &Params,
) -> Result<Content, Failure> {
    let id = p.threat_id.clone().unwrap_or_default();
    let db = &state.db;
    let Some(row) = threats::get(db, tenant, &id).await? else {
        return Err(Failure::Gone(format!("threat `{id}` no longer exists")));
    };
    let affected = threats::affected(db, tenant, std::slice::from_ref(&id)).await?;
    let mut current = Vec::new();
    for a in &affected {
        if let Some(asset) = assets::find(db, tenant, &a.asset_uuid).await? {
            current.push(asset);
        }
    }
    let mut tx = db.begin().await?;
    let mut versions = history::versions_of(&mut tx, tenant, std::slice::from_ref(&row)).await?;
    tx.commit().await?;
    let developments = threats::developments(db, tenant, &id).await?;
    Ok(threat::build(&ThreatData {
        versions: versions.remove(&row.id).unwrap_or_default(),
        threat: row,
        affected,
        assets: current,
        developments,
    }))
}

async fn incident_content(
    state: &AppState,
    tenant: TenantId,
    p: &Params,
) -> Result<Content, Failure> {
    let id = p.incident_id.clone().unwrap_or_default();
    let mut tx = state.db.begin().await?;
    let Some(row) = incidents::get(&mut tx, tenant, &id).await? else {
        return Err(Failure::Gone(format!("incident `{id}` no longer exists")));
    };
    let stored = incidents::activity(&mut tx, tenant, &id).await?;
    let links = incidents::links_of(&mut tx, tenant, std::slice::from_ref(&id)).await?;
    // Every threat the timeline names, linked now or before.
    let mut ids: Vec<String> = links.iter().map(|l| l.threat_id.clone()).collect();
    ids.extend(stored.iter().map(|a| a.threat_id.clone()));
    ids.sort();
    ids.dedup();
    let rows = threats::rows_in(&mut tx, tenant, &ids).await?;
    let linked_rows: Vec<_> = rows
        .iter()
        .filter(|r| links.iter().any(|l| l.threat_id == r.id))
        .cloned()
        .collect();
    let versions = history::versions_of(&mut tx, tenant, &linked_rows).await?;
    tx.commit().await?;
    let items = timeline(stored, &links, versions, false);
    let linked_ids: Vec<String> = links.iter().map(|l| l.threat_id.clone()).collect();
    let mut conn = state.db.conn().await?;
    let (_, asset_summaries) =
        threats::affected_and_summaries(&mut conn, tenant, &linked_ids).await?;
    drop(conn);
    Ok(incident::build(&IncidentData {
        incident: row,
        links,
        threats: rows
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect::<HashMap<_, _>>(),
        timeline: items,
        assets: asset_summaries,
    }))
}

async fn landscape_content(
    state: &AppState,
    tenant: TenantId,
    p: &Params,
) -> Result<Content, Failure> {
    let db = &state.db;
    let (from, to) = (p.from.unwrap_or_default(), p.to.unwrap_or_default());
    let all = assets::all(db, Some(tenant)).await?;
    let scope: Vec<_> = match &p.asset_uuids {
        None => all,
        Some(uuids) => all.into_iter().filter(|a| uuids.contains(&a.id)).collect(),
    };
    let window = Window {
        from,
        to,
        assets: p.asset_uuids.as_deref(),
    };
    let mut landscape = Landscape::new(from, to);
    source::each_threat(db, tenant, &window, |t| landscape.add(t)).await?;
    let counts = source::asset_counts(db, tenant, &window).await?;
    let incidents = source::incidents(db, tenant, &window).await?;
    Ok(landscape.finish(&scope, p.asset_uuids.is_some(), counts, incidents))
}
