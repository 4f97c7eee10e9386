//! Incident storage: the tables, their row types, and every statement on them — incidents
//! themselves here, their threat links and activity in [`links`].

mod links;

pub use links::{
    activity, aggregate_links, link, link_each, links_of, unlink, ActivityRow, AggregateLink,
    LinkRow,
};

use picket_core::db::bulk::insert_owned_rows;
use picket_core::db::schema::{OnDelete, Table};
use picket_core::db::table::TenantTable;
use picket_core::db::{DbResult, Tx};
use picket_core::identity::TenantId;
use sea_query::{Alias, Asterisk, Expr, Order, SelectStatement, SimpleExpr};

use crate::threats::store as threats;

picket_core::table! {
    pub(crate) enum Incidents in "incidents", tenant_owned {
        Id: Text .primary_key(),
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        Title: Text,
        Description: Text .nullable(),
        Status: Text,
        Scope: Text,
        CreatedAt: BigInt,
        UpdatedAt: BigInt,
        StartedAt: BigInt .nullable(),
        ResolvedAt: BigInt .nullable(),
    }
    indexes {
        // The default order (`updated_at` desc, then `id`), read off the index.
        index incidents_tenant_updated_id (TenantId, UpdatedAt, Id),
        index incidents_tenant_status_updated (TenantId, Status, UpdatedAt),
    }
}

picket_core::table! {
    pub(crate) enum IncidentThreats in "incident_threats", tenant_owned {
        // The link's own id (`ThreatLink.id`).
        Id: Text .primary_key(),
        TenantId: BigInt,
        IncidentId: Text .references("incidents", "id", OnDelete::Cascade),
        ThreatId: Text .references("threats", "id", OnDelete::Cascade),
        AddedAt: BigInt,
    }
    indexes {
        unique incident_threats_incident_threat (IncidentId, ThreatId),
        index incident_threats_tenant_threat (TenantId, ThreatId),
    }
}

picket_core::table! {
    // What happened to an incident's links: `threat_linked` and `threat_unlinked` items of its
    // timeline (a link row goes when the threat is unlinked; its history stays here).
    pub(crate) enum IncidentActivity in "incident_activity", tenant_owned {
        Id: Serial,
        TenantId: BigInt,
        IncidentId: Text .references("incidents", "id", OnDelete::Cascade),
        Kind: Text,
        At: BigInt,
        ThreatId: Text,
        LinkId: Text,
    }
    indexes {
        index incident_activity_incident_at (IncidentId, At),
    }
}

pub const TABLES: &[Table] = &[
    Incidents::DECLARED,
    IncidentThreats::DECLARED,
    IncidentActivity::DECLARED,
];

const COLUMNS: [Incidents; 9] = [
    Incidents::Id,
    Incidents::Title,
    Incidents::Description,
    Incidents::Status,
    Incidents::Scope,
    Incidents::CreatedAt,
    Incidents::UpdatedAt,
    Incidents::StartedAt,
    Incidents::ResolvedAt,
];

/// An incident row as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IncidentRow {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub status: String,
    pub scope: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub started_at: Option<i64>,
    pub resolved_at: Option<i64>,
}

/// An incident to create; it starts `open` with no links.
#[derive(Debug, Clone)]
pub struct NewIncident {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub scope: &'static str,
}

/// Creates an incident, open, with no links yet.
pub async fn insert(tx: &mut Tx, tenant: TenantId, new: &NewIncident, now: i64) -> DbResult<()> {
    insert_many(tx, tenant, &[(new.clone(), None)], now).await
}

