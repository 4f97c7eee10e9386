//! Alert rules (`/v1/alerts/rules`) and triggered alerts (`/v1/alerts`).
//!
//! A tenant's rules are one set, replaced whole by `PUT` ([`check`] validates it); saving
//! enqueues the [`BACKFILL`] job, which re-evaluates the tenant's active threats so the feed
//! reflects the new rules. The engine's batches call [`evaluate`] in their transaction for the
//! threats they create or materially update: the pure [`matching`] decides which rules match
//! and which matches are muted, and the alerts are written in multi-row inserts. Every
//! statement on the alert tables is in [`store`].
//!
//! Delivery is `picket-notify`'s: [`evaluate`] and [`backfill`] return what they fired
//! ([`Fired`]: the alert's wire form with the rule's channels and receivers), their callers
//! hand [`notices`] of it to `picket_notify::enqueue` in the same transaction as the alerts
//! where they can, and an alert's `deliveries` come from [`deliveries::of`].

mod check;
pub mod deliveries;
mod evaluate;
mod handlers;
pub mod matching;
pub mod store;
pub mod wire;

pub use evaluate::{backfill, evaluate, Fired};

/// The `alert.created` notices of fired alerts: webhooks subscribed to them get the Alert,
/// and the rule's channels (e-mail, SMS, Slack, external receivers) a readable summary.
pub fn notices(fired: &[Fired]) -> Vec<picket_notify::Notice> {
    fired
        .iter()
        .map(|f| {
            let a = &f.alert;
            picket_notify::Notice {
                tenant: f.tenant_id,
                event_type: picket_notify::EventType::AlertCreated,
                subject: a.id.clone(),
                level: None,
                payload: serde_json::to_value(a).unwrap_or_default(),
                summary: picket_notify::Summary {
                    title: format!("{}: {}", a.title, a.threat_title),
                    severity: serde_json::to_value(a.severity)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    location: a.message.clone(),
                    assets: Vec::new(),
                    link: Some(format!("/v1/alerts/{}", a.id)),
                },
                direct: picket_notify::Direct {
                    email: f.email_enabled,
                    sms: f.sms_enabled,
                    slack: f.slack_enabled,
                    external: f
                        .external_receivers
                        .iter()
                        .map(|r| picket_notify::ExternalReceiver {
                            email: r.email.clone(),
                            phone: r.phone.clone(),
                        })
                        .collect(),
                },
            }
        })
        .collect()
}
pub use store::TABLES;

use picket_core::identity::TenantId;
use picket_core::jobs::JobRegistry;
use picket_core::time::now_ms;
use picket_core::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The job that re-evaluates a tenant's active threats after its rules change.
pub const BACKFILL: &str = "alerts.backfill";

pub fn register(r: &mut JobRegistry) {
    r.register(BACKFILL, |s, p| async move {
        let tenant = p["tenant_id"]
            .as_i64()
            .ok_or_else(|| anyhow::anyhow!("alerts.backfill without a tenant_id"))?;
        let now = now_ms();
        let fired = backfill(&s.db, TenantId(tenant), now).await?;
        if !fired.is_empty() {
            // After the backfill's own transactions: an alert whose notice is lost to a crash
            // here is not delivered (the engine's batches enqueue with their alerts).
            let mut tx = s.db.begin().await?;
            picket_notify::enqueue(&mut tx, &notices(&fired), now).await?;
            tx.commit().await?;
            s.job_signal.notify_one();
        }
        Ok(())
    });
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::get_rules, handlers::put_rules))
        .routes(routes!(handlers::list_alerts))
        .routes(routes!(handlers::get_alert))
        .routes(routes!(handlers::patch_state))
}
