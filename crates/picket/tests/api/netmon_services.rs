//! `/api/v1/services`: the seed's curl examples as written, grouping and the computed
//! `authorized`, allowed services and exclude rules, validation, conflicts, tenancy,
//! permissions, network deletes taking their allowed entries along, and `observe_service`.

use std::num::NonZeroU16;

use picket_core::identity::{Perm, TenantId};
use picket_netmon::services::{
    observe_service, observe_services, ObservedService, Proto, ServiceSighting,
};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{json, network_error, spawn, spawn_with, TestApp};
use crate::netmon_devices::{observe, tenant, utc};
use crate::netmon_networks::{create as create_network, send_raw};

mod ingest;
mod policy;
mod validation;

async fn send(app: &TestApp, method: Method, path: &str) -> reqwest::Response {
    app.req(method, path).send().await.unwrap()
}

async fn create(app: &TestApp, body: Value) -> Value {
    json(
        app.send_json(Method::POST, "/api/v1/services", &body).await,
        201,
    )
    .await["service"]
        .clone()
}

async fn list(app: &TestApp) -> Value {
    json(app.get("/api/v1/services").await, 200).await
}

async fn search(app: &TestApp, body: Value) -> Value {
    json(
        app.send_json(Method::POST, "/api/v1/services/search", &body)
            .await,
        200,
    )
    .await
}

async fn authorize(app: &TestApp, body: Value) -> Value {
    json(
        app.send_json(Method::POST, "/api/v1/services/authorize", &body)
            .await,
        200,
    )
    .await["allowed_service"]
        .clone()
}

async fn exclude(app: &TestApp, body: Value) -> Value {
    json(
        app.send_json(Method::POST, "/api/v1/services/exclude-rules", &body)
            .await,
        201,
    )
    .await["exclude_rule"]
        .clone()
}

async fn allowed(app: &TestApp) -> Vec<String> {
    let body = json(app.get("/api/v1/services/allowed").await, 200).await;
    body["allowed_services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            format!(
                "{} {}/{}",
                a["service_ip"].as_str().unwrap(),
                a["service_port"],
                a["proto"].as_str().unwrap()
            )
        })
        .collect()
}

/// `ip port/proto authorized` per port, groups in answer order.
fn ports(list: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for g in list["services"].as_array().unwrap() {
        for p in g["tcp_ports"]
            .as_array()
            .unwrap()
            .iter()
            .chain(g["udp_ports"].as_array().unwrap())
        {
            out.push(format!(
                "{} {}/{} {}",
                g["service_ip"].as_str().unwrap(),
                p["port"],
                p["proto"].as_str().unwrap(),
                p["authorized"]
            ));
        }
    }
    out
}

fn group<'a>(list: &'a Value, ip: &str) -> &'a Value {
    list["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["service_ip"] == ip)
        .unwrap_or_else(|| panic!("no group {ip} in {list}"))
}

