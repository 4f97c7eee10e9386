//! Test harness: a fresh database (SQLite file or PostgreSQL schema), the real application
//! bound to port 0, and a client.

use std::path::PathBuf;

use picket::{Application, BuildOptions};
use picket_core::config::Config;
use picket_core::jobs::JobRegistry;
use picket_core::AppState;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;
use tempfile::TempDir;

/// A database for one test; dropped, it removes itself.
pub struct TestDb {
    pub url: String,
    pub dir: TempDir,
    pg: Option<(String, String)>,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        match std::env::var("PICKET_TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            Some(base) => {
                let schema = format!("picket_t_{}", uuid::Uuid::now_v7().simple());
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&base)
                    .await
                    .expect("PICKET_TEST_DATABASE_URL must point at a reachable PostgreSQL");
                sqlx::raw_sql(&format!("CREATE SCHEMA {schema}"))
                    .execute(&mut conn)
                    .await
                    .expect("create schema");
                let sep = if base.contains('?') { '&' } else { '?' };
                TestDb {
                    url: format!("{base}{sep}options[search_path]={schema}"),
                    dir,
                    pg: Some((base, schema)),
                }
            }
            None => {
                let url = format!("sqlite://{}", dir.path().join("picket.db").display());
                TestDb { url, dir, pg: None }
            }
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn config(&self) -> Config {
        Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: self.data_dir(),
            database_url: self.url.clone(),
            database_max_connections: 8,
            ..Config::default()
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, schema)) = self.pg.take() {
            // Async cleanup from a destructor: a short-lived runtime on its own thread.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    if let Ok(mut conn) =
                        <sqlx::PgConnection as sqlx::Connection>::connect(&base).await
                    {
                        let _ = sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                            .execute(&mut conn)
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

pub struct TestApp {
    pub base: String,
    /// The bootstrap admin key (tenant `default`).
    pub key: String,
    pub state: AppState,
    pub client: reqwest::Client,
    pub db: TestDb,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub async fn spawn() -> TestApp {
    spawn_with(|_| {}, None).await
}

/// Spawns the app after `tweak` adjusts its config; `jobs` replaces the job registry.
pub async fn spawn_with(tweak: impl FnOnce(&mut Config), jobs: Option<JobRegistry>) -> TestApp {
    // Server-side errors (with their causes) show in a failing test's output.
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .try_init();
    let db = TestDb::new().await;
    let mut config = db.config();
    tweak(&mut config);
    let app = Application::build(
        config,
        BuildOptions {
            jobs,
            start_workers: false,
        },
    )
    .await
    .expect("application builds");
    let base = format!("http://{}", app.local_addr());
    let key = app
        .admin_key()
        .expect("fresh database bootstraps a key")
        .to_string();
    let state = app.state().clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    TestApp {
        base,
        key,
        state,
        // Like curl without `--compressed`: no Accept-Encoding, so responses come as sent
        // (reqwest would otherwise ask for gzip, as the feed poller needs it to).
        client: reqwest::Client::builder()
            .no_gzip()
            .build()
            .expect("test client"),
        db,
        stop: Some(tx),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A request authenticated with the admin key (Bearer form).
    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.req_as(&self.key, method, path)
    }

    pub fn req_as(&self, key: &str, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path)).bearer_auth(key)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.req(Method::GET, path).send().await.unwrap()
    }

    pub async fn send_json(&self, method: Method, path: &str, body: &Value) -> Response {
        self.req(method, path).json(body).send().await.unwrap()
    }

    /// Creates a tenant with one user holding `perms` (or admin when `None`) and returns a key.
    pub async fn tenant_key(
        &self,
        tenant: &str,
        perms: Option<&[picket_core::identity::Perm]>,
    ) -> String {
        use picket_core::identity::store;
        let db = &self.state.db;
        let t = tenant_or_create(db, tenant).await;
        let name = format!("u{}", uuid::Uuid::now_v7().simple());
        let u = store::create_user(db, t.id, &name, perms.is_none(), perms.unwrap_or(&[]))
            .await
            .unwrap();
        store::create_api_key(db, &u, None).await.unwrap().1
    }
}

/// The tenant named `name`, which the test expects to exist.
pub async fn tenant(db: &picket_core::db::Db, name: &str) -> picket_core::identity::store::Tenant {
    picket_core::identity::store::tenant_by_name(db, name)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no tenant named {name}"))
}

/// The tenant named `name`, created first if it does not exist.
pub async fn tenant_or_create(
    db: &picket_core::db::Db,
    name: &str,
) -> picket_core::identity::store::Tenant {
    use picket_core::identity::store;
    match store::tenant_by_name(db, name).await.unwrap() {
        Some(t) => t,
        None => store::create_tenant(db, name).await.unwrap(),
    }
}

/// Reads a JSON body, asserting the status first.
pub async fn json(res: Response, status: u16) -> Value {
    let got = res.status().as_u16();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"))
}

/// Asserts an `/api/v1` error: status and `{"error": "<message containing needle>"}` only.
pub async fn network_error(res: Response, status: u16, needle: &str) -> String {
    let body = json(res, status).await;
    let obj = body.as_object().expect("object");
    assert_eq!(obj.len(), 1, "only `error` in {body}");
    let msg = body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("error is a string in {body}"))
        .to_string();
    assert!(
        msg.to_lowercase().contains(&needle.to_lowercase()),
        "`{msg}` mentions `{needle}`"
    );
    msg
}

/// Asserts a `/v1` error: status, code, retryable, and a message containing `needle`.
pub async fn events_error(res: Response, status: u16, code: &str, needle: &str) -> String {
    let body = json(res, status).await;
    assert_eq!(body.as_object().unwrap().len(), 1, "only `error` in {body}");
    let e = &body["error"];
    assert_eq!(e["code"], code, "{body}");
    assert_eq!(e["retryable"], status >= 500 || status == 429, "{body}");
    let msg = e["message"].as_str().unwrap().to_string();
    assert!(
        msg.to_lowercase().contains(&needle.to_lowercase()),
        "`{msg}` mentions `{needle}`"
    );
    assert_eq!(e.as_object().unwrap().len(), 3, "{body}");
    msg
}

/// xorshift64*: a small seeded generator for the property tests, so a failing case replays
/// from its seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// An index into a slice of `len` items.
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.index(v.len())]
    }
    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A loopback port free at the moment of asking, for a server process a test starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
