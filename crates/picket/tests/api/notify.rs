//! Delivery (`picket-notify`) against real servers on loopback: an HTTP sink that records
//! what it receives (webhooks, Slack, SMS gateways) and checks webhook signatures, and an SMTP
//! server that speaks enough of the protocol for a real client to hand it a message. Notices
//! are queued with `picket_notify::enqueue`, as the alert engine does, and sent by the
//! delivery job or by `process_due` with an explicit clock (retries are driven by time, not
//! sleeps).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method as HttpMethod, StatusCode, Uri};
use hmac::{Hmac, Mac};
use picket_core::config::{Config, Secret, SmsProvider, SmtpTls};
use picket_core::identity::{Perm, TenantId};
use picket_core::jobs::run_pending_jobs;
use picket_core::time::now_ms;
use picket_core::AppState;
use picket_notify::{Direct, EventType, ExternalReceiver, Notice, Summary};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::helpers::{events_error, json, spawn, spawn_with, TestApp};
use crate::netmon_devices::tenant;

const SECRET: &str = "whsec-0123456789abcdef";

// ---------------------------------------------------------------------------------------------
// The HTTP sink.

#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: String,
}

#[derive(Clone, Default)]
struct SinkState {
    received: Arc<Mutex<Vec<Received>>>,
    /// Statuses to answer with, in order, before answering 200.
    script: Arc<Mutex<VecDeque<u16>>>,
}

struct Sink {
    addr: SocketAddr,
    state: SinkState,
}

