//! Sending: the `delivery.send` job claims due delivery rows in batches, sends them
//! concurrently over their channel's real client, and records each outcome: `delivered`, or
//! pending again on the retry schedule, or `failed`.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use hmac::{Hmac, Mac};
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use picket_core::config::{DeliveryConfig, SmsProvider, SmtpTls};
use picket_core::identity::TenantId;
use picket_core::AppState;
use sha2::Sha256;

use crate::deliveries::{self, Claimed};
use crate::guard::{self, Refused};
use crate::webhooks::{self, WebhookRow};

/// Rows claimed at a time.
const BATCH: u64 = 500;
/// Sends in flight at once.
const CONCURRENCY: usize = 128;

/// Why an attempt did not deliver.
#[derive(Debug)]
enum Failure {
    /// Worth another attempt on the schedule.
    Retry(String),
    /// Another attempt cannot succeed (a refused target, a deleted webhook, a bad address).
    Final(String),
}

/// The clients one run sends with.
struct Sender {
    config: DeliveryConfig,
    http: reqwest::Client,
    smtp: Option<(AsyncSmtpTransport<Tokio1Executor>, Result<Mailbox, String>)>,
}

fn smtp_transport(
    c: &picket_core::config::SmtpConfig,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, lettre::transport::smtp::Error> {
    let mut b = match c.tls {
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&c.host),
        SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&c.host)?,
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&c.host)?,
    };
    b = b.port(c.port).timeout(Some(Duration::from_secs(20)));
    if !c.username.is_empty() {
        b = b.credentials(Credentials::new(c.username.clone(), c.password.0.clone()));
    }
    Ok(b.build())
}

impl Sender {
    fn new(config: &DeliveryConfig) -> anyhow::Result<Sender> {
        let smtp = if config.smtp.host.is_empty() {
            None
        } else {
            let from = config
                .smtp
                .from
                .parse::<Mailbox>()
                .map_err(|e| format!("delivery.smtp.from is not an address: {e}"));
            Some((smtp_transport(&config.smtp)?, from))
        };
        Ok(Sender {
            config: config.clone(),
            http: guard::http_client(config.allow_private_targets)?,
            smtp,
        })
    }

    async fn send(&self, d: &Claimed, hook: Option<&WebhookRow>) -> Result<(), Failure> {
        match d.channel.as_str() {
            "webhook" => self.webhook(d, hook).await,
            "slack" => {
                let url = self.url(&d.target)?;
                let req = self
                    .http
                    .post(url)
                    .header("content-type", "application/json")
                    .body(d.body.clone());
                self.post(req).await
            }
            "email" => self.email(d).await,
            "sms" => self.sms(d).await,
            other => Err(Failure::Final(format!("unknown channel `{other}`"))),
        }
    }

    /// Parses a stored URL and refuses a literal internal address (names are filtered by the
    /// resolver when connecting).
    fn url(&self, raw: &str) -> Result<reqwest::Url, Failure> {
        let url = reqwest::Url::parse(raw)
            .map_err(|_| Failure::Final("the target URL is not valid".into()))?;
        guard::check_at_send(&url, self.config.allow_private_targets)
            .map_err(|e| Failure::Final(e.0))?;
        Ok(url)
    }

    async fn webhook(&self, d: &Claimed, hook: Option<&WebhookRow>) -> Result<(), Failure> {
        let Some(hook) = hook else {
            return Err(Failure::Final("the webhook was deleted".into()));
        };
        if !hook.enabled && d.event_type != "ping" {
            return Err(Failure::Final("the webhook is disabled".into()));
        }
        let url = self.url(&hook.url)?;
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let req = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("x-picket-signature", signature(&hook.secret, t, &d.body))
            .header("x-picket-event", &d.event_type)
            .header("x-picket-delivery", &d.id)
            .body(d.body.clone());
        self.post(req).await
    }

    async fn post(&self, req: reqwest::RequestBuilder) -> Result<(), Failure> {
        match req.send().await {
            Ok(res) if res.status().is_success() => Ok(()),
            Ok(res) if res.status().is_redirection() => Err(Failure::Final(format!(
                "the target answered {} (a redirect); redirects are not followed",
                res.status()
            ))),
            Ok(res) => Err(Failure::Retry(format!(
                "the target answered {}",
                res.status()
            ))),
            Err(e) => Err(http_failure(e)),
        }
    }

