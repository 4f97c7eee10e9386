//! `/api/v1`: networks, devices, network alerts with their captures, server alerts, services
//! with allowed entries and exclude rules, over the rows of [`network_rows`](super::network_rows).

use reqwest::Method;
use serde_json::{json, Value};

use super::network_rows::seed;
use super::{call, each, get, post, Case, Pair, Side, Surface};

const NA: &str = "/api/v1/networkalerts";
const SA: &str = "/api/v1/serveralerts";
const PATCH_PUT: [Method; 2] = [Method::PATCH, Method::PUT];

#[tokio::test]
async fn networks() {
    let p = Pair::new().await;
    let w = seed(&p).await;
    let mut foreign = Vec::new();
    for id in [w.bravo.network, w.decoys.network] {
        let path = format!("/api/v1/networks/{id}");
        foreign.extend(each(&PATCH_PUT, &path, Some(&json!({"alert": 30}))));
        foreign.push(call(Method::DELETE, &path));
    }
    Case {
        surface: Surface::Network,
        reads: vec![
            get("/api/v1/networks").shows(&["Alpha LAN"]),
            post("/api/v1/networks/search", json!({})).shows(&["Alpha LAN"]),
            post(
                "/api/v1/networks/search",
                json!({"filters": {"name": ["Bravo%"]}}),
            )
            .shows(&["{\"networks\":[]}"]),
            post(
                "/api/v1/networks/search",
                json!({"filters": {"cidr": ["10.0.0.0/8"]}}),
            )
            .shows(&["{\"networks\":[]}"]),
        ],
        foreign,
        writes: vec![
            // Bravo's name and range are free in alpha: no 409 that would tell they exist.
            post(
                "/api/v1/networks",
                json!({"name": "Bravo LAN", "cidr": "10.2.0.0/24"}),
            )
            .answers(201),
            // Takes alpha's allowed entries in 10.1.0.0/24 along, not bravo's decoy there.
            call(
                Method::DELETE,
                format!("/api/v1/networks/{}", w.alpha.network),
            )
            .shows(&["Alpha LAN"]),
        ],
        bravo_reads: vec![
            get("/api/v1/networks").shows(&["Bravo LAN", "Bravo overlay"]),
            get("/api/v1/services/allowed").shows(&["Bravo web", "bravo decoy"]),
        ],
    }
    .check(&p)
    .await;
}

#[tokio::test]
async fn devices() {
    let p = Pair::new().await;
    let w = seed(&p).await;
    let mut foreign = Vec::new();
    for id in w.bravo.devices.into_iter().chain([w.decoys.device]) {
        let body = json!({"friendly_name": "Taken", "hostname": "taken"});
        foreign.extend(each(
            &PATCH_PUT,
            &format!("/api/v1/devices/{id}"),
            Some(&body),
        ));
    }
    let search = |filters: Value| post("/api/v1/devices/search", json!({ "filters": filters }));
    Case {
        surface: Surface::Network,
        reads: vec![
            get("/api/v1/devices").shows(&[
                "alpha-ws",
                "alpha-srv",
                "alpha-roamer",
                "Alpha LAN",
                "\"total_rows\":3",
            ]),
            post("/api/v1/devices/search", json!({})).shows(&["alpha-ws", "\"total_rows\":3"]),
            search(json!({"mac": ["AA:AA:AA:00:00:01"]})).shows(&["alpha-ws", "\"total_rows\":1"]),
            search(json!({"ip": ["10.1.0.10"]})).shows(&["alpha-ws", "\"total_rows\":1"]),
            search(json!({"hostname": ["bravo%"]})).shows(&["\"total_rows\":0"]),
            search(json!({"ip": ["10.2.0.%"]})).shows(&["\"total_rows\":0"]),
        ],
        foreign,
        writes: vec![call(
            Method::PATCH,
            format!("/api/v1/devices/{}", w.alpha.devices[0]),
        )
        .body(json!({"friendly_name": "Alpha Laptop"}))
        .shows(&["Alpha Laptop"])],
        bravo_reads: vec![
            get("/api/v1/devices").shows(&["bravo-ws", "bravo-srv", "bravo-decoy", "Bravo LAN"]),
            post(
                "/api/v1/devices/search",
                json!({"filters": {"mac": ["AA:AA:AA:00:00:01"]}}),
            )
            .shows(&["bravo-decoy"]),
        ],
    }
    .check(&p)
    .await;
}

#[tokio::test]
async fn network_alerts_and_their_captures() {
    let p = Pair::new().await;
    let w = seed(&p).await;
    let mine = p
        .read_as(&p.alpha, &get(format!("{NA}/{}/pcap", w.alpha.alert)))
        .await;
    assert_eq!(mine, super::hex(&w.alpha.pcap), "alpha's own capture");
    let search = |filters: Value| post(format!("{NA}/search"), json!({ "filters": filters }));
    // Names resolve through alpha's devices and networks only, never bravo's decoys.
    let enriched = [
        "Alpha port scan",
        "alpha-ws",
        "alpha-srv",
        "Alpha LAN",
        "\"total_rows\":1",
    ];
    Case {
        surface: Surface::Network,
        reads: vec![
            get(NA).shows(&enriched),
            post(format!("{NA}/search"), json!({})).shows(&enriched),
            search(json!({"source": ["alpha-ws"]})).shows(&["Alpha port scan"]),
            search(json!({"source": ["bravo-decoy"]})).shows(&["\"total_rows\":0"]),
            search(json!({"source": ["10.2.0.10"]})).shows(&["\"total_rows\":0"]),
            search(json!({"agent": ["bravo-sensor"]})).shows(&["\"total_rows\":0"]),
            search(json!({"unique": "pair"})).shows(&["Alpha port scan"]),
        ],
        foreign: vec![
            call(Method::DELETE, format!("{NA}/{}", w.bravo.alert)),
            get(format!("{NA}/{}/pcap", w.bravo.alert)),
        ],
        writes: vec![
            call(Method::DELETE, format!("{NA}/{}", w.alpha.alert)).shows(&["Alpha port scan"])
        ],
        bravo_reads: vec![
            get(NA).shows(&["Bravo port scan", "bravo-ws", "Bravo LAN"]),
            get(format!("{NA}/{}/pcap", w.bravo.alert)).shows(&[&super::hex(&w.bravo.pcap)]),
        ],
    }
    .check(&p)
    .await;
}

