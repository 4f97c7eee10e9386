//! HTTP handlers of `/v1/incidents`. Each request runs in one transaction: a write and the
//! incident it answers with commit together, and bad input (checked before anything is
//! written, or rolled back with the transaction) changes nothing.

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::extract::State;
use axum::http::StatusCode;
use picket_core::db::{DbResult, Tx};
use picket_core::error::EventsErrorBody;
use picket_core::extract::{Json, NoQuery, Path, Query};
use picket_core::identity::{need, Authed, TenantId};
use picket_core::time::now_ms;
use picket_core::{ApiError, AppState};

use super::activity::timeline;
use super::store::{self, Change, Filter, IncidentRow, NewIncident};
use super::wire::{
    ActivityList, ActivityQuery, CreateIncident, Incident, IncidentList, IncidentScope,
    IncidentStatus, LinkThreats, ListQuery, PatchIncident, ThreatLink,
};
use crate::threats::history;
use crate::threats::store::{self as threats, ThreatRow};

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("no incident `{id}`"))
}

/// Incidents with their links and the linked threats' summaries: two statements for a page.
async fn with_links(
    tx: &mut Tx,
    tenant: TenantId,
    rows: Vec<IncidentRow>,
) -> DbResult<Vec<Incident>> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let links = store::links_of(tx, tenant, &ids).await?;
    let threat_ids: Vec<String> = links
        .iter()
        .map(|l| l.threat_id.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let threats: HashMap<String, ThreatRow> = threats::rows_in(tx, tenant, &threat_ids)
        .await?
        .into_iter()
        .map(|t| (t.id.clone(), t))
        .collect();
    let mut by_incident: HashMap<&str, Vec<ThreatLink>> = HashMap::new();
    for l in &links {
        if let Some(t) = threats.get(&l.threat_id) {
            by_incident
                .entry(l.incident_id.as_str())
                .or_default()
                .push(ThreatLink::new(l, t));
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let mine = by_incident.remove(r.id.as_str()).unwrap_or_default();
        out.push(Incident::new(r, mine));
    }
    Ok(out)
}

async fn existing(tx: &mut Tx, tenant: TenantId, id: &str) -> Result<IncidentRow, ApiError> {
    store::get(tx, tenant, id)
        .await?
        .ok_or_else(|| not_found(id))
}

async fn load(tx: &mut Tx, tenant: TenantId, id: &str) -> Result<Incident, ApiError> {
    let row = existing(tx, tenant, id).await?;
    Ok(with_links(tx, tenant, vec![row])
        .await?
        .pop()
        .expect("one row, one incident"))
}

/// The `incident.opened` / `incident.updated` notice of an incident as it now stands: its
/// tenant's webhooks subscribed to the type get the Incident.
fn notice(tenant: TenantId, incident: &Incident, opened: bool) -> picket_notify::Notice {
    let payload = serde_json::to_value(incident).unwrap_or_default();
    let threats: Vec<&serde_json::Value> = payload["threat_links"]
        .as_array()
        .map(|links| links.iter().map(|l| &l["threat"]).collect())
        .unwrap_or_default();
    let rank = |s: &str| {
        ["negligible", "low", "medium", "high", "critical"]
            .iter()
            .position(|x| *x == s)
    };
    let severity = threats
        .iter()
        .filter_map(|t| t["severity"].as_str())
        .max_by_key(|s| rank(s))
        .unwrap_or_default()
        .to_string();
    picket_notify::Notice {
        tenant,
        event_type: if opened {
            picket_notify::EventType::IncidentOpened
        } else {
            picket_notify::EventType::IncidentUpdated
        },
        subject: incident.id.clone(),
        level: None,
        summary: picket_notify::Summary {
            title: incident.title.clone(),
            severity,
            location: threats
                .first()
                .and_then(|t| t["location"].as_str())
                .map(str::to_string),
            assets: Vec::new(),
            link: Some(format!("/v1/incidents/{}", incident.id)),
        },
        payload,
        direct: picket_notify::Direct::default(),
    }
}

/// The notices of the incidents the engine opened or extended (`auto::cluster`), each as it
/// now stands, read in the engine's transaction. Incident notices go to webhooks only, so a
/// tenant without a webhook subscribed to them costs one read; the others' incidents are read
/// with their links and threats in three statements per tenant, not three per incident.
pub async fn touched_notices(
    tx: &mut Tx,
    touched: &[super::auto::Touched],
) -> DbResult<Vec<picket_notify::Notice>> {
    use picket_notify::EventType::{IncidentOpened, IncidentUpdated};
    let mut by_tenant: BTreeMap<TenantId, Vec<&super::auto::Touched>> = BTreeMap::new();
    for t in touched {
        by_tenant.entry(t.tenant).or_default().push(t);
    }
    let mut out = Vec::with_capacity(touched.len());
    for (tenant, touched) in by_tenant {
        if !picket_notify::has_subscriber(tx, tenant, &[IncidentOpened, IncidentUpdated]).await? {
            continue;
        }
        let ids: Vec<String> = touched.iter().map(|t| t.incident_id.clone()).collect();
        let rows = store::get_many(tx, tenant, &ids).await?;
        let incidents: HashMap<String, Incident> = with_links(tx, tenant, rows)
            .await?
            .into_iter()
            .map(|i| (i.id.clone(), i))
            .collect();
        // In the order the engine touched them; an incident touched twice is announced twice,
        // as it stands now, as before.
        for t in touched {
            if let Some(incident) = incidents.get(&t.incident_id) {
                out.push(notice(tenant, incident, t.opened));
            }
        }
    }
    Ok(out)
}

/// Queues the notice of an analyst's change in the request's transaction.
async fn announce(
    tx: &mut Tx,
    tenant: TenantId,
    incident: &Incident,
    opened: bool,
    now: i64,
) -> DbResult<()> {
    picket_notify::enqueue(tx, &[notice(tenant, incident, opened)], now).await
}

/// `threat_ids` without duplicates, all the tenant's, or 400 naming the others.
async fn known_threats(
    tx: &mut Tx,
    tenant: TenantId,
    ids: &[String],
) -> Result<Vec<String>, ApiError> {
    let mut seen = HashSet::new();
    let wanted: Vec<String> = ids
        .iter()
        .filter(|id| seen.insert(id.as_str()))
        .cloned()
        .collect();
    let found: HashSet<String> = threats::rows_in(tx, tenant, &wanted)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    let unknown: Vec<&str> = wanted
        .iter()
        .filter(|id| !found.contains(*id))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::bad_request(format!(
            "invalid field `threat_ids`: unknown threat(s) {}",
            unknown.join(", ")
        )));
    }
    Ok(wanted)
}

