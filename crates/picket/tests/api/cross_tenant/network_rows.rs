//! The network surface's rows in both tenants, made the way the netmon tests make them: devices
//! through `observe_device`, alerts and captures through the detection inserts, metadata rows
//! by direct insert, networks, services and the policy over HTTP. Bravo also keeps decoys on
//! alpha's addresses.

use picket_core::db::bulk::insert_rows;
use picket_core::db::Tx;
use picket_netmon::alerts::{
    insert_network_alert, insert_pcap, insert_server_alert, NewNetworkAlert, NewServerAlert,
};
use picket_netmon::data::aggregates;
use sea_query::Value as V;
use serde_json::{json, Value};

use super::{post, Call, Pair, Side};
use crate::netmon_devices::{observe, utc};

const NMAP_PCAP: &[u8] = include_bytes!("../../fixtures/alerts/zeek-nmap-vsn.pcap");

/// What sets one tenant's rows apart: its word, its /24 and its MAC prefix.
struct Spec {
    name: &'static str,
    title: &'static str,
    /// The first three octets of the tenant's /24.
    net: &'static str,
    mac: &'static str,
}

const ALPHA: Spec = Spec {
    name: "alpha",
    title: "Alpha",
    net: "10.1.0",
    mac: "AA:AA:AA:00:00",
};
const BRAVO: Spec = Spec {
    name: "bravo",
    title: "Bravo",
    net: "10.2.0",
    mac: "BB:BB:BB:00:00",
};

/// One tenant's row ids: a LAN, a workstation (`.10`) and a server (`.11`), an alert between
/// them with its capture, a server alert, one row of each metadata table, the server's 443/tcp
/// (allowed by the tenant's entry) and 8080/tcp (not allowed), and an exclude rule off to the
/// side of the /24.
pub struct Rows {
    pub network: i64,
    pub devices: [i64; 2],
    pub alert: i64,
    pub pcap: Vec<u8>,
    pub server_alert: i64,
    pub services: [i64; 2],
    pub allowed: i64,
    pub exclude: i64,
}

/// Bravo's rows aimed at alpha's addresses.
pub struct Decoys {
    /// `Bravo overlay`, `10.0.0.0/8`: holds alpha's /24 and alpha's roaming device.
    pub network: i64,
    /// `bravo-decoy`: alpha's workstation MAC and address, seen later than alpha's.
    pub device: i64,
    /// `bravo decoy`: alpha's 8080/tcp, which alpha has not allowed.
    pub allowed: i64,
    /// `bravo decoy rule`: alpha's /24, which would make alpha's allowed 443/tcp unauthorized.
    pub exclude: i64,
}

pub struct World {
    pub alpha: Rows,
    pub bravo: Rows,
    pub decoys: Decoys,
}

pub async fn seed(p: &Pair) -> World {
    let mut bravo_pcap = NMAP_PCAP.to_vec();
    bravo_pcap.extend_from_slice(&NMAP_PCAP[24..]);
    let alpha = rows(p, &p.alpha, &ALPHA, NMAP_PCAP.to_vec()).await;
    let bravo = rows(p, &p.bravo, &BRAVO, bravo_pcap).await;
    let (b, later) = (&p.bravo, utc("2026-06-04 10:00:00"));
    let lan = json!({"name": "Bravo overlay", "cidr": "10.0.0.0/8"});
    let network = id_of(p, b, post("/api/v1/networks", lan).answers(201), "network").await;
    let decoy = observe(
        &p.app,
        b.tenant,
        "AA:AA:AA:00:00:01",
        "10.1.0.10",
        "bravo-decoy",
        later,
    );
    let device = decoy.await.id;
    // Alpha's device outside alpha's networks, inside bravo's overlay: its network is "".
    let roamer = "alpha-roamer";
    observe(
        &p.app,
        p.alpha.tenant,
        "AA:AA:AA:00:00:03",
        "10.9.0.9",
        roamer,
        later,
    )
    .await;
    let entry = json!({"service_ip": "10.1.0.11", "service_port": 8080, "proto": "tcp",
        "name": "bravo decoy"});
    let allowed = id_of(p, b, post(AUTHORIZE, entry), "allowed_service").await;
    let rule = json!({"ip": "10.1.0.0/24", "comment": "bravo decoy rule"});
    let exclude = id_of(p, b, post(EXCLUDE, rule).answers(201), "exclude_rule").await;
    World {
        alpha,
        bravo,
        decoys: Decoys {
            network,
            device,
            allowed,
            exclude,
        },
    }
}

const AUTHORIZE: &str = "/api/v1/services/authorize";
const EXCLUDE: &str = "/api/v1/services/exclude-rules";

/// `[key]["id"]` of the answer to `c`, sent as `side`.
async fn id_of(p: &Pair, side: &Side, c: Call, key: &str) -> i64 {
    let v: Value = serde_json::from_str(&p.read_as(side, &c).await).unwrap();
    v[key]["id"].as_i64().unwrap()
}

