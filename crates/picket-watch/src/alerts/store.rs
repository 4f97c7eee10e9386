//! Alert storage: the rule and alert tables and every statement on them — a tenant's rule
//! set (read, replaced), the alerts the evaluation writes (multi-row, across the tenants of an
//! engine batch), and the alert list, reads and state changes of the API.

use std::collections::{HashMap, HashSet};

use picket_core::db::bulk::insert_rows;
use picket_core::db::json::JsonText;
use picket_core::db::schema::{OnDelete, Table};
use picket_core::db::table::TenantTable;
use picket_core::db::{Conn, DbResult, Tx};
use picket_core::identity::TenantId;
use sea_query::{Alias, Asterisk, Cond, Expr, Order, Query, SelectStatement, Value as SeaValue};

use crate::threats::store::{ThreatAssets, ThreatVersions, Threats};
use picket_corpus::taxonomy::Severity;

use super::wire::{Alert, AlertRule, AlertState, AlertType, Delivery, ExternalReceiver, RuleInput};

/// Ids per lookup statement.
const LOOKUP_CHUNK: usize = 500;

picket_core::table! {
    pub(crate) enum AlertRules in "alert_rules", tenant_owned {
        Id: Serial,
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        // The client's id of the rule.
        RuleId: Text,
        // Where the rule stands in the client's set, so the set reads back in its order.
        Position: BigInt,
        Enabled: Bool,
        Title: Text,
        // JSON arrays; `asset_ids` and `threat_types` are NULL for "any".
        SeverityThreshold: Text,
        AssetIds: Text .nullable(),
        ThreatTypes: Text .nullable(),
        MaxDistanceKm: Double .nullable(),
        MuteIntervalHours: Double,
        EmailEnabled: Bool .default("FALSE"),
        SmsEnabled: Bool .default("FALSE"),
        SlackEnabled: Bool .default("FALSE"),
        UserReceiverType: Text .default("'none'"),
        ExternalReceivers: Text .default("'[]'"),
        CreatedAt: BigInt,
        UpdatedAt: BigInt,
    }
    indexes {
        unique alert_rules_tenant_rule (TenantId, RuleId),
    }
}

picket_core::table! {
    pub(crate) enum Alerts in "alerts", tenant_owned {
        Id: Text .primary_key(),
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        ThreatId: Text .references("threats", "id", OnDelete::Cascade),
        // No foreign key: a removed rule's alerts stay, with the rule's title as it was.
        RuleId: Text,
        RuleTitle: Text .nullable(),
        ThreatTitle: Text,
        AlertType: Text,
        Severity: Text,
        Title: Text,
        Message: Text .nullable(),
        ThreatType: Text .nullable(),
        ThreatCategory: Text .nullable(),
        MinDistanceKm: Double .nullable(),
        MaxDistanceKm: Double .nullable(),
        State: Text,
        CreatedAt: BigInt,
        UpdatedAt: BigInt,
    }
    indexes {
        index alerts_tenant_created (TenantId, CreatedAt, Id),
        // By threat first: the engine's mute lookup names threats of many tenants at once;
        // the backfill and the list's threat filter read it too.
        index alerts_threat_rule (ThreatId, RuleId, CreatedAt),
        index alerts_tenant_rule_created (TenantId, RuleId, CreatedAt),
    }
}

pub const TABLES: &[Table] = &[AlertRules::DECLARED, Alerts::DECLARED];

const RULE_COLUMNS: [AlertRules; 17] = [
    AlertRules::TenantId,
    AlertRules::RuleId,
    AlertRules::Position,
    AlertRules::Enabled,
    AlertRules::Title,
    AlertRules::SeverityThreshold,
    AlertRules::AssetIds,
    AlertRules::ThreatTypes,
    AlertRules::MaxDistanceKm,
    AlertRules::MuteIntervalHours,
    AlertRules::EmailEnabled,
    AlertRules::SmsEnabled,
    AlertRules::SlackEnabled,
    AlertRules::UserReceiverType,
    AlertRules::ExternalReceivers,
    AlertRules::CreatedAt,
    AlertRules::UpdatedAt,
];

