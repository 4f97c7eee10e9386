#![forbid(unsafe_code)]
//! Notification delivery for both surfaces: one spine that alerts, incidents, and network and
//! server alerts hand their notices to. Depends on `picket-core` only. Read in this order:
//!
//! 1. [`notice`]: what other slices hand over ([`Notice`], [`EventType`], [`Summary`],
//!    [`Direct`]), and [`enqueue`], which turns notices into delivery rows in the caller's
//!    transaction ([`fanout`]).
//! 2. [`settings`] and [`webhooks`]: the tenant's targets, managed over HTTP ([`handlers`]).
//! 3. [`deliveries`]: the durable rows (pending → delivered | failed) and their retry
//!    schedule; [`send`]: the job that sends due rows over real clients (HTTP, SMTP);
//!    [`guard`]: which addresses a tenant's targets may reach.

/// Delivery rows, claiming, outcomes and the retry schedule.
pub mod deliveries;
/// From notices to delivery rows.
pub mod fanout;
/// Internal-address refusal for tenant targets.
pub mod guard;
mod handlers;
/// The public input: notices and event types.
pub mod notice;
/// Messages for people and the webhook envelope.
pub mod render;
/// The sending job.
pub mod send;
/// The tenant's notification targets.
pub mod settings;
/// Target validation at save time.
pub mod targets;
/// The tenant's webhooks.
pub mod webhooks;
/// Wire types.
pub mod wire;

use std::collections::HashMap;

use picket_core::db::schema::Table;
use picket_core::db::{Db, DbResult};
use picket_core::identity::TenantId;
use picket_core::jobs::JobRegistry;
use picket_core::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use deliveries::DeliveryView;
pub use fanout::{enqueue, has_subscriber, DELIVER};
pub use notice::{Direct, EventType, ExternalReceiver, Notice, Summary};
pub use send::{process_due, signature};

/// The deliveries of each subject (alert, incident, network alert id) of `tenant`, oldest
/// first; a subject without deliveries is absent.
pub async fn deliveries(
    db: &Db,
    tenant: TenantId,
    subjects: &[String],
) -> DbResult<HashMap<String, Vec<DeliveryView>>> {
    deliveries::views(db, tenant, subjects).await
}

/// Tables of delivery.
pub fn tables() -> Vec<&'static [Table]> {
    vec![settings::TABLES, webhooks::TABLES, deliveries::TABLES]
}

/// The sending job, enqueued with new deliveries and every 15 s as a safety net (it also
/// picks up retries as they fall due).
pub fn register_jobs(r: &mut JobRegistry) {
    r.register(DELIVER, |s, _| async move {
        process_due(&s, picket_core::time::now_ms())
            .await
            .map(|_| ())
    });
    r.every(DELIVER, std::time::Duration::from_secs(15));
    r.register(PRUNE, |s, _| async move {
        let before = picket_core::time::now_ms() - deliveries::KEEP_FINISHED_MS;
        let n = deliveries::prune(&s.db, before).await?;
        if n > 0 {
            tracing::info!(deleted = n, "pruned finished deliveries older than 90 days");
        }
        Ok(())
    });
    r.every(PRUNE, std::time::Duration::from_secs(3600));
}

/// Hourly: finished delivery rows older than [`deliveries::KEEP_FINISHED_MS`] are deleted.
pub const PRUNE: &str = "notify.prune";

/// `/v1/settings/notifications` and `/v1/webhooks`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::get_settings, handlers::put_settings))
        .routes(routes!(handlers::list_webhooks, handlers::create_webhook))
        .routes(routes!(
            handlers::get_webhook,
            handlers::patch_webhook,
            handlers::delete_webhook
        ))
        .routes(routes!(handlers::test_webhook))
        .routes(routes!(handlers::webhook_deliveries))
}
