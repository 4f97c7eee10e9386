//! `/api/v1/networkalerts` and `/api/v1/serveralerts`: the seed's curl examples as written,
//! pagination edges, sorting and its aliases, every filter with wildcards and escapes, name
//! resolution, `unique`, timezones both ways, capture download and deletion, bad input,
//! tenancy and permissions. Alerts are stored the way detections store them, through
//! `insert_network_alert`, `insert_pcap` and `insert_server_alert`; the syslog lines and the
//! capture are real (see `tests/fixtures/alerts/SOURCES.md`).

use picket_core::identity::{Perm, TenantId};
use picket_netmon::alerts::{
    insert_network_alert, insert_pcap, insert_server_alert, NewNetworkAlert, NewServerAlert,
};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{json, network_error, spawn, spawn_with, TestApp};
use crate::netmon_devices::{observe, tenant, utc};
use crate::netmon_networks::{create, send_raw};

const NMAP_PCAP: &[u8] = include_bytes!("../fixtures/alerts/zeek-nmap-vsn.pcap");
const AUTH_LOG: &str = include_str!("../fixtures/alerts/auth-beats.log");

const NA: &str = "/api/v1/networkalerts";
const SA: &str = "/api/v1/serveralerts";

/// The seed's example network alert, before enrichment.
fn seed_alert() -> NewNetworkAlert {
    NewNetworkAlert {
        ts: utc("2026-06-03 10:30:00"),
        agent: "agent-hash".into(),
        agent_name: "Office sensor".into(),
        src_mac: "AA:BB:CC:DD:EE:FF".into(),
        dst_mac: "11:22:33:44:55:66".into(),
        src_ip: "10.0.0.25".into(),
        dst_ip: "10.0.0.50".into(),
        src_port: 53000,
        dst_port: 3389,
        level: 30,
        kind: "portscan".into(),
        subject: "Port scan detected".into(),
        message: "Example alert message".into(),
        flow_id: None,
    }
}

fn seed_server_alert() -> NewServerAlert {
    NewServerAlert {
        ts: utc("2026-06-03 10:30:00"),
        agent: "agent-hash".into(),
        agent_name: "Syslog sensor".into(),
        hostname: "server-01".into(),
        level: 20,
        kind: "auth".into(),
        title: "Failed password".into(),
        line: "sshd[100]: Failed password for root from 10.0.0.25".into(),
    }
}

async fn add(app: &TestApp, t: TenantId, a: NewNetworkAlert) -> i64 {
    let mut tx = app.state.db.begin().await.unwrap();
    let id = insert_network_alert(&mut tx, t, &a).await.unwrap();
    tx.commit().await.unwrap();
    id
}

async fn add_pcap(app: &TestApp, t: TenantId, alert: i64, data: &[u8]) -> i64 {
    let mut tx = app.state.db.begin().await.unwrap();
    let id = insert_pcap(&mut tx, t, alert, data).await.unwrap();
    tx.commit().await.unwrap();
    id
}

async fn add_server(app: &TestApp, t: TenantId, a: NewServerAlert) -> i64 {
    let mut tx = app.state.db.begin().await.unwrap();
    let id = insert_server_alert(&mut tx, t, &a).await.unwrap();
    tx.commit().await.unwrap();
    id
}

/// The ids of a list, in order.
fn ids(list: &Value) -> Vec<i64> {
    let key = if list.get("network_alerts").is_some() {
        "network_alerts"
    } else {
        "server_alerts"
    };
    list[key]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect()
}

async fn search(app: &TestApp, path: &str, body: Value) -> Value {
    json(
        app.send_json(Method::POST, &format!("{path}/search"), &body)
            .await,
        200,
    )
    .await
}

async fn search_ids(app: &TestApp, path: &str, filters: Value) -> Vec<i64> {
    ids(&search(app, path, json!({ "filters": filters })).await)
}

async fn get_ids(app: &TestApp, path_and_query: &str) -> Vec<i64> {
    ids(&json(app.get(path_and_query).await, 200).await)
}

async fn rename(app: &TestApp, device: i64, friendly: &str) {
    let res = app
        .send_json(
            Method::PATCH,
            &format!("/api/v1/devices/{device}"),
            &json!({ "friendly_name": friendly }),
        )
        .await;
    json(res, 200).await;
}

