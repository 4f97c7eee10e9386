//! HTTP handlers of `/v1/settings/notifications` and `/v1/webhooks`.

use axum::extract::State;
use axum::http::StatusCode;
use picket_core::error::EventsErrorBody;
use picket_core::extract::{Json, NoQuery, Path};
use picket_core::identity::{need, Authed};
use picket_core::time::now_ms;
use picket_core::{ApiError, AppState};

use crate::deliveries;
use crate::fanout;
use crate::notice::EventType;
use crate::settings::{self, Targets};
use crate::targets;
use crate::webhooks::{self, Fields};
use crate::wire::{
    CreateWebhook, DeliveryList, NotificationSettings, PatchWebhook, PutNotificationSettings,
    TestQueued, Webhook, WebhookList,
};

const MAX_RECIPIENTS: usize = 50;

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("no webhook `{id}`"))
}

fn allow_private(s: &AppState) -> bool {
    s.config.delivery.allow_private_targets
}

/// The tenant's notification targets.
#[utoipa::path(get, path = "/v1/settings/notifications", tag = "notifications",
    responses((status = 200, body = NotificationSettings)))]
pub async fn get_settings(
    State(s): State<AppState>,
    auth: Authed<need::RulesR>,
    _: NoQuery,
) -> Result<Json<NotificationSettings>, ApiError> {
    let t = settings::get(&s.db, auth.tenant_id).await?;
    Ok(Json(NotificationSettings {
        slack_webhook_url: t.slack_webhook_url.as_deref().map(masked),
        email_recipients: t.email_recipients,
        sms_recipients: t.sms_recipients,
    }))
}

/// Replace the tenant's notification targets (Slack incoming webhook, e-mail and SMS
/// recipients) that alert rules with `slack_enabled`, `email_enabled`, `sms_enabled` use.
#[utoipa::path(put, path = "/v1/settings/notifications", tag = "notifications",
    request_body = PutNotificationSettings,
    responses((status = 200, body = NotificationSettings), (status = 400, body = EventsErrorBody)))]
pub async fn put_settings(
    State(s): State<AppState>,
    auth: Authed<need::RulesW>,
    _: NoQuery,
    Json(body): Json<PutNotificationSettings>,
) -> Result<Json<NotificationSettings>, ApiError> {
    let current = settings::get(&s.db, auth.tenant_id)
        .await?
        .slack_webhook_url;
    let slack = match body.slack_webhook_url.as_deref().map(str::trim) {
        None | Some("") => None,
        // The masked URL a GET showed, sent back unchanged: keep the stored one.
        Some(u) if current.as_deref().is_some_and(|c| masked(c) == u) => current,
        Some(u) => Some(targets::url("slack_webhook_url", u, allow_private(&s))?),
    };
    for (field, n) in [
        ("email_recipients", body.email_recipients.len()),
        ("sms_recipients", body.sms_recipients.len()),
    ] {
        if n > MAX_RECIPIENTS {
            return Err(ApiError::bad_request(format!(
                "invalid field `{field}`: at most {MAX_RECIPIENTS} recipients"
            )));
        }
    }
    let mut emails: Vec<String> = Vec::new();
    for (i, a) in body.email_recipients.iter().enumerate() {
        let a = targets::email(&format!("email_recipients[{i}]"), a)?;
        if !emails.iter().any(|x| x.eq_ignore_ascii_case(&a)) {
            emails.push(a);
        }
    }
    let mut phones: Vec<String> = Vec::new();
    for (i, p) in body.sms_recipients.iter().enumerate() {
        let p = targets::phone(&format!("sms_recipients[{i}]"), p)?;
        if !phones.contains(&p) {
            phones.push(p);
        }
    }
    let t = Targets {
        slack_webhook_url: slack,
        email_recipients: emails,
        sms_recipients: phones,
    };
    settings::put(&s.db, auth.tenant_id, &t, now_ms()).await?;
    Ok(Json(NotificationSettings {
        slack_webhook_url: t.slack_webhook_url.as_deref().map(masked),
        email_recipients: t.email_recipients,
        sms_recipients: t.sms_recipients,
    }))
}