/// Creates incidents, open, each with its `started_at` (the engine's: the earliest of the
/// threats it will link; an analyst's: none until links come): multi-row inserts instead of
/// one statement per incident.
pub async fn insert_many(
    tx: &mut Tx,
    tenant: TenantId,
    new: &[(NewIncident, Option<i64>)],
    now: i64,
) -> DbResult<()> {
    let rows: Vec<Vec<sea_query::Value>> = new
        .iter()
        .map(|(new, started_at)| {
            vec![
                new.id.clone().into(),
                new.title.clone().into(),
                new.description.clone().into(),
                "open".into(),
                new.scope.into(),
                now.into(),
                now.into(),
                (*started_at).into(),
            ]
        })
        .collect();
    insert_owned_rows(
        tx,
        tenant,
        &Incidents::DECLARED,
        &[
            "id",
            "title",
            "description",
            "status",
            "scope",
            "created_at",
            "updated_at",
            "started_at",
        ],
        rows,
    )
    .await
    .map(|_| ())
}

/// A tenant's incident.
pub async fn get(tx: &mut Tx, tenant: TenantId, id: &str) -> DbResult<Option<IncidentRow>> {
    let q = Incidents::select(tenant)
        .columns(COLUMNS)
        .and_where(Expr::col(Incidents::Id).eq(id))
        .to_owned();
    tx.fetch_optional(&q).await
}

/// A tenant's incidents by id, in no particular order (missing ids are left out).
pub async fn get_many(tx: &mut Tx, tenant: TenantId, ids: &[String]) -> DbResult<Vec<IncidentRow>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(crate::threats::store::LOOKUP_CHUNK) {
        let q = Incidents::select(tenant)
            .columns(COLUMNS)
            .and_where(Expr::col(Incidents::Id).is_in(chunk.iter().cloned()))
            .to_owned();
        out.extend(tx.fetch_all::<IncidentRow>(&q).await?);
    }
    Ok(out)
}

/// A validated `GET /v1/incidents` query.
#[derive(Debug, Default)]
pub struct Filter {
    pub status: Option<&'static str>,
    pub scope: Option<&'static str>,
    /// Ids of the threats affecting the wanted assets (a subquery); `None`: any incident.
    pub threats: Option<SelectStatement>,
    pub limit: u64,
    pub offset: u64,
}

fn filtered(tenant: TenantId, f: &Filter) -> SelectStatement {
    let mut q = Incidents::select(tenant);
    if let Some(status) = f.status {
        q.and_where(Expr::col(Incidents::col(Incidents::Status)).eq(status));
    }
    if let Some(scope) = f.scope {
        q.and_where(Expr::col(Incidents::col(Incidents::Scope)).eq(scope));
    }
    if let Some(threats) = &f.threats {
        let linked = IncidentThreats::select(tenant)
            .column(IncidentThreats::IncidentId)
            .and_where(Expr::col(IncidentThreats::ThreatId).in_subquery(threats.clone()))
            .to_owned();
        q.and_where(Expr::col(Incidents::col(Incidents::Id)).in_subquery(linked));
    }
    q
}

#[derive(sqlx::FromRow)]
struct Count {
    n: i64,
}

/// One page of incidents, most recently updated first (then by id), and the count of all.
pub async fn list(tx: &mut Tx, tenant: TenantId, f: &Filter) -> DbResult<(Vec<IncidentRow>, i64)> {
    let mut q = filtered(tenant, f);
    q.columns(COLUMNS.map(Incidents::col))
        .order_by(Incidents::col(Incidents::UpdatedAt), Order::Desc)
        .order_by(Incidents::col(Incidents::Id), Order::Desc)
        .limit(f.limit)
        .offset(f.offset);
    let rows: Vec<IncidentRow> = tx.fetch_all(&q).await?;
    let len = rows.len() as u64;
    if len < f.limit && (len > 0 || f.offset == 0) {
        return Ok((rows, (f.offset + len) as i64));
    }
    let mut count = filtered(tenant, f);
    count.expr_as(Expr::col(Asterisk).count(), Alias::new("n"));
    let total = tx.fetch_one::<Count>(&count).await?.n;
    Ok((rows, total))
}