#[tokio::test]
async fn seed_examples_run_as_written() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    create(&app, json!({"name": "Office LAN", "cidr": "10.0.0.0/24"})).await;
    create(&app, json!({"name": "Server LAN", "cidr": "10.0.0.48/28"})).await;
    let at = utc("2026-06-01 09:00:00");
    let ws = observe(
        &app,
        t,
        "aa:bb:cc:dd:ee:ff",
        "10.0.0.25",
        "workstation-01",
        at,
    )
    .await;
    rename(&app, ws.id, "Alice Laptop").await;
    let srv = observe(&app, t, "11:22:33:44:55:66", "10.0.0.50", "server-01", at).await;
    rename(&app, srv.id, "RDP Server").await;
    let id = add(&app, t, seed_alert()).await;
    let pcap_id = add_pcap(&app, t, id, NMAP_PCAP).await;

    // The seed's Network Alert Object, field for field.
    let alert = json!({
        "id": id, "timestamp": "2026-06-03 10:30:00", "agent": "agent-hash",
        "agent_name": "Office sensor", "src_mac": "AA:BB:CC:DD:EE:FF", "dst_mac": "11:22:33:44:55:66",
        "src_ip": "10.0.0.25", "dst_ip": "10.0.0.50", "src_port": 53000, "dst_port": 3389,
        "src_hostname": "workstation-01", "dst_hostname": "server-01", "level": 30,
        "type": "portscan", "subject": "Port scan detected", "message": "Example alert message",
        "pcap_id": pcap_id, "src_device_name": "Alice Laptop", "dst_device_name": "RDP Server",
        "src_network_name": "Office LAN", "dst_network_name": "Server LAN",
        "is_src_public_ip": false, "is_dst_public_ip": false
    });
    let expected = json!({"network_alerts": [alert], "page": 1, "page_size": 25,
        "total_rows": 1, "total_pages": 1});
    let list = json(
        app.get("/api/v1/networkalerts?page=1&page_size=25&sort=timestamp&order=desc")
            .await,
        200,
    )
    .await;
    assert_eq!(list, expected);
    let res = send_raw(
        &app,
        Method::POST,
        "/api/v1/networkalerts/search",
        r#"{"filters":{"level":[30],"source":["10.0.0.25"],"type":["portscan"]},"page":1,"page_size":25}"#,
    )
    .await;
    assert_eq!(json(res, 200).await, expected);
    // The seed's full request body, every filter at once.
    let res = send_raw(
        &app,
        Method::POST,
        "/api/v1/networkalerts/search",
        r#"{"filters":{"from":"2026-06-03 00:00","to":"2026-06-04 00:00","agent":["agent-hash"],
            "level":[30],"type":["portscan"],"type_mode":1,"source":["10.0.0.25"],
            "destination":["10.0.0.50"],"destination_port":[3389],"search":["Port scan"],
            "unique":"pair"},"page":1,"page_size":25,"sort":{"field":"timestamp","order":"desc"}}"#,
    )
    .await;
    assert_eq!(json(res, 200).await, expected);

    let res = app
        .req(Method::DELETE, &format!("/api/v1/networkalerts/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json(res, 200).await,
        json!({"deleted": true, "network_alert": alert})
    );
    assert!(get_ids(&app, NA).await.is_empty());

    // Server alerts.
    let id = add_server(&app, t, seed_server_alert()).await;
    let alert = json!({
        "id": id, "timestamp": "2026-06-03 10:30:00", "agent": "agent-hash",
        "agent_name": "Syslog sensor", "hostname": "server-01", "level": 20, "type": "auth",
        "title": "Failed password", "line": "sshd[100]: Failed password for root from 10.0.0.25"
    });
    let expected = json!({"server_alerts": [alert], "page": 1, "page_size": 25,
        "total_rows": 1, "total_pages": 1});
    let list = json(
        app.get("/api/v1/serveralerts?page=1&page_size=25&sort=timestamp&order=desc")
            .await,
        200,
    )
    .await;
    assert_eq!(list, expected);
    let res = send_raw(
        &app,
        Method::POST,
        "/api/v1/serveralerts/search",
        r#"{"filters":{"level":[20],"type":["auth"],"search":["Failed password"]},"page":1,"page_size":25}"#,
    )
    .await;
    assert_eq!(json(res, 200).await, expected);
    let res = send_raw(
        &app,
        Method::POST,
        "/api/v1/serveralerts/search",
        r#"{"filters":{"from":"2026-06-03 00:00","to":"2026-06-04 00:00","agent":["agent-hash"],
            "hostname":["server-01"],"level":[20],"type":["auth"],"title":["Failed password"],
            "search":["root from 10.0.0.25"]},"page":1,"page_size":25,
            "sort":{"field":"timestamp","order":"desc"}}"#,
    )
    .await;
    assert_eq!(json(res, 200).await, expected);
    let res = app
        .req(Method::DELETE, &format!("/api/v1/serveralerts/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json(res, 200).await,
        json!({"deleted": true, "server_alert": alert})
    );
    assert!(get_ids(&app, SA).await.is_empty());
}

