//! Wire types of `/v1/settings/notifications` and `/v1/webhooks`.

use picket_core::time::serde_rfc3339;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::deliveries::DeliveryRecord;
use crate::webhooks::WebhookRow;

/// The tenant's notification targets.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationSettings {
    /// Slack incoming-webhook URL; `null` = no Slack.
    pub slack_webhook_url: Option<String>,
    pub email_recipients: Vec<String>,
    /// Phone numbers in E.164 form (`+` and 8–15 digits).
    pub sms_recipients: Vec<String>,
}

/// Replaces the tenant's targets; a field left out is cleared.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutNotificationSettings {
    #[serde(default)]
    pub slack_webhook_url: Option<String>,
    #[serde(default)]
    pub email_recipients: Vec<String>,
    #[serde(default)]
    pub sms_recipients: Vec<String>,
}

/// A webhook. The secret is write-only: it signs deliveries and is never shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub enabled: bool,
    /// Subscribed event types: `alert.created`, `incident.opened`, `incident.updated`,
    /// `network_alert.created`, `server_alert.created`.
    pub event_types: Vec<String>,
    /// Network and server alerts below this level are not sent; `null` = all.
    pub min_level: Option<i64>,
    #[serde(serialize_with = "serde_rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    #[serde(serialize_with = "serde_rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
}

impl From<WebhookRow> for Webhook {
    fn from(r: WebhookRow) -> Webhook {
        Webhook {
            event_types: r.event_types(),
            id: r.id,
            url: r.url,
            enabled: r.enabled,
            min_level: r.min_level,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    pub webhooks: Vec<Webhook>,
    pub total: usize,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// `https://` (or `http://`) URL the notices are POSTed to.
    pub url: String,
    /// Signing secret, 16–256 characters; write-only.
    pub secret: String,
    /// Default `true`.
    pub enabled: Option<bool>,
    /// Default `["alert.created"]`.
    pub event_types: Option<Vec<String>>,
    pub min_level: Option<i64>,
}

/// A partial update; `min_level: null` clears the minimum.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchWebhook {
    pub url: Option<String>,
    /// Replaces the signing secret.
    pub secret: Option<String>,
    pub enabled: Option<bool>,
    pub event_types: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub min_level: Option<Option<i64>>,
}

/// A field that is present, even as `null`, is `Some`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TestQueued {
    /// Always `pending`: the ping is queued; its outcome shows in the webhook's deliveries.
    pub status: &'static str,
    pub delivery_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<DeliveryRecord>,
    pub total: usize,
}