#[tokio::test]
async fn server_alerts() {
    let p = Pair::new().await;
    let w = seed(&p).await;
    let search = |filters: Value| post(format!("{SA}/search"), json!({ "filters": filters }));
    Case {
        surface: Surface::Network,
        reads: vec![
            get(SA).shows(&["Alpha failed password", "alpha-srv", "\"total_rows\":1"]),
            post(format!("{SA}/search"), json!({})).shows(&["Alpha failed password"]),
            search(json!({"hostname": ["bravo%"]})).shows(&["\"total_rows\":0"]),
        ],
        foreign: vec![call(
            Method::DELETE,
            format!("{SA}/{}", w.bravo.server_alert),
        )],
        writes: vec![
            call(Method::DELETE, format!("{SA}/{}", w.alpha.server_alert))
                .shows(&["Alpha failed password"]),
        ],
        bravo_reads: vec![get(SA).shows(&["Bravo failed password"])],
    }
    .check(&p)
    .await;
}

/// `(port, authorized)` of `side`'s discovered services.
async fn authorized(p: &Pair, side: &Side) -> Vec<(i64, bool)> {
    let text = p.read_as(side, &get("/api/v1/services")).await;
    let list: Value = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    for g in list["services"].as_array().unwrap() {
        for port in g["tcp_ports"].as_array().unwrap() {
            out.push((
                port["port"].as_i64().unwrap(),
                port["authorized"].as_bool().unwrap(),
            ));
        }
    }
    out
}

#[tokio::test]
async fn services_allowed_entries_and_exclude_rules() {
    let p = Pair::new().await;
    let w = seed(&p).await;
    // Bravo's decoy entry and rule on alpha's addresses weigh nothing in alpha's policy.
    assert_eq!(authorized(&p, &p.alpha).await, [(443, true), (8080, false)]);
    let mut foreign = Vec::new();
    for id in w.bravo.services {
        let path = format!("/api/v1/services/{id}");
        foreign.extend(each(
            &PATCH_PUT,
            &path,
            Some(&json!({"service_port": 9999})),
        ));
        foreign.push(call(Method::DELETE, &path));
        foreign.push(call(Method::PATCH, format!("{path}/authorize")));
    }
    for id in [w.bravo.allowed, w.decoys.allowed] {
        foreign.push(call(
            Method::DELETE,
            format!("/api/v1/services/allowed/{id}"),
        ));
    }
    for id in [w.bravo.exclude, w.decoys.exclude] {
        foreign.push(call(
            Method::DELETE,
            format!("/api/v1/services/exclude-rules/{id}"),
        ));
    }
    let [allowed_443, open_8080] = w.alpha.services;
    Case {
        surface: Surface::Network,
        reads: vec![
            get("/api/v1/services").shows(&["10.1.0.11", "Alpha web"]),
            post("/api/v1/services/search", json!({})).shows(&["10.1.0.11"]),
            post(
                "/api/v1/services/search",
                json!({"filters": {"service_ip": ["10.2.0.%"]}}),
            )
            .shows(&["{\"services\":[]}"]),
            // `authorized` is computed from the policy: alpha's only.
            post(
                "/api/v1/services/search",
                json!({"filters": {"authorized": [true]}}),
            )
            .shows(&["\"port\":443", "Alpha web"]),
            get("/api/v1/services/allowed").shows(&["Alpha web"]),
            get("/api/v1/services/exclude-rules").shows(&["alpha rule"]),
        ],
        foreign,
        writes: vec![
            // Alpha's own entry and rule on bravo's addresses change nothing for bravo.
            post(
                "/api/v1/services/authorize",
                json!({"service_ip": "10.2.0.11",
                "service_port": 8080, "proto": "tcp", "name": "Alpha on the other range"}),
            ),
            post(
                "/api/v1/services/exclude-rules",
                json!({"ip": "10.2.0.0/24"}),
            )
            .answers(201),
            post(
                "/api/v1/services",
                json!({"service_ip": "10.2.0.11", "service_port": 443,
                "proto": "tcp"}),
            )
            .answers(201),
            call(
                Method::PATCH,
                format!("/api/v1/services/{open_8080}/authorize"),
            ),
            call(Method::PATCH, format!("/api/v1/services/{allowed_443}"))
                .body(json!({"service_port": 8443})),
            call(
                Method::DELETE,
                format!("/api/v1/services/allowed/{}", w.alpha.allowed),
            ),
            call(
                Method::DELETE,
                format!("/api/v1/services/exclude-rules/{}", w.alpha.exclude),
            ),
        ],
        bravo_reads: vec![
            get("/api/v1/services").shows(&["10.2.0.11", "Bravo web"]),
            get("/api/v1/services/allowed").shows(&["Bravo web", "bravo decoy"]),
            get("/api/v1/services/exclude-rules").shows(&["bravo rule", "bravo decoy rule"]),
        ],
    }
    .check(&p)
    .await;
    assert_eq!(authorized(&p, &p.bravo).await, [(443, true), (8080, false)]);
}