    async fn email(&self, d: &Claimed) -> Result<(), Failure> {
        let Some((transport, from)) = &self.smtp else {
            return Err(Failure::Retry(
                "e-mail delivery is not configured on this server (delivery.smtp.host)".into(),
            ));
        };
        let from = from.clone().map_err(Failure::Retry)?;
        let to: Mailbox = d
            .target
            .parse()
            .map_err(|_| Failure::Final(format!("`{}` is not an e-mail address", d.target)))?;
        let body: serde_json::Value = serde_json::from_str(&d.body).unwrap_or_default();
        let msg = Message::builder()
            .from(from)
            .to(to)
            .subject(body["subject"].as_str().unwrap_or("Picket notification"))
            .header(ContentType::TEXT_PLAIN)
            .body(body["text"].as_str().unwrap_or_default().to_string())
            .map_err(|e| Failure::Final(format!("the message could not be built: {e}")))?;
        match transport.send(msg).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(Failure::Final(format!("SMTP: {e}"))),
            Err(e) => Err(Failure::Retry(format!("SMTP: {e}"))),
        }
    }

    async fn sms(&self, d: &Claimed) -> Result<(), Failure> {
        let c = &self.config.sms;
        let req = match c.provider {
            None => {
                return Err(Failure::Retry(
                    "SMS delivery is not configured on this server (delivery.sms)".into(),
                ))
            }
            Some(SmsProvider::Twilio) => {
                let base = if c.url.is_empty() {
                    "https://api.twilio.com"
                } else {
                    c.url.trim_end_matches('/')
                };
                let url = self.url(&format!(
                    "{base}/2010-04-01/Accounts/{}/Messages.json",
                    c.account_sid
                ))?;
                self.http
                    .post(url)
                    .basic_auth(&c.account_sid, Some(&c.auth_token.0))
                    .form(&[
                        ("To", d.target.as_str()),
                        ("From", c.from.as_str()),
                        ("Body", d.body.as_str()),
                    ])
            }
            Some(SmsProvider::Http) => {
                let url = self.url(&c.url)?;
                let template = if c.body_template.is_empty() {
                    r#"{"to":"{to}","from":"{from}","message":"{message}"}"#
                } else {
                    c.body_template.as_str()
                };
                let body = fill(
                    template,
                    &[("to", &d.target), ("from", &c.from), ("message", &d.body)],
                );
                let kind = if c.content_type.is_empty() {
                    "application/json"
                } else {
                    c.content_type.as_str()
                };
                let mut req = self.http.post(url).header("content-type", kind).body(body);
                if !c.auth_token.0.is_empty() {
                    req = req.bearer_auth(&c.auth_token.0);
                }
                req
            }
        };
        self.post(req).await
    }
}

/// Replaces each `{name}` with the JSON-escaped value (without quotes).
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (name, value) in values {
        let quoted = serde_json::to_string(value).unwrap_or_default();
        out = out.replace(&format!("{{{name}}}"), &quoted[1..quoted.len() - 1]);
    }
    out
}

/// `t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub fn signature(secret: &str, t: u64, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any size");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body.as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// A transport error, without the URL (a Slack URL is a credential).
fn http_failure(e: reqwest::Error) -> Failure {
    let mut chain = Vec::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&e);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<Refused>() {
            return Failure::Final(r.0.clone());
        }
        chain.push(s.to_string());
        source = s.source();
    }
    // The resolver's refusal, when a wrapper hides its type.
    if let Some(refusal) = chain.iter().find(|m| m.contains(guard::REFUSED_MARK)) {
        return Failure::Final(refusal.clone());
    }
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    match chain.last() {
        Some(cause) => Failure::Retry(format!("{kind}: {cause}")),
        None => Failure::Retry(kind.to_string()),
    }
}

/// Sends every delivery due at `now` (Unix ms), batch after batch, and records the outcomes;
/// returns how many attempts were made. Retries become due on the schedule relative to `now`.
pub async fn process_due(state: &AppState, now: i64) -> anyhow::Result<usize> {
    let sender = Sender::new(&state.config.delivery)?;
    let mut total = 0;
    loop {
        let batch = deliveries::claim(&state.db, now, BATCH).await?;
        let n = batch.len();
        if n == 0 {
            break;
        }
        let hooks = load_hooks(state, &batch).await?;
        let outcomes: Vec<(Claimed, Result<(), Failure>)> = futures::stream::iter(batch)
            .map(|d| {
                let hook = hooks.get(&(d.tenant_id, d.target.clone()));
                let sender = &sender;
                async move {
                    let r = sender.send(&d, hook).await;
                    (d, r)
                }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut ok = Vec::new();
        for (d, r) in outcomes {
            match r {
                Ok(()) => {
                    state.metrics.delivery_attempted(&d.channel, "delivered");
                    ok.push(d.id);
                }
                Err(f) => {
                    let attempts = d.attempts + 1;
                    let (msg, retry_at) = match f {
                        Failure::Retry(m) => (m, deliveries::next_retry(attempts, now)),
                        Failure::Final(m) => (m, None),
                    };
                    let outcome = if retry_at.is_some() {
                        "retry"
                    } else {
                        "failed"
                    };
                    state.metrics.delivery_attempted(&d.channel, outcome);
                    tracing::warn!(delivery = %d.id, channel = %d.channel, attempt = attempts,
                        outcome, error = %msg, "delivery attempt failed");
                    deliveries::attempt_failed(&state.db, &d.id, attempts, &msg, retry_at, now)
                        .await?;
                }
            }
        }
        deliveries::delivered(&state.db, &ok, now).await?;
        total += n;
        if (n as u64) < BATCH {
            break;
        }
    }
    Ok(total)
}

/// The webhooks a batch sends to, by (tenant, id).
async fn load_hooks(
    state: &AppState,
    batch: &[Claimed],
) -> anyhow::Result<HashMap<(i64, String), WebhookRow>> {
    let mut wanted: HashMap<i64, Vec<String>> = HashMap::new();
    for d in batch.iter().filter(|d| d.channel == "webhook") {
        let ids = wanted.entry(d.tenant_id).or_default();
        if !ids.contains(&d.target) {
            ids.push(d.target.clone());
        }
    }
    let mut out = HashMap::new();
    for (tenant, ids) in wanted {
        for h in webhooks::by_ids(&state.db, TenantId(tenant), &ids).await? {
            out.insert((tenant, h.id.clone()), h);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_escape_values_and_signatures_are_stable() {
        assert_eq!(
            fill(
                r#"{"to":"{to}","text":"{message}"}"#,
                &[("to", "+15550100"), ("message", "a \"b\"\n")]
            ),
            r#"{"to":"+15550100","text":"a \"b\"\n"}"#
        );
        let s = signature("secret", 1_700_000_000, "{}");
        assert!(s.starts_with("t=1700000000,v1="));
        assert_eq!(s.len(), "t=1700000000,v1=".len() + 64);
    }
}
