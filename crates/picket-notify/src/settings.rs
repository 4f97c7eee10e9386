//! The tenant's notification targets (`/v1/settings/notifications`): one row per tenant, absent
//! until first saved (then every list is empty and Slack is off).

use picket_core::db::schema::{OnDelete, Table};
use picket_core::db::table::TenantTable;
use picket_core::db::{Db, DbResult, Tx};
use picket_core::identity::TenantId;
use sea_query::OnConflict;

picket_core::table! {
    pub(crate) enum NotificationSettings in "notification_settings", tenant_owned {
        Id: Serial,
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        SlackWebhookUrl: Text .nullable(),
        // JSON arrays of strings.
        EmailRecipients: Text .default("'[]'"),
        SmsRecipients: Text .default("'[]'"),
        UpdatedAt: BigInt,
    }
    indexes {
        unique notification_settings_tenant (TenantId),
    }
}

pub const TABLES: &[Table] = &[NotificationSettings::DECLARED];

/// A tenant's targets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    pub slack_webhook_url: Option<String>,
    pub email_recipients: Vec<String>,
    pub sms_recipients: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct Row {
    slack_webhook_url: Option<String>,
    email_recipients: String,
    sms_recipients: String,
}

impl From<Row> for Targets {
    fn from(r: Row) -> Targets {
        Targets {
            slack_webhook_url: r.slack_webhook_url,
            email_recipients: serde_json::from_str(&r.email_recipients).unwrap_or_default(),
            sms_recipients: serde_json::from_str(&r.sms_recipients).unwrap_or_default(),
        }
    }
}

fn select(tenant: TenantId) -> sea_query::SelectStatement {
    NotificationSettings::select(tenant)
        .columns([
            NotificationSettings::SlackWebhookUrl,
            NotificationSettings::EmailRecipients,
            NotificationSettings::SmsRecipients,
        ])
        .to_owned()
}

pub async fn get(db: &Db, tenant: TenantId) -> DbResult<Targets> {
    let row: Option<Row> = db.fetch_optional(&select(tenant)).await?;
    Ok(row.map(Targets::from).unwrap_or_default())
}

/// The targets, read inside the transaction that enqueues deliveries.
pub async fn get_tx(tx: &mut Tx, tenant: TenantId) -> DbResult<Targets> {
    let row: Option<Row> = tx.fetch_optional(&select(tenant)).await?;
    Ok(row.map(Targets::from).unwrap_or_default())
}

/// Replaces the tenant's targets.
pub async fn put(db: &Db, tenant: TenantId, t: &Targets, now: i64) -> DbResult<()> {
    let emails = serde_json::to_string(&t.email_recipients).unwrap_or_else(|_| "[]".into());
    let phones = serde_json::to_string(&t.sms_recipients).unwrap_or_else(|_| "[]".into());
    let q = NotificationSettings::insert(
        tenant,
        vec![
            (
                NotificationSettings::SlackWebhookUrl,
                t.slack_webhook_url.clone().into(),
            ),
            (NotificationSettings::EmailRecipients, emails.into()),
            (NotificationSettings::SmsRecipients, phones.into()),
            (NotificationSettings::UpdatedAt, now.into()),
        ],
    )
    .on_conflict(
        OnConflict::column(NotificationSettings::TenantId)
            .update_columns([
                NotificationSettings::SlackWebhookUrl,
                NotificationSettings::EmailRecipients,
                NotificationSettings::SmsRecipients,
                NotificationSettings::UpdatedAt,
            ])
            .to_owned(),
    )
    .to_owned();
    db.execute(&q).await.map(|_| ())
}