/// A rule as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RuleRow {
    pub tenant_id: i64,
    pub rule_id: String,
    pub position: i64,
    pub enabled: bool,
    pub title: String,
    pub severity_threshold: JsonText<Vec<Severity>>,
    pub asset_ids: Option<JsonText<Vec<String>>>,
    pub threat_types: Option<JsonText<Vec<String>>>,
    pub max_distance_km: Option<f64>,
    pub mute_interval_hours: f64,
    pub email_enabled: bool,
    pub sms_enabled: bool,
    pub slack_enabled: bool,
    pub user_receiver_type: String,
    pub external_receivers: JsonText<Vec<ExternalReceiver>>,
    pub created_at: i64,
    pub updated_at: i64,
}

const ALERT_COLUMNS: [Alerts; 17] = [
    Alerts::Id,
    Alerts::TenantId,
    Alerts::ThreatId,
    Alerts::RuleId,
    Alerts::RuleTitle,
    Alerts::ThreatTitle,
    Alerts::AlertType,
    Alerts::Severity,
    Alerts::Title,
    Alerts::Message,
    Alerts::ThreatType,
    Alerts::ThreatCategory,
    Alerts::MinDistanceKm,
    Alerts::MaxDistanceKm,
    Alerts::State,
    Alerts::CreatedAt,
    Alerts::UpdatedAt,
];

/// An alert as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AlertRow {
    pub id: String,
    pub tenant_id: i64,
    pub threat_id: String,
    pub rule_id: String,
    pub rule_title: Option<String>,
    pub threat_title: String,
    pub alert_type: String,
    pub severity: String,
    pub title: String,
    pub message: Option<String>,
    pub threat_type: Option<String>,
    pub threat_category: Option<String>,
    pub min_distance_km: Option<f64>,
    pub max_distance_km: Option<f64>,
    pub state: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl AlertRow {
    fn values(&self) -> Vec<SeaValue> {
        vec![
            self.id.clone().into(),
            self.tenant_id.into(),
            self.threat_id.clone().into(),
            self.rule_id.clone().into(),
            self.rule_title.clone().into(),
            self.threat_title.clone().into(),
            self.alert_type.clone().into(),
            self.severity.clone().into(),
            self.title.clone().into(),
            self.message.clone().into(),
            self.threat_type.clone().into(),
            self.threat_category.clone().into(),
            self.min_distance_km.into(),
            self.max_distance_km.into(),
            self.state.clone().into(),
            self.created_at.into(),
            self.updated_at.into(),
        ]
    }
}

/// A tenant's rule set, in the order it was saved.
pub async fn rules(conn: &mut Conn, tenant: TenantId) -> DbResult<Vec<RuleRow>> {
    let q = AlertRules::select(tenant)
        .columns(RULE_COLUMNS)
        .order_by(AlertRules::Position, Order::Asc)
        .to_owned();
    conn.fetch_all(&q).await
}

/// Replaces a tenant's rule set with `input` (already checked): rules left out are removed,
/// and a rule id saved before keeps its `created_at`.
pub async fn replace_rules(
    tx: &mut Tx,
    tenant: TenantId,
    input: &[RuleInput],
    now: i64,
) -> DbResult<()> {
    #[derive(sqlx::FromRow)]
    struct Created {
        rule_id: String,
        created_at: i64,
    }
    let q = AlertRules::select(tenant)
        .columns([AlertRules::RuleId, AlertRules::CreatedAt])
        .to_owned();
    let created: HashMap<String, i64> = tx
        .fetch_all::<Created>(&q)
        .await?
        .into_iter()
        .map(|c| (c.rule_id, c.created_at))
        .collect();
    tx.execute(&AlertRules::delete(tenant)).await?;
    // Collected before the insert: a borrowing iterator held across the `await` makes the
    // handler's future fail the `Send`-for-all-lifetimes check of the router.
    let rows: Vec<Vec<SeaValue>> = input
        .iter()
        .enumerate()
        .map(|(i, r)| {
            vec![
                r.id.clone().into(),
                (i as i64).into(),
                r.enabled.into(),
                r.title.clone().into(),
                JsonText::encode(&r.severity_threshold).into(),
                r.asset_ids.as_ref().map(JsonText::encode).into(),
                r.threat_types.as_ref().map(JsonText::encode).into(),
                r.max_distance_km.into(),
                r.mute_interval_hours.into(),
                r.email_enabled.into(),
                r.sms_enabled.into(),
                r.slack_enabled.into(),
                r.user_receiver_type.as_str().into(),
                JsonText::encode(&r.external_receivers).into(),
                created.get(&r.id).copied().unwrap_or(now).into(),
                now.into(),
            ]
        })
        .collect();
    picket_core::db::bulk::insert_owned_rows(
        tx,
        tenant,
        &AlertRules::DECLARED,
        &[
            "rule_id",
            "position",
            "enabled",
            "title",
            "severity_threshold",
            "asset_ids",
            "threat_types",
            "max_distance_km",
            "mute_interval_hours",
            "email_enabled",
            "sms_enabled",
            "slack_enabled",
            "user_receiver_type",
            "external_receivers",
            "created_at",
            "updated_at",
        ],
        rows,
    )
    .await?;
    Ok(())
}