async fn rows(p: &Pair, side: &Side, s: &Spec, pcap: Vec<u8>) -> Rows {
    let (t, name, title) = (side.tenant, s.name, s.title);
    let (ws, srv) = (format!("{}.10", s.net), format!("{}.11", s.net));
    let (ws_mac, srv_mac) = (format!("{}:01", s.mac), format!("{}:02", s.mac));
    let at = utc("2026-06-03 10:00:00");
    let lan = json!({"name": format!("{title} LAN"), "cidr": format!("{}.0/24", s.net)});
    let network = id_of(
        p,
        side,
        post("/api/v1/networks", lan).answers(201),
        "network",
    )
    .await;
    let ws_id = observe(&p.app, t, &ws_mac, &ws, &format!("{name}-ws"), at)
        .await
        .id;
    let srv_id = observe(&p.app, t, &srv_mac, &srv, &format!("{name}-srv"), at)
        .await
        .id;

    let mut tx = p.app.state.db.begin().await.unwrap();
    let alert = NewNetworkAlert {
        ts: at,
        agent: format!("{name}-sensor"),
        agent_name: format!("{title} sensor"),
        src_mac: ws_mac.clone(),
        dst_mac: srv_mac,
        src_ip: ws.clone(),
        dst_ip: srv.clone(),
        src_port: 53000,
        dst_port: 3389,
        level: 30,
        kind: "portscan".into(),
        subject: format!("{title} port scan"),
        message: format!("{name} scan of {srv}"),
        flow_id: None,
    };
    let alert = insert_network_alert(&mut tx, t, &alert).await.unwrap();
    insert_pcap(&mut tx, t, alert, &pcap).await.unwrap();
    let server = NewServerAlert {
        ts: at,
        agent: format!("{name}-sensor"),
        agent_name: format!("{title} syslog"),
        hostname: format!("{name}-srv"),
        level: 20,
        kind: "auth".into(),
        title: format!("{title} failed password"),
        line: format!("sshd[7]: Failed password for {name} from {ws}"),
    };
    let server_alert = insert_server_alert(&mut tx, t, &server).await.unwrap();
    let (tid, agent) = (t.0, format!("{name}-sensor"));
    let host = format!("{name}.example.com");
    // Every row starts with the tenant, the time and the sensor.
    let head = format!("tenant_id={tid} ts={at} agent={agent}");
    let metadata = [
        (
            "dns_records",
            format!(
                "src_ip={ws} dst_ip={srv} qtype=A query={host} answer=93.184.216.34 \
                rcode=NOERROR"
            ),
        ),
        (
            "tcp_records",
            format!(
                "src_ip={ws} src_port=50000 dst_ip={srv} dst_port=443 proto=tcp \
                bytes_out=100 bytes_in=200 packets_out=1 packets_in=2 duration_ms=30"
            ),
        ),
        (
            "dhcp_records",
            format!("mac={ws_mac} ip={ws} hostname={name}-ws"),
        ),
        (
            "http_records",
            format!(
                "src_ip={ws} src_port=50001 dst_ip={srv} dst_port=80 method=GET \
                host={host} uri=/index.html user_agent=curl/8.5.0 status=200"
            ),
        ),
    ];
    for (table, row) in metadata {
        insert(&mut tx, table, &format!("{head} {row}")).await;
    }
    for agg in aggregates::ALL {
        let day = 86_400_000;
        aggregates::rebuild(&mut tx, agg, t, at - day, at + day)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();

    let mut services = [0; 2];
    for (i, port) in [443, 8080].into_iter().enumerate() {
        let body = json!({"service_ip": srv, "service_port": port, "proto": "tcp"});
        let created = post("/api/v1/services", body).answers(201);
        services[i] = id_of(p, side, created, "service").await;
    }
    let entry = json!({"service_ip": srv, "service_port": 443, "proto": "tcp",
        "name": format!("{title} web")});
    let allowed = id_of(p, side, post(AUTHORIZE, entry), "allowed_service").await;
    let rule = json!({"ip": format!("{}.128/25", s.net), "comment": format!("{name} rule")});
    let exclude = id_of(p, side, post(EXCLUDE, rule).answers(201), "exclude_rule").await;
    Rows {
        network,
        devices: [ws_id, srv_id],
        alert,
        pcap,
        server_alert,
        services,
        allowed,
        exclude,
    }
}

/// Inserts one row given as `column=value` pairs; values that parse as integers go in as
/// integers, the rest as text.
async fn insert(tx: &mut Tx, table: &str, row: &str) {
    let (cols, vals): (Vec<&str>, Vec<V>) = row
        .split_whitespace()
        .map(|pair| {
            let (col, val) = pair.split_once('=').expect("column=value");
            let val = match val.parse::<i64>() {
                Ok(n) => V::from(n),
                Err(_) => V::from(val),
            };
            (col, val)
        })
        .unzip();
    insert_rows(tx, table, &cols, vec![vals]).await.unwrap();
}