#[tokio::test]
async fn pagination_edges() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    for (path, key) in [(NA, "network_alerts"), (SA, "server_alerts")] {
        let empty =
            json!({key: [], "page": 1, "page_size": 100, "total_rows": 0, "total_pages": 0});
        assert_eq!(
            json(app.get(&format!("{path}?page=4")).await, 200).await,
            empty
        );
        assert_eq!(search(&app, path, json!({"page": 4})).await, empty);
    }
    let mut net = Vec::new();
    let mut srv = Vec::new();
    for i in 1..=7 {
        let ts = utc("2026-06-03 10:00:00") + i * 60_000;
        net.push(add(&app, t, NewNetworkAlert { ts, ..seed_alert() }).await);
        srv.push(
            add_server(
                &app,
                t,
                NewServerAlert {
                    ts,
                    ..seed_server_alert()
                },
            )
            .await,
        );
    }
    net.reverse();
    srv.reverse();
    for (path, newest_first) in [(NA, &net), (SA, &srv)] {
        let page = |q: String| {
            let app = &app;
            async move { json(app.get(&format!("{path}{q}")).await, 200).await }
        };
        let p = page("?page=0&page_size=3".into()).await;
        assert_eq!(
            (
                &p["page"],
                &p["page_size"],
                &p["total_rows"],
                &p["total_pages"]
            ),
            (&json!(1), &json!(3), &json!(7), &json!(3))
        );
        assert_eq!(ids(&p), newest_first[..3]);
        let p = page("?page=99&page_size=3".into()).await;
        assert_eq!(p["page"], 3, "past the end serves the last page");
        assert_eq!(ids(&p), newest_first[6..]);
        let p = page("?page=2&page_size=5000".into()).await;
        assert_eq!((&p["page"], &p["page_size"]), (&json!(1), &json!(1000)));
        assert_eq!(ids(&p), *newest_first);
        let p = page("?page_size=0".into()).await;
        assert_eq!(p["page_size"], 100);
        let p = search(&app, path, json!({"page": -2, "page_size": 2})).await;
        assert_eq!((&p["page"], &p["total_pages"]), (&json!(1), &json!(4)));
        assert_eq!(ids(&p), newest_first[..2]);
        let p = search(&app, path, json!({"page": 4, "page_size": 2})).await;
        assert_eq!(ids(&p), newest_first[6..]);

        network_error(app.get(&format!("{path}?page=abc")).await, 400, "page").await;
        network_error(
            app.get(&format!("{path}?page_size=1.5")).await,
            400,
            "page_size",
        )
        .await;
        let res = app
            .send_json(
                Method::POST,
                &format!("{path}/search"),
                &json!({"page": "2"}),
            )
            .await;
        network_error(res, 400, "page").await;
    }
}

#[tokio::test]
async fn network_alert_sorts_and_aliases() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    let at = |m: i64| utc("2026-06-03 10:00:00") + m * 60_000;
    let a = |ts, src: &str, mac: &str, dst: &str, port, level, kind: &str, subject: &str| {
        NewNetworkAlert {
            ts,
            src_ip: src.into(),
            src_mac: mac.into(),
            dst_ip: dst.into(),
            dst_port: port,
            level,
            kind: kind.into(),
            subject: subject.into(),
            message: format!("{subject} message"),
            agent: format!("agent-{kind}"),
            ..seed_alert()
        }
    };
    let a1 = add(
        &app,
        t,
        a(
            at(1),
            "10.0.0.10",
            "02:00:00:00:00:09",
            "8.8.8.8",
            443,
            10,
            "ids",
            "b",
        ),
    )
    .await;
    let a2 = add(
        &app,
        t,
        a(
            at(2),
            "10.0.0.9",
            "02:00:00:00:00:02",
            "2001:db8::1",
            22,
            30,
            "portscan",
            "a",
        ),
    )
    .await;
    let a3 = add(
        &app,
        t,
        a(
            at(3),
            "2001:db8::5",
            "02:00:00:00:00:03",
            "10.0.0.1",
            80,
            20,
            "tor",
            "c",
        ),
    )
    .await;
    let a4 = add(
        &app,
        t,
        a(
            at(0),
            "10.0.0.9",
            "02:00:00:00:00:01",
            "9.9.9.9",
            22,
            30,
            "ids",
            "a",
        ),
    )
    .await;

    let newest = vec![a3, a2, a1, a4];
    let oldest = vec![a4, a1, a2, a3];
    // IPs sort numerically (10.0.0.9 before 10.0.0.10), IPv4 before IPv6, then by MAC; other
    // ties break by time, then id, in the same direction.
    let (by_source, by_destination) = (vec![a4, a2, a1, a3], vec![a1, a4, a3, a2]);
    let cases: Vec<(&str, Vec<i64>)> = vec![
        ("", newest.clone()),
        ("?sort=timestamp", newest.clone()),
        ("?sort=first&order=DESC", newest.clone()),
        ("?sort=bogus&order=sideways", newest.clone()),
        ("?sort=timestamp&order=asc", oldest.clone()),
        ("?order=Asc", oldest),
        ("?sort=id&order=asc", vec![a1, a2, a3, a4]),
        ("?sort=source&order=asc", by_source.clone()),
        ("?sort=src_ip&order=asc", by_source.clone()),
        ("?sort=SOURCE&order=asc", by_source),
        ("?sort=destination&order=asc", by_destination.clone()),
        ("?sort=dst_ip&order=asc", by_destination.clone()),
        ("?sort=dst_port&order=asc", vec![a4, a2, a3, a1]),
        ("?sort=level&order=desc", vec![a2, a4, a3, a1]),
        ("?sort=type&order=asc", vec![a4, a1, a2, a3]),
        ("?sort=agent&order=asc", vec![a4, a1, a2, a3]),
        ("?sort=subject&order=asc", vec![a4, a2, a1, a3]),
        // `message` has no index and no time tiebreaker: message, then id.
        ("?sort=message&order=desc", vec![a3, a1, a4, a2]),
    ];
    for (q, want) in cases {
        assert_eq!(get_ids(&app, &format!("{NA}{q}")).await, want, "{q}");
    }
    let list = search(
        &app,
        NA,
        json!({"sort": {"field": "destination", "order": "DESC"}}),
    )
    .await;
    let mut rev = by_destination;
    rev.reverse();
    assert_eq!(ids(&list), rev);
    let list = search(&app, NA, json!({"sort": {"field": "nope"}})).await;
    assert_eq!(ids(&list), newest, "unknown field: timestamp, desc");
}

