//! Every `picket admin` command, run as a user would, against the test database.

use std::process::Command;

use reqwest::Method;

use crate::helpers::{json, spawn, TestDb};

struct Cli<'a> {
    db: &'a TestDb,
}

impl Cli<'_> {
    /// Runs `picket admin ARGS…`; returns (success, stdout, stderr).
    fn run(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_picket"))
            .arg("--data-dir")
            .arg(self.db.data_dir())
            .args(["--database-url", &self.db.url, "admin"])
            .args(args)
            .current_dir(self.db.dir.path())
            .env_remove("PICKET_DATABASE_URL")
            .output()
            .expect("picket runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.run(args);
        assert!(ok, "`{}` failed: {err}", args.join(" "));
        out
    }

    fn fails(&self, args: &[&str], needle: &str) {
        let (ok, out, err) = self.run(args);
        assert!(!ok, "`{}` should fail; printed {out}", args.join(" "));
        let line = err.trim();
        assert_eq!(line.lines().count(), 1, "one clear line: {line}");
        assert!(
            line.starts_with("error: ") && line.contains(needle),
            "`{line}` mentions `{needle}`"
        );
    }
}

#[tokio::test]
async fn tenants_users_and_keys() {
    let app = spawn().await;
    let cli = Cli { db: &app.db };

    assert!(cli
        .ok(&["tenant", "create", "acme"])
        .contains("created tenant acme"));
    cli.fails(&["tenant", "create", "acme"], "already exists");
    let tenants = cli.ok(&["tenant", "list"]);
    assert!(
        tenants.contains("acme") && tenants.contains("default"),
        "{tenants}"
    );

    cli.ok(&[
        "user",
        "create",
        "--tenant",
        "acme",
        "netops",
        "--perm",
        "perm_devices_r",
        "--perm",
        "perm_alerts_r",
    ]);
    cli.ok(&["user", "create", "--tenant", "acme", "boss", "--all-perms"]);
    cli.fails(
        &[
            "user",
            "create",
            "--tenant",
            "acme",
            "x",
            "--perm",
            "perm_root",
        ],
        "unknown permission",
    );
    cli.fails(
        &["user", "create", "--tenant", "nope", "x"],
        "no tenant named `nope`",
    );
    cli.fails(
        &["user", "create", "--tenant", "acme", "netops"],
        "already has a user",
    );
    let users = cli.ok(&["user", "list", "--tenant", "acme"]);
    assert!(users.contains("perm_alerts_r perm_devices_r"), "{users}");
    assert!(users.contains("(admin: all)"), "{users}");

    // A key prints alone and carries the user's permissions over HTTP.
    let key = cli.ok(&[
        "key",
        "create",
        "--tenant",
        "acme",
        "--user",
        "netops",
        "--expires-in",
        "30",
    ]);
    let key = key.trim();
    assert!(key.starts_with("pkt_") && !key.contains(' '), "{key}");
    assert_eq!(
        app.req_as(key, Method::GET, "/api/v1/about")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.req_as(key, Method::GET, "/v1/assets")
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let boss = cli.ok(&["key", "create", "--tenant", "acme", "--user", "boss"]);
    let boss = boss.trim().to_string();
    let assets = json(
        app.req_as(&boss, Method::GET, "/v1/assets")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(assets["total"], 0, "acme sees none of default's assets");
    cli.fails(
        &["key", "create", "--tenant", "acme", "--user", "ghost"],
        "no user named `ghost`",
    );

    let keys = cli.ok(&["key", "list", "--tenant", "acme"]);
    assert_eq!(keys.lines().count(), 3, "header and two keys: {keys}");
    assert!(
        keys.contains(&key[..12]),
        "keys are listed by prefix: {keys}"
    );
    assert!(!keys.contains(key), "never the secret");
    let id = keys
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert!(cli.ok(&["key", "revoke", &id]).contains("revoked"));
    cli.fails(&["key", "revoke", &id], "no active API key");
    assert_eq!(
        app.req_as(key, Method::GET, "/api/v1/about")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert!(cli.ok(&["key", "list"]).contains("revoked"));

    // Disabling a user stops its keys at once; enabling restores them.
    cli.ok(&["user", "disable", "--tenant", "acme", "boss"]);
    assert_eq!(
        app.req_as(&boss, Method::GET, "/v1/assets")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert!(cli
        .ok(&["user", "list", "--tenant", "acme"])
        .contains("disabled"));
    cli.ok(&["user", "enable", "--tenant", "acme", "boss"]);
    assert_eq!(
        app.req_as(&boss, Method::GET, "/v1/assets")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    cli.fails(
        &["user", "disable", "--tenant", "acme", "ghost"],
        "no user named",
    );
}

#[tokio::test]
async fn agents() {
    let app = spawn().await;
    let cli = Cli { db: &app.db };
    let token = cli.ok(&["agent", "create", "--tenant", "default", "sensor-a"]);
    let token = token.trim();
    assert!(token.starts_with("pka_"), "{token}");
    cli.fails(
        &["agent", "create", "--tenant", "default", "sensor-a"],
        "already has an agent",
    );
    let hello = json(
        app.req_as(token, Method::GET, "/api/agent/v1/hello")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(hello["agent_name"], "sensor-a");
    let list = cli.ok(&["agent", "list"]);
    assert!(
        list.contains("sensor-a") && list.contains("active") && !list.contains(token),
        "{list}"
    );
    let id = list
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    cli.ok(&["agent", "revoke", &id]);
    cli.fails(&["agent", "revoke", &id], "no active agent");
    assert_eq!(
        app.req_as(token, Method::GET, "/api/agent/v1/hello")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[test]
fn usage_errors_exit_non_zero() {
    let out = Command::new(env!("CARGO_BIN_EXE_picket"))
        .args(["admin", "key", "create"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tenant"));
    let help = Command::new(env!("CARGO_BIN_EXE_picket"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("PICKET_LISTEN"));
}

#[derive(sqlx::FromRow)]
struct Stats {
    n: i64,
    min_ts: Option<i64>,
    max_ts: Option<i64>,
}

#[tokio::test]
async fn generate_network_fills_a_tenant_with_plausible_rows() {
    let app = spawn().await;
    let cli = Cli { db: &app.db };
    cli.ok(&["tenant", "create", "bench"]);
    let out = cli.ok(&[
        "generate",
        "network",
        "--tenant",
        "bench",
        "--alerts",
        "1200",
        "--server-alerts",
        "300",
        "--dns",
        "2500",
        "--tcp",
        "700",
        "--dhcp",
        "40",
        "--http",
        "90",
        "--days",
        "3",
    ]);
    assert!(
        out.contains("generated 4830 rows for tenant bench"),
        "{out}"
    );
    cli.fails(
        &["generate", "network", "--tenant", "ghost", "--dns", "1"],
        "no tenant named `ghost`",
    );

    let db = &app.state.db;
    let now = picket_core::time::now_ms();
    for (table, n) in [
        ("network_alerts", 1200),
        ("server_alerts", 300),
        ("dns_records", 2500),
        ("tcp_records", 700),
        ("dhcp_records", 40),
        ("http_records", 90),
    ] {
        let sql =
            format!("SELECT COUNT(*) AS n, MIN(ts) AS min_ts, MAX(ts) AS max_ts FROM {table}");
        let s: Stats = db
            .fetch_optional_sql(&sql, sea_query::Values(vec![]))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(s.n, n, "{table}");
        let (lo, hi) = (s.min_ts.unwrap(), s.max_ts.unwrap());
        assert!(
            lo >= now - 3 * 86_400_000 - 60_000 && hi <= now,
            "{table} spread over the last 3 days"
        );
        assert!(hi - lo > 2 * 86_400_000, "{table} rows spread, not bunched");
    }
    #[derive(sqlx::FromRow)]
    struct Bad {
        n: i64,
    }
    let checks = [
        "SELECT COUNT(*) AS n FROM network_alerts WHERE level NOT IN (10, 20, 30)",
        "SELECT COUNT(*) AS n FROM dns_records WHERE query NOT LIKE '%.%'",
        "SELECT COUNT(*) AS n FROM dhcp_records WHERE length(mac) <> 17",
    ];
    for sql in checks {
        let b: Bad = db
            .fetch_optional_sql(sql, sea_query::Values(vec![]))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(b.n, 0, "{sql}");
    }
    // about reports the volume.
    let key = app.tenant_key("bench", None).await;
    let about = json(
        app.req_as(&key, Method::GET, "/api/v1/about")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(about["database"]["network_alerts"]["row_count"], 1200);
    assert_eq!(about["database"]["dns_records"]["row_count"], 2500);
    assert!(about["database"]["dns_records"]["first_record_at"].is_string());
}
