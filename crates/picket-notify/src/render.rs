//! What people read: a notice's summary as a Slack message, an e-mail and an SMS; and the
//! JSON envelope webhooks receive.

use picket_core::time::rfc3339;
use serde_json::{json, Value};

use crate::notice::{EventType, Summary};

/// `{"id": <delivery id>, "type": <event type>, "created_at": <RFC 3339>, "data": {...}}`.
pub fn envelope(delivery_id: &str, event_type: &str, created_at: i64, data: &Value) -> String {
    json!({
        "id": delivery_id,
        "type": event_type,
        "created_at": rfc3339(created_at),
        "data": data,
    })
    .to_string()
}

fn headline(event: EventType) -> &'static str {
    match event {
        EventType::AlertCreated => "Alert",
        EventType::IncidentOpened => "Incident opened",
        EventType::IncidentUpdated => "Incident updated",
        EventType::ReportReady => "Report ready",
        EventType::NetworkAlertCreated => "Network alert",
        EventType::ServerAlertCreated => "Server alert",
    }
}

fn severity(s: &Summary) -> String {
    if s.severity.is_empty() {
        "unspecified".into()
    } else {
        s.severity.clone()
    }
}

fn assets(s: &Summary) -> String {
    if s.assets.is_empty() {
        "none named".into()
    } else {
        s.assets.join(", ")
    }
}

/// Slack's mrkdwn treats `&`, `<` and `>` as control characters.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A Slack incoming-webhook message: a header with the title, then severity, location and
/// affected assets as fields, then the link; `text` is the notification fallback.
pub fn slack(event: EventType, s: &Summary) -> String {
    let title = format!("{}: {}", headline(event), s.title);
    let location = s.location.clone().unwrap_or_else(|| "unknown".into());
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": truncate(&title, 150)}}),
        json!({"type": "section", "fields": [
            {"type": "mrkdwn", "text": format!("*Severity*\n{}", slack_escape(&severity(s)))},
            {"type": "mrkdwn", "text": format!("*Location*\n{}", slack_escape(&location))},
            {"type": "mrkdwn", "text": format!("*Affected assets*\n{}", slack_escape(&assets(s)))},
        ]}),
    ];
    if let Some(link) = &s.link {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn",
            "text": format!("<{}|Open in Picket>", slack_escape(link))}}));
    }
    json!({
        "text": format!("[{}] {} — {}", severity(s).to_uppercase(), title, location),
        "blocks": blocks,
    })
    .to_string()
}

/// An e-mail: `{"subject", "text"}`.
pub fn email(event: EventType, s: &Summary) -> String {
    let subject = format!(
        "[Picket] [{}] {}: {}",
        severity(s).to_uppercase(),
        headline(event),
        s.title
    );
    let mut text = format!(
        "{}: {}\n\nSeverity: {}\nLocation: {}\nAffected assets: {}\n",
        headline(event),
        s.title,
        severity(s),
        s.location.as_deref().unwrap_or("unknown"),
        assets(s),
    );
    if let Some(link) = &s.link {
        text.push_str(&format!("\nDetails: {link}\n"));
    }
    text.push_str(
        "\n-- \nSent by Picket. Change where notifications go under /v1/settings/notifications.\n",
    );
    json!({"subject": truncate(&subject, 200), "text": text}).to_string()
}

/// An SMS: one line, at most 320 characters.
pub fn sms(event: EventType, s: &Summary) -> String {
    let mut text = format!(
        "Picket {} [{}]: {}",
        headline(event).to_lowercase(),
        severity(s),
        s.title
    );
    if let Some(l) = &s.location {
        text.push_str(&format!(" at {l}"));
    }
    if !s.assets.is_empty() {
        text.push_str(&format!(" (assets: {})", assets(s)));
    }
    if let Some(link) = &s.link {
        text.push(' ');
        text.push_str(link);
    }
    truncate(&text, 320)
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max - 1).collect();
    t.push('…');
    t
}