#[tokio::test]
async fn server_alert_sorts_and_aliases() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    let s = |m: i64, host: &str, level, kind: &str, title: &str, line: &str| NewServerAlert {
        ts: utc("2026-06-03 10:00:00") + m * 60_000,
        hostname: host.into(),
        level,
        kind: kind.into(),
        title: title.into(),
        line: line.into(),
        agent: format!("agent-{host}"),
        ..seed_server_alert()
    };
    let s1 = add_server(&app, t, s(1, "web-02", 20, "sudo", "b title", "z line")).await;
    let s2 = add_server(&app, t, s(2, "db-01", 30, "auth", "a title", "y line")).await;
    let s3 = add_server(&app, t, s(3, "web-01", 10, "auth", "c title", "x line")).await;

    let cases: Vec<(&str, [i64; 3])> = vec![
        ("", [s3, s2, s1]),
        ("?sort=whatever&order=?", [s3, s2, s1]),
        ("?sort=source&order=asc", [s2, s3, s1]),
        ("?sort=hostname&order=asc", [s2, s3, s1]),
        ("?sort=agent&order=asc", [s2, s3, s1]),
        ("?sort=title&order=asc", [s2, s1, s3]),
        ("?sort=subject&order=asc", [s2, s1, s3]),
        ("?sort=message&order=asc", [s2, s1, s3]),
        ("?sort=log&order=asc", [s3, s2, s1]),
        ("?sort=line&order=asc", [s3, s2, s1]),
        ("?sort=level&order=asc", [s3, s1, s2]),
        ("?sort=type&order=asc", [s2, s3, s1]),
        ("?sort=id&order=asc", [s1, s2, s3]),
    ];
    for (q, want) in cases {
        assert_eq!(get_ids(&app, &format!("{SA}{q}")).await, want, "{q}");
    }
    let list = search(
        &app,
        SA,
        json!({"sort": {"field": "timestamp", "order": "asc"}}),
    )
    .await;
    assert_eq!(ids(&list), [s1, s2, s3]);
}

