//! `/api/v1/devices`: the seed's curl examples as written, pagination edges, sorting and its
//! aliases, matching, derived fields, timezones, updates, tenancy and permissions. Devices are
//! created the way sensor ingest creates them, through `observe_device`.

use std::net::IpAddr;

use picket_core::identity::{Perm, TenantId};
use picket_netmon::addr::MacAddr;
use picket_netmon::devices::{observe_device, observe_devices, DeviceRow, DeviceSighting};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{json, network_error, spawn, spawn_with, TestApp};
use crate::netmon_networks::{create, send_raw};

/// Unix ms of a UTC wall-clock time.
pub fn utc(s: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .unwrap()
        .and_utc()
        .timestamp_millis()
}

pub async fn tenant(app: &TestApp, name: &str) -> TenantId {
    crate::helpers::tenant(&app.state.db, name).await.id
}

pub async fn observe(
    app: &TestApp,
    t: TenantId,
    mac: &str,
    ip: &str,
    host: &str,
    at: i64,
) -> DeviceRow {
    let mut tx = app.state.db.begin().await.unwrap();
    let ip: Option<IpAddr> = (!ip.is_empty()).then(|| ip.parse().unwrap());
    let row = observe_device(&mut tx, t, &MacAddr::parse(mac).unwrap(), ip, host, at)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    row
}

fn field(list: &Value, key: &str) -> Vec<String> {
    list["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d[key].as_str().unwrap().to_string())
        .collect()
}

async fn search(app: &TestApp, body: Value) -> Value {
    json(
        app.send_json(Method::POST, "/api/v1/devices/search", &body)
            .await,
        200,
    )
    .await
}

#[tokio::test]
async fn seed_examples_run_as_written() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    create(
        &app,
        json!({"name": "Office LAN", "cidr": "10.0.0.0/24", "gateway_ip": "10.0.0.1", "alert": 20}),
    )
    .await;
    let first = utc("2026-06-01 09:15:00");
    observe(
        &app,
        t,
        "aa:bb:cc:dd:ee:ff",
        "10.0.0.25",
        "workstation-01",
        first,
    )
    .await;
    let row = observe(
        &app,
        t,
        "AA-BB-CC-DD-EE-FF",
        "10.0.0.25",
        "",
        utc("2026-06-03 10:30:00"),
    )
    .await;
    let id = row.id;

    let res = send_raw(
        &app,
        Method::PATCH,
        &format!("/api/v1/devices/{id}"),
        r#"{"friendly_name":"Alice Laptop"}"#,
    )
    .await;
    let device = json!({
        "id": id, "mac": "AA:BB:CC:DD:EE:FF", "last_ip": "10.0.0.25",
        "hostname": "workstation-01", "friendly_name": "Alice Laptop", "vendor": row.vendor,
        "network": "Office LAN", "is_gateway": false,
        "first_seen": "2026-06-01 09:15:00", "last_seen": "2026-06-03 10:30:00"
    });
    assert_eq!(json(res, 200).await, json!({"device": device}));

    let list = json(
        app.get("/api/v1/devices?page=1&page_size=25&sort=hostname&order=asc")
            .await,
        200,
    )
    .await;
    let expected =
        json!({"devices": [device], "page": 1, "page_size": 25, "total_rows": 1, "total_pages": 1});
    assert_eq!(list, expected);

    let res = send_raw(
        &app,
        Method::POST,
        "/api/v1/devices/search",
        r#"{"filters":{"ip":["10.0.0.25"],"friendly_name":["Alice Laptop"]},"page":1,"page_size":25}"#,
    )
    .await;
    assert_eq!(json(res, 200).await, expected);
}

