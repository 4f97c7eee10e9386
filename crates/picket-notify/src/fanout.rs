//! From notices to delivery rows: who receives what. A notice reaches every enabled webhook of
//! its tenant subscribed to its event type (and, for network and server alerts, at or above
//! the webhook's `min_level`), and the tenant's Slack, e-mail and SMS targets its `direct`
//! switches on, plus the rule's external receivers.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use picket_core::db::{DbResult, Tx};
use picket_core::identity::TenantId;
use picket_core::jobs::{enqueue_tx, NewJob};

use crate::deliveries::{self, NewDelivery};
use crate::notice::{EventType, Notice};
use crate::render;
use crate::settings::{self, Targets};
use crate::webhooks::{self, WebhookRow};

/// The job that sends due deliveries.
pub const DELIVER: &str = "delivery.send";

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Whether `hook` takes `notice`.
fn subscribed(hook: &WebhookRow, types: &[String], notice: &Notice) -> bool {
    hook.enabled
        && types.iter().any(|t| t == notice.event_type.as_str())
        && match (notice.event_type.has_level(), hook.min_level) {
            (true, Some(min)) => notice.level.is_some_and(|l| l >= min),
            _ => true,
        }
}

fn push_unique(out: &mut Vec<String>, v: &str) {
    let v = v.trim();
    if !v.is_empty() && !out.iter().any(|x| x.eq_ignore_ascii_case(v)) {
        out.push(v.to_string());
    }
}

/// The delivery rows of one notice.
fn rows_for(
    n: &Notice,
    targets: &Targets,
    hooks: &[(WebhookRow, Vec<String>)],
    now: i64,
) -> Vec<NewDelivery> {
    let mut rows = Vec::new();
    let row = |channel: &'static str, target: String, id: String, body: String| NewDelivery {
        id,
        tenant: n.tenant,
        subject: n.subject.clone(),
        event_type: n.event_type.as_str().to_string(),
        channel,
        target,
        body,
    };
    for (hook, types) in hooks {
        if subscribed(hook, types, n) {
            let id = new_id();
            let body = render::envelope(&id, n.event_type.as_str(), now, &n.payload);
            rows.push(row("webhook", hook.id.clone(), id, body));
        }
    }
    if n.direct.slack {
        if let Some(url) = &targets.slack_webhook_url {
            rows.push(row(
                "slack",
                url.clone(),
                new_id(),
                render::slack(n.event_type, &n.summary),
            ));
        }
    }
    if n.direct.email {
        let mut to = Vec::new();
        for a in &targets.email_recipients {
            push_unique(&mut to, a);
        }
        for r in &n.direct.external {
            if let Some(a) = &r.email {
                push_unique(&mut to, a);
            }
        }
        let body = render::email(n.event_type, &n.summary);
        for a in to {
            rows.push(row("email", a, new_id(), body.clone()));
        }
    }
    if n.direct.sms {
        let mut to = Vec::new();
        for p in &targets.sms_recipients {
            push_unique(&mut to, p);
        }
        for r in &n.direct.external {
            if let Some(p) = &r.phone {
                push_unique(&mut to, p);
            }
        }
        let body = render::sms(n.event_type, &n.summary);
        for p in to {
            rows.push(row("sms", p, new_id(), body.clone()));
        }
    }
    rows
}

/// Queues the deliveries of `notices` in the caller's transaction, so they exist exactly when
/// what they announce does, and a job to send them. Call `state.job_signal.notify_one()`
/// after committing to wake a local worker at once.
pub async fn enqueue(tx: &mut Tx, notices: &[Notice], now: i64) -> DbResult<()> {
    type Tenant = (Targets, Vec<(WebhookRow, Vec<String>)>);
    let mut tenants: HashMap<TenantId, Tenant> = HashMap::new();
    let mut rows = Vec::new();
    for n in notices {
        if let Entry::Vacant(slot) = tenants.entry(n.tenant) {
            let targets = settings::get_tx(tx, n.tenant).await?;
            let hooks = webhooks::enabled_tx(tx, n.tenant)
                .await?
                .into_iter()
                .map(|h| {
                    let types = h.event_types();
                    (h, types)
                })
                .collect();
            slot.insert((targets, hooks));
        }
        let (targets, hooks) = &tenants[&n.tenant];
        rows.extend(rows_for(n, targets, hooks, now));
    }
    if rows.is_empty() {
        return Ok(());
    }
    deliveries::insert(tx, &rows, now).await?;
    wake_tx(tx).await
}

/// Whether any enabled webhook of the tenant takes notices of one of `types`: a caller that
/// would read and serialise much to build such notices (an incident with every linked threat)
/// asks first, since webhooks are their only receivers.
pub async fn has_subscriber(tx: &mut Tx, tenant: TenantId, types: &[EventType]) -> DbResult<bool> {
    Ok(webhooks::enabled_tx(tx, tenant).await?.iter().any(|h| {
        let subscribed = h.event_types();
        types
            .iter()
            .any(|t| subscribed.iter().any(|s| s == t.as_str()))
    }))
}

/// Enqueues the sending job (one pending at a time; the periodic run catches anything a
/// running job just missed).
pub async fn wake_tx(tx: &mut Tx) -> DbResult<()> {
    enqueue_tx(
        tx,
        &NewJob::new(DELIVER, serde_json::json!({})).dedupe(DELIVER),
    )
    .await
    .map(|_| ())
}

/// Queues a `ping` to one webhook (`POST /v1/webhooks/{id}/test`); returns the delivery id.
pub async fn ping(tx: &mut Tx, tenant: TenantId, webhook_id: &str, now: i64) -> DbResult<String> {
    let id = new_id();
    let data = serde_json::json!({
        "webhook_id": webhook_id,
        "message": "This is a test delivery from Picket.",
    });
    let row = NewDelivery {
        id: id.clone(),
        tenant,
        subject: webhook_id.to_string(),
        event_type: "ping".into(),
        channel: "webhook",
        target: webhook_id.to_string(),
        body: render::envelope(&id, "ping", now, &data),
    };
    deliveries::insert(tx, std::slice::from_ref(&row), now).await?;
    wake_tx(tx).await?;
    Ok(id)
}