/// The enabled rules of the given tenants, by tenant, each set in its saved order.
pub async fn enabled_rules_of(
    tx: &mut Tx,
    tenants: &[i64],
) -> DbResult<HashMap<i64, Vec<RuleRow>>> {
    let mut out: HashMap<i64, Vec<RuleRow>> = HashMap::new();
    for chunk in tenants.chunks(LOOKUP_CHUNK) {
        // Across tenants: one engine batch holds threats of many tenants; each rule is read
        // for its own tenant's threats only (grouped by tenant below).
        let q = Query::select()
            .from(AlertRules::across_tenants())
            .columns(RULE_COLUMNS)
            .and_where(Expr::col(AlertRules::TenantId).is_in(chunk.iter().copied()))
            .and_where(Expr::col(AlertRules::Enabled).eq(true))
            .order_by(AlertRules::TenantId, Order::Asc)
            .order_by(AlertRules::Position, Order::Asc)
            .to_owned();
        for r in tx.fetch_all::<RuleRow>(&q).await? {
            out.entry(r.tenant_id).or_default().push(r);
        }
    }
    Ok(out)
}

/// The time of the last alert per (tenant, rule, threat) for the given threats: the mute
/// state of an engine batch, in one statement per [`LOOKUP_CHUNK`] threats.
pub async fn last_alerts(
    tx: &mut Tx,
    threat_ids: &[String],
) -> DbResult<HashMap<(i64, String, String), i64>> {
    #[derive(sqlx::FromRow)]
    struct Last {
        tenant_id: i64,
        rule_id: String,
        threat_id: String,
        at: i64,
    }
    let mut out = HashMap::new();
    for chunk in threat_ids.chunks(LOOKUP_CHUNK) {
        // Across tenants: the threats are those the engine has just written, of every tenant
        // in its batch; each alert is keyed by its own tenant.
        let q = Query::select()
            .from(Alerts::across_tenants())
            .columns([Alerts::TenantId, Alerts::RuleId, Alerts::ThreatId])
            .expr_as(Expr::col(Alerts::CreatedAt).max(), Alias::new("at"))
            .and_where(Expr::col(Alerts::ThreatId).is_in(chunk.iter().cloned()))
            .group_by_columns([Alerts::TenantId, Alerts::RuleId, Alerts::ThreatId])
            .to_owned();
        for l in tx.fetch_all::<Last>(&q).await? {
            out.insert((l.tenant_id, l.rule_id, l.threat_id), l.at);
        }
    }
    Ok(out)
}

/// The severity each threat had before its version written at `at` changed it, for threats
/// whose severity the engine has just changed (their versions are written in the same
/// transaction).
pub async fn severities_before(
    tx: &mut Tx,
    threat_ids: &[String],
    at: i64,
) -> DbResult<HashMap<String, Severity>> {
    #[derive(sqlx::FromRow)]
    struct Changed {
        threat_id: String,
        changes: JsonText<serde_json::Value>,
    }
    let mut out = HashMap::new();
    for chunk in threat_ids.chunks(LOOKUP_CHUNK) {
        let q = Query::select()
            .from(ThreatVersions::table())
            .columns([ThreatVersions::ThreatId, ThreatVersions::Changes])
            .and_where(Expr::col(ThreatVersions::ThreatId).is_in(chunk.iter().cloned()))
            .and_where(Expr::col(ThreatVersions::At).eq(at))
            .to_owned();
        for c in tx.fetch_all::<Changed>(&q).await? {
            let from = c.changes.0["severity"]["from"]
                .as_str()
                .and_then(Severity::parse);
            if let Some(from) = from {
                out.insert(c.threat_id, from);
            }
        }
    }
    Ok(out)
}

