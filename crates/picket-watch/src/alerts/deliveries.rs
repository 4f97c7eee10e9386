//! The `deliveries` of alerts as the API shows them: what `picket-notify` recorded for each
//! alert (its subject is the alert's id).

use std::collections::HashMap;

use picket_core::db::{Db, DbResult};
use picket_core::identity::TenantId;

use super::wire::Delivery;

/// The deliveries of the given alerts of a tenant, by alert id; an alert with none is absent.
pub async fn of(
    db: &Db,
    tenant: TenantId,
    alert_ids: &[String],
) -> DbResult<HashMap<String, Vec<Delivery>>> {
    let views = picket_notify::deliveries(db, tenant, alert_ids).await?;
    Ok(views
        .into_iter()
        .map(|(alert, views)| {
            let deliveries = views
                .into_iter()
                .map(|v| Delivery {
                    channel: v.channel,
                    status: v.status,
                    attempts: v.attempts,
                    last_error: v.last_error,
                })
                .collect();
            (alert, deliveries)
        })
        .collect())
}