#[tokio::test]
async fn seed_examples_run_as_written() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    let dev = observe(
        &app,
        t,
        "AA:BB:CC:DD:EE:01",
        "10.0.0.25",
        "web-01",
        utc("2026-06-01 09:00:00"),
    )
    .await;
    let res = send_raw(
        &app,
        Method::PATCH,
        &format!("/api/v1/devices/{}", dev.id),
        r#"{"friendly_name":"Web Server"}"#,
    )
    .await;
    json(res, 200).await;

    // Create Service
    let res = send_raw(
        &app,
        Method::POST,
        "/api/v1/services",
        r#"{
"service_ip": "10.0.0.25",
"service_port": 443,
"proto": "tcp",
"first_seen": "2026-06-01 09:15:00",
"last_seen": "2026-06-03 10:30:00"
}"#,
    )
    .await;
    let created = json(res, 201).await;
    let id = created["service"]["id"].as_i64().unwrap();
    let row = json!({"id": id, "service_ip": "10.0.0.25", "service_port": 443, "proto": "tcp",
        "name": "Web Server", "authorized": false,
        "first_seen": "2026-06-01 09:15:00", "last_seen": "2026-06-03 10:30:00"});
    assert_eq!(created, json!({"service": row}));

    // List Services
    let res = app.get("/api/v1/services?sort=service_ip&order=asc").await;
    let listed = json(res, 200).await;
    let expected = json!({"services": [{
        "service_ip": "10.0.0.25", "name": "Web Server", "authorized": false,
        "first_seen": "2026-06-01 09:15:00", "last_seen": "2026-06-03 10:30:00",
        "tcp_ports": [{"id": id, "port": 443, "proto": "tcp", "authorized": false,
            "first_seen": "2026-06-01 09:15:00", "last_seen": "2026-06-03 10:30:00"}],
        "udp_ports": []
    }]});
    assert_eq!(listed, expected);

    // Search Services: the curl example and the documented request body.
    let res = send_raw(
        &app,
        Method::POST,
        "/api/v1/services/search",
        r#"{"filters":{"service_ip":["10.0.0.%"],"proto":["tcp"],"authorized":[false]}}"#,
    )
    .await;
    assert_eq!(json(res, 200).await, expected);
    let res = send_raw(
        &app,
        Method::POST,
        "/api/v1/services/search",
        r#"{"filters": {"service_ip": ["10.0.0.25"], "proto": ["tcp"], "service_port": [443], "authorized": [false]},
            "sort": {"field": "last_seen", "order": "desc"}}"#,
    )
    .await;
    assert_eq!(json(res, 200).await, expected);

    // Update Service (PATCH and PUT alike).
    let path = format!("/api/v1/services/{id}");
    let res = send_raw(
        &app,
        Method::PATCH,
        &path,
        r#"{"service_ip": "10.0.0.26", "service_port": 8443, "proto": "tcp", "last_seen": "2026-06-03 10:30:00"}"#,
    )
    .await;
    let updated = json(res, 200).await;
    assert_eq!(
        updated,
        json!({"service": {"id": id, "service_ip": "10.0.0.26", "service_port": 8443,
            "proto": "tcp", "name": "", "authorized": false,
            "first_seen": "2026-06-01 09:15:00", "last_seen": "2026-06-03 10:30:00"}})
    );
    let res = send_raw(
        &app,
        Method::PUT,
        &path,
        r#"{"service_ip": "10.0.0.25", "service_port": 443}"#,
    )
    .await;
    assert_eq!(json(res, 200).await, created);

    // Delete Service
    let res = send(&app, Method::DELETE, &path).await;
    assert_eq!(
        json(res, 200).await,
        json!({"deleted": true, "service": row})
    );
    assert_eq!(list(&app).await, json!({"services": []}));
    let res = send(&app, Method::DELETE, &path).await;
    network_error(res, 404, "no service").await;
}