/// Which of the given threats analysts have dismissed: their updates do not alert.
pub async fn dismissed(tx: &mut Tx, threat_ids: &[String]) -> DbResult<HashSet<String>> {
    let mut out = HashSet::new();
    for chunk in threat_ids.chunks(LOOKUP_CHUNK) {
        // Across tenants: the threats are those the engine has just updated, of every tenant
        // in its batch; only their ids are read.
        let q = Query::select()
            .from(Threats::across_tenants())
            .column(Threats::Id)
            .and_where(Expr::col(Threats::Id).is_in(chunk.iter().cloned()))
            .and_where(Expr::col(Threats::Status).eq("dismissed"))
            .to_owned();
        out.extend(
            tx.fetch_all::<(String,)>(&q)
                .await?
                .into_iter()
                .map(|r| r.0),
        );
    }
    Ok(out)
}

/// The (rule, threat) pairs among `threat_ids` that have alerted before.
pub async fn alerted_pairs(
    conn: &mut Conn,
    tenant: TenantId,
    threat_ids: &[String],
) -> DbResult<HashSet<(String, String)>> {
    #[derive(sqlx::FromRow)]
    struct Pair {
        rule_id: String,
        threat_id: String,
    }
    let mut out = HashSet::new();
    for chunk in threat_ids.chunks(LOOKUP_CHUNK) {
        let q = Alerts::select(tenant)
            .columns([Alerts::RuleId, Alerts::ThreatId])
            .distinct()
            .and_where(Expr::col(Alerts::ThreatId).is_in(chunk.iter().cloned()))
            .to_owned();
        for p in conn.fetch_all::<Pair>(&q).await? {
            out.insert((p.rule_id, p.threat_id));
        }
    }
    Ok(out)
}

/// Writes alerts of any tenants with multi-row inserts.
pub async fn insert_alerts(tx: &mut Tx, rows: &[AlertRow]) -> DbResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let columns: Vec<String> = ALERT_COLUMNS
        .iter()
        .map(sea_query::Iden::to_string)
        .collect();
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    // Across tenants: each row carries the tenant of the threat it alerts on.
    insert_rows(
        tx,
        Alerts::across_tenants().as_str(),
        &columns,
        rows.iter().map(AlertRow::values),
    )
    .await
    .map(|_| ())
}

/// A checked `GET /v1/alerts` query.
#[derive(Debug, Default)]
pub struct Filter {
    pub states: Vec<String>,
    pub severities: Vec<String>,
    pub rule_id: Option<String>,
    pub threat_id: Option<String>,
    pub asset_keys: Vec<String>,
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
    pub limit: u64,
    pub offset: u64,
}

async fn filtered(conn: &mut Conn, tenant: TenantId, f: &Filter) -> DbResult<SelectStatement> {
    let mut q = Alerts::select(tenant);
    if !f.states.is_empty() {
        q.and_where(Expr::col(Alerts::State).is_in(f.states.clone()));
    }
    if !f.severities.is_empty() {
        q.and_where(Expr::col(Alerts::Severity).is_in(f.severities.clone()));
    }
    if let Some(r) = &f.rule_id {
        q.and_where(Expr::col(Alerts::RuleId).eq(r.clone()));
    }
    if let Some(t) = &f.threat_id {
        q.and_where(Expr::col(Alerts::ThreatId).eq(t.clone()));
    }
    if let Some(t) = f.created_from {
        q.and_where(Expr::col(Alerts::CreatedAt).gte(t));
    }
    if let Some(t) = f.created_to {
        q.and_where(Expr::col(Alerts::CreatedAt).lte(t));
    }
    if !f.asset_keys.is_empty() {
        // An asset is named by its server id or `asset_id`; keys that name no current asset
        // still match the ids recorded on threats (a deleted asset's).
        let resolved = crate::assets::store::resolve_keys(conn, tenant, &f.asset_keys).await?;
        let mut uuids = Vec::new();
        let mut recorded = Vec::new();
        for (key, uuid) in f.asset_keys.iter().zip(resolved) {
            match uuid {
                Some(u) => uuids.push(u),
                None => recorded.push(key.clone()),
            }
        }
        let mut which = Cond::any().add(
            Expr::col(ThreatAssets::AssetUuid)
                .is_in(uuids.into_iter().chain(recorded.iter().cloned())),
        );
        if !recorded.is_empty() {
            which = which.add(Expr::col(ThreatAssets::AssetId).is_in(recorded));
        }
        let sub = ThreatAssets::select(tenant)
            .column(ThreatAssets::ThreatId)
            .cond_where(which)
            .to_owned();
        q.and_where(Expr::col(Alerts::col(Alerts::ThreatId)).in_subquery(sub));
    }
    Ok(q)
}