fn title(t: &str) -> Result<String, ApiError> {
    let t = t.trim();
    if t.is_empty() {
        return Err(ApiError::bad_request(
            "invalid field `title`: must not be empty",
        ));
    }
    Ok(t.to_string())
}

/// List incidents, most recently updated first.
#[utoipa::path(get, path = "/v1/incidents", tag = "incidents", params(ListQuery),
    responses((status = 200, body = IncidentList), (status = 400, body = EventsErrorBody)))]
pub async fn list_incidents(
    State(s): State<AppState>,
    auth: Authed<need::IncidentsR>,
    Query(q): Query<ListQuery>,
) -> Result<Json<IncidentList>, ApiError> {
    let (limit, offset) = crate::query::page(q.limit, q.offset)?;
    let threats = if q.asset_id.is_empty() {
        None
    } else {
        let mut conn = s.db.reader().conn().await?;
        Some(threats::affecting_assets(&mut conn, auth.tenant_id, &q.asset_id).await?)
    };
    let filter = Filter {
        status: q.status.map(IncidentStatus::as_str),
        scope: q.scope.map(IncidentScope::as_str),
        threats,
        limit,
        offset,
    };
    let mut tx = s.db.reader().begin().await?;
    let (rows, total) = store::list(&mut tx, auth.tenant_id, &filter).await?;
    let incidents = with_links(&mut tx, auth.tenant_id, rows).await?;
    Ok(Json(IncidentList { incidents, total }))
}

