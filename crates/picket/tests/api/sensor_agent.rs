//! `picket agent` as a user runs it: the real binary as a process, tailing files on disk and
//! shipping them to a real server, itself the real binary as a process where crashes matter.
//! The kill tests SIGKILL the server mid-shipment and the agent once, restart both, and count
//! what the `/api/v1` endpoints show: every line exactly once.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{free_port, json, spawn_with, TestDb};

const BIN: &str = env!("CARGO_BIN_EXE_picket");
/// sshd lines as a Debian auth.log has them (RFC 3164 without PRI).
const AUTH: &str = "\
Nov 30 09:58:01 gw-1 sshd[2211]: Invalid user oracle from 198.51.100.23 port 50122
Nov 30 09:58:03 gw-1 sshd[2211]: Failed password for invalid user oracle from 198.51.100.23 port 50122 ssh2
Nov 30 09:59:40 gw-1 sshd[2240]: Accepted publickey for ops from 192.168.4.20 port 40110 ssh2: ED25519 SHA256:3q8x
";

/// Zeek JSON lines as Zeek's own JSON writer leaves them, without `_path` (fields of the
/// documented `dhcp.log` and `conn.log`; addresses and names made up): the agent adds
/// `_path` from the file name.
const ZEEK: &[(&str, &str)] = &[
    (
        "dhcp.log",
        r#"{"ts":1764496801.101231,"uids":["CJxS2B3u4bDJ3IOhi4"],"client_addr":"192.168.4.76","server_addr":"192.168.4.1","mac":"00:0c:29:e8:a4:11","host_name":"ubuntu-desk","domain":"localdomain","assigned_addr":"192.168.4.76","lease_time":86400.0,"msg_types":["REQUEST","ACK"],"duration":0.000512}"#,
    ),
    (
        "conn.log",
        r#"{"ts":1764496805.204512,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"192.168.4.76","id.orig_p":50218,"id.resp_h":"192.168.4.1","id.resp_p":22,"proto":"tcp","service":"ssh","duration":12.482113,"orig_bytes":3216,"resp_bytes":4480,"conn_state":"SF","local_orig":true,"local_resp":true,"missed_bytes":0,"history":"ShAdDaFf","orig_pkts":31,"orig_ip_bytes":4840,"resp_pkts":27,"resp_ip_bytes":5896}"#,
    ),
];

/// A child process, SIGKILLed when dropped.
pub struct Proc {
    child: Option<Child>,
    log: PathBuf,
}

impl Proc {
    /// SIGKILL: no shutdown handler runs, as in a crash.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then whether the process exited cleanly.
    pub fn terminate(&mut self) -> bool {
        let Some(mut c) = self.child.take() else {
            return false;
        };
        Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status()
            .unwrap();
        c.wait().unwrap().success()
    }

    /// The process's standard error so far (for failure messages).
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
        // A failing test shows what its processes logged.
        if std::thread::panicking() {
            eprintln!("--- {} ---\n{}", self.log.display(), self.log());
        }
    }
}