#[tokio::test]
async fn groups_follow_the_sorted_rows_and_authorized_needs_every_port() {
    let app = spawn().await;
    let mk = |ip: &str, port: u16, proto: &str, first: &str, last: &str| json!({"service_ip": ip, "service_port": port, "proto": proto, "first_seen": first, "last_seen": last});
    let web443 = create(
        &app,
        mk(
            "10.0.0.10",
            443,
            "tcp",
            "2026-06-01 10:00",
            "2026-06-05 10:00",
        ),
    )
    .await;
    let web22 = create(
        &app,
        mk(
            "10.0.0.10",
            22,
            "TCP",
            "2026-06-02 10:00",
            "2026-06-02 11:00",
        ),
    )
    .await;
    let web53 = create(&app, mk("10.0.0.10", 53, "udp", "2026-05-30", "2026-06-01")).await;
    create(
        &app,
        mk("10.0.0.9", 8080, "tcp", "2026-06-01", "2026-06-01"),
    )
    .await;
    create(
        &app,
        mk("2001:db8::1", 22, "tcp", "2026-06-01", "2026-06-07"),
    )
    .await;
    assert_eq!(web22["proto"], "tcp", "stored lower case");

    // Default sort: IPs numerically (9 before 10, IPv4 before IPv6); ports sorted in a group.
    let l = list(&app).await;
    assert_eq!(
        ports(&l),
        [
            "10.0.0.9 8080/tcp false",
            "10.0.0.10 22/tcp false",
            "10.0.0.10 443/tcp false",
            "10.0.0.10 53/udp false",
            "2001:db8::1 22/tcp false"
        ]
    );
    let g = group(&l, "10.0.0.10");
    assert_eq!(g["first_seen"], "2026-05-30 00:00:00");
    assert_eq!(g["last_seen"], "2026-06-05 10:00:00");
    assert_eq!(g["udp_ports"][0]["id"], web53["id"]);
    assert_eq!(group(&l, "10.0.0.9")["udp_ports"], json!([]));

    // Groups appear where their IP first appears in the sorted rows.
    let order = |l: &Value| -> Vec<String> {
        l["services"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["service_ip"].as_str().unwrap().to_string())
            .collect()
    };
    let l = json(app.get("/api/v1/services?sort=last&order=desc").await, 200).await;
    assert_eq!(order(&l), ["2001:db8::1", "10.0.0.10", "10.0.0.9"]);
    let l = json(app.get("/api/v1/services?sort=port&order=desc").await, 200).await;
    assert_eq!(order(&l), ["10.0.0.9", "10.0.0.10", "2001:db8::1"]);
    let l = json(app.get("/api/v1/services?sort=IP&order=DESC").await, 200).await;
    assert_eq!(order(&l), ["2001:db8::1", "10.0.0.10", "10.0.0.9"]);
    let l = json(
        app.get("/api/v1/services?sort=bogus&order=sideways").await,
        200,
    )
    .await;
    assert_eq!(order(&l), ["10.0.0.9", "10.0.0.10", "2001:db8::1"]);
    let l = search(&app, json!({"sort": {"field": "first", "order": "asc"}})).await;
    assert_eq!(order(&l), ["10.0.0.10", "10.0.0.9", "2001:db8::1"]);

    // Authorizing two of the three ports leaves the group unauthorized; the third completes it.
    for s in [&web443, &web22] {
        let res = send(
            &app,
            Method::PATCH,
            &format!("/api/v1/services/{}/authorize", s["id"]),
        )
        .await;
        let one = json(res, 200).await["service"].clone();
        assert_eq!(one["authorized"], true);
        assert_eq!(one["id"], s["id"]);
    }
    assert_eq!(group(&list(&app).await, "10.0.0.10")["authorized"], false);
    authorize(&app, json!({"service_ip": "10.0.0.0/24", "service_port": 53, "proto": "udp", "name": "Resolver"})).await;
    let l = list(&app).await;
    let g = group(&l, "10.0.0.10");
    assert_eq!(g["authorized"], true);
    assert_eq!(
        g["name"], "Resolver",
        "an allowed entry's name names the group"
    );
    assert_eq!(group(&l, "10.0.0.9")["authorized"], false);

    // `*` matches every address; an exclude rule carves an exception out of it.
    authorize(
        &app,
        json!({"service_ip": "*", "service_port": 22, "proto": "tcp"}),
    )
    .await;
    assert_eq!(group(&list(&app).await, "2001:db8::1")["authorized"], true);
    exclude(&app, json!({"ip": "2001:db8::/64", "port_from": 20, "port_to": 25, "proto": "tcp", "comment": "lab"})).await;
    let l = list(&app).await;
    assert_eq!(group(&l, "2001:db8::1")["authorized"], false);
    assert_eq!(group(&l, "10.0.0.10")["authorized"], true);

    // The `authorized` filter matches ports by their computed value.
    let l = search(&app, json!({"filters": {"authorized": [true]}})).await;
    assert_eq!(
        ports(&l),
        [
            "10.0.0.10 22/tcp true",
            "10.0.0.10 443/tcp true",
            "10.0.0.10 53/udp true"
        ]
    );
    let l = search(&app, json!({"filters": {"authorized": false}})).await;
    assert_eq!(
        ports(&l),
        ["10.0.0.9 8080/tcp false", "2001:db8::1 22/tcp false"]
    );
    let l = search(&app, json!({"filters": {"authorized": [true, false]}})).await;
    assert_eq!(ports(&l).len(), 5);

    // Other filters and their aliases; several keys AND, several values OR.
    let l = search(
        &app,
        json!({"filters": {"ip": ["10.0.0.1_"], "port": [22, 53], "proto": ["TCP"]}}),
    )
    .await;
    assert_eq!(ports(&l), ["10.0.0.10 22/tcp true"]);
    let l = search(&app, json!({"filters": {"service_ip": "2001:DB8::0001"}})).await;
    assert_eq!(ports(&l), ["2001:db8::1 22/tcp false"]);
    let l = search(&app, json!({"filters": {"proto": ["udp"]}})).await;
    assert_eq!(ports(&l), ["10.0.0.10 53/udp true"]);
    let l = search(&app, json!({"filters": {"proto": ["icmp"]}})).await;
    assert_eq!(l, json!({"services": []}));
    // An empty body is {}.
    let res = send(&app, Method::POST, "/api/v1/services/search").await;
    assert_eq!(ports(&json(res, 200).await).len(), 5);
}