/// A Slack incoming-webhook URL as answers show it: the last path segment (the credential
/// part of `https://hooks.slack.com/services/T…/B…/<token>`) cut to its first four characters
/// and `****`, so a reader can tell which URL is set without being able to post to it.
fn masked(url: &str) -> String {
    let cut = url.rfind('/').map_or(0, |i| i + 1);
    let (head, last) = url.split_at(cut);
    if last.chars().count() <= 4 {
        return format!("{head}****");
    }
    let keep: String = last.chars().take(4).collect();
    format!("{head}{keep}****")
}

fn secret(raw: &str) -> Result<String, ApiError> {
    let n = raw.chars().count();
    if !(16..=256).contains(&n) {
        return Err(ApiError::bad_request(
            "invalid field `secret`: must be 16 to 256 characters",
        ));
    }
    Ok(raw.to_string())
}

fn event_types(raw: &[String]) -> Result<Vec<String>, ApiError> {
    if raw.is_empty() {
        return Err(ApiError::bad_request(
            "invalid field `event_types`: name at least one event type",
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for t in raw {
        if t.parse::<EventType>().is_err() {
            return Err(ApiError::bad_request(format!(
                "invalid field `event_types`: unknown event type `{t}`; use {}",
                EventType::names().join(", ")
            )));
        }
        if !out.contains(t) {
            out.push(t.clone());
        }
    }
    Ok(out)
}

fn min_level(v: Option<i64>) -> Result<Option<i64>, ApiError> {
    match v {
        Some(l) if !(0..=100).contains(&l) => Err(ApiError::bad_request(
            "invalid field `min_level`: must be between 0 and 100 (network alert levels are 10, 20, 30)",
        )),
        other => Ok(other),
    }
}

/// The tenant's webhooks, oldest first.
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = WebhookList)))]
pub async fn list_webhooks(
    State(s): State<AppState>,
    auth: Authed<need::RulesR>,
    _: NoQuery,
) -> Result<Json<WebhookList>, ApiError> {
    let webhooks: Vec<Webhook> = webhooks::list(&s.db, auth.tenant_id)
        .await?
        .into_iter()
        .map(Webhook::from)
        .collect();
    Ok(Json(WebhookList {
        total: webhooks.len(),
        webhooks,
    }))
}

/// Create a webhook: notices of its event types are POSTed to `url`, signed with `secret`.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = CreateWebhook,
    responses((status = 201, body = Webhook), (status = 400, body = EventsErrorBody)))]
pub async fn create_webhook(
    State(s): State<AppState>,
    auth: Authed<need::RulesW>,
    _: NoQuery,
    Json(body): Json<CreateWebhook>,
) -> Result<(StatusCode, Json<Webhook>), ApiError> {
    let fields = Fields {
        url: targets::url("url", &body.url, allow_private(&s))?,
        secret: secret(&body.secret)?,
        enabled: body.enabled.unwrap_or(true),
        event_types: event_types(
            body.event_types
                .as_deref()
                .unwrap_or(&[EventType::AlertCreated.as_str().to_string()]),
        )?,
        min_level: min_level(body.min_level)?,
    };
    let id = webhooks::create(&s.db, auth.tenant_id, &fields, now_ms()).await?;
    let row = webhooks::get(&s.db, auth.tenant_id, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// One webhook.
#[utoipa::path(get, path = "/v1/webhooks/{webhook_id}", tag = "webhooks",
    params(("webhook_id" = String, Path)),
    responses((status = 200, body = Webhook), (status = 404, body = EventsErrorBody)))]
pub async fn get_webhook(
    State(s): State<AppState>,
    auth: Authed<need::RulesR>,
    _: NoQuery,
    Path(id): Path<String>,
) -> Result<Json<Webhook>, ApiError> {
    webhooks::get(&s.db, auth.tenant_id, &id)
        .await?
        .map(|r| Json(r.into()))
        .ok_or_else(|| not_found(&id))
}