#[tokio::test]
async fn network_alert_filters_names_and_unique() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    // The laptop held 10.0.0.25, then moved to 10.0.0.26: its name finds both.
    let laptop = observe(
        &app,
        t,
        "02:aa:00:00:00:01",
        "10.0.0.25",
        "workstation-01",
        1_000,
    )
    .await;
    observe(&app, t, "02:aa:00:00:00:01", "10.0.0.26", "", 2_000).await;
    rename(&app, laptop.id, "Alice Laptop").await;
    let at = |m: i64| utc("2026-06-03 10:00:00") + m * 60_000;
    let n1 = add(
        &app,
        t,
        NewNetworkAlert {
            ts: at(1),
            src_ip: "10.0.0.25".into(),
            src_mac: "02:AA:00:00:00:01".into(),
            agent: "agent-a".into(),
            ..seed_alert()
        },
    )
    .await;
    let n2 = add(
        &app,
        t,
        NewNetworkAlert {
            ts: at(2),
            src_ip: "10.0.0.26".into(),
            src_mac: "02:aa:00:00:00:01".into(),
            dst_ip: "8.8.8.8".into(),
            dst_port: 53,
            level: 10,
            kind: "ids".into(),
            subject: "ET POLICY 50% off".into(),
            message: "dns".into(),
            agent: "agent-b".into(),
            ..seed_alert()
        },
    )
    .await;
    let n3 = add(
        &app,
        t,
        NewNetworkAlert {
            ts: at(3),
            src_ip: "192.168.1.7".into(),
            src_mac: "02:bb:00:00:00:07".into(),
            dst_port: 445,
            level: 20,
            kind: "tor".into(),
            subject: "Traffic to a Tor relay".into(),
            message: "relay 50 percent".into(),
            agent: "agent-a".into(),
            ..seed_alert()
        },
    )
    .await;
    let n4 = add(
        &app,
        t,
        NewNetworkAlert {
            ts: at(4),
            src_ip: "10.0.0.25".into(),
            src_mac: "02:AA:00:00:00:01".into(),
            agent: "agent-a".into(),
            ..seed_alert()
        },
    )
    .await;

    let cases: Vec<(Value, Vec<i64>)> = vec![
        (json!({}), vec![n4, n3, n2, n1]),
        (json!({"level": [30]}), vec![n4, n1]),
        (json!({"level": [10, 20]}), vec![n3, n2]),
        (json!({"level": 10}), vec![n2]),
        (json!({"type": ["PortScan"]}), vec![n4, n1]),
        (json!({"type": ["portscan"], "type_mode": 2}), vec![n3, n2]),
        (
            json!({"type": ["portscan", "tor"], "type_mode": 2}),
            vec![n2],
        ),
        (json!({"type_mode": 2}), vec![n4, n3, n2, n1]),
        (json!({"agent": ["agent-a"]}), vec![n4, n3, n1]),
        (json!({"agent_id": ["AGENT-B"]}), vec![n2]),
        (json!({"destination_port": [3389]}), vec![n4, n1]),
        (json!({"dst_port": [445, 53]}), vec![n3, n2]),
        (json!({"source": ["10.0.0.25"]}), vec![n4, n1]),
        (json!({"source": ["10.0.0.2%"]}), vec![n4, n2, n1]),
        (json!({"source": ["10.0.0.2_"]}), vec![n4, n2, n1]),
        (json!({"source": ["10.0.0.2"]}), vec![]),
        (json!({"source": ["02-aa-00-00-00-01"]}), vec![n4, n2, n1]),
        (json!({"source": ["02AA%"]}), vec![n4, n2, n1]),
        (
            json!({"source": ["192.168.1.7", "02:aa:00:00:00:01"]}),
            vec![n4, n3, n2, n1],
        ),
        // Names resolve to every IP the device has held, and to its MAC.
        (json!({"source": ["workstation-01"]}), vec![n4, n2, n1]),
        (json!({"source": ["ALICE LAPTOP"]}), vec![n4, n2, n1]),
        (json!({"source": ["alice%"]}), vec![n4, n2, n1]),
        (json!({"source": ["workstation"]}), vec![]),
        (json!({"destination": ["workstation-01"]}), vec![]),
        (json!({"destination": ["10.0.0.50"]}), vec![n4, n3, n1]),
        (
            json!({"destination": ["8.8.8.8", "10.0.0.50"]}),
            vec![n4, n3, n2, n1],
        ),
        (json!({"destination": "8.8.%"}), vec![n2]),
        (json!({"search": ["port SCAN"]}), vec![n4, n1]),
        (json!({"search": ["10.0.0.50:445"]}), vec![n3]),
        (json!({"search": ["8.8.8"]}), vec![n2]),
        (json!({"search": ["relay", "dns"]}), vec![n3, n2]),
        // `%` is a wildcard unless escaped: "50%" is in "10.0.0.50" too.
        (json!({"search": ["50%"]}), vec![n4, n3, n2, n1]),
        (json!({"search": ["50\\%"]}), vec![n2]),
        (json!({"search": ["50\\% off"]}), vec![n2]),
        (json!({"level": [30], "source": ["10.0.0.26"]}), vec![]),
        (
            json!({"level": [10], "source": ["workstation-01"]}),
            vec![n2],
        ),
        (
            json!({"agent": ["agent-a"], "destination_port": [445, 3389], "type": "tor"}),
            vec![n3],
        ),
    ];
    for (filters, want) in cases {
        assert_eq!(
            search_ids(&app, NA, filters.clone()).await,
            want,
            "{filters}"
        );
    }

    // unique: the newest alert of each group; total_rows counts groups.
    for (unique, want) in [
        ("source", vec![n4, n3, n2]),
        ("destination", vec![n4, n2]),
        ("destinationport", vec![n4, n3, n2]),
        ("pair", vec![n4, n3, n2]),
        ("PAIR", vec![n4, n3, n2]),
    ] {
        let list = search(
            &app,
            NA,
            json!({"filters": {"unique": unique}, "page_size": 1}),
        )
        .await;
        assert_eq!(list["total_rows"], want.len(), "{unique}");
        assert_eq!(list["total_pages"], want.len(), "{unique}");
        assert_eq!(ids(&list), want[..1], "{unique}");
        let list = search(&app, NA, json!({"filters": {"unique": unique}})).await;
        assert_eq!(ids(&list), want, "{unique}");
    }
    let list = search(
        &app,
        NA,
        json!({"filters": {"unique": "source", "level": [30]}, "sort": {"field": "id", "order": "asc"}}),
    )
    .await;
    assert_eq!((ids(&list), &list["total_rows"]), (vec![n4], &json!(1)));
}

/// The real syslog lines as server alerts: `(hostname, type, level, title, line)` by rule.
fn auth_alerts() -> Vec<NewServerAlert> {
    AUTH_LOG
        .lines()
        .map(|l| {
            let mut parts = l.splitn(5, ' ');
            let (mon, day, time, host) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
            );
            let line = parts.next().unwrap().to_string();
            let (kind, level, title) = if line.contains("Failed password") {
                ("auth", 20, "Failed password")
            } else if line.contains("Invalid user") {
                ("auth", 20, "Invalid user")
            } else if line.contains("Accepted") {
                ("auth", 10, "Accepted login")
            } else if line.contains("NOT in sudoers") {
                ("sudo", 30, "sudo: not in sudoers")
            } else if line.contains("sudo") {
                ("sudo", 10, "sudo: command")
            } else if line.contains("new user") {
                ("account", 10, "User created")
            } else if line.contains("new group") {
                ("account", 10, "Group created")
            } else {
                ("auth", 10, "No identification string")
            };
            assert_eq!(mon, "Feb");
            NewServerAlert {
                ts: utc(&format!("2026-02-{day:0>2} {time}")),
                agent: "5e1f0c0ffee0beef".into(),
                agent_name: "syslog".into(),
                hostname: host.into(),
                level,
                kind: kind.into(),
                title: title.into(),
                line,
            }
        })
        .collect()
}

