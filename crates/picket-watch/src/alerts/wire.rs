//! Wire types of alert rules (§2.5) and triggered alerts (§2.6).

use picket_core::time::serde_rfc3339;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use picket_corpus::taxonomy::Severity;

/// Who among the tenant's users an alert's deliveries reach (§10.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[derive(strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum UserReceiverType {
    #[default]
    None,
    All,
    Admins,
}

impl UserReceiverType {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A recipient outside the tenant's users.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExternalReceiver {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

/// An alert rule as a client sends it. `created_at` is accepted and ignored: the server sets
/// it on a rule id's first save (§10.12).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    /// Client-chosen; unique in the tenant.
    pub id: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub title: String,
    /// Exact severities that match, e.g. `["critical","high"]`.
    pub severity_threshold: Vec<Severity>,
    /// Asset `id`s or `asset_id`s; `null` = any asset.
    #[serde(default)]
    pub asset_ids: Option<Vec<String>>,
    /// `null` = any threat type.
    #[serde(default)]
    pub threat_types: Option<Vec<String>>,
    /// `null` = no distance cap.
    #[serde(default)]
    pub max_distance_km: Option<f64>,
    /// The same rule does not alert again for the same threat within this many hours.
    #[serde(default)]
    pub mute_interval_hours: f64,
    #[serde(default)]
    pub email_enabled: bool,
    #[serde(default)]
    pub sms_enabled: bool,
    #[serde(default)]
    pub slack_enabled: bool,
    #[serde(default)]
    pub user_receiver_type: UserReceiverType,
    #[serde(default)]
    pub external_receivers: Vec<ExternalReceiver>,
    /// Ignored: the server keeps the time of the rule id's first save.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub created_at: Option<serde_json::Value>,
}

fn yes() -> bool {
    true
}

/// `PUT /v1/alerts/rules` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSetInput {
    pub rules: Vec<RuleInput>,
}

/// An alert rule as the API returns it (§2.5).
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct AlertRule {
    pub id: String,
    pub enabled: bool,
    pub title: String,
    pub severity_threshold: Vec<Severity>,
    pub asset_ids: Option<Vec<String>>,
    pub threat_types: Option<Vec<String>>,
    pub max_distance_km: Option<f64>,
    pub mute_interval_hours: f64,
    pub email_enabled: bool,
    pub sms_enabled: bool,
    pub slack_enabled: bool,
    pub user_receiver_type: UserReceiverType,
    pub external_receivers: Vec<ExternalReceiver>,
    #[serde(serialize_with = "serde_rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleSet {
    pub rules: Vec<AlertRule>,
}

/// Alert state (§1.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[derive(strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum AlertState {
    New,
    Seen,
    Acked,
    Dismissed,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Why an alert fired (§10.13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[derive(strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum AlertType {
    ThreatCreated,
    ThreatUpdated,
    /// The threat's severity rose.
    ThreatEscalated,
}

impl AlertType {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One delivery of an alert on one channel.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Delivery {
    /// `email`, `sms`, `slack` or `webhook`.
    pub channel: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}

/// A triggered alert as the API returns it (§2.6).
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Alert {
    pub id: String,
    pub threat_id: String,
    pub threat_title: String,
    pub alert_type: AlertType,
    pub severity: Severity,
    pub title: String,
    pub rule_id: String,
    pub state: AlertState,
    #[serde(serialize_with = "serde_rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    #[serde(serialize_with = "serde_rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
    pub message: Option<String>,
    pub rule_title: Option<String>,
    pub threat_type: Option<String>,
    pub threat_category: Option<String>,
    pub min_distance_km: Option<f64>,
    pub max_distance_km: Option<f64>,
    pub deliveries: Vec<Delivery>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AlertList {
    pub alerts: Vec<Alert>,
    pub total: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Repeat for several.
    #[serde(default)]
    pub state: Vec<AlertState>,
    /// Repeat for several.
    #[serde(default)]
    pub severity: Vec<Severity>,
    pub rule_id: Option<String>,
    pub threat_id: Option<String>,
    /// An asset the alert's threat affects: server `id` or client `asset_id`; repeat for
    /// several.
    #[serde(default)]
    pub asset_id: Vec<String>,
    /// RFC 3339 lower bound on `created_at`.
    pub created_from: Option<String>,
    /// RFC 3339 upper bound on `created_at`.
    pub created_to: Option<String>,
    /// 1–5000, default 100.
    pub limit: Option<i64>,
    /// ≥ 0, default 0.
    pub offset: Option<i64>,
}

/// `PATCH /v1/alerts/{alert_id}/state` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchState {
    pub state: AlertState,
}