impl Sink {
    async fn start() -> Sink {
        let state = SinkState::default();
        let s = state.clone();
        let app = axum::Router::new().fallback(
            move |method: HttpMethod, uri: Uri, headers: HeaderMap, body: Bytes| {
                let s = s.clone();
                async move {
                    assert_eq!(method, HttpMethod::POST);
                    s.received.lock().unwrap().push(Received {
                        path: uri.path().to_string(),
                        headers,
                        body: String::from_utf8(body.to_vec()).unwrap(),
                    });
                    if uri.path().starts_with("/always-fail") {
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    let code = s.script.lock().unwrap().pop_front().unwrap_or(200);
                    StatusCode::from_u16(code).unwrap()
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Sink { addr, state }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn fail_next(&self, statuses: &[u16]) {
        self.state.script.lock().unwrap().extend(statuses);
    }

    fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    fn at(&self, path: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }
}

/// Checks `X-Picket-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` the way a
/// receiver would, and returns the parsed body.
fn verified(r: &Received, secret: &str) -> Value {
    let header = r.headers["x-picket-signature"].to_str().unwrap();
    let (t, v1) = header.split_once(',').unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let v1 = v1.strip_prefix("v1=").unwrap();
    let age = now_ms() / 1000 - t.parse::<i64>().unwrap();
    assert!((0..300).contains(&age), "a fresh timestamp: {header}");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", r.body).as_bytes());
    mac.verify_slice(&hex::decode(v1).unwrap())
        .expect("the signature verifies with the webhook's secret");
    assert_eq!(r.headers["content-type"], "application/json");
    serde_json::from_str(&r.body).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The SMTP server.

#[derive(Debug, Clone, Default)]
struct Mail {
    from: String,
    to: Vec<String>,
    data: String,
    auth: Option<String>,
}

#[derive(Clone)]
struct Smtp {
    port: u16,
    mail: Arc<Mutex<Vec<Mail>>>,
}

impl Smtp {
    /// Accepts connections and speaks SMTP: EHLO (offering AUTH PLAIN LOGIN), AUTH PLAIN,
    /// MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT.
    async fn start() -> Smtp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mail: Arc<Mutex<Vec<Mail>>> = Arc::default();
        let store = mail.clone();
        tokio::spawn(async move {
            loop {
                let (sock, _) = listener.accept().await.unwrap();
                let store = store.clone();
                tokio::spawn(async move {
                    let (rd, mut wr) = sock.into_split();
                    let mut rd = BufReader::new(rd);
                    wr.write_all(b"220 sink.test ESMTP ready\r\n")
                        .await
                        .unwrap();
                    let mut cur = Mail::default();
                    let mut auth = None;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if rd.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let cmd = line.trim_end().to_string();
                        let upper = cmd.to_ascii_uppercase();
                        let reply: &[u8] = if upper.starts_with("EHLO") {
                            b"250-sink.test\r\n250 AUTH PLAIN LOGIN\r\n"
                        } else if upper.starts_with("HELO") || upper == "NOOP" {
                            b"250 ok\r\n"
                        } else if upper.starts_with("AUTH PLAIN ") {
                            auth = Some(cmd[11..].to_string());
                            b"235 2.7.0 authenticated\r\n"
                        } else if upper.starts_with("MAIL FROM:") {
                            cur = Mail {
                                from: cmd[10..].trim().to_string(),
                                auth: auth.clone(),
                                ..Mail::default()
                            };
                            b"250 ok\r\n"
                        } else if upper.starts_with("RCPT TO:") {
                            cur.to.push(cmd[8..].trim().to_string());
                            b"250 ok\r\n"
                        } else if upper == "DATA" {
                            wr.write_all(b"354 end with <CRLF>.<CRLF>\r\n")
                                .await
                                .unwrap();
                            let mut data = String::new();
                            loop {
                                line.clear();
                                rd.read_line(&mut line).await.unwrap();
                                if line == ".\r\n" {
                                    break;
                                }
                                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                            }
                            cur.data = data;
                            store.lock().unwrap().push(std::mem::take(&mut cur));
                            b"250 2.0.0 queued\r\n"
                        } else if upper == "RSET" {
                            cur = Mail::default();
                            b"250 ok\r\n"
                        } else if upper == "QUIT" {
                            let _ = wr.write_all(b"221 bye\r\n").await;
                            return;
                        } else {
                            b"502 command not implemented\r\n"
                        };
                        wr.write_all(reply).await.unwrap();
                    }
                });
            }
        });
        Smtp { port, mail }
    }

    fn mail(&self) -> Vec<Mail> {
        self.mail.lock().unwrap().clone()
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// An app whose delivery may reach the loopback sinks, with `tweak` for the rest.
async fn app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    spawn_with(
        |c| {
            c.delivery.allow_private_targets = true;
            tweak(c);
        },
        None,
    )
    .await
}

async fn create_hook(app: &TestApp, key: &str, body: Value) -> Value {
    let res = app
        .req_as(key, Method::POST, "/v1/webhooks")
        .json(&body)
        .send()
        .await
        .unwrap();
    json(res, 201).await
}

fn alert_notice(tenant: TenantId, direct: Direct) -> Notice {
    let id = uuid::Uuid::now_v7().to_string();
    Notice {
        tenant,
        event_type: EventType::AlertCreated,
        subject: id.clone(),
        level: None,
        payload: json!({"id": id, "title": "Flooding near Lagos HQ", "severity": "high",
            "state": "new"}),
        summary: Summary {
            title: "Flooding near Lagos HQ".into(),
            severity: "high".into(),
            location: Some("Lagos, NG".into()),
            assets: vec!["Lagos HQ".into(), "Ikeja depot".into()],
            link: Some(format!("https://picket.example/alerts/{id}")),
        },
        direct,
    }
}

fn network_notice(tenant: TenantId, level: i64) -> Notice {
    let id = format!("na-{}", uuid::Uuid::now_v7().simple());
    Notice {
        tenant,
        event_type: EventType::NetworkAlertCreated,
        subject: id.clone(),
        level: Some(level),
        payload: json!({"id": id, "level": level, "title": "New device on the guest network"}),
        summary: Summary {
            title: "New device on the guest network".into(),
            severity: format!("level {level}"),
            ..Summary::default()
        },
        direct: Direct::default(),
    }
}

async fn enqueue(state: &AppState, notices: &[Notice], now: i64) {
    let mut tx = state.db.begin().await.unwrap();
    picket_notify::enqueue(&mut tx, notices, now).await.unwrap();
    tx.commit().await.unwrap();
}

async fn deliveries_of(state: &AppState, tenant: TenantId, subject: &str) -> Vec<Value> {
    let map = picket_notify::deliveries(&state.db, tenant, &[subject.to_string()])
        .await
        .unwrap();
    map.get(subject)
        .map(|v| v.iter().map(|d| serde_json::to_value(d).unwrap()).collect())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[tokio::test]
async fn webhooks_crud_keeps_the_secret_write_only_and_refuses_bad_input() {
    let app = spawn().await;
    let hook = create_hook(
        &app,
        &app.key,
        json!({"url": "https://hooks.example.org/picket", "secret": SECRET,
            "event_types": ["alert.created", "network_alert.created"], "min_level": 20}),
    )
    .await;
    let id = hook["id"].as_str().unwrap().to_string();
    assert_eq!(hook["url"], "https://hooks.example.org/picket");
    assert_eq!(hook["enabled"], true);
    assert_eq!(hook["min_level"], 20);
    assert_eq!(
        hook["event_types"],
        json!(["alert.created", "network_alert.created"])
    );
    assert!(hook.get("secret").is_none(), "{hook}");
    // Defaults: enabled, alert.created only.
    let other = create_hook(
        &app,
        &app.key,
        json!({"url": "https://other.example.org/in", "secret": SECRET}),
    )
    .await;
    assert_eq!(other["event_types"], json!(["alert.created"]));

    let bad = [
        (json!({"secret": SECRET}), "url"),
        (json!({"url": "ftp://x.example/y", "secret": SECRET}), "url"),
        (json!({"url": "not a url", "secret": SECRET}), "url"),
        (
            json!({"url": "http://127.0.0.1:9/x", "secret": SECRET}),
            "url",
        ),
        (
            json!({"url": "http://169.254.169.254/latest", "secret": SECRET}),
            "url",
        ),
        (
            json!({"url": "http://[fd00::1]/x", "secret": SECRET}),
            "url",
        ),
        (
            json!({"url": "http://localhost:8080/x", "secret": SECRET}),
            "url",
        ),
        (json!({"url": "https://a.example/x"}), "secret"),
        (
            json!({"url": "https://a.example/x", "secret": "short"}),
            "secret",
        ),
        (
            json!({"url": "https://a.example/x", "secret": SECRET, "event_types": ["alert.deleted"]}),
            "event_types",
        ),
        (
            json!({"url": "https://a.example/x", "secret": SECRET, "event_types": []}),
            "event_types",
        ),
        (
            json!({"url": "https://a.example/x", "secret": SECRET, "min_level": 500}),
            "min_level",
        ),
        (
            json!({"url": "https://a.example/x", "secret": SECRET, "enabled": "yes"}),
            "enabled",
        ),
        (
            json!({"url": "https://a.example/x", "secret": SECRET, "colour": "red"}),
            "colour",
        ),
    ];
    for (body, field) in bad {
        let res = app.send_json(Method::POST, "/v1/webhooks", &body).await;
        events_error(res, 400, "invalid_request", field).await;
    }
    let path = format!("/v1/webhooks/{id}");
    let res = app
        .send_json(
            Method::PATCH,
            &path,
            &json!({"url": "http://10.0.0.7/hook"}),
        )
        .await;
    events_error(res, 400, "invalid_request", "url").await;

    let list = json(app.get("/v1/webhooks").await, 200).await;
    assert_eq!(list["total"], 2, "bad input wrote nothing: {list}");
    assert_eq!(list["webhooks"][0]["id"], id.as_str());
    assert_eq!(json(app.get(&path).await, 200).await, hook);

    let patched = json(
        app.send_json(
            Method::PATCH,
            &path,
            &json!({"enabled": false, "min_level": null, "secret": "a-new-secret-of-some-length"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(patched["enabled"], false);
    assert_eq!(patched["min_level"], Value::Null);
    assert_eq!(patched["url"], hook["url"]);

    // The secret appears in no answer, before or after a change.
    for p in ["/v1/webhooks", path.as_str()] {
        let text = app.get(p).await.text().await.unwrap();
        assert!(
            !text.contains(SECRET) && !text.contains("a-new-secret"),
            "{text}"
        );
    }

    let res = app.req(Method::DELETE, &path).send().await.unwrap();
    assert_eq!(res.status(), 204);
    events_error(app.get(&path).await, 404, "not_found", &id).await;
    let res = app.req(Method::DELETE, &path).send().await.unwrap();
    events_error(res, 404, "not_found", &id).await;
    let res = app
        .req(Method::POST, &format!("{path}/test"))
        .send()
        .await
        .unwrap();
    events_error(res, 404, "not_found", &id).await;
}

#[tokio::test]
async fn webhooks_and_settings_need_the_rules_permissions() {
    let app = spawn().await;
    let reader = app.tenant_key("default", Some(&[Perm::RulesR])).await;
    let nobody = app.tenant_key("default", Some(&[Perm::AssetsR])).await;
    for path in ["/v1/webhooks", "/v1/settings/notifications"] {
        let res = app.req_as(&reader, Method::GET, path).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let res = app.req_as(&nobody, Method::GET, path).send().await.unwrap();
        events_error(res, 403, "forbidden", "").await;
    }
    let res = app
        .req_as(&reader, Method::POST, "/v1/webhooks")
        .json(&json!({"url": "https://a.example/x", "secret": SECRET}))
        .send()
        .await
        .unwrap();
    events_error(res, 403, "forbidden", "").await;
    let res = app
        .req_as(&reader, Method::PUT, "/v1/settings/notifications")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    events_error(res, 403, "forbidden", "").await;
    let res = app
        .client
        .get(app.url("/v1/webhooks"))
        .send()
        .await
        .unwrap();
    events_error(res, 401, "unauthorized", "").await;
}

#[tokio::test]
async fn notification_settings_round_trip_and_refuse_bad_targets() {
    let app = spawn().await;
    let empty = json(app.get("/v1/settings/notifications").await, 200).await;
    assert_eq!(
        empty,
        json!({"slack_webhook_url": null, "email_recipients": [], "sms_recipients": []})
    );
    let good = json!({
        "slack_webhook_url": "https://hooks.slack.com/services/T000/B000/XXXXsecret0123456789",
        "email_recipients": ["ops@example.org", "OPS@example.org", "security@example.com"],
        "sms_recipients": ["+44 20 7946 0958"],
    });
    let saved = json(
        app.send_json(Method::PUT, "/v1/settings/notifications", &good)
            .await,
        200,
    )
    .await;
    // The Slack URL's token is a credential: answers show its first four characters only.
    let expected = json!({
        "slack_webhook_url": "https://hooks.slack.com/services/T000/B000/XXXX****",
        "email_recipients": ["ops@example.org", "security@example.com"],
        "sms_recipients": ["+442079460958"],
    });
    assert_eq!(saved, expected);
    assert_eq!(
        json(app.get("/v1/settings/notifications").await, 200).await,
        expected
    );

    let bad = [
        (
            json!({"email_recipients": ["ops@example.org", "not-an-address"]}),
            "email_recipients[1]",
        ),
        (json!({"sms_recipients": ["555-0100"]}), "sms_recipients[0]"),
        (
            json!({"sms_recipients": ["+1555abc0100"]}),
            "sms_recipients[0]",
        ),
        (
            json!({"slack_webhook_url": "hooks.slack.com/x"}),
            "slack_webhook_url",
        ),
        (
            json!({"slack_webhook_url": "http://192.168.1.10/hook"}),
            "slack_webhook_url",
        ),
        (
            json!({"slack_webhook_url": "http://[::1]:8080/hook"}),
            "slack_webhook_url",
        ),
        (
            json!({"email_recipients": "ops@example.org"}),
            "email_recipients",
        ),
        (json!({"pager": "on"}), "pager"),
    ];
    for (body, field) in bad {
        let res = app
            .send_json(Method::PUT, "/v1/settings/notifications", &body)
            .await;
        events_error(res, 400, "invalid_request", field).await;
    }
    let res = app
        .req(Method::GET, "/v1/settings/notifications?verbose=1")
        .send()
        .await
        .unwrap();
    events_error(res, 400, "invalid_request", "verbose").await;
    assert_eq!(
        json(app.get("/v1/settings/notifications").await, 200).await,
        expected,
        "bad input changed nothing"
    );
}

#[tokio::test]
async fn a_test_ping_arrives_signed_and_shows_as_delivered() {
    let sink = Sink::start().await;
    let app = app_with(|_| {}).await;
    let hook = create_hook(
        &app,
        &app.key,
        json!({"url": sink.url("/hook"), "secret": SECRET, "enabled": false}),
    )
    .await;
    let id = hook["id"].as_str().unwrap();
    let res = app
        .req(Method::POST, &format!("/v1/webhooks/{id}/test"))
        .send()
        .await
        .unwrap();
    let queued = json(res, 202).await;
    assert_eq!(queued["status"], "pending");
    run_pending_jobs(&app.state).await.unwrap();

    let got = sink.at("/hook");
    assert_eq!(got.len(), 1);
    let body = verified(&got[0], SECRET);
    assert_eq!(body["type"], "ping");
    assert_eq!(body["id"], queued["delivery_id"]);
    assert_eq!(body["data"]["webhook_id"], id);
    assert!(body["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(got[0].headers["x-picket-event"], "ping");
    assert_eq!(
        got[0].headers["x-picket-delivery"],
        queued["delivery_id"].as_str().unwrap()
    );

    let list = json(app.get(&format!("/v1/webhooks/{id}/deliveries")).await, 200).await;
    assert_eq!(list["total"], 1);
    let d = &list["deliveries"][0];
    assert_eq!(d["id"], queued["delivery_id"]);
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_i64()),
        (Some("delivered"), Some(1))
    );
    assert_eq!(d["last_error"], Value::Null);
}

#[tokio::test]
async fn a_notice_reaches_webhooks_slack_email_and_twilio_sms() {
    let sink = Sink::start().await;
    let smtp = Smtp::start().await;
    let sink_base = sink.url("");
    let app = app_with(|c| {
        c.delivery.smtp.host = "127.0.0.1".into();
        c.delivery.smtp.port = smtp.port;
        c.delivery.smtp.tls = SmtpTls::None;
        c.delivery.smtp.username = "picket".into();
        c.delivery.smtp.password = Secret("relay-password".into());
        c.delivery.smtp.from = "Picket <alerts@picket.example>".into();
        c.delivery.sms.provider = Some(SmsProvider::Twilio);
        c.delivery.sms.url = sink_base.clone();
        c.delivery.sms.account_sid = "AC0123".into();
        c.delivery.sms.auth_token = Secret("twilio-token".into());
        c.delivery.sms.from = "+15005550006".into();
    })
    .await;
    let t = tenant(&app, "default").await;
    let settings = json!({
        "slack_webhook_url": sink.url("/slack"),
        "email_recipients": ["ops@example.org"],
        "sms_recipients": ["+15550100999"],
    });
    let res = app
        .send_json(Method::PUT, "/v1/settings/notifications", &settings)
        .await;
    json(res, 200).await;
    // A client that reads the settings and writes them back unchanged (the Slack URL masked)
    // keeps the real URL: the Slack message below still arrives.
    let shown = json(app.get("/v1/settings/notifications").await, 200).await;
    assert_ne!(shown["slack_webhook_url"], settings["slack_webhook_url"]);
    json(
        app.send_json(Method::PUT, "/v1/settings/notifications", &shown)
            .await,
        200,
    )
    .await;
    create_hook(
        &app,
        &app.key,
        json!({"url": sink.url("/alerts"), "secret": SECRET, "event_types": ["alert.created"]}),
    )
    .await;
    create_hook(
        &app,
        &app.key,
        json!({"url": sink.url("/network"), "secret": "another-secret-0001",
            "event_types": ["network_alert.created"], "min_level": 20}),
    )
    .await;
    // Subscribed to nothing these notices are, and a disabled one: neither hears of them.
    create_hook(
        &app,
        &app.key,
        json!({"url": sink.url("/incidents"), "secret": SECRET, "event_types": ["incident.opened"]}),
    )
    .await;
    create_hook(
        &app,
        &app.key,
        json!({"url": sink.url("/off"), "secret": SECRET, "enabled": false}),
    )
    .await;

    let alert = alert_notice(
        t,
        Direct {
            email: true,
            sms: true,
            slack: true,
            external: vec![ExternalReceiver {
                email: Some("duty@example.com".into()),
                phone: Some("+15550100888".into()),
            }],
        },
    );
    let quiet = network_notice(t, 10);
    let loud = network_notice(t, 30);
    let now = now_ms();
    enqueue(
        &app.state,
        &[alert.clone(), quiet.clone(), loud.clone()],
        now,
    )
    .await;
    // The delivery job was queued with the deliveries.
    run_pending_jobs(&app.state).await.unwrap();

    // The webhook: a signed envelope with the alert as `data`.
    let hooks = sink.at("/alerts");
    assert_eq!(hooks.len(), 1);
    let env = verified(&hooks[0], SECRET);
    assert_eq!(env["type"], "alert.created");
    assert_eq!(env["data"], alert.payload);
    assert!(env["id"].as_str().is_some() && env["created_at"].as_str().is_some());
    // Network alerts: only the one at or above the webhook's minimum level.
    let net = sink.at("/network");
    assert_eq!(net.len(), 1);
    let env = verified(&net[0], "another-secret-0001");
    assert_eq!(env["type"], "network_alert.created");
    assert_eq!(env["data"]["level"], 30);
    assert!(sink.at("/incidents").is_empty() && sink.at("/off").is_empty());

    // Slack: a readable message.
    let slack = sink.at("/slack");
    assert_eq!(slack.len(), 1);
    let msg: Value = serde_json::from_str(&slack[0].body).unwrap();
    let text = msg.to_string();
    for needle in [
        "Flooding near Lagos HQ",
        "high",
        "Lagos, NG",
        "Lagos HQ, Ikeja depot",
        "https://picket.example/alerts/",
    ] {
        assert!(
            text.contains(needle),
            "Slack message shows `{needle}`: {text}"
        );
    }
    assert!(msg["text"].as_str().unwrap().contains("[HIGH]"));
    assert_eq!(msg["blocks"][0]["type"], "header");

    // SMS through the Twilio-compatible API: one per number, form-encoded, basic auth.
    let sms = sink.at("/2010-04-01/Accounts/AC0123/Messages.json");
    assert_eq!(sms.len(), 2);
    let mut to = Vec::new();
    for r in &sms {
        assert_eq!(
            r.headers["content-type"],
            "application/x-www-form-urlencoded"
        );
        let auth = r.headers["authorization"].to_str().unwrap();
        assert_eq!(
            auth, "Basic QUMwMTIzOnR3aWxpby10b2tlbg==",
            "AC0123:twilio-token"
        );
        let form: Vec<(String, String)> = serde_html_form::from_str(&r.body).unwrap();
        let get = |k: &str| form.iter().find(|(n, _)| n == k).unwrap().1.clone();
        assert_eq!(get("From"), "+15005550006");
        assert!(get("Body").contains("Flooding near Lagos HQ"), "{}", r.body);
        to.push(get("To"));
    }
    to.sort();
    assert_eq!(to, ["+15550100888", "+15550100999"]);

    // E-mail through the SMTP server, authenticated, one message per recipient.
    let mail = smtp.mail();
    assert_eq!(mail.len(), 2, "{mail:?}");
    let mut rcpt: Vec<String> = mail.iter().flat_map(|m| m.to.clone()).collect();
    rcpt.sort();
    assert_eq!(rcpt, ["<duty@example.com>", "<ops@example.org>"]);
    for m in &mail {
        assert_eq!(m.from, "<alerts@picket.example>");
        // AUTH PLAIN: base64 of "\0picket\0relay-password".
        assert_eq!(m.auth.as_deref(), Some("AHBpY2tldAByZWxheS1wYXNzd29yZA=="));
        assert!(
            m.data
                .contains("Subject: [Picket] [HIGH] Alert: Flooding near Lagos HQ"),
            "{}",
            m.data
        );
        assert!(
            m.data.contains("Affected assets: Lagos HQ, Ikeja depot"),
            "{}",
            m.data
        );
    }

    // Every outcome shows against its subject.
    let mut got: Vec<(String, String, i64)> = deliveries_of(&app.state, t, &alert.subject)
        .await
        .into_iter()
        .map(|d| {
            assert_eq!(d["last_error"], Value::Null);
            (
                d["channel"].as_str().unwrap().to_string(),
                d["status"].as_str().unwrap().to_string(),
                d["attempts"].as_i64().unwrap(),
            )
        })
        .collect();
    got.sort();
    let want: Vec<(String, String, i64)> = ["email", "email", "slack", "sms", "sms", "webhook"]
        .iter()
        .map(|c| (c.to_string(), "delivered".to_string(), 1))
        .collect();
    assert_eq!(got, want);
    assert!(deliveries_of(&app.state, t, &quiet.subject)
        .await
        .is_empty());
    assert_eq!(deliveries_of(&app.state, t, &loud.subject).await.len(), 1);

    // Another tenant's subjects show nothing.
    app.tenant_key("other", None).await;
    let other = tenant(&app, "other").await;
    assert!(deliveries_of(&app.state, other, &alert.subject)
        .await
        .is_empty());

    // The metrics count attempts per channel and outcome.
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            r#"picket_notification_deliveries_total{channel="email",outcome="delivered"} 2"#
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn sms_through_a_templated_http_gateway() {
    let sink = Sink::start().await;
    let url = sink.url("/sms/send");
    let app = app_with(|c| {
        c.delivery.sms.provider = Some(SmsProvider::Http);
        c.delivery.sms.url = url;
        c.delivery.sms.auth_token = Secret("gateway-token".into());
        c.delivery.sms.from = "Picket".into();
        c.delivery.sms.body_template =
            r#"{"recipient":"{to}","sender":"{from}","text":"{message}","kind":"alert"}"#.into();
    })
    .await;
    let t = tenant(&app, "default").await;
    let res = app
        .send_json(
            Method::PUT,
            "/v1/settings/notifications",
            &json!({"sms_recipients": ["+15550100999"]}),
        )
        .await;
    json(res, 200).await;
    let mut n = alert_notice(
        t,
        Direct {
            sms: true,
            ..Direct::default()
        },
    );
    n.summary.title = "Storm \"Ada\" near the depot".into();
    enqueue(&app.state, std::slice::from_ref(&n), now_ms()).await;
    run_pending_jobs(&app.state).await.unwrap();

    let got = sink.at("/sms/send");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].headers["authorization"], "Bearer gateway-token");
    let body: Value = serde_json::from_str(&got[0].body).expect("the filled template is JSON");
    assert_eq!(body["recipient"], "+15550100999");
    assert_eq!(body["sender"], "Picket");
    assert_eq!(body["kind"], "alert");
    assert!(body["text"]
        .as_str()
        .unwrap()
        .contains("Storm \"Ada\" near the depot"));
    let d = deliveries_of(&app.state, t, &n.subject).await;
    assert_eq!(
        d,
        [json!({"channel": "sms", "status": "delivered", "attempts": 1, "last_error": null})]
    );
}

#[tokio::test]
async fn failed_attempts_are_retried_on_the_schedule_then_given_up() {
    let sink = Sink::start().await;
    let app = app_with(|_| {}).await;
    let t = tenant(&app, "default").await;
    create_hook(
        &app,
        &app.key,
        json!({"url": sink.url("/flaky"), "secret": SECRET}),
    )
    .await;
    create_hook(
        &app,
        &app.key,
        json!({"url": sink.url("/always-fail"), "secret": SECRET}),
    )
    .await;
    sink.fail_next(&[500, 502]);
    let n = alert_notice(t, Direct::default());
    let t0 = now_ms();
    enqueue(&app.state, std::slice::from_ref(&n), t0).await;

    let send = |at: i64| picket_notify::process_due(&app.state, at);
    // (status, attempts) of both deliveries, and their errors, in a stable order.
    let states = || async {
        let ds = deliveries_of(&app.state, t, &n.subject).await;
        let mut st: Vec<(String, i64)> = ds
            .iter()
            .map(|d| {
                (
                    d["status"].as_str().unwrap().to_string(),
                    d["attempts"].as_i64().unwrap(),
                )
            })
            .collect();
        st.sort();
        let mut errors: Vec<String> = ds
            .iter()
            .map(|d| d["last_error"].as_str().unwrap_or("").to_string())
            .collect();
        errors.sort();
        (st, errors)
    };
    let pending = |a: i64| ("pending".to_string(), a);

    // Attempt 1 at t0: both fail.
    assert_eq!(send(t0).await.unwrap(), 2);
    let (st, errors) = states().await;
    assert_eq!(st, [pending(1), pending(1)]);
    assert!(
        errors[0].contains("500") && errors[1].contains("503"),
        "{errors:?}"
    );
    // Nothing is due before a minute has passed.
    assert_eq!(send(t0 + 59_000).await.unwrap(), 0);
    // Attempt 2 after 1 min: fails again (502).
    assert_eq!(send(t0 + 60_000).await.unwrap(), 2);
    let (st, errors) = states().await;
    assert_eq!(st, [pending(2), pending(2)]);
    assert!(errors[0].contains("502"), "{errors:?}");
    // The next retry is 5 min after that one; the flaky sink now answers 200.
    assert_eq!(send(t0 + 60_000 + 299_000).await.unwrap(), 0);
    assert_eq!(send(t0 + 360_000).await.unwrap(), 2);
    let (st, errors) = states().await;
    assert_eq!(st, [("delivered".to_string(), 3), pending(3)]);
    assert_eq!(errors[0], "", "a delivered row keeps no error");
    assert_eq!(sink.at("/flaky").len(), 3);

    // The other keeps failing: 30 min, 2 h, 12 h, then it is given up.
    let mut at = t0 + 360_000;
    for (wait, attempts) in [(1_800_000, 4), (7_200_000, 5), (43_200_000, 6)] {
        assert_eq!(send(at + wait - 1000).await.unwrap(), 0);
        at += wait;
        assert_eq!(send(at).await.unwrap(), 1);
        let (st, _) = states().await;
        let expect = if attempts == 6 { "failed" } else { "pending" };
        assert_eq!(st[1], (expect.to_string(), attempts));
    }
    assert_eq!(
        send(at + 100 * 3_600_000).await.unwrap(),
        0,
        "a failed delivery is final"
    );
    assert_eq!(sink.at("/always-fail").len(), 6);
    assert_eq!(
        sink.at("/flaky").len(),
        3,
        "a delivered one is not sent again"
    );
}

#[tokio::test]
async fn internal_targets_are_refused_at_send_time_unless_allowed() {
    let sink = Sink::start().await;
    // Targets saved while the operator allowed internal addresses...
    let app = app_with(|_| {}).await;
    let t = tenant(&app, "default").await;
    create_hook(
        &app,
        &app.key,
        json!({"url": sink.url("/literal"), "secret": SECRET}),
    )
    .await;
    let by_name = format!("http://localhost:{}/by-name", sink.addr.port());
    create_hook(&app, &app.key, json!({"url": by_name, "secret": SECRET})).await;
    let res = app
        .send_json(
            Method::PUT,
            "/v1/settings/notifications",
            &json!({"slack_webhook_url": sink.url("/slack")}),
        )
        .await;
    json(res, 200).await;
    let n = alert_notice(
        t,
        Direct {
            slack: true,
            ..Direct::default()
        },
    );
    enqueue(&app.state, std::slice::from_ref(&n), now_ms()).await;

    // ... are refused once it does not: a server with the same database and the default.
    let mut strict = app.state.config.clone();
    strict.delivery.allow_private_targets = false;
    let state = AppState::new(
        strict,
        app.state.db.clone(),
        picket::app::schema(),
        picket::app::job_registry(),
        axum::http::Extensions::new(),
    );
    assert_eq!(
        picket_notify::process_due(&state, now_ms()).await.unwrap(),
        3
    );
    assert!(
        sink.received().is_empty(),
        "nothing reached the internal address"
    );
    let ds = deliveries_of(&app.state, t, &n.subject).await;
    assert_eq!(ds.len(), 3);
    for d in &ds {
        assert_eq!(d["status"], "failed", "a refusal is final: {d}");
        assert_eq!(d["attempts"], 1);
        let e = d["last_error"].as_str().unwrap();
        assert!(
            e.contains("internal") && e.contains("allow_private_targets"),
            "{e}"
        );
    }
}

#[tokio::test]
async fn e_mail_never_falls_back_to_plain_text_when_tls_is_configured() {
    let smtp = Smtp::start().await;
    for tls in [SmtpTls::Starttls, SmtpTls::Tls] {
        let app = app_with(|c| {
            c.delivery.smtp.host = "127.0.0.1".into();
            c.delivery.smtp.port = smtp.port;
            c.delivery.smtp.tls = tls;
            c.delivery.smtp.from = "alerts@picket.example".into();
        })
        .await;
        let t = tenant(&app, "default").await;
        let res = app
            .send_json(
                Method::PUT,
                "/v1/settings/notifications",
                &json!({"email_recipients": ["ops@example.org"]}),
            )
            .await;
        json(res, 200).await;
        let n = alert_notice(
            t,
            Direct {
                email: true,
                ..Direct::default()
            },
        );
        enqueue(&app.state, std::slice::from_ref(&n), now_ms()).await;
        run_pending_jobs(&app.state).await.unwrap();
        // The server offers no STARTTLS and speaks no TLS: the attempt fails and is retried.
        let d = &deliveries_of(&app.state, t, &n.subject).await[0];
        assert_eq!(
            (d["status"].as_str(), d["attempts"].as_i64()),
            (Some("pending"), Some(1)),
            "{tls:?}: {d}"
        );
        assert!(d["last_error"].as_str().unwrap().starts_with("SMTP"), "{d}");
    }
    assert!(smtp.mail().is_empty(), "no message went out in plain text");
}

/// End to end: an event imported near an asset becomes a threat, the tenant's rule fires an
/// alert in the engine's batch, and the alert reaches the tenant's webhook and Slack, signed,
/// with its deliveries shown on the alert.
#[tokio::test]
async fn an_imported_event_near_an_asset_reaches_the_webhook_as_an_alert() {
    let sink = Sink::start().await;
    let app = app_with(|_| {}).await;
    let assets = json!({"assets": [{"asset_id": "lagos-hq", "type": "facility", "name": "Lagos HQ",
        "attributes": {"lat": 6.4541, "lng": 3.3947, "country": "NG"}}]});
    json(app.send_json(Method::PUT, "/v1/assets", &assets).await, 200).await;
    create_hook(
        &app,
        &app.key,
        json!({"url": sink.url("/hook"), "secret": SECRET, "event_types": ["alert.created"]}),
    )
    .await;
    let settings = json!({"slack_webhook_url": sink.url("/slack"), "email_recipients": [], "sms_recipients": []});
    json(
        app.send_json(Method::PUT, "/v1/settings/notifications", &settings)
            .await,
        200,
    )
    .await;
    let rules = json!({"rules": [{"id": "all", "title": "Everything near HQ", "enabled": true,
        "severity_threshold": ["critical", "high", "medium", "low", "negligible"], "slack_enabled": true}]});
    json(
        app.send_json(Method::PUT, "/v1/alerts/rules", &rules).await,
        200,
    )
    .await;
    run_pending_jobs(&app.state).await.unwrap();

    let event = json!({"id": "unrest-hq", "title": "Protest at the Marina", "event_category": "civil_unrest",
        "severity": "high", "event_date": chrono::Utc::now().format("%Y-%m-%d").to_string(),
        "coordinates": [3.396, 6.456], "location_country": "NG", "source": "acled"});
    let records = picket_corpus::import::parse(
        picket_corpus::import::Format::parse("ndjson").unwrap(),
        format!("{event}\n").as_bytes(),
    )
    .unwrap();
    picket_corpus::store_records(&app.state.db, picket_corpus::Scope::Global, records)
        .await
        .unwrap();
    // The engine's evaluation, then the delivery job it queued.
    run_pending_jobs(&app.state).await.unwrap();

    let list = json(app.get("/v1/alerts").await, 200).await;
    assert_eq!(list["total"], 1, "{list}");
    let alert = &list["alerts"][0];
    let hooks = sink.at("/hook");
    assert_eq!(hooks.len(), 1);
    let body = verified(&hooks[0], SECRET);
    assert_eq!(body["type"], "alert.created");
    assert_eq!(body["data"]["id"], alert["id"]);
    assert_eq!(body["data"]["threat_title"], "Protest at the Marina");
    let slack = sink.at("/slack");
    assert_eq!(slack.len(), 1);
    assert!(
        slack[0].body.contains("Protest at the Marina"),
        "{}",
        slack[0].body
    );

    let one = json(
        app.get(&format!("/v1/alerts/{}", alert["id"].as_str().unwrap()))
            .await,
        200,
    )
    .await;
    let mut channels: Vec<(String, String, i64)> = one["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["channel"].as_str().unwrap().to_string(),
                d["status"].as_str().unwrap().to_string(),
                d["attempts"].as_i64().unwrap(),
            )
        })
        .collect();
    channels.sort();
    assert_eq!(
        channels,
        [
            ("slack".to_string(), "delivered".to_string(), 1),
            ("webhook".to_string(), "delivered".to_string(), 1)
        ]
    );
}

/// Incidents reach subscribed webhooks: the engine's automatic incident as `incident.opened`,
/// an analyst's creation, resolution and unlinking as `incident.opened` / `incident.updated`.
#[tokio::test]
async fn incidents_opened_by_the_engine_and_changed_by_analysts_reach_the_webhook() {
    let sink = Sink::start().await;
    let app = app_with(|_| {}).await;
    let assets = json!({"assets": [{"asset_id": "lagos-hq", "type": "facility", "name": "Lagos HQ",
        "attributes": {"lat": 6.4541, "lng": 3.3947, "country": "NG"}}]});
    json(app.send_json(Method::PUT, "/v1/assets", &assets).await, 200).await;
    create_hook(
        &app,
        &app.key,
        json!({"url": sink.url("/hook"), "secret": SECRET,
               "event_types": ["incident.opened", "incident.updated"]}),
    )
    .await;
    run_pending_jobs(&app.state).await.unwrap();
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let ndjson: String = [
        ("m1", "Protest at the Marina", 3.396),
        ("m2", "March on the Marina", 3.397),
    ]
    .iter()
    .map(|(id, title, lng)| {
        format!(
            "{}\n",
            json!({"id": id, "title": title, "event_category": "civil_unrest",
                "severity": "high", "event_date": today, "coordinates": [lng, 6.456],
                "location_country": "NG", "source": "acled"})
        )
    })
    .collect();
    let records = picket_corpus::import::parse(
        picket_corpus::import::Format::parse("ndjson").unwrap(),
        ndjson.as_bytes(),
    )
    .unwrap();
    picket_corpus::store_records(&app.state.db, picket_corpus::Scope::Global, records)
        .await
        .unwrap();
    run_pending_jobs(&app.state).await.unwrap();

    let auto = json(app.get("/v1/incidents?scope=aggregate").await, 200).await;
    assert_eq!(auto["total"], 1, "{auto}");
    let hooks = sink.at("/hook");
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    let opened = verified(&hooks[0], SECRET);
    assert_eq!(opened["type"], "incident.opened");
    assert_eq!(opened["data"]["id"], auto["incidents"][0]["id"]);
    assert_eq!(opened["data"]["threat_links"].as_array().unwrap().len(), 2);

    // An analyst's incident: opened, resolved, a threat unlinked.
    let threat = auto["incidents"][0]["threat_links"][0]["threat_id"].clone();
    let created = json(
        app.send_json(
            Method::POST,
            "/v1/incidents",
            &json!({"title": "Marina watch", "scope": "investigation", "threat_ids": [threat]}),
        )
        .await,
        201,
    )
    .await;
    let id = created["id"].as_str().unwrap();
    json(
        app.send_json(
            Method::PATCH,
            &format!("/v1/incidents/{id}"),
            &json!({"status": "resolved"}),
        )
        .await,
        200,
    )
    .await;
    let res = app
        .req(
            Method::DELETE,
            &format!("/v1/incidents/{id}/threats/{}", threat.as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    run_pending_jobs(&app.state).await.unwrap();
    let mine: Vec<(String, String, usize)> = sink
        .at("/hook")
        .iter()
        .skip(1)
        .map(|r| {
            let b = verified(r, SECRET);
            (
                b["type"].as_str().unwrap().to_string(),
                b["data"]["status"].as_str().unwrap().to_string(),
                b["data"]["threat_links"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert!(sink
        .at("/hook")
        .iter()
        .skip(1)
        .all(|r| verified(r, SECRET)["data"]["id"] == id));
    let mut mine_sorted = mine.clone();
    mine_sorted.sort();
    assert_eq!(
        mine_sorted,
        [
            ("incident.opened".to_string(), "open".to_string(), 1),
            ("incident.updated".to_string(), "resolved".to_string(), 0),
            ("incident.updated".to_string(), "resolved".to_string(), 1),
        ],
        "{mine:?}"
    );
}

#[tokio::test]
async fn finished_deliveries_are_pruned_after_their_keep_time_and_pending_ones_never() {
    let sink = Sink::start().await;
    let app = app_with(|_| {}).await;
    let t = tenant(&app, "default").await;
    create_hook(
        &app,
        &app.key,
        json!({"url": sink.url("/net"), "secret": SECRET, "event_types": ["network_alert.created"]}),
    )
    .await;
    let sent = network_notice(t, 30);
    let now = now_ms();
    enqueue(&app.state, std::slice::from_ref(&sent), now).await;
    run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(sink.at("/net").len(), 1);
    // Queued later and not yet due: pending.
    let waiting = network_notice(t, 30);
    enqueue(&app.state, std::slice::from_ref(&waiting), now + 3_600_000).await;
    let subjects = [sent.subject.clone(), waiting.subject.clone()];
    let before = picket_notify::deliveries(&app.state.db, t, &subjects)
        .await
        .unwrap();
    assert_eq!(before.len(), 2);

    // Nothing is old enough yet.
    let cutoff = now_ms() - picket_notify::deliveries::KEEP_FINISHED_MS;
    assert_eq!(
        picket_notify::deliveries::prune(&app.state.db, cutoff)
            .await
            .unwrap(),
        0
    );
    // Once the keep time has passed, the delivered row goes and the pending one stays.
    let later = now_ms() + 1;
    assert_eq!(
        picket_notify::deliveries::prune(&app.state.db, later)
            .await
            .unwrap(),
        1
    );
    let after = picket_notify::deliveries(&app.state.db, t, &subjects)
        .await
        .unwrap();
    assert!(!after.contains_key(&sent.subject));
    assert_eq!(after[&waiting.subject][0].status, "pending");
}