#[tokio::test]
async fn server_alert_filters_on_real_syslog_lines() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    let alerts = auth_alerts();
    assert_eq!(alerts.len(), 10);
    let mut stored = Vec::new();
    for a in &alerts {
        stored.push((add_server(&app, t, a.clone()).await, a.clone()));
    }
    let cpu = add_server(
        &app,
        t,
        NewServerAlert {
            title: "100% CPU".into(),
            line: "load_avg high".into(),
            ..seed_server_alert()
        },
    )
    .await;
    let cpu2 = add_server(
        &app,
        t,
        NewServerAlert {
            title: "1000 CPU".into(),
            line: "loadXavg high".into(),
            ..seed_server_alert()
        },
    )
    .await;
    // Expected ids: those whose stored alert satisfies `pred`, newest first.
    let want = |pred: &dyn Fn(&NewServerAlert) -> bool| {
        let mut v: Vec<(i64, i64)> = stored
            .iter()
            .filter(|(_, a)| pred(a))
            .map(|(id, a)| (a.ts, *id))
            .collect();
        v.sort_by(|x, y| y.cmp(x));
        v.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
    };
    let cases: Vec<(Value, Vec<i64>)> = vec![
        (
            json!({"hostname": ["slave22"]}),
            want(&|a| a.hostname == "slave22"),
        ),
        (
            json!({"hostname": ["SLAVE%"]}),
            want(&|a| a.hostname == "slave22"),
        ),
        (
            json!({"hostname": ["local%", "precise32"]}),
            want(&|a| a.hostname != "slave22"),
        ),
        (
            json!({"title": ["Failed password"]}),
            want(&|a| a.title == "Failed password"),
        ),
        (
            json!({"message": ["%user%"]}),
            want(&|a| a.title.to_lowercase().contains("user")),
        ),
        (
            json!({"title": ["sudo:%"], "level": [10]}),
            want(&|a| a.title == "sudo: command"),
        ),
        (
            json!({"search": ["vagrant"]}),
            want(&|a| a.line.contains("vagrant")),
        ),
        (
            json!({"line": ["not IN SUDOERS"]}),
            want(&|a| a.level == 30),
        ),
        (json!({"level": [30]}), want(&|a| a.level == 30)),
        (json!({"type": ["SUDO"]}), want(&|a| a.kind == "sudo")),
        (
            json!({"type": ["sudo", "account"]}),
            want(&|a| a.kind != "auth"),
        ),
        (json!({"agent": ["5E1F0C0FFEE0BEEF"]}), want(&|_| true)),
        (json!({"agent": ["other"]}), vec![]),
        (
            json!({"from": "2026-02-21", "to": "2026-02-21"}),
            want(&|a| a.ts / 86_400_000 == utc("2026-02-21 00:00:00") / 86_400_000),
        ),
        (
            json!({"from": "2026-02-23 00:13", "to": "2026-02-23 00:13"}),
            want(&|a| a.line.contains("58803")),
        ),
        (json!({"from": "2026-02-23", "to": "2026-02-22"}), vec![]),
        (json!({"title": ["100\\%%"]}), vec![cpu]),
        (json!({"title": ["100%"]}), vec![cpu2, cpu]),
        (json!({"search": ["load\\_avg"]}), vec![cpu]),
        (json!({"search": ["load_avg"]}), vec![cpu2, cpu]),
    ];
    for (filters, expected) in cases {
        assert!(
            !expected.is_empty() || filters.get("agent").is_some() || filters.get("from").is_some(),
            "a case that matches nothing proves little: {filters}"
        );
        assert_eq!(
            search_ids(&app, SA, filters.clone()).await,
            expected,
            "{filters}"
        );
    }
}