#[tokio::test]
async fn names_come_from_allowed_entries_then_devices() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    observe(
        &app,
        t,
        "AA:BB:CC:DD:EE:01",
        "10.0.0.5",
        "nas-01",
        utc("2026-06-01 09:00:00"),
    )
    .await;
    let nas = create(
        &app,
        json!({"service_ip": "10.0.0.5", "service_port": 445, "proto": "tcp"}),
    )
    .await;
    assert_eq!(nas["name"], "nas-01", "the device's hostname");
    // Another tenant's device names only that tenant's services.
    let other = app.tenant_key("other", None).await;
    let ot = tenant(&app, "other").await;
    observe(
        &app,
        ot,
        "AA:BB:CC:DD:EE:09",
        "10.0.0.6",
        "theirs",
        utc("2026-06-02 09:00:00"),
    )
    .await;
    let res = app
        .req_as(&other, Method::POST, "/api/v1/services")
        .json(&json!({"service_ip": "10.0.0.6", "service_port": 22, "proto": "tcp"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(res, 201).await["service"]["name"], "theirs");
    let ssh = create(
        &app,
        json!({"service_ip": "10.0.0.5", "service_port": 22, "proto": "tcp"}),
    )
    .await;
    let other = create(
        &app,
        json!({"service_ip": "10.0.0.6", "service_port": 22, "proto": "tcp"}),
    )
    .await;
    assert_eq!(other["name"], "", "no device, no entry");

    authorize(&app, json!({"service_ip": "10.0.0.5", "service_port": 445, "proto": "tcp", "name": "File share"})).await;
    let l = list(&app).await;
    assert_eq!(group(&l, "10.0.0.5")["name"], "File share");
    assert_eq!(group(&l, "10.0.0.6")["name"], "");
    // A row's own name follows the same rule.
    let res = app
        .send_json(
            Method::PATCH,
            &format!("/api/v1/services/{}", ssh["id"]),
            &json!({"last_seen": "2030-01-01"}),
        )
        .await;
    assert_eq!(json(res, 200).await["service"]["name"], "nas-01");
    let res = app
        .send_json(
            Method::PATCH,
            &format!("/api/v1/services/{}", nas["id"]),
            &json!({"last_seen": "2030-01-01"}),
        )
        .await;
    assert_eq!(json(res, 200).await["service"]["name"], "File share");
    let res = send(
        &app,
        Method::PATCH,
        &format!("/api/v1/services/{}/authorize", ssh["id"]),
    )
    .await;
    assert_eq!(json(res, 200).await["service"]["name"], "nas-01");
    // A newer device at the address takes over the name.
    observe(
        &app,
        t,
        "AA:BB:CC:DD:EE:03",
        "10.0.0.5",
        "nas-02",
        utc("2026-06-05 09:00:00"),
    )
    .await;
    let res = send(
        &app,
        Method::PATCH,
        &format!("/api/v1/services/{}/authorize", ssh["id"]),
    )
    .await;
    assert_eq!(json(res, 200).await["service"]["name"], "nas-02");
}

#[tokio::test]
async fn reading_needs_devices_read_writing_needs_devices_write_and_tenants_are_isolated() {
    let app = spawn().await;
    let s = create(
        &app,
        json!({"service_ip": "10.0.0.1", "service_port": 80, "proto": "tcp"}),
    )
    .await;
    let a = authorize(
        &app,
        json!({"service_ip": "*", "service_port": 80, "proto": "tcp"}),
    )
    .await;
    let r = exclude(&app, json!({"ip": "10.9.0.0/16"})).await;
    let before = (list(&app).await, allowed(&app).await);

    let reader = app.tenant_key("default", Some(&[Perm::DevicesR])).await;
    for p in [
        "/api/v1/services",
        "/api/v1/services/allowed",
        "/api/v1/services/exclude-rules",
    ] {
        let res = app.req_as(&reader, Method::GET, p).send().await.unwrap();
        json(res, 200).await;
    }
    let res = app
        .req_as(&reader, Method::POST, "/api/v1/services/search")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(res, 200).await, before.0);
    let writes = [
        (Method::POST, "/api/v1/services".to_string()),
        (Method::PATCH, format!("/api/v1/services/{}", s["id"])),
        (Method::PUT, format!("/api/v1/services/{}", s["id"])),
        (Method::DELETE, format!("/api/v1/services/{}", s["id"])),
        (
            Method::PATCH,
            format!("/api/v1/services/{}/authorize", s["id"]),
        ),
        (Method::POST, "/api/v1/services/authorize".to_string()),
        (
            Method::DELETE,
            format!("/api/v1/services/allowed/{}", a["id"]),
        ),
        (Method::POST, "/api/v1/services/exclude-rules".to_string()),
        (
            Method::DELETE,
            format!("/api/v1/services/exclude-rules/{}", r["id"]),
        ),
    ];
    let body = json!({"service_ip": "10.0.0.2", "service_port": 81, "proto": "tcp"});
    for (method, p) in &writes {
        let res = app
            .req_as(&reader, method.clone(), p)
            .json(&body)
            .send()
            .await
            .unwrap();
        network_error(res, 403, "perm_devices_w").await;
    }
    let nobody = app
        .tenant_key("default", Some(&[Perm::NetworksR, Perm::NetworksW]))
        .await;
    for p in [
        "/api/v1/services",
        "/api/v1/services/allowed",
        "/api/v1/services/exclude-rules",
    ] {
        let res = app.req_as(&nobody, Method::GET, p).send().await.unwrap();
        network_error(res, 403, "perm_devices_r").await;
    }
    let res = app
        .client
        .get(app.url("/api/v1/services"))
        .send()
        .await
        .unwrap();
    network_error(res, 401, "").await;

    // Another tenant sees nothing and cannot touch these rows; the same key is free there.
    let other = app.tenant_key("other", None).await;
    for (p, key) in [
        ("/api/v1/services", "services"),
        ("/api/v1/services/allowed", "allowed_services"),
        ("/api/v1/services/exclude-rules", "exclude_rules"),
    ] {
        let res = app.req_as(&other, Method::GET, p).send().await.unwrap();
        assert_eq!(json(res, 200).await, json!({key: []}));
    }
    for (method, p) in &writes[1..] {
        if p.ends_with("/authorize") && *method == Method::POST
            || p == "/api/v1/services/exclude-rules"
        {
            continue;
        }
        let mut req = app.req_as(&other, method.clone(), p);
        if !p.ends_with("/authorize") {
            req = req.json(&json!({"service_port": 82}));
        }
        network_error(req.send().await.unwrap(), 404, "no ").await;
    }
    let res = app
        .req_as(&other, Method::POST, "/api/v1/services")
        .json(&body)
        .send()
        .await
        .unwrap();
    json(res, 201).await;
    let res = app
        .req_as(&other, Method::POST, "/api/v1/services")
        .json(&json!({"service_ip": "10.0.0.1", "service_port": 80, "proto": "tcp"}))
        .send()
        .await
        .unwrap();
    json(res, 201).await;
    assert_eq!(
        (list(&app).await, allowed(&app).await),
        before,
        "nothing changed"
    );
}