/// Change a webhook; fields left out keep their values.
#[utoipa::path(patch, path = "/v1/webhooks/{webhook_id}", tag = "webhooks",
    params(("webhook_id" = String, Path)), request_body = PatchWebhook,
    responses((status = 200, body = Webhook), (status = 400, body = EventsErrorBody),
        (status = 404, body = EventsErrorBody)))]
pub async fn patch_webhook(
    State(s): State<AppState>,
    auth: Authed<need::RulesW>,
    _: NoQuery,
    Path(id): Path<String>,
    Json(body): Json<PatchWebhook>,
) -> Result<Json<Webhook>, ApiError> {
    let cur = webhooks::get(&s.db, auth.tenant_id, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    let fields = Fields {
        url: match &body.url {
            Some(u) => targets::url("url", u, allow_private(&s))?,
            None => cur.url.clone(),
        },
        secret: match &body.secret {
            Some(x) => secret(x)?,
            None => cur.secret.clone(),
        },
        enabled: body.enabled.unwrap_or(cur.enabled),
        event_types: match &body.event_types {
            Some(t) => event_types(t)?,
            None => cur.event_types(),
        },
        min_level: match body.min_level {
            Some(v) => min_level(v)?,
            None => cur.min_level,
        },
    };
    if !webhooks::update(&s.db, auth.tenant_id, &id, &fields, now_ms()).await? {
        return Err(not_found(&id));
    }
    webhooks::get(&s.db, auth.tenant_id, &id)
        .await?
        .map(|r| Json(r.into()))
        .ok_or_else(|| not_found(&id))
}

/// Delete a webhook; its pending deliveries fail.
#[utoipa::path(delete, path = "/v1/webhooks/{webhook_id}", tag = "webhooks",
    params(("webhook_id" = String, Path)),
    responses((status = 204), (status = 404, body = EventsErrorBody)))]
pub async fn delete_webhook(
    State(s): State<AppState>,
    auth: Authed<need::RulesW>,
    _: NoQuery,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if webhooks::delete(&s.db, auth.tenant_id, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(&id))
    }
}

/// Queue a signed `ping` delivery to the webhook, whether or not it is enabled.
#[utoipa::path(post, path = "/v1/webhooks/{webhook_id}/test", tag = "webhooks",
    params(("webhook_id" = String, Path)),
    responses((status = 202, body = TestQueued), (status = 404, body = EventsErrorBody)))]
pub async fn test_webhook(
    State(s): State<AppState>,
    auth: Authed<need::RulesW>,
    _: NoQuery,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<TestQueued>), ApiError> {
    webhooks::get(&s.db, auth.tenant_id, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    let mut tx = s.db.begin().await?;
    let delivery_id = fanout::ping(&mut tx, auth.tenant_id, &id, now_ms()).await?;
    tx.commit().await?;
    s.job_signal.notify_one();
    Ok((
        StatusCode::ACCEPTED,
        Json(TestQueued {
            status: "pending",
            delivery_id,
        }),
    ))
}

/// The webhook's latest deliveries (at most 100), newest first, with their outcomes.
#[utoipa::path(get, path = "/v1/webhooks/{webhook_id}/deliveries", tag = "webhooks",
    params(("webhook_id" = String, Path)),
    responses((status = 200, body = DeliveryList), (status = 404, body = EventsErrorBody)))]
pub async fn webhook_deliveries(
    State(s): State<AppState>,
    auth: Authed<need::RulesR>,
    _: NoQuery,
    Path(id): Path<String>,
) -> Result<Json<DeliveryList>, ApiError> {
    webhooks::get(&s.db, auth.tenant_id, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    let deliveries = deliveries::of_webhook(&s.db, auth.tenant_id, &id, 100).await?;
    Ok(Json(DeliveryList {
        total: deliveries.len(),
        deliveries,
    }))
}