#[tokio::test]
async fn pagination_edges() {
    let app = spawn().await;
    let empty =
        json!({"devices": [], "page": 1, "page_size": 100, "total_rows": 0, "total_pages": 0});
    assert_eq!(
        json(app.get("/api/v1/devices?page=4").await, 200).await,
        empty
    );
    assert_eq!(search(&app, json!({"page": 4})).await, empty);

    let t = tenant(&app, "default").await;
    for i in 1..=7 {
        observe(
            &app,
            t,
            &format!("02:00:00:00:00:0{i}"),
            &format!("10.0.0.{i}"),
            &format!("h{i}"),
            1_000 * i,
        )
        .await;
    }
    let page = |q: &'static str| {
        let app = &app;
        async move { json(app.get(&format!("/api/v1/devices{q}")).await, 200).await }
    };
    let p = page("?page=0&page_size=3").await;
    assert_eq!(
        (
            p["page"].as_i64(),
            p["total_pages"].as_i64(),
            p["total_rows"].as_i64()
        ),
        (Some(1), Some(3), Some(7))
    );
    assert_eq!(field(&p, "last_ip"), ["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
    let p = page("?page=99&page_size=3").await;
    assert_eq!(p["page"], 3, "past the end serves the last page");
    assert_eq!(field(&p, "last_ip"), ["10.0.0.7"]);
    let p = page("?page=2&page_size=5000").await;
    assert_eq!(
        (p["page"].as_i64(), p["page_size"].as_i64()),
        (Some(1), Some(1000))
    );
    assert_eq!(p["devices"].as_array().unwrap().len(), 7);
    let p = page("?page_size=0").await;
    assert_eq!(p["page_size"], 100);
    let p = search(
        &app,
        json!({"page": -2, "page_size": 2, "sort": {"field": "ip", "order": "desc"}}),
    )
    .await;
    assert_eq!(
        (p["page"].as_i64(), p["total_pages"].as_i64()),
        (Some(1), Some(4))
    );
    assert_eq!(field(&p, "last_ip"), ["10.0.0.7", "10.0.0.6"]);

    network_error(app.get("/api/v1/devices?page=abc").await, 400, "page").await;
    network_error(
        app.get("/api/v1/devices?page_size=1.5").await,
        400,
        "page_size",
    )
    .await;
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/devices/search",
            &json!({"page": "2"}),
        )
        .await;
    network_error(res, 400, "page").await;
}

#[tokio::test]
async fn sorting_aliases_numeric_ips_gateway_and_ip_count() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    // The /16's gateway is 10.0.0.10; mac ...:03 has held three IPs.
    create(
        &app,
        json!({"name": "Campus", "cidr": "10.0.0.0/16", "gateway_ip": "10.0.0.10"}),
    )
    .await;
    observe(&app, t, "02:00:00:00:00:01", "10.0.0.10", "b-router", 5_000).await;
    observe(&app, t, "02:00:00:00:00:02", "2001:db8::1", "e-v6", 4_000).await;
    observe(
        &app,
        t,
        "02:00:00:00:00:03",
        "172.16.0.1",
        "a-roamer",
        1_000,
    )
    .await;
    observe(&app, t, "02:00:00:00:00:03", "172.16.0.2", "", 2_000).await;
    observe(&app, t, "02:00:00:00:00:03", "9.1.1.1", "", 3_000).await;
    observe(&app, t, "02:00:00:00:00:04", "10.0.0.9", "c-desk", 6_000).await;
    observe(&app, t, "02:00:00:00:00:05", "", "d-noip", 7_000).await;

    let hosts = |q: String| {
        let app = &app;
        async move {
            field(
                &json(app.get(&format!("/api/v1/devices{q}")).await, 200).await,
                "hostname",
            )
        }
    };
    let by_ip = ["d-noip", "a-roamer", "c-desk", "b-router", "e-v6"];
    for alias in [
        "",
        "?sort=last_ip",
        "?sort=lastip",
        "?sort=IP&order=ASC",
        "?sort=unknown&order=up",
    ] {
        assert_eq!(hosts(alias.to_string()).await, by_ip, "{alias}");
    }
    let mut rev = by_ip;
    rev.reverse();
    assert_eq!(hosts("?sort=ip&order=desc".into()).await, rev);
    assert_eq!(
        hosts("?sort=hostname".into()).await,
        ["a-roamer", "b-router", "c-desk", "d-noip", "e-v6"]
    );
    for alias in ["first_seen", "first"] {
        assert_eq!(
            hosts(format!("?sort={alias}")).await,
            ["a-roamer", "e-v6", "b-router", "c-desk", "d-noip"]
        );
    }
    for alias in ["last_seen", "last"] {
        assert_eq!(
            hosts(format!("?sort={alias}&order=desc")).await,
            ["d-noip", "c-desk", "b-router", "e-v6", "a-roamer"]
        );
    }
    for alias in ["ipcount", "ip_count", "ip_history"] {
        assert_eq!(
            hosts(format!("?sort={alias}&order=desc")).await[0],
            "a-roamer",
            "{alias}"
        );
    }
    for alias in ["gateway", "is_gateway"] {
        let list = json(
            app.get(&format!("/api/v1/devices?sort={alias}&order=desc"))
                .await,
            200,
        )
        .await;
        assert_eq!(field(&list, "hostname")[0], "b-router", "{alias}");
        assert_eq!(list["devices"][0]["is_gateway"], true);
        assert_eq!(list["devices"][1]["is_gateway"], false);
    }
    let list = search(&app, json!({"filters": {"ip": ["2001:DB8::0001"]}})).await;
    assert_eq!(
        field(&list, "hostname"),
        ["e-v6"],
        "IPs match in any spelling"
    );
    let list = search(&app, json!({"sort": {"field": "mac", "order": "desc"}})).await;
    assert_eq!(
        field(&list, "hostname"),
        ["d-noip", "c-desk", "a-roamer", "e-v6", "b-router"]
    );
    // Derived network: inside the /16 or nowhere; the roamer's last IP is 9.1.1.1.
    let list = json(app.get("/api/v1/devices").await, 200).await;
    assert_eq!(field(&list, "network"), ["", "", "Campus", "Campus", ""]);
}

