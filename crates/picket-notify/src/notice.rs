//! What the other slices hand to delivery: a [`Notice`] about one thing that happened.

use picket_core::identity::TenantId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The kinds of notice a webhook can subscribe to, named as in `event_types` and in the
/// payload envelope's `type`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
pub enum EventType {
    /// A rule matched a threat (§6.3): `data` is the Alert.
    #[serde(rename = "alert.created")]
    #[strum(serialize = "alert.created")]
    AlertCreated,
    /// The engine or an analyst opened an incident: `data` is the Incident.
    #[serde(rename = "incident.opened")]
    #[strum(serialize = "incident.opened")]
    IncidentOpened,
    /// An incident changed (status, links): `data` is the Incident.
    #[serde(rename = "incident.updated")]
    #[strum(serialize = "incident.updated")]
    IncidentUpdated,
    /// A scheduled report is ready: `data` is the Report without its content, and the summary
    /// links to its PDF.
    #[serde(rename = "report.ready")]
    #[strum(serialize = "report.ready")]
    ReportReady,
    /// A network alert on the `/api/v1` surface: `data` is the network alert.
    #[serde(rename = "network_alert.created")]
    #[strum(serialize = "network_alert.created")]
    NetworkAlertCreated,
    /// A server alert on the `/api/v1` surface: `data` is the server alert.
    #[serde(rename = "server_alert.created")]
    #[strum(serialize = "server_alert.created")]
    ServerAlertCreated,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Whether a webhook's `min_level` applies (network and server alerts carry a level).
    pub fn has_level(self) -> bool {
        matches!(
            self,
            EventType::NetworkAlertCreated | EventType::ServerAlertCreated
        )
    }

    pub fn names() -> Vec<&'static str> {
        <EventType as strum::VariantArray>::VARIANTS
            .iter()
            .map(|e| e.as_str())
            .collect()
    }
}

/// Text for people (Slack, e-mail, SMS): what happened, how bad, where, to what.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub title: String,
    pub severity: String,
    pub location: Option<String>,
    pub assets: Vec<String>,
    /// Where to look at it (a UI or API URL).
    pub link: Option<String>,
}

/// An extra receiver named on an alert rule (§2.5 `external_receivers`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExternalReceiver {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

/// The channels a rule turns on for its alerts, beyond the tenant's webhooks.
/// `Direct::default()` sends nothing but webhooks.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Direct {
    /// To the tenant's `email_recipients`, and the external receivers' e-mail addresses.
    pub email: bool,
    /// To the tenant's `sms_recipients`, and the external receivers' phone numbers.
    pub sms: bool,
    /// To the tenant's Slack incoming webhook.
    pub slack: bool,
    pub external: Vec<ExternalReceiver>,
}

/// One thing that happened, for one tenant, to be delivered.
#[derive(Debug, Clone)]
pub struct Notice {
    pub tenant: TenantId,
    pub event_type: EventType,
    /// The id of what it is about (alert uuid, incident uuid, network alert id): deliveries
    /// are looked up by it.
    pub subject: String,
    /// Network and server alert level, compared with a webhook's `min_level`.
    pub level: Option<i64>,
    /// The JSON object webhooks receive as `data`.
    pub payload: serde_json::Value,
    pub summary: Summary,
    pub direct: Direct,
}