#[tokio::test]
async fn times_follow_the_configured_timezone_both_ways() {
    // 15:30:45 UTC is 00:30:45 the next day in Tokyo and 11:30:45 the same day in New York (EDT).
    for (tz, shown, day_in, day_out, minute) in [
        (
            "Asia/Tokyo",
            "2026-06-04 00:30:45",
            "2026-06-04",
            "2026-06-03",
            "2026-06-04 00:30",
        ),
        (
            "America/New_York",
            "2026-06-03 11:30:45",
            "2026-06-03",
            "2026-06-04",
            "2026-06-03 11:30",
        ),
    ] {
        let app = spawn_with(|c| c.timezone = tz.into(), None).await;
        let t = tenant(&app, "default").await;
        let ts = utc("2026-06-03 15:30:00") + 45_000;
        let n = add(&app, t, NewNetworkAlert { ts, ..seed_alert() }).await;
        let s = add_server(
            &app,
            t,
            NewServerAlert {
                ts,
                ..seed_server_alert()
            },
        )
        .await;
        for (path, key, id) in [(NA, "network_alerts", n), (SA, "server_alerts", s)] {
            let list = json(app.get(path).await, 200).await;
            assert_eq!(list[key][0]["timestamp"], shown, "{tz}");
            let cases = [
                (json!({"from": day_in, "to": day_in}), vec![id]),
                (json!({"from": day_out, "to": day_out}), vec![]),
                (json!({"to": minute}), vec![id]),
                (json!({"from": minute}), vec![id]),
                (json!({"to": format!("{minute}:44")}), vec![]),
                (json!({"from": format!("{minute}:46")}), vec![]),
            ];
            for (filters, want) in cases {
                assert_eq!(
                    search_ids(&app, path, filters.clone()).await,
                    want,
                    "{tz} {filters}"
                );
            }
        }
    }
}

/// A valid capture of `copies` times the fixture's packets: one global header, then records.
fn big_pcap(copies: usize) -> Vec<u8> {
    let mut out = NMAP_PCAP.to_vec();
    for _ in 1..copies {
        out.extend_from_slice(&NMAP_PCAP[24..]);
    }
    out
}

#[tokio::test]
async fn captures_download_and_go_with_their_alert() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    let small = add(&app, t, seed_alert()).await;
    let large = add(&app, t, seed_alert()).await;
    let none = add(&app, t, seed_alert()).await;
    let small_pcap = add_pcap(&app, t, small, NMAP_PCAP).await;
    let big = big_pcap(20);
    assert!(big.len() > 600_000, "spans several reads");
    add_pcap(&app, t, large, &big).await;

    for (id, bytes) in [(small, NMAP_PCAP), (large, big.as_slice())] {
        let res = app.get(&format!("{NA}/{id}/pcap")).await;
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers()["content-type"],
            "application/vnd.tcpdump.pcap"
        );
        assert_eq!(
            res.headers()["content-length"],
            bytes.len().to_string().as_str()
        );
        let body = res.bytes().await.unwrap();
        assert_eq!(body.len(), bytes.len());
        assert!(body == bytes, "the capture comes back byte for byte");
    }
    assert_eq!(&NMAP_PCAP[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "a real pcap");
    network_error(app.get(&format!("{NA}/{none}/pcap")).await, 404, "capture").await;
    network_error(app.get(&format!("{NA}/987654/pcap")).await, 404, "capture").await;
    network_error(app.get(&format!("{NA}/abc/pcap")).await, 400, "path").await;

    let list = search(&app, NA, json!({"sort": {"field": "id", "order": "asc"}})).await;
    assert_eq!(list["network_alerts"][0]["pcap_id"], small_pcap);
    assert_eq!(list["network_alerts"][2]["pcap_id"], Value::Null);

    let res = app
        .req(Method::DELETE, &format!("{NA}/{small}"))
        .send()
        .await
        .unwrap();
    assert_eq!(json(res, 200).await["network_alert"]["pcap_id"], small_pcap);
    network_error(app.get(&format!("{NA}/{small}/pcap")).await, 404, "capture").await;
    #[derive(sqlx::FromRow)]
    struct N {
        n: i64,
    }
    let left: N = app
        .state
        .db
        .fetch_optional_sql(
            "SELECT COUNT(*) AS n FROM network_pcaps",
            sea_query::Values(vec![]),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        left.n, 1,
        "the deleted alert's capture row is gone, the other stays"
    );
    let res = app.get(&format!("{NA}/{large}/pcap")).await;
    assert_eq!(res.bytes().await.unwrap().len(), big.len());
    let res = app
        .req(Method::DELETE, &format!("{NA}/{small}"))
        .send()
        .await
        .unwrap();
    network_error(res, 404, &small.to_string()).await;
}