/// What `PATCH /v1/incidents/{id}` changes; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct Change {
    pub title: Option<String>,
    pub description: Option<String>,
    pub status: Option<&'static str>,
    /// `Some(None)` clears it.
    pub resolved_at: Option<Option<i64>>,
}

/// Applies a change to a tenant's incident and moves its `updated_at`.
pub async fn update(
    tx: &mut Tx,
    tenant: TenantId,
    id: &str,
    change: Change,
    now: i64,
) -> DbResult<()> {
    let mut q = Incidents::update(tenant);
    q.value(Incidents::UpdatedAt, now)
        .and_where(Expr::col(Incidents::Id).eq(id));
    if let Some(title) = change.title {
        q.value(Incidents::Title, title);
    }
    if let Some(description) = change.description {
        q.value(Incidents::Description, description);
    }
    if let Some(status) = change.status {
        q.value(Incidents::Status, status);
    }
    if let Some(resolved_at) = change.resolved_at {
        q.value(Incidents::ResolvedAt, resolved_at);
    }
    tx.execute(&q).await.map(|_| ())
}

/// After the engine linked more threats to them: each incident's `started_at` becomes the
/// earlier of its own and the earliest `observed_at` among the threats just linked (given
/// with it), and `updated_at` moves to `now`. One statement per [`UPDATE_CHUNK`] incidents,
/// each picking its own earliest with a `CASE` on the id, instead of [`links_changed`]'s
/// re-read of every link, which grows with the incident: links are only added here, so the
/// earliest can only move earlier.
pub async fn links_added(
    tx: &mut Tx,
    tenant: TenantId,
    earliest: &[(String, i64)],
    now: i64,
) -> DbResult<()> {
    for chunk in earliest.chunks(UPDATE_CHUNK) {
        let id = || Expr::col(Incidents::Id);
        let mut case = sea_query::CaseStatement::new();
        for (incident, at) in chunk {
            case = case.case(id().eq(incident.as_str()), *at);
        }
        let at: SimpleExpr = case.into();
        let started = Expr::col(Incidents::StartedAt);
        let earlier = started.clone().is_null().or(started.clone().gt(at.clone()));
        let start: SimpleExpr = Expr::case(earlier, at).finally(started).into();
        let q = Incidents::update(tenant)
            .value(Incidents::StartedAt, start)
            .value(Incidents::UpdatedAt, now)
            .and_where(id().is_in(chunk.iter().map(|(i, _)| i.as_str())))
            .to_owned();
        tx.execute(&q).await?;
    }
    Ok(())
}

/// Incidents per [`links_added`] statement: each row updated compares its id with up to this
/// many in the `CASE`.
const UPDATE_CHUNK: usize = 100;

/// After their links changed: the incidents' `started_at` becomes the earliest `observed_at`
/// of their linked threats (none left: null) and their `updated_at` moves to `now`. One
/// statement for any number of incidents.
pub async fn links_changed(
    tx: &mut Tx,
    tenant: TenantId,
    ids: &[String],
    now: i64,
) -> DbResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    // For each incident, the threats it links: correlated on the incident being updated.
    let linked = IncidentThreats::select(tenant)
        .and_where(
            Expr::col(IncidentThreats::col(IncidentThreats::IncidentId))
                .equals(Incidents::col(Incidents::Id)),
        )
        .to_owned();
    let earliest = threats::earliest_observed(
        tenant,
        linked,
        IncidentThreats::col(IncidentThreats::ThreatId),
    );
    let started = SimpleExpr::SubQuery(None, Box::new(earliest.into_sub_query_statement()));
    let q = Incidents::update(tenant)
        .value(Incidents::StartedAt, started)
        .value(Incidents::UpdatedAt, now)
        .and_where(Expr::col(Incidents::col(Incidents::Id)).is_in(ids.iter().cloned()))
        .to_owned();
    tx.execute(&q).await.map(|_| ())
}
