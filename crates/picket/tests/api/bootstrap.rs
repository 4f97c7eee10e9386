//! First start of the real binary: the admin key is printed once, saved 0600, never recreated.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{free_port, TestDb};

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(db: &TestDb) -> Server {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_picket"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(db.data_dir())
            .args(["--database-url", &db.url])
            .current_dir(db.dir.path())
            .env_remove("PICKET_LISTEN")
            .env_remove("PICKET_DATA_DIR")
            .env_remove("PICKET_DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("picket binary starts");
        Server { child, port }
    }

    async fn wait_healthy(&self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = client
                .get(format!("http://127.0.0.1:{}/healthz", self.port))
                .send()
                .await
            {
                if r.status() == 200 {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "server did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM, then the process's whole stdout.
    fn stop(mut self) -> (bool, Vec<String>) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let status = self.child.wait().unwrap();
        let out = BufReader::new(self.child.stdout.take().unwrap())
            .lines()
            .map(|l| l.unwrap())
            .collect();
        (status.success(), out)
    }
}

#[tokio::test]
async fn first_start_prints_and_saves_the_key_once() {
    let db = TestDb::new().await;
    let first = Server::start(&db);
    first.wait_healthy().await;
    let port = first.port;
    let key_file = db.data_dir().join("admin.key");
    let saved = std::fs::read_to_string(&key_file)
        .unwrap()
        .trim()
        .to_string();
    assert!(saved.starts_with("pkt_"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // The saved key works.
    let about = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/api/v1/about"))
        .bearer_auth(&saved)
        .send()
        .await
        .unwrap();
    assert_eq!(about.status(), 200);
    let (clean, out) = first.stop();
    assert!(clean, "SIGTERM is a clean shutdown");
    assert_eq!(
        out,
        vec![format!("admin API key: {saved}")],
        "stdout is exactly the key line"
    );

    let second = Server::start(&db);
    second.wait_healthy().await;
    let (clean, out) = second.stop();
    assert!(clean);
    assert!(out.is_empty(), "a later start prints nothing: {out:?}");
    assert_eq!(
        std::fs::read_to_string(&key_file).unwrap().trim(),
        saved,
        "the key file is not recreated"
    );
}