/// Create an incident, open, linking the given threats.
#[utoipa::path(post, path = "/v1/incidents", tag = "incidents", request_body = CreateIncident,
    responses((status = 201, body = Incident), (status = 400, body = EventsErrorBody)))]
pub async fn create_incident(
    State(s): State<AppState>,
    auth: Authed<need::IncidentsW>,
    _: NoQuery,
    Json(body): Json<CreateIncident>,
) -> Result<(StatusCode, Json<Incident>), ApiError> {
    let tenant = auth.tenant_id;
    let title = title(&body.title)?;
    let mut tx = s.db.begin().await?;
    let threat_ids = known_threats(&mut tx, tenant, &body.threat_ids).await?;
    let now = now_ms();
    let new = NewIncident {
        id: uuid::Uuid::now_v7().to_string(),
        title,
        description: body.description,
        scope: body.scope.unwrap_or_default().as_str(),
    };
    store::insert(&mut tx, tenant, &new, now).await?;
    store::link(&mut tx, tenant, &new.id, &threat_ids, now).await?;
    store::links_changed(&mut tx, tenant, std::slice::from_ref(&new.id), now).await?;
    let incident = load(&mut tx, tenant, &new.id).await?;
    announce(&mut tx, tenant, &incident, true, now).await?;
    tx.commit().await?;
    s.job_signal.notify_one();
    Ok((StatusCode::CREATED, Json(incident)))
}

/// Get an incident with its linked threats.
#[utoipa::path(get, path = "/v1/incidents/{incident_id}", tag = "incidents",
    params(("incident_id" = String, Path)),
    responses((status = 200, body = Incident), (status = 404, body = EventsErrorBody)))]
pub async fn get_incident(
    State(s): State<AppState>,
    auth: Authed<need::IncidentsR>,
    _: NoQuery,
    Path(id): Path<String>,
) -> Result<Json<Incident>, ApiError> {
    let mut tx = s.db.begin().await?;
    Ok(Json(load(&mut tx, auth.tenant_id, &id).await?))
}

/// Change an incident's title, description or status; moving to `resolved` sets
/// `resolved_at`, moving away clears it.
#[utoipa::path(patch, path = "/v1/incidents/{incident_id}", tag = "incidents",
    params(("incident_id" = String, Path)), request_body = PatchIncident,
    responses((status = 200, body = Incident), (status = 400, body = EventsErrorBody), (status = 404, body = EventsErrorBody)))]
pub async fn patch_incident(
    State(s): State<AppState>,
    auth: Authed<need::IncidentsW>,
    _: NoQuery,
    Path(id): Path<String>,
    Json(body): Json<PatchIncident>,
) -> Result<Json<Incident>, ApiError> {
    if body.title.is_none() && body.description.is_none() && body.status.is_none() {
        return Err(ApiError::bad_request(
            "invalid JSON body: give at least one of `title`, `description`, `status`",
        ));
    }
    let tenant = auth.tenant_id;
    let new_title = body.title.as_deref().map(title).transpose()?;
    let mut tx = s.db.begin().await?;
    let current = existing(&mut tx, tenant, &id).await?;
    let now = now_ms();
    let was_resolved = current.status == IncidentStatus::Resolved.as_str();
    let resolved_at = match body.status {
        Some(IncidentStatus::Resolved) if !was_resolved => Some(Some(now)),
        Some(IncidentStatus::Open | IncidentStatus::Closed) if was_resolved => Some(None),
        _ => None,
    };
    let change = Change {
        title: new_title,
        description: body.description,
        status: body.status.map(IncidentStatus::as_str),
        resolved_at,
    };
    store::update(&mut tx, tenant, &current.id, change, now).await?;
    let incident = load(&mut tx, tenant, &current.id).await?;
    announce(&mut tx, tenant, &incident, false, now).await?;
    tx.commit().await?;
    s.job_signal.notify_one();
    Ok(Json(incident))
}