#[tokio::test]
async fn search_matches_macs_wildcards_and_case() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    observe(
        &app,
        t,
        "aa:bb:cc:00:00:01",
        "10.0.0.1",
        "Printer-50%",
        1_000,
    )
    .await;
    observe(
        &app,
        t,
        "aa:bb:cc:00:00:02",
        "10.0.0.2",
        "printer-500",
        2_000,
    )
    .await;
    observe(&app, t, "00:00:00:00:00:03", "10.0.0.3", "laptop_1", 3_000).await;
    // The laptop moved: 10.0.0.2 is only in its history, not its last_ip.
    observe(&app, t, "00:00:00:00:00:04", "10.0.0.22", "laptopx1", 3_500).await;
    observe(&app, t, "00:00:00:00:00:04", "10.0.0.4", "", 4_000).await;

    let hosts = |body: Value| {
        let app = &app;
        async move { field(&search(app, body).await, "hostname") }
    };
    for mac in [
        "AA:BB:CC:00:00:01",
        "aa-bb-cc-00-00-01",
        "aabbcc000001",
        "aA:Bb:cc:00:00:01",
    ] {
        assert_eq!(
            hosts(json!({"filters": {"mac": [mac]}})).await,
            ["Printer-50%"],
            "{mac}"
        );
    }
    for mac in ["aa:bb:cc:%", "AABBCC%", "aa-bb-cc-%"] {
        assert_eq!(
            hosts(json!({"filters": {"mac": mac}})).await,
            ["Printer-50%", "printer-500"],
            "{mac}"
        );
    }
    assert_eq!(
        hosts(json!({"filters": {"hostname": ["PRINTER-50\\%"]}})).await,
        ["Printer-50%"]
    );
    assert_eq!(
        hosts(json!({"filters": {"hostname": ["printer-50%"]}})).await,
        ["Printer-50%", "printer-500"]
    );
    assert_eq!(
        hosts(json!({"filters": {"hostname": ["laptop\\_%"]}})).await,
        ["laptop_1"]
    );
    // `_` is a wildcard unless escaped.
    assert_eq!(
        hosts(json!({"filters": {"hostname": ["laptop_1"]}})).await,
        ["laptop_1", "laptopx1"]
    );
    assert_eq!(
        hosts(json!({"filters": {"hostname": ["laptop_%"]}})).await,
        ["laptop_1", "laptopx1"]
    );
    assert_eq!(
        hosts(json!({"filters": {"ip": ["10.0.0.2%"]}})).await,
        ["printer-500"]
    );
    assert_eq!(
        hosts(json!({"filters": {"ip": ["10.0.0.1", "10.0.0.3"], "mac": ["00%", "aa%"]}})).await,
        ["Printer-50%", "laptop_1"]
    );
    assert_eq!(
        hosts(json!({"filters": {"vendor": ["xerox%"]}})).await,
        ["laptop_1", "laptopx1"]
    );
    assert!(hosts(json!({"filters": {"hostname": ["printer"]}}))
        .await
        .is_empty());
    let res = app
        .req(Method::POST, "/api/v1/devices/search")
        .send()
        .await
        .unwrap();
    assert_eq!(
        json(res, 200).await["total_rows"],
        4,
        "an empty body is {{}}"
    );

    for q in [
        "ip=10.0.0.1",
        "mac=x",
        "vendor=x",
        "hostname=x",
        "friendly_name=x",
    ] {
        network_error(
            app.get(&format!("/api/v1/devices?{q}")).await,
            400,
            "/api/v1/devices/search",
        )
        .await;
    }
    network_error(app.get("/api/v1/devices?limit=5").await, 400, "limit").await;
    for (body, needle) in [
        (r#"{"filters":{"network":["x"]}}"#, "network"),
        (r#"{"limit":5}"#, "limit"),
        (r#"{"filters":{"ip":[1]}}"#, "filters.ip"),
        (r#"{"filters":"#, "malformed"),
    ] {
        let res = send_raw(&app, Method::POST, "/api/v1/devices/search", body).await;
        network_error(res, 400, needle).await;
    }
}

#[tokio::test]
async fn times_are_in_the_configured_timezone() {
    for (tz, first, last) in [
        ("Asia/Tokyo", "2026-06-01 18:15:00", "2026-12-01 09:00:00"),
        (
            "America/New_York",
            "2026-06-01 05:15:00",
            "2026-11-30 19:00:00",
        ),
    ] {
        let app = spawn_with(|c| c.timezone = tz.into(), None).await;
        let t = tenant(&app, "default").await;
        observe(
            &app,
            t,
            "02:00:00:00:00:01",
            "10.0.0.1",
            "h",
            utc("2026-06-01 09:15:00"),
        )
        .await;
        observe(
            &app,
            t,
            "02:00:00:00:00:01",
            "10.0.0.1",
            "h",
            utc("2026-12-01 00:00:00"),
        )
        .await;
        let list = json(app.get("/api/v1/devices").await, 200).await;
        assert_eq!(list["devices"][0]["first_seen"], first, "{tz}");
        assert_eq!(list["devices"][0]["last_seen"], last, "{tz}");
    }
}

#[tokio::test]
async fn observe_device_keeps_the_newest_sighting_and_the_history() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    observe(&app, t, "00:00:00:00:00:01", "10.0.0.5", "new-name", 5_000).await;
    // A late-arriving older sighting widens first_seen but does not overwrite IP or name.
    let r = observe(&app, t, "00-00-00-00-00-01", "10.0.0.4", "old-name", 1_000).await;
    assert_eq!(
        (r.last_ip.as_str(), r.hostname.as_str()),
        ("10.0.0.5", "new-name")
    );
    assert_eq!((r.first_seen, r.last_seen, r.ip_count), (1_000, 5_000, 2));
    assert_eq!(r.vendor, "XEROX CORPORATION");
    let r = observe(&app, t, "000000000001", "10.0.0.5", "", 6_000).await;
    assert_eq!(
        (r.hostname.as_str(), r.ip_count, r.last_seen),
        ("new-name", 2, 6_000)
    );
}

/// The batch path sensor ingest takes keeps the rules of `observe_device`: the newest batch
/// sets IP and host name, an older late batch only widens, the IP history is recounted, and
/// another tenant's device with the same MAC is a different row.
#[tokio::test]
async fn observe_devices_batches_keep_the_newest_sighting_and_the_history() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    let other = {
        app.tenant_key("other", None).await;
        tenant(&app, "other").await
    };
    let mac = |m: &str| MacAddr::parse(m).unwrap();
    let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
    let batch = |tenant: TenantId, sightings: Vec<DeviceSighting>| {
        let db = app.state.db.clone();
        async move {
            let mut tx = db.begin().await.unwrap();
            observe_devices(&mut tx, tenant, &sightings).await.unwrap();
            tx.commit().await.unwrap();
        }
    };
    let one = |m: &str, first, last, host: &str, ips: Vec<(IpAddr, i64, i64)>| DeviceSighting {
        mac: mac(m),
        first,
        last,
        hostname: host.into(),
        ips,
    };
    batch(
        t,
        vec![
            one(
                "00:00:00:00:00:01",
                4_000,
                5_000,
                "new-name",
                vec![(ip("10.0.0.5"), 4_000, 5_000)],
            ),
            one("02:00:00:00:00:02", 4_500, 4_500, "", vec![]),
        ],
    )
    .await;
    // Older, late-arriving: widens first_seen and the history, keeps IP and name.
    batch(
        t,
        vec![one(
            "00:00:00:00:00:01",
            1_000,
            2_000,
            "old-name",
            vec![
                (ip("10.0.0.4"), 1_000, 2_000),
                (ip("10.0.0.5"), 1_500, 1_500),
            ],
        )],
    )
    .await;
    batch(
        other,
        vec![one("00:00:00:00:00:01", 9_000, 9_000, "theirs", vec![])],
    )
    .await;
    let r = observe(&app, t, "00:00:00:00:00:01", "", "", 3_000).await;
    assert_eq!(
        (r.last_ip.as_str(), r.hostname.as_str()),
        ("10.0.0.5", "new-name")
    );
    assert_eq!((r.first_seen, r.last_seen, r.ip_count), (1_000, 5_000, 2));
    assert_eq!(r.vendor, "XEROX CORPORATION");

    // Newer: moves IP and name; an IP already known does not count twice.
    batch(
        t,
        vec![one(
            "00:00:00:00:00:01",
            6_000,
            7_000,
            "renamed",
            vec![
                (ip("10.0.0.4"), 6_000, 6_500),
                (ip("10.0.0.9"), 7_000, 7_000),
            ],
        )],
    )
    .await;
    let r = observe(&app, t, "00:00:00:00:00:01", "", "", 3_000).await;
    assert_eq!(
        (
            r.last_ip.as_str(),
            r.hostname.as_str(),
            r.ip_count,
            r.last_seen
        ),
        ("10.0.0.9", "renamed", 3, 7_000)
    );
    let list = json(
        app.send_json(
            Method::POST,
            "/api/v1/devices/search",
            &json!({"sort": {"field": "mac", "order": "asc"}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(list["total_rows"], 2, "{list}");
    assert_eq!(
        field(&list, "mac"),
        ["00:00:00:00:00:01", "02:00:00:00:00:02"]
    );
    assert_eq!(field(&list, "last_ip"), ["10.0.0.9", ""]);
    let theirs = observe(&app, other, "00:00:00:00:00:01", "", "", 9_000).await;
    assert_eq!((theirs.hostname.as_str(), theirs.ip_count), ("theirs", 0));
}

#[tokio::test]
async fn updates_rename_and_refuse_bad_requests() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    let d = observe(&app, t, "02:00:00:00:00:01", "10.0.0.1", "host-1", 1_000).await;
    let path = format!("/api/v1/devices/{}", d.id);

    let res = app
        .send_json(
            Method::PUT,
            &path,
            &json!({"hostname": "", "friendly_name": "Desk"}),
        )
        .await;
    let dev = json(res, 200).await["device"].clone();
    assert_eq!(
        (dev["hostname"].as_str(), dev["friendly_name"].as_str()),
        (Some(""), Some("Desk"))
    );
    assert_eq!(dev["is_gateway"], false);
    let res = app
        .send_json(Method::PATCH, &path, &json!({"friendly_name": ""}))
        .await;
    network_error(res, 400, "non-empty").await;
    let res = app.send_json(Method::PATCH, &path, &json!({})).await;
    network_error(res, 400, "at least one").await;
    let res = app
        .send_json(Method::PATCH, &path, &json!({"vendor": "x"}))
        .await;
    network_error(res, 400, "vendor").await;
    let res = app
        .send_json(
            Method::PATCH,
            "/api/v1/devices/abc",
            &json!({"hostname": "x"}),
        )
        .await;
    network_error(res, 400, "path").await;
    let res = app
        .send_json(
            Method::PATCH,
            "/api/v1/devices/987654",
            &json!({"hostname": "x"}),
        )
        .await;
    network_error(res, 404, "987654").await;

    let other = app.tenant_key("other", None).await;
    let res = app
        .req_as(&other, Method::PATCH, &path)
        .json(&json!({"hostname": "x"}))
        .send()
        .await
        .unwrap();
    network_error(res, 404, "no device").await;
    let res = app
        .req_as(&other, Method::GET, "/api/v1/devices")
        .send()
        .await
        .unwrap();
    assert_eq!(json(res, 200).await["total_rows"], 0);

    let reader = app.tenant_key("default", Some(&[Perm::DevicesR])).await;
    let res = app
        .req_as(&reader, Method::GET, "/api/v1/devices")
        .send()
        .await
        .unwrap();
    assert_eq!(json(res, 200).await["total_rows"], 1);
    let res = app
        .req_as(&reader, Method::PUT, &path)
        .json(&json!({"hostname": "x"}))
        .send()
        .await
        .unwrap();
    network_error(res, 403, "perm_devices_w").await;
    let nobody = app.tenant_key("default", Some(&[Perm::NetworksR])).await;
    let res = app
        .req_as(&nobody, Method::POST, "/api/v1/devices/search")
        .send()
        .await
        .unwrap();
    network_error(res, 403, "perm_devices_r").await;

    let list = json(app.get("/api/v1/devices").await, 200).await;
    assert_eq!(list["devices"][0], dev, "failed requests changed nothing");
}

#[tokio::test]
async fn derived_fields_follow_the_tenants_own_networks() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    observe(&app, t, "02:00:00:00:00:01", "10.0.1.1", "gw", 1_000).await;
    create(&app, json!({"name": "Campus", "cidr": "10.0.0.0/16"})).await;
    // Another tenant's networks never shape this tenant's devices.
    let other = app.tenant_key("other", None).await;
    let res = app
        .req_as(&other, Method::POST, "/api/v1/networks")
        .json(&json!({"name": "Theirs", "cidr": "10.0.1.0/24", "gateway_ip": "10.0.1.1"}))
        .send()
        .await
        .unwrap();
    json(res, 201).await;
    let d = first_device(&app).await;
    assert_eq!(
        (d["network"].as_str(), d["is_gateway"].as_bool()),
        (Some("Campus"), Some(false))
    );

    let office = create(
        &app,
        json!({"name": "Office", "cidr": "10.0.1.0/24", "gateway_ip": "10.0.1.1"}),
    )
    .await;
    let d = first_device(&app).await;
    assert_eq!(
        (d["network"].as_str(), d["is_gateway"].as_bool()),
        (Some("Office"), Some(true))
    );

    let res = app
        .req(
            Method::DELETE,
            &format!("/api/v1/networks/{}", office["id"]),
        )
        .send()
        .await
        .unwrap();
    json(res, 200).await;
    let d = first_device(&app).await;
    assert_eq!(
        (d["network"].as_str(), d["is_gateway"].as_bool()),
        (Some("Campus"), Some(false))
    );

    let res = app
        .client
        .get(app.url("/api/v1/devices"))
        .send()
        .await
        .unwrap();
    network_error(res, 401, "").await;
}

async fn first_device(app: &TestApp) -> Value {
    json(
        app.get("/api/v1/devices?sort=gateway&order=desc").await,
        200,
    )
    .await["devices"][0]
        .clone()
}
