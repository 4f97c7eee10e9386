//! The server's syslog listener with real sockets on loopback: UDP datagrams and TCP streams
//! (octet-counted and newline-framed) from senders that `[[syslog.agents]]` maps to agents of
//! two tenants, read back as server alerts through `/api/v1`; unknown senders and oversized
//! messages dropped and counted; settings mistakes named at start.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use picket::app::{self, Application, BuildOptions};
use picket_core::config::{Config, SyslogAgent};
use picket_core::identity::store;
use picket_core::ids::AgentId;
use picket_sensor::listener::Transport;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, UdpSocket};

use crate::helpers::free_port;
use crate::helpers::{json, TestDb};
use crate::sensor_agent::{start_server, wait_healthy};

/// A server listening for syslog, with one agent in tenant `default` and one in `other`.
struct Relay {
    base: String,
    /// Admin keys of `default` and `other`.
    key_default: String,
    key_other: String,
    udp: SocketAddr,
    tcp: SocketAddr,
    _db: TestDb,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// Registers the agents first (the map names them), then builds the server with the
/// listener on free ports: 127.0.0.1 is `default`'s relay, 127.0.0.2 `other`'s.
async fn relay() -> Relay {
    let db = TestDb::new().await;
    let (config, key_default, key_other) = registered(&db).await;
    let app = Application::build(config, BuildOptions::default())
        .await
        .expect("the server starts with its listener");
    let udp = app.syslog_addr(Transport::Udp).unwrap();
    let tcp = app.syslog_addr(Transport::Tcp).unwrap();
    let base = format!("http://{}", app.local_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    Relay {
        base,
        key_default,
        key_other,
        udp,
        tcp,
        _db: db,
        _stop: tx,
    }
}

/// Bootstraps the database with two tenants and an agent each: the config naming them, and
/// both tenants' admin keys.
async fn registered(db: &TestDb) -> (Config, String, String) {
    let mut config = db.config();
    config.rate_limit.per_second = 0;
    let state = app::open_state(config.clone(), app::job_registry())
        .await
        .unwrap();
    app::migrate_state(&state).await.unwrap();
    let key_default = store::bootstrap(&state.db).await.unwrap().unwrap();
    let d = crate::helpers::tenant(&state.db, "default").await;
    let (a, _) = store::create_agent(&state.db, d.id, "relay-default")
        .await
        .unwrap();
    let o = store::create_tenant(&state.db, "other").await.unwrap();
    let (b, _) = store::create_agent(&state.db, o.id, "relay-other")
        .await
        .unwrap();
    let admin = store::create_user(&state.db, o.id, "admin-other", true, &[])
        .await
        .unwrap();
    let key_other = store::create_api_key(&state.db, &admin, None)
        .await
        .unwrap()
        .1;
    state.db.close().await;
    config.syslog.listen = "udp://127.0.0.1:0,tcp://127.0.0.1:0".into();
    config.syslog.agents = vec![
        SyslogAgent {
            source: "127.0.0.1".into(),
            agent_id: a.id.0,
        },
        SyslogAgent {
            source: "127.0.0.2/32".into(),
            agent_id: b.id.0,
        },
    ];
    (config, key_default, key_other)
}

/// A failed sshd login naming `user`, from a source of its own (no brute force).
fn failed_login(user: &str, n: u8) -> String {
    format!(
        "<38>Nov 30 10:00:0{} web-1 sshd[{}]: Failed password for {user} from 203.0.113.{n} port 4{n}022 ssh2",
        n % 10,
        1000 + u32::from(n)
    )
}

async fn udp_from(ip: &str) -> UdpSocket {
    UdpSocket::bind((ip.parse::<IpAddr>().unwrap(), 0))
        .await
        .unwrap()
}

async fn tcp_from(ip: &str, to: SocketAddr) -> tokio::net::TcpStream {
    let s = TcpSocket::new_v4().unwrap();
    s.bind((ip.parse::<IpAddr>().unwrap(), 0).into()).unwrap();
    s.connect(to).await.unwrap()
}

/// The `line` of every server alert a tenant sees (brute force summaries left out).
async fn lines(base: &str, key: &str) -> Vec<(String, String)> {
    let res = reqwest::Client::new()
        .get(format!("{base}/api/v1/serveralerts?page_size=1000"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    let body: Value = json(res, 200).await;
    body["server_alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["type"] != "bruteforce")
        .map(|a| {
            (
                a["agent_name"].as_str().unwrap().to_string(),
                a["line"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Waits (bounded) until a tenant sees `n` alerts.
async fn wait_for(base: &str, key: &str, n: usize) -> Vec<(String, String)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = lines(base, key).await;
        if got.len() >= n {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {n} alerts, have {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn metrics(base: &str) -> String {
    reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn udp_and_tcp_messages_become_alerts_of_the_senders_agent() {
    let r = relay().await;
    // UDP from 127.0.0.1: tenant `default`, one message per datagram.
    let udp = udp_from("127.0.0.1").await;
    for (i, user) in ["udp-alice", "udp-bob"].iter().enumerate() {
        udp.send_to(
            format!("{}\n", failed_login(user, i as u8 + 1)).as_bytes(),
            r.udp,
        )
        .await
        .unwrap();
    }
    // TCP from 127.0.0.2: tenant `other`; an octet-counted frame holding a newline, a
    // newline-framed one, and a last one without its newline before the sender closes.
    let mut tcp = tcp_from("127.0.0.2", r.tcp).await;
    let counted = failed_login("tcp-carol", 3).replace("ssh2", "ssh2\ncontinued");
    let stream = format!(
        "{} {counted}{}\n{}",
        counted.len(),
        failed_login("tcp-dave", 4),
        failed_login("tcp-erin", 5)
    );
    // Written in pieces that cut frames in two.
    for piece in stream.as_bytes().chunks(37) {
        tcp.write_all(piece).await.unwrap();
        tcp.flush().await.unwrap();
    }
    tcp.shutdown().await.unwrap();
    drop(tcp);

    let mut default = wait_for(&r.base, &r.key_default, 2).await;
    let mut other = wait_for(&r.base, &r.key_other, 3).await;
    default.sort();
    other.sort();
    assert_eq!(
        default,
        vec![
            ("relay-default".to_string(), failed_login("udp-alice", 1)),
            ("relay-default".to_string(), failed_login("udp-bob", 2)),
        ]
    );
    let users: Vec<&str> = other
        .iter()
        .map(|(agent, line)| {
            assert_eq!(agent, "relay-other");
            ["tcp-carol", "tcp-dave", "tcp-erin"]
                .into_iter()
                .find(|u| line.contains(u))
                .unwrap_or_else(|| panic!("unexpected line {line}"))
        })
        .collect();
    assert_eq!(users, ["tcp-carol", "tcp-dave", "tcp-erin"]);
    let carol = &other[0].1;
    assert!(
        carol.ends_with("ssh2 continued"),
        "one message, one line: {carol}"
    );
    let m = metrics(&r.base).await;
    for line in [
        r#"picket_syslog_listener_messages_total{transport="udp",outcome="ingested"} 2"#,
        r#"picket_syslog_listener_messages_total{transport="tcp",outcome="ingested"} 3"#,
        r#"picket_syslog_listener_connections_total{outcome="accepted"} 1"#,
    ] {
        assert!(m.contains(line), "{line} in\n{m}");
    }
}

/// A message whose header names no host (`<PRI>TIMESTAMP TAG: text`, as many network
/// devices send) is stored with the sender's address as its host; one that names a host keeps
/// it, though both come from the same sender.
#[tokio::test]
async fn a_message_without_a_host_takes_the_senders_address() {
    let r = relay().await;
    let udp = udp_from("127.0.0.1").await;
    let hostless = "<38>Nov 30 10:00:01 sshd[4242]: Failed password for hostless from 203.0.113.77 port 40022 ssh2";
    for line in [hostless.to_string(), failed_login("named", 6)] {
        udp.send_to(line.as_bytes(), r.udp).await.unwrap();
    }
    wait_for(&r.base, &r.key_default, 2).await;
    let res = reqwest::Client::new()
        .get(format!("{}/api/v1/serveralerts?page_size=1000", r.base))
        .bearer_auth(&r.key_default)
        .send()
        .await
        .unwrap();
    let body: Value = json(res, 200).await;
    let mut hosts: Vec<(String, String)> = body["server_alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["type"] != "bruteforce")
        .map(|a| {
            let line = a["line"].as_str().unwrap();
            let who = if line.contains("hostless") {
                "hostless"
            } else {
                "named"
            };
            (who.to_string(), a["hostname"].as_str().unwrap().to_string())
        })
        .collect();
    hosts.sort();
    assert_eq!(
        hosts,
        vec![
            ("hostless".to_string(), "127.0.0.1".to_string()),
            ("named".to_string(), "web-1".to_string()),
        ]
    );
}

#[tokio::test]
async fn unknown_senders_and_oversized_messages_are_dropped_and_counted() {
    let r = relay().await;
    let stranger = udp_from("127.0.0.3").await;
    stranger
        .send_to(failed_login("stranger-udp", 6).as_bytes(), r.udp)
        .await
        .unwrap();
    let mut t = tcp_from("127.0.0.3", r.tcp).await;
    // The listener closes a stranger's connection; what it wrote is never read.
    let _ = t
        .write_all(failed_login("stranger-tcp", 7).as_bytes())
        .await;
    drop(t);

    // A known sender: an oversized octet-counted message, then a normal one on the same
    // connection; and a datagram after the stranger's on the same socket.
    let mut known = tcp_from("127.0.0.1", r.tcp).await;
    let big = "x".repeat(70_000);
    let normal = failed_login("after-big", 8);
    known
        .write_all(format!("{} {big}{} {normal}", big.len(), normal.len()).as_bytes())
        .await
        .unwrap();
    known.shutdown().await.unwrap();
    let friend = udp_from("127.0.0.1").await;
    friend
        .send_to(failed_login("friend-udp", 9).as_bytes(), r.udp)
        .await
        .unwrap();

    let got = wait_for(&r.base, &r.key_default, 2).await;
    let all: String = got.iter().map(|(_, l)| l.as_str()).collect();
    assert!(
        all.contains("after-big") && all.contains("friend-udp"),
        "{got:?}"
    );
    assert!(!all.contains("stranger"), "{got:?}");
    assert!(lines(&r.base, &r.key_other).await.is_empty());
    let m = metrics(&r.base).await;
    for line in [
        r#"picket_syslog_listener_messages_total{transport="udp",outcome="dropped_unmatched_sender"} 1"#,
        r#"picket_syslog_listener_connections_total{outcome="dropped_unmatched_sender"} 1"#,
        r#"picket_syslog_listener_messages_total{transport="tcp",outcome="dropped_oversized"} 1"#,
    ] {
        assert!(m.contains(line), "{line} in\n{m}");
    }
}

#[tokio::test]
async fn settings_mistakes_stop_the_start_with_a_clear_error() {
    let db = TestDb::new().await;
    let (config, _, _) = registered(&db).await;
    let fails = async |tweak: &dyn Fn(&mut Config)| {
        let mut c = config.clone();
        tweak(&mut c);
        let e = Application::build(c, BuildOptions::default())
            .await
            .err()
            .expect("the start fails");
        format!("{e:#}")
    };
    let e = fails(&|c| c.syslog.agents[0].agent_id = 999).await;
    assert!(e.contains("agent_id 999 is not a registered agent"), "{e}");
    let e = fails(&|c| c.syslog.agents[0].source = "10.0.0.0/40".into()).await;
    assert!(
        e.contains("syslog.agents[0]") && e.contains("10.0.0.0/40"),
        "{e}"
    );
    let e = fails(&|c| c.syslog.listen = "udp://localhost:514".into()).await;
    assert!(e.contains("udp://localhost:514"), "{e}");

    // A revoked agent cannot be the sender's agent.
    let state = app::open_state(config.clone(), app::job_registry())
        .await
        .unwrap();
    store::revoke_agent(&state.db, AgentId(config.syslog.agents[1].agent_id))
        .await
        .unwrap();
    state.db.close().await;
    let e = fails(&|_| {}).await;
    assert!(e.contains("is revoked"), "{e}");
}

#[tokio::test]
async fn serve_syslog_listen_with_the_map_from_picket_toml() {
    let db = TestDb::new().await;
    let port = free_port();
    // First start: bootstrap, then register the relay's agent and read its id.
    let server = start_server(&db, port, &[]);
    wait_healthy(port, &server).await;
    drop(server);
    let admin = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_picket"))
            .args(["admin", "agent"])
            .args(args)
            .arg("--data-dir")
            .arg(db.data_dir())
            .args(["--database-url", &db.url])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    admin(&["create", "--tenant", "default", "relay"]);
    let list = admin(&["list"]);
    let id = list
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    let toml = db.dir.path().join("picket.toml");
    std::fs::write(
        &toml,
        format!("[[syslog.agents]]\nsource = \"127.0.0.0/8\"\nagent_id = {id}\n"),
    )
    .unwrap();
    let udp_port = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    };
    let listen = format!("udp://127.0.0.1:{udp_port}");
    let server = start_server(
        &db,
        port,
        &[
            "--config",
            toml.to_str().unwrap(),
            "--syslog-listen",
            &listen,
        ],
    );
    wait_healthy(port, &server).await;
    let key = std::fs::read_to_string(db.data_dir().join("admin.key"))
        .unwrap()
        .trim()
        .to_string();
    let udp = udp_from("127.0.0.1").await;
    let to: SocketAddr = format!("127.0.0.1:{udp_port}").parse().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    // UDP may be lost before the socket is read: send until one arrives (bounded).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        udp.send_to(failed_login("from-flag", 1).as_bytes(), to)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let got = lines(&base, &key).await;
        if let Some((agent, line)) = got.first() {
            assert_eq!(agent, "relay");
            assert!(line.contains("from-flag"));
            break;
        }
        assert!(Instant::now() < deadline, "{}", server.log());
    }
}