/// Link threats to an incident; already linked ones are not linked twice.
#[utoipa::path(post, path = "/v1/incidents/{incident_id}/threats", tag = "incidents",
    params(("incident_id" = String, Path)), request_body = LinkThreats,
    responses((status = 200, body = Incident), (status = 400, body = EventsErrorBody), (status = 404, body = EventsErrorBody)))]
pub async fn link_threats(
    State(s): State<AppState>,
    auth: Authed<need::IncidentsW>,
    _: NoQuery,
    Path(id): Path<String>,
    Json(body): Json<LinkThreats>,
) -> Result<Json<Incident>, ApiError> {
    let tenant = auth.tenant_id;
    let mut tx = s.db.begin().await?;
    let current = existing(&mut tx, tenant, &id).await?;
    if body.threat_ids.is_empty() {
        return Err(ApiError::bad_request(
            "invalid field `threat_ids`: give at least one threat id",
        ));
    }
    let threat_ids = known_threats(&mut tx, tenant, &body.threat_ids).await?;
    let now = now_ms();
    let added = store::link(&mut tx, tenant, &current.id, &threat_ids, now).await?;
    if !added.is_empty() {
        store::links_changed(&mut tx, tenant, std::slice::from_ref(&current.id), now).await?;
    }
    let incident = load(&mut tx, tenant, &current.id).await?;
    if !added.is_empty() {
        announce(&mut tx, tenant, &incident, false, now).await?;
    }
    tx.commit().await?;
    s.job_signal.notify_one();
    Ok(Json(incident))
}

/// Unlink a threat from an incident; the timeline keeps a `threat_unlinked` item.
#[utoipa::path(delete, path = "/v1/incidents/{incident_id}/threats/{threat_id}", tag = "incidents",
    params(("incident_id" = String, Path), ("threat_id" = String, Path)),
    responses((status = 204), (status = 404, body = EventsErrorBody)))]
pub async fn unlink_threat(
    State(s): State<AppState>,
    auth: Authed<need::IncidentsW>,
    _: NoQuery,
    Path((id, threat_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let tenant = auth.tenant_id;
    let mut tx = s.db.begin().await?;
    let current = existing(&mut tx, tenant, &id).await?;
    let now = now_ms();
    if store::unlink(&mut tx, tenant, &current.id, &threat_id, now)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found(format!(
            "threat `{threat_id}` is not linked to incident `{id}`"
        )));
    }
    store::links_changed(&mut tx, tenant, std::slice::from_ref(&current.id), now).await?;
    let incident = load(&mut tx, tenant, &current.id).await?;
    announce(&mut tx, tenant, &incident, false, now).await?;
    tx.commit().await?;
    s.job_signal.notify_one();
    Ok(StatusCode::NO_CONTENT)
}

/// The incident's timeline: link and unlink items and the linked threats' versions, oldest
/// first.
#[utoipa::path(get, path = "/v1/incidents/{incident_id}/activity", tag = "incidents",
    params(("incident_id" = String, Path), ActivityQuery),
    responses((status = 200, body = ActivityList), (status = 404, body = EventsErrorBody)))]
pub async fn incident_activity(
    State(s): State<AppState>,
    auth: Authed<need::IncidentsR>,
    Query(q): Query<ActivityQuery>,
    Path(id): Path<String>,
) -> Result<Json<ActivityList>, ApiError> {
    let tenant = auth.tenant_id;
    let mut tx = s.db.begin().await?;
    let current = existing(&mut tx, tenant, &id).await?;
    let stored = store::activity(&mut tx, tenant, &current.id).await?;
    let links = store::links_of(&mut tx, tenant, std::slice::from_ref(&current.id)).await?;
    let ids: Vec<String> = links.iter().map(|l| l.threat_id.clone()).collect();
    let rows = threats::rows_in(&mut tx, tenant, &ids).await?;
    let versions = history::versions_of(&mut tx, tenant, &rows).await?;
    let items = timeline(
        stored,
        &links,
        versions,
        q.include_versions_before_link.unwrap_or(false),
    );
    Ok(Json(ActivityList {
        total: items.len(),
        items,
    }))
}