#[tokio::test]
async fn bad_input_is_400_naming_the_field_and_changes_nothing() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    let n = add(&app, t, seed_alert()).await;
    let s = add_server(&app, t, seed_server_alert()).await;
    for q in [
        "from=2026-06-01",
        "to=x",
        "source=10.0.0.1",
        "destination=x",
        "type=ids",
        "level=30",
        "search=x",
        "agent_id=x",
        "unique=pair",
        "dst_port=22",
    ] {
        network_error(
            app.get(&format!("{NA}?{q}")).await,
            400,
            "/api/v1/networkalerts/search",
        )
        .await;
    }
    for q in [
        "from=2026-06-01",
        "to=x",
        "agent=x",
        "hostname=x",
        "type=x",
        "title=x",
        "level=30",
        "search=x",
        "line=x",
        "message=x",
    ] {
        network_error(
            app.get(&format!("{SA}?{q}")).await,
            400,
            "/api/v1/serveralerts/search",
        )
        .await;
    }
    network_error(app.get(&format!("{NA}?limit=5")).await, 400, "limit").await;
    network_error(app.get(&format!("{SA}?colour=red")).await, 400, "colour").await;

    for (path, body, needle) in [
        (NA, r#"{"filters":{"colour":["red"]}}"#, "colour"),
        (NA, r#"{"filters":{"from":"2026-06-31"}}"#, "filters.from"),
        (NA, r#"{"filters":{"to":"03/06/2026"}}"#, "filters.to"),
        (NA, r#"{"filters":{"level":[15]}}"#, "filters.level"),
        (NA, r#"{"filters":{"level":["high"]}}"#, "filters.level"),
        (
            NA,
            r#"{"filters":{"source":["10.0.0.300"]}}"#,
            "filters.source",
        ),
        (
            NA,
            r#"{"filters":{"destination":["fe80:::1"]}}"#,
            "filters.destination",
        ),
        (NA, r#"{"filters":{"type_mode":3}}"#, "filters.type_mode"),
        (NA, r#"{"filters":{"unique":"host"}}"#, "filters.unique"),
        (
            NA,
            r#"{"filters":{"destination_port":["ssh"]}}"#,
            "filters.destination_port",
        ),
        (NA, r#"{"limit":5}"#, "limit"),
        (NA, r#"{"filters":"#, "malformed"),
        (SA, r#"{"filters":{"source":["x"]}}"#, "source"),
        (SA, r#"{"filters":{"from":"yesterday"}}"#, "filters.from"),
        (SA, r#"{"filters":{"level":[0]}}"#, "filters.level"),
        (SA, r#"{"filters":{"title":[1]}}"#, "filters.title"),
        (SA, r#"{"sort":{"by":"id"}}"#, "by"),
    ] {
        let res = send_raw(&app, Method::POST, &format!("{path}/search"), body).await;
        network_error(res, 400, needle).await;
    }
    for path in [NA, SA] {
        let res = app
            .req(Method::DELETE, &format!("{path}/abc"))
            .send()
            .await
            .unwrap();
        network_error(res, 400, "path").await;
        let res = app
            .req(Method::DELETE, &format!("{path}/987654"))
            .send()
            .await
            .unwrap();
        network_error(res, 404, "987654").await;
        let res = app
            .req(Method::DELETE, &format!("{path}/1?force=1"))
            .send()
            .await
            .unwrap();
        network_error(res, 400, "force").await;
    }
    assert_eq!(
        get_ids(&app, NA).await,
        [n],
        "failed requests changed nothing"
    );
    assert_eq!(get_ids(&app, SA).await, [s]);
}

#[tokio::test]
async fn permissions_and_tenancy() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    let n = add(&app, t, seed_alert()).await;
    add_pcap(&app, t, n, NMAP_PCAP).await;
    let s = add_server(&app, t, seed_server_alert()).await;

    let devices_only = app.tenant_key("default", Some(&[Perm::DevicesR])).await;
    let reader = app.tenant_key("default", Some(&[Perm::AlertsR])).await;
    let reads = [
        (Method::GET, NA.to_string()),
        (Method::POST, format!("{NA}/search")),
        (Method::GET, format!("{NA}/{n}/pcap")),
        (Method::GET, SA.to_string()),
        (Method::POST, format!("{SA}/search")),
    ];
    let writes = [
        (Method::DELETE, format!("{NA}/{n}")),
        (Method::DELETE, format!("{SA}/{s}")),
    ];
    for (m, p) in reads.iter() {
        let res = app
            .req_as(&devices_only, m.clone(), p)
            .send()
            .await
            .unwrap();
        network_error(res, 403, "perm_alerts_r").await;
        let res = app.req_as(&reader, m.clone(), p).send().await.unwrap();
        assert_eq!(res.status(), 200, "{m} {p}");
        let res = app
            .client
            .request(m.clone(), app.url(p))
            .send()
            .await
            .unwrap();
        network_error(res, 401, "").await;
    }
    for (m, p) in writes.iter() {
        for key in [&devices_only, &reader] {
            let res = app.req_as(key, m.clone(), p).send().await.unwrap();
            network_error(res, 403, "perm_alerts_w").await;
        }
    }
    // 403 comes before 404.
    let res = app
        .req_as(&reader, Method::DELETE, &format!("{NA}/987654"))
        .send()
        .await
        .unwrap();
    network_error(res, 403, "perm_alerts_w").await;

    // Another tenant sees none of it: its lists are empty and the ids are unknown.
    let other = app.tenant_key("other", None).await;
    for path in [NA, SA] {
        let res = app.req_as(&other, Method::GET, path).send().await.unwrap();
        assert_eq!(json(res, 200).await["total_rows"], 0);
    }
    let res = app
        .req_as(&other, Method::GET, &format!("{NA}/{n}/pcap"))
        .send()
        .await
        .unwrap();
    network_error(res, 404, "capture").await;
    for (m, p) in writes.iter() {
        let res = app.req_as(&other, m.clone(), p).send().await.unwrap();
        network_error(res, 404, "no ").await;
    }
    let writer = app.tenant_key("default", Some(&[Perm::AlertsW])).await;
    for (m, p) in writes.iter() {
        let res = app.req_as(&writer, m.clone(), p).send().await.unwrap();
        assert_eq!(json(res, 200).await["deleted"], true, "{p}");
    }
}
