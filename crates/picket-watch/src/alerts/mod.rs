//! Alert rules (`/v1/alerts/rules`) and triggered alerts (`/v1/alerts`).
//!
//! A tenant's rules are one set, replaced whole by `PUT` ([`check`] validates it); saving
//! enqueues the [`BACKFILL`] job, which re-evaluates the tenant's active threats so the feed
//! reflects the new rules. The engine's batches call [`evaluate`] in their transaction for the
//! threats they create or materially update: the pure [`matching`] decides which rules match
//! and which matches are muted, and the alerts are written in multi-row inserts. Every
//! statement on the alert tables is in [`store`].
//!
//! Delivery is not done here: [`evaluate`] and [`backfill`] return what they fired
//! ([`Fired`]: the alert's wire form with the rule's channels and receivers), and an alert's
//! `deliveries` come from [`deliveries::of`].

mod check;
pub mod deliveries;
mod evaluate;
mod handlers;
pub mod matching;
pub mod store;
pub mod wire;

pub use evaluate::{backfill, evaluate, Fired};
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
        backfill(&s.db, TenantId(tenant), now_ms()).await?;
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