fn spawn_logged(mut cmd: Command, log: PathBuf) -> Proc {
    let err = fs::File::create(&log).unwrap();
    let child = cmd
        .env("RUST_LOG", "info")
        .env_remove("PICKET_LISTEN")
        .env_remove("PICKET_DATA_DIR")
        .env_remove("PICKET_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .expect("the picket binary starts");
    Proc {
        child: Some(child),
        log,
    }
}

/// The server binary on `port` over the test's database.
pub fn start_server(db: &TestDb, port: u16, extra: &[&str]) -> Proc {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(db.data_dir())
        .args(["--database-url", &db.url])
        .args(extra)
        .current_dir(db.dir.path());
    static STARTS: AtomicUsize = AtomicUsize::new(0);
    let n = STARTS.fetch_add(1, Ordering::Relaxed);
    spawn_logged(cmd, db.dir.path().join(format!("server-{n}.log")))
}

pub async fn wait_healthy(port: u16, server: &Proc) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
        {
            if r.status() == 200 {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "server did not come up:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `picket admin agent create` against the test's database: the token it prints.
pub fn create_agent(db: &TestDb, name: &str) -> String {
    let out = Command::new(BIN)
        .args(["admin", "agent", "create", "--tenant", "default", name])
        .arg("--data-dir")
        .arg(db.data_dir())
        .args(["--database-url", &db.url])
        .current_dir(db.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// One sensor's agent: its token file, spool, and the files it follows.
pub struct Sensor {
    pub dir: PathBuf,
    pub token_file: PathBuf,
    pub spool: PathBuf,
    pub sources: Vec<String>,
    runs: usize,
}

impl Sensor {
    pub fn new(dir: &Path, token: &str, sources: &[(&str, &Path)]) -> Sensor {
        fs::create_dir_all(dir).unwrap();
        let token_file = dir.join("token");
        fs::write(&token_file, format!("{token}\n")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&token_file, fs::Permissions::from_mode(0o600)).unwrap();
        }
        let mut args = Vec::new();
        for (flag, path) in sources {
            args.push(flag.to_string());
            args.push(path.to_string_lossy().into_owned());
        }
        Sensor {
            dir: dir.to_path_buf(),
            token_file,
            spool: dir.join("spool"),
            sources: args,
            runs: 0,
        }
    }

    /// Starts `picket agent` against `base`, with small batches so that a shipment is many
    /// requests, and quick polls, unless `extra` says otherwise.
    pub fn start(&mut self, base: &str, extra: &[&str]) -> Proc {
        self.runs += 1;
        let mut cmd = Command::new(BIN);
        cmd.env("PICKET_LOG_FORMAT", "json")
            .args(["agent", "--server", base])
            .arg("--token-file")
            .arg(&self.token_file)
            .arg("--spool")
            .arg(&self.spool)
            .args(&self.sources)
            .args(extra);
        for (flag, value) in [
            ("--poll-ms", "20"),
            ("--progress-secs", "1"),
            ("--batch-lines", "40"),
            ("--idle-close-secs", "1"),
        ] {
            if !extra.contains(&flag) {
                cmd.args([flag, value]);
            }
        }
        spawn_logged(cmd, self.dir.join(format!("agent-{}.log", self.runs)))
    }

    /// Nothing left to send: no spooled batch, and every followed file read to its end.
    pub fn idle(&self, files: &[&Path]) -> bool {
        let batches = fs::read_dir(self.spool.join("batches"))
            .map(|d| d.count())
            .unwrap_or(1);
        let Ok(text) = fs::read_to_string(self.spool.join("positions.json")) else {
            return false;
        };
        let positions: Value = serde_json::from_str(&text).unwrap();
        let at_end = |f: &Path| {
            let len = fs::metadata(f).map(|m| m.len()).unwrap_or(0);
            positions["files"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["path"] == json!(f) && p["offset"] == json!(len))
        };
        batches == 0 && files.iter().all(|f| at_end(f))
    }
}

pub fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// An EVE alert whose signature names it; one source, port and destination for all, so no
/// port scan is found among them.
fn eve_alert(tag: &str, n: usize) -> String {
    let ts = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6f%z");
    format!(
        r#"{{"timestamp":"{ts}","flow_id":{},"event_type":"alert","src_ip":"10.1.0.9","src_port":51000,"dest_ip":"198.51.100.7","dest_port":80,"proto":"TCP","app_proto":"http","alert":{{"action":"allowed","gid":1,"signature_id":2100498,"rev":7,"signature":"{tag} {n}","category":"Potentially Bad Traffic","severity":2}}}}"#,
        1_000_000 + n
    ) + "\n"
}

fn eve_lines(tag: &str, range: std::ops::Range<usize>) -> String {
    range.map(|n| eve_alert(tag, n)).collect()
}

/// Every `ids` alert's subject, with how often it is stored.
pub async fn subjects(base: &str, key: &str) -> BTreeMap<String, usize> {
    let client = reqwest::Client::new();
    let mut out = BTreeMap::new();
    for page in 1.. {
        let res = client
            .post(format!("{base}/api/v1/networkalerts/search"))
            .bearer_auth(key)
            .json(&json!({
                "filters": {"type": ["ids"]},
                "page": page, "page_size": 1000,
                "sort": {"field": "id", "order": "asc"}
            }))
            .send()
            .await
            .unwrap();
        let body = json(res, 200).await;
        for a in body["network_alerts"].as_array().unwrap() {
            *out.entry(a["subject"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
        if page >= body["total_pages"].as_i64().unwrap() {
            break;
        }
    }
    out
}

/// Waits (bounded) until `done` holds.
async fn until(what: &str, secs: u64, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn assert_each_once(got: &BTreeMap<String, usize>, tag: &str, n: usize, logs: &str) {
    let twice: Vec<_> = got.iter().filter(|(_, c)| **c > 1).collect();
    assert!(twice.is_empty(), "stored more than once: {twice:?}\n{logs}");
    let missing: Vec<String> = (0..n)
        .map(|i| format!("{tag} {i}"))
        .filter(|s| !got.contains_key(s))
        .collect();
    assert!(missing.is_empty(), "never stored: {missing:?}\n{logs}");
    assert_eq!(got.len(), n, "{got:?}");
}

/// A real server and its database, the admin key, and a registered agent's sensor.
struct Site {
    db: TestDb,
    port: u16,
    server: Proc,
    key: String,
    sensor: Sensor,
}

impl Site {
    async fn new(sources: impl FnOnce(&Path) -> Vec<(&'static str, PathBuf)>) -> Site {
        let db = TestDb::new().await;
        let port = free_port();
        let server = start_server(&db, port, &[]);
        wait_healthy(port, &server).await;
        let key = fs::read_to_string(db.data_dir().join("admin.key"))
            .unwrap()
            .trim()
            .to_string();
        let token = create_agent(&db, "sensor-1");
        let dir = db.dir.path().join("sensor");
        fs::create_dir_all(&dir).unwrap();
        let srcs = sources(&dir);
        let srcs: Vec<(&str, &Path)> = srcs.iter().map(|(f, p)| (*f, p.as_path())).collect();
        let sensor = Sensor::new(&dir, &token, &srcs);
        Site {
            db,
            port,
            server,
            key,
            sensor,
        }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn restart_server(&mut self) {
        self.server = start_server(&self.db, self.port, &[]);
        wait_healthy(self.port, &self.server).await;
    }

    async fn stored(&self) -> BTreeMap<String, usize> {
        subjects(&self.base(), &self.key).await
    }
}

#[tokio::test]
async fn kill_test_every_line_stored_exactly_once() {
    const N: usize = 2000;
    let mut site = Site::new(|d| vec![("--eve", d.join("eve.json"))]).await;
    let eve = site.sensor.dir.join("eve.json");
    let mut agent = site.sensor.start(&site.base(), &[]);
    let mut logs = String::new();
    let mut written = 0;
    let chunk = |from: usize| eve_lines("kill", from..(from + 50).min(N));
    while written < N {
        append(&eve, &chunk(written));
        written = (written + 50).min(N);
        tokio::time::sleep(Duration::from_millis(5)).await;
        if written == 600 {
            // Mid-shipment: some lines stored, more on their way.
            until("the first stored lines", 60, async || {
                !site.stored().await.is_empty()
            })
            .await;
            site.server.kill9();
            logs.push_str(&site.server.log());
        }
        if written == 1000 {
            // The agent crashes too while the server is away; its spool holds batches.
            agent.kill9();
            logs.push_str(&agent.log());
            agent = site.sensor.start(&site.base(), &[]);
        }
        if written == 1400 {
            let batches = site.sensor.spool.join("batches");
            until("batches spooled while the server is away", 30, async || {
                fs::read_dir(&batches).unwrap().count() > 0
            })
            .await;
            site.restart_server().await;
        }
    }
    let base = site.base();
    until("all lines stored", 120, async || {
        site.stored().await.len() == N
    })
    .await;
    until("the agent to finish", 60, async || {
        site.sensor.idle(&[&eve])
    })
    .await;
    logs.push_str(&agent.log());
    assert_each_once(&site.stored().await, "kill", N, &logs);

    // The agent reported its spool depth with its batches.
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("picket_ingest_spool_depth{agent="),
        "{metrics}"
    );
}

#[tokio::test]
async fn kill_test_through_a_rotation() {
    const N: usize = 1200;
    let mut site = Site::new(|d| vec![("--eve", d.join("eve.json"))]).await;
    let eve = site.sensor.dir.join("eve.json");
    let rotated = site.sensor.dir.join("eve.json.1");
    let mut agent = site.sensor.start(&site.base(), &[]);
    let mut logs = String::new();
    append(&eve, &eve_lines("rot", 0..400));
    until("the first stored lines", 60, async || {
        !site.stored().await.is_empty()
    })
    .await;
    site.server.kill9();
    append(&eve, &eve_lines("rot", 400..600));
    // logrotate: the file moves aside, the writer finishes a few lines in it before it
    // reopens the path, then writes the new file.
    fs::rename(&eve, &rotated).unwrap();
    append(&rotated, &eve_lines("rot", 600..650));
    agent.kill9();
    logs.push_str(&agent.log());
    append(&eve, &eve_lines("rot", 650..900));
    // Restarted, the agent finds the rotated file by its inode and drains it.
    agent = site.sensor.start(&site.base(), &[]);
    site.restart_server().await;
    append(&eve, &eve_lines("rot", 900..N));
    until("all lines stored", 120, async || {
        site.stored().await.len() == N
    })
    .await;
    until("the agent to finish", 60, async || {
        site.sensor.idle(&[&eve])
    })
    .await;
    logs.push_str(&agent.log());
    assert_each_once(&site.stored().await, "rot", N, &logs);
}

#[tokio::test]
async fn a_batch_sent_again_after_a_crash_is_recognised_and_stored_once() {
    const N: usize = 200;
    let mut site = Site::new(|d| vec![("--eve", d.join("eve.json"))]).await;
    let eve = site.sensor.dir.join("eve.json");
    let batches = site.sensor.spool.join("batches");
    // The server is away: the agent spools everything, then stops cleanly (SIGTERM).
    site.server.kill9();
    let mut agent = site.sensor.start(&site.base(), &[]);
    append(&eve, &eve_lines("again", 0..N));
    // Positions move only after their batches are spooled.
    until("every line spooled", 60, async || {
        fs::read_to_string(site.sensor.spool.join("positions.json"))
            .is_ok_and(|p| p.contains(&format!("\"offset\":{}", fs::metadata(&eve).unwrap().len())))
    })
    .await;
    assert!(
        agent.terminate(),
        "SIGTERM is a clean stop:\n{}",
        agent.log()
    );
    let kept = site.sensor.dir.join("kept");
    fs::create_dir_all(&kept).unwrap();
    let mut spooled = 0;
    for e in fs::read_dir(&batches).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), kept.join(e.file_name())).unwrap();
        spooled += 1;
    }
    assert!(spooled >= N / 40, "{spooled} batches of at most 40 lines");
    site.restart_server().await;
    agent = site.sensor.start(&site.base(), &[]);
    until("all lines stored", 60, async || {
        site.stored().await.len() == N
    })
    .await;
    until("the agent to finish", 60, async || {
        site.sensor.idle(&[&eve])
    })
    .await;
    agent.kill9();
    // As if the agent had died after the server stored the batches and before it removed
    // them: they are all in the spool again, and sent again under their keys.
    for e in fs::read_dir(&kept).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), batches.join(e.file_name())).unwrap();
    }
    let agent = site.sensor.start(&site.base(), &[]);
    until("the resent batches", 60, async || site.sensor.idle(&[&eve])).await;
    until("the agent's count of duplicates", 30, async || {
        agent
            .log()
            .contains(&format!("\"batches_duplicate\":{spooled}"))
    })
    .await;
    assert_each_once(&site.stored().await, "again", N, &agent.log());
}

#[tokio::test]
async fn eve_zeek_and_syslog_files_reach_their_datasets() {
    let mut site = Site::new(|d| {
        let zeek = d.join("zeek");
        fs::create_dir_all(&zeek).unwrap();
        vec![
            ("--eve", d.join("eve.json")),
            ("--zeek-dir", zeek),
            ("--syslog", d.join("auth.log")),
        ]
    })
    .await;
    let dir = site.sensor.dir.clone();
    for (file, line) in ZEEK {
        append(&dir.join("zeek").join(file), &format!("{line}\n"));
    }
    append(&dir.join("auth.log"), AUTH);
    append(&dir.join("eve.json"), &eve_lines("mixed", 0..3));
    let base = site.base();
    let _agent = site.sensor.start(&base, &[]);
    let client = reqwest::Client::new();
    let get = |path: &str| {
        client
            .get(format!("{}{path}", site.base()))
            .bearer_auth(&site.key)
            .send()
    };
    until("the Zeek DHCP device", 60, async || {
        let devices = json(get("/api/v1/devices").await.unwrap(), 200).await;
        devices["devices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["hostname"] == "ubuntu-desk")
    })
    .await;
    until("the Zeek conn service", 60, async || {
        let services = json(get("/api/v1/services").await.unwrap(), 200).await;
        services.to_string().contains("192.168.4.1")
    })
    .await;
    until("server alerts from the syslog file", 60, async || {
        let alerts = json(get("/api/v1/serveralerts").await.unwrap(), 200).await;
        alerts["server_alerts"].as_array().unwrap().iter().any(|a| {
            a["agent_name"] == "sensor-1" && a["line"].as_str().unwrap().contains("Invalid user")
        })
    })
    .await;
    until("the EVE alerts", 60, async || {
        site.stored().await.len() == 3
    })
    .await;
}

#[tokio::test]
async fn a_batch_too_large_for_the_server_is_split() {
    // In-process server with a small body limit; the agent's batches are larger.
    let app = spawn_with(|c| c.body_limit_bytes = 8 * 1024, None).await;
    let dir = app.db.dir.path().join("sensor");
    let (_, token) = {
        let db = &app.state.db;
        let t = crate::helpers::tenant(db, "default").await;
        picket_core::identity::store::create_agent(db, t.id, "big-batches")
            .await
            .unwrap()
    };
    let eve = dir.join("eve.json");
    fs::create_dir_all(&dir).unwrap();
    append(&eve, &eve_lines("split", 0..300));
    let mut sensor = Sensor::new(&dir, &token, &[("--eve", &eve)]);
    let agent = sensor.start(
        &app.base,
        &["--batch-lines", "300", "--batch-bytes", "1000000"],
    );
    until("all lines stored", 60, async || {
        subjects(&app.base, &app.key).await.len() == 300
    })
    .await;
    until("the agent to finish", 60, async || sensor.idle(&[&eve])).await;
    assert_each_once(
        &subjects(&app.base, &app.key).await,
        "split",
        300,
        &agent.log(),
    );
    assert!(agent.log().contains("413"), "{}", agent.log());
}

// Multi-threaded: the in-process server must answer while the test waits on the agent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mistakes_are_named_before_anything_is_sent() {
    let app = spawn_with(|_| {}, None).await;
    let dir = app.db.dir.path().join("sensor");
    fs::create_dir_all(&dir).unwrap();
    let eve = dir.join("eve.json");
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .arg("agent")
            .args(args)
            .env("RUST_LOG", "error")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} must fail");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let token = dir.join("token");
    let spool = dir.join("spool");
    let (t, s, e) = (
        token.to_str().unwrap(),
        spool.to_str().unwrap(),
        eve.to_str().unwrap(),
    );
    let base = app.base.as_str();

    let err = run(&[
        "--server",
        base,
        "--token-file",
        t,
        "--spool",
        s,
        "--eve",
        e,
    ]);
    assert!(err.contains("cannot read token file"), "{err}");

    fs::write(&token, "pka_not_a_registered_token\n").unwrap();
    let err = run(&[
        "--server",
        "localhost:8080",
        "--token-file",
        t,
        "--spool",
        s,
        "--eve",
        e,
    ]);
    assert!(err.contains("http:// or https://"), "{err}");

    let err = run(&[
        "--server",
        base,
        "--token-file",
        t,
        "--spool",
        s,
        "--eve",
        e,
    ]);
    assert!(err.contains("refused the agent token"), "{err}");

    let nowhere = format!("{base}/not-picket/");
    let err = run(&[
        "--server",
        &nowhere,
        "--token-file",
        t,
        "--spool",
        s,
        "--eve",
        e,
    ]);
    assert!(err.contains("404"), "{err}");

    let file = dir.join("a-file");
    fs::write(&file, "").unwrap();
    let err = run(&[
        "--server",
        base,
        "--token-file",
        t,
        "--spool",
        file.to_str().unwrap(),
        "--eve",
        e,
    ]);
    assert!(err.contains("spool directory"), "{err}");

    let err = run(&["--server", base, "--token-file", t, "--spool", s]);
    assert!(err.contains("nothing to ship"), "{err}");

    let help = Command::new(BIN)
        .args(["agent", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--server",
        "--token-file",
        "--eve",
        "--zeek-dir",
        "--syslog",
        "--spool",
    ] {
        assert!(help.contains(flag), "{flag} in\n{help}");
    }
}