/// One page of a tenant's alerts, newest first (then by id), and the number of all matches.
pub async fn list(conn: &mut Conn, tenant: TenantId, f: &Filter) -> DbResult<(Vec<AlertRow>, i64)> {
    #[derive(sqlx::FromRow)]
    struct Count {
        n: i64,
    }
    let base = filtered(conn, tenant, f).await?;
    let mut q = base.clone();
    q.columns(ALERT_COLUMNS.map(Alerts::col))
        .order_by(Alerts::col(Alerts::CreatedAt), Order::Desc)
        .order_by(Alerts::col(Alerts::Id), Order::Desc)
        .limit(f.limit)
        .offset(f.offset);
    let rows: Vec<AlertRow> = conn.fetch_all(&q).await?;
    let len = rows.len() as u64;
    if len < f.limit && (len > 0 || f.offset == 0) {
        return Ok((rows, (f.offset + len) as i64));
    }
    let mut count = base;
    count.expr_as(Expr::col(Asterisk).count(), Alias::new("n"));
    let total = conn.fetch_one::<Count>(&count).await?.n;
    Ok((rows, total))
}

/// A tenant's alert.
pub async fn get(conn: &mut Conn, tenant: TenantId, id: &str) -> DbResult<Option<AlertRow>> {
    let q = Alerts::select(tenant)
        .columns(ALERT_COLUMNS)
        .and_where(Expr::col(Alerts::Id).eq(id))
        .to_owned();
    conn.fetch_optional(&q).await
}

/// Sets an alert's state; false when the tenant has no such alert.
pub async fn set_state(
    conn: &mut Conn,
    tenant: TenantId,
    id: &str,
    state: &str,
    now: i64,
) -> DbResult<bool> {
    let q = Alerts::update(tenant)
        .value(Alerts::State, state)
        .value(Alerts::UpdatedAt, now)
        .and_where(Expr::col(Alerts::Id).eq(id))
        .to_owned();
    Ok(conn.execute(&q).await? > 0)
}

impl AlertRow {
    /// The alert as the API shows it, with its deliveries.
    pub fn to_wire(&self, deliveries: Vec<Delivery>) -> Alert {
        Alert {
            id: self.id.clone(),
            threat_id: self.threat_id.clone(),
            threat_title: self.threat_title.clone(),
            alert_type: self.alert_type.parse().unwrap_or(AlertType::ThreatUpdated),
            severity: Severity::parse(&self.severity).unwrap_or(Severity::Negligible),
            title: self.title.clone(),
            rule_id: self.rule_id.clone(),
            state: self.state.parse().unwrap_or(AlertState::New),
            created_at: self.created_at,
            updated_at: self.updated_at,
            message: self.message.clone(),
            rule_title: self.rule_title.clone(),
            threat_type: self.threat_type.clone(),
            threat_category: self.threat_category.clone(),
            min_distance_km: self.min_distance_km,
            max_distance_km: self.max_distance_km,
            deliveries,
        }
    }
}

impl RuleRow {
    pub fn to_wire(&self) -> AlertRule {
        AlertRule {
            id: self.rule_id.clone(),
            enabled: self.enabled,
            title: self.title.clone(),
            severity_threshold: self.severity_threshold.0.clone(),
            asset_ids: self.asset_ids.as_ref().map(|a| a.0.clone()),
            threat_types: self.threat_types.as_ref().map(|t| t.0.clone()),
            max_distance_km: self.max_distance_km,
            mute_interval_hours: self.mute_interval_hours,
            email_enabled: self.email_enabled,
            sms_enabled: self.sms_enabled,
            slack_enabled: self.slack_enabled,
            user_receiver_type: self.user_receiver_type.parse().unwrap_or_default(),
            external_receivers: self.external_receivers.0.clone(),
            created_at: self.created_at,
        }
    }
}
