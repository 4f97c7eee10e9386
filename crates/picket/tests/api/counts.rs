//! Exact totals from the counts the database keeps with the rows (`row_counts` per day and
//! `row_counts_hourly` per hour): over random inserts, deletes and updates in two tenants, every
//! total a search answers from the counts equals the one counted from the rows, and every page
//! (deep ones seek by time) holds the same alerts in the same order. The ranges searched have
//! partial hours at their edges, lie inside one hour, cross a day boundary without a whole day,
//! are open at one end or reach before 1970. A seeded generator keeps failures reproducible.

use picket_core::identity::TenantId;
use picket_netmon::alerts::{
    insert_network_alerts, insert_server_alerts, NewNetworkAlert, NewServerAlert,
};
use reqwest::Method;
use sea_query::Values;
use serde_json::{json, Value};

use crate::helpers::{json, spawn, spawn_with, Rng, TestApp};
use crate::netmon_devices::tenant;

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;
/// 2026-06-01 00:00:00 UTC.
const START: i64 = 1_780_272_000_000;
const AGENTS: [&str; 2] = ["a1", "a2"];
const TYPES: [&str; 3] = ["ids", "portscan", "tor"];
const LEVELS: [i64; 3] = [10, 20, 30];
/// Source addresses as sensors send them: canonical or not, empty, and text that is no address
/// at all (with the `|` the endpoint counts use in their keys).
const SRC_IPS: [&str; 7] = [
    "10.0.0.1",
    "10.0.0.2",
    "10.0.1.7",
    "2001:DB8::1",
    "",
    "not|an ip",
    "10.0.0.1|",
];
const SRC_MACS: [&str; 5] = [
    "aa:bb:cc:00:00:01",
    "AA-BB-CC-00:00:02",
    "",
    "10.0.0.9",
    "x|y",
];
/// `source` terms: whole addresses, patterns that match IPs or MACs, a device's name (the
/// device `gateway` has 10.0.1.7 and `…:00:02`), and text that matches nothing.
const SOURCES: [&str; 11] = [
    "10.0.0.1",
    "2001:db8::1",
    "AA:BB:CC:00:00:01",
    "10.0.0.%",
    "%:02",
    "aabbcc%",
    "10.0.0.9",
    "%|%",
    "gateway",
    "gate%",
    "nothing",
];

/// A time in the six days from `START`, often exactly on a day or hour boundary or next to
/// one; now and then one in the two days around 1970-01-01 (negative times).
fn some_time(rng: &mut Rng) -> i64 {
    if rng.below(16) == 0 {
        return rng.below(2 * DAY as u64) as i64 - DAY;
    }
    let day = START + rng.below(6) as i64 * DAY;
    let hour = day + rng.below(24) as i64 * HOUR;
    match rng.below(6) {
        0 => day,
        1 => day - 1,
        2 => hour,
        3 => hour - 1,
        _ => day + rng.below(DAY as u64) as i64,
    }
}

/// A search's time range: several days, a few hours inside one day, inside one hour, across a
/// day boundary without a whole day, or around 1970-01-01; either end may be left open.
fn some_range(rng: &mut Rng) -> (Option<i64>, Option<i64>) {
    let t = some_time(rng);
    let (from, to) = match rng.below(5) {
        0 => (t - DAY, some_time(rng) + DAY),
        1 => (t, t + rng.below(8 * HOUR as u64) as i64),
        2 => {
            let hour = t.div_euclid(HOUR) * HOUR;
            let a = hour + rng.below(HOUR as u64) as i64;
            (a, a + rng.below((hour + HOUR - a) as u64) as i64)
        }
        3 => {
            let midnight = t.div_euclid(DAY) * DAY;
            (
                midnight - rng.below(6 * HOUR as u64) as i64,
                midnight + rng.below(6 * HOUR as u64) as i64,
            )
        }
        _ => (
            -(rng.below(DAY as u64) as i64),
            rng.below(DAY as u64) as i64,
        ),
    };
    match rng.below(6) {
        0 => (None, Some(to)),
        1 => (Some(from), None),
        _ => (Some(from), Some(to)),
    }
}

fn subset<T: Clone>(rng: &mut Rng, v: &[T]) -> Vec<T> {
    v.iter().filter(|_| rng.below(2) == 0).cloned().collect()
}

/// A time as the API takes it, to the second or (now and then) to the minute.
fn text(rng: &mut Rng, ms: i64) -> String {
    let format = if rng.below(4) == 0 {
        "%Y-%m-%d %H:%M"
    } else {
        "%Y-%m-%d %H:%M:%S"
    };
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .format(format)
        .to_string()
}

async fn insert_some(app: &TestApp, t: TenantId, rng: &mut Rng, n: usize) {
    let network: Vec<NewNetworkAlert> = (0..n)
        .map(|_| NewNetworkAlert {
            ts: some_time(rng),
            agent: rng.pick(&AGENTS).to_string(),
            level: *rng.pick(&LEVELS),
            kind: rng.pick(&TYPES).to_string(),
            src_ip: rng.pick(&SRC_IPS).to_string(),
            src_mac: rng.pick(&SRC_MACS).to_string(),
            dst_ip: "10.0.0.2".into(),
            ..Default::default()
        })
        .collect();
    let server: Vec<NewServerAlert> = (0..n / 2)
        .map(|_| NewServerAlert {
            ts: some_time(rng),
            agent: rng.pick(&AGENTS).to_string(),
            hostname: "h".into(),
            level: *rng.pick(&LEVELS),
            kind: rng.pick(&TYPES).to_string(),
            ..Default::default()
        })
        .collect();
    let mut tx = app.state.db.begin().await.unwrap();
    insert_network_alerts(&mut tx, t, &network).await.unwrap();
    insert_server_alerts(&mut tx, t, &server).await.unwrap();
    tx.commit().await.unwrap();
}

/// Deletes and updates some rows the way retention, data delete and a re-level would, straight
/// in SQL: the counts must follow whatever statement changes the rows.
async fn change_some(app: &TestApp, rng: &mut Rng) {
    let db = &app.state.db;
    let m = 3 + rng.below(5);
    let r = rng.below(m);
    for table in ["network_alerts", "server_alerts"] {
        db.execute_sql(
            &format!("DELETE FROM {table} WHERE id % {m} = {r}"),
            Values(vec![]),
        )
        .await
        .unwrap();
    }
    let shift = rng.below(3) as i64 * DAY / 2 + rng.below(3) as i64 * HOUR / 2;
    db.execute_sql(
        &format!(
            "UPDATE network_alerts SET level = 30, type = 'tor', ts = ts + {shift} \
             WHERE id % {m} = {}",
            (r + 1) % m
        ),
        Values(vec![]),
    )
    .await
    .unwrap();
    // A source that moves: only the counts by source follow it.
    db.execute_sql(
        &format!(
            "UPDATE network_alerts SET src_ip = '10.0.0.2', src_mac = '' WHERE id % {m} = {}",
            (r + 2) % m
        ),
        Values(vec![]),
    )
    .await
    .unwrap();
    // An update that changes nothing counted.
    db.execute_sql(
        "UPDATE server_alerts SET title = 'x' WHERE id % 2 = 0",
        Values(vec![]),
    )
    .await
    .unwrap();
}

#[derive(sqlx::FromRow)]
struct Mismatch {
    n: i64,
}

/// Every count row, daily and hourly, equals a recount of the rows it stands for (no missing
/// or extra).
async fn counts_match_rows(app: &TestApp) {
    let db = &app.state.db;
    let by_source = "CAST(LENGTH(src_ip) AS TEXT) || '|' || src_ip || src_mac";
    for (table, dataset, ki, kt) in [
        ("network_alerts", "network_alerts", "level", "type"),
        (
            "network_alerts",
            "network_alerts.by_source",
            "level",
            by_source,
        ),
        ("server_alerts", "server_alerts", "level", "type"),
    ] {
        for (counts, bucket, ms) in [
            ("row_counts", "day", DAY),
            ("row_counts_hourly", "hour", HOUR),
        ] {
            let of = format!(
                "(CASE WHEN ts < 0 AND ts % {ms} <> 0 THEN ts / {ms} - 1 ELSE ts / {ms} END)"
            );
            let sql = format!(
                "SELECT COUNT(*) AS n FROM ( \
                   SELECT tenant_id, {of} AS b, {ki} AS k_int, {kt} AS k_text, COUNT(*) AS n \
                   FROM {table} GROUP BY 1, 2, 3, 4) r \
                 FULL OUTER JOIN (SELECT * FROM {counts} WHERE dataset = '{dataset}' AND n <> 0) c \
                   ON c.tenant_id = r.tenant_id AND c.{bucket} = r.b AND c.k_int = r.k_int \
                   AND c.k_text = r.k_text \
                 WHERE r.n IS NULL OR c.n IS NULL OR r.n <> c.n"
            );
            let bad: Mismatch = db
                .fetch_optional_sql(&sql, Values(vec![]))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(bad.n, 0, "{dataset}: {counts} differ from the rows");
        }
    }
}

async fn search(app: &TestApp, key: &str, path: &str, body: &Value) -> Value {
    json(
        app.req_as(key, Method::POST, path)
            .json(body)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await
}

fn ids(list: &Value, key: &str) -> Vec<i64> {
    list[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect()
}

/// Random searches: the counted answer (total and page) against the same search with an
/// `agent` filter naming every agent, which the counts cannot answer and so counts the rows.
async fn compare_searches(app: &TestApp, key: &str, rng: &mut Rng, rounds: usize) {
    for _ in 0..rounds {
        let server = rng.below(3) == 0;
        let (path, list) = if server {
            ("/api/v1/serveralerts/search", "server_alerts")
        } else {
            ("/api/v1/networkalerts/search", "network_alerts")
        };
        let mut filters = serde_json::Map::new();
        let levels = subset(rng, &LEVELS);
        if !levels.is_empty() {
            filters.insert("level".into(), json!(levels));
        }
        // Sources on network alerts; counted when no type is asked for as well.
        let sources = if server || rng.below(2) == 0 {
            Vec::new()
        } else {
            let mut v = subset(rng, &SOURCES);
            if v.is_empty() {
                v.push(*rng.pick(&SOURCES));
            }
            v
        };
        if !sources.is_empty() {
            filters.insert("source".into(), json!(sources));
        }
        let types = if sources.is_empty() || rng.below(4) == 0 {
            subset(rng, &TYPES)
        } else {
            Vec::new()
        };
        if !types.is_empty() {
            filters.insert("type".into(), json!(types));
            if !server && rng.below(2) == 0 {
                filters.insert("type_mode".into(), json!(2));
            }
        }
        if rng.below(5) > 0 {
            let (from, to) = some_range(rng);
            if let Some(from) = from {
                filters.insert("from".into(), json!(text(rng, from)));
            }
            if let Some(to) = to {
                filters.insert("to".into(), json!(text(rng, to)));
            }
        }
        let sort = if server {
            *rng.pick(&["timestamp", "level", "type"])
        } else {
            *rng.pick(&["timestamp", "timestamp", "level", "type", "id"])
        };
        let order = *rng.pick(&["asc", "desc"]);
        let page_size = 1 + rng.below(9);
        let page = 1 + rng.below(40);
        let body = |filters: &serde_json::Map<String, Value>| {
            json!({"filters": filters, "page": page, "page_size": page_size,
                   "sort": {"field": sort, "order": order}})
        };
        let counted = search(app, key, path, &body(&filters)).await;
        let mut all = filters.clone();
        all.insert("agent".into(), json!(AGENTS));
        let scanned = search(app, key, path, &body(&all)).await;
        for k in ["total_rows", "total_pages", "page", "page_size"] {
            assert_eq!(counted[k], scanned[k], "{k} of {}", body(&filters));
        }
        assert_eq!(
            ids(&counted, list),
            ids(&scanned, list),
            "rows of {}",
            body(&filters)
        );
    }
}

#[tokio::test]
async fn totals_from_the_counts_equal_counting_the_rows() {
    let app = spawn_with(|c| c.rate_limit.per_second = 0, None).await;
    let other_key = app.tenant_key("other", None).await;
    let default = tenant(&app, "default").await;
    let other = tenant(&app, "other").await;
    let seed = std::env::var("PICKET_COUNTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_0FC0_u64);
    let mut rng = Rng(seed);
    // A device a `source` term can name: its address and MAC are among the alerts'.
    crate::netmon_devices::observe(
        &app,
        default,
        "aa:bb:cc:00:00:02",
        "10.0.1.7",
        "gateway",
        START,
    )
    .await;
    for round in 0..4 {
        insert_some(&app, default, &mut rng, 150).await;
        insert_some(&app, other, &mut rng, 40).await;
        if round > 0 {
            change_some(&app, &mut rng).await;
        }
        counts_match_rows(&app).await;
        compare_searches(&app, &app.key, &mut rng, 25).await;
        compare_searches(&app, &other_key, &mut rng, 5).await;
    }
    // `about` reads the same counts: exact, per tenant.
    let about = json(app.get("/api/v1/about").await, 200).await;
    #[derive(sqlx::FromRow)]
    struct N {
        n: i64,
    }
    let n: N = app
        .state
        .db
        .fetch_optional_sql(
            &format!(
                "SELECT COUNT(*) AS n FROM network_alerts WHERE tenant_id = {}",
                default.0
            ),
            Values(vec![]),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(about["database"]["network_alerts"]["row_count"], n.n);
}

/// A database whose rows predate the counts gets them recounted when it migrates.
#[tokio::test]
async fn a_migration_that_adds_the_counts_recounts_existing_rows() {
    let app = spawn().await;
    let default = tenant(&app, "default").await;
    let mut rng = Rng(7);
    insert_some(&app, default, &mut rng, 60).await;
    // As before the counts existed: no triggers, no count rows, no record of them.
    {
        let mut conn = app.state.db.conn().await.unwrap();
        let drop = match app.state.db.backend() {
            picket_core::db::Backend::Sqlite => {
                "DROP TRIGGER network_alerts_count_ins; DROP TRIGGER server_alerts_count_ins; \
                 DROP TRIGGER network_alerts_by_source_count_ins"
            }
            picket_core::db::Backend::Postgres => {
                "DROP TRIGGER network_alerts_count_ins ON network_alerts; \
                 DROP TRIGGER server_alerts_count_ins ON server_alerts; \
                 DROP TRIGGER network_alerts_by_source_count_ins ON network_alerts"
            }
        };
        conn.execute_script(&format!(
            "{drop}; DELETE FROM row_counts; DELETE FROM row_counts_hourly; \
             DELETE FROM picket_schema_steps WHERE id LIKE 'counts-%alerts%'"
        ))
        .await
        .unwrap();
    }
    insert_some(&app, default, &mut rng, 30).await;
    let report = picket::app::migrate_state(&app.state).await.unwrap();
    assert_eq!(
        report
            .steps_run
            .iter()
            .filter(|s| s.starts_with("counts-"))
            .count(),
        3,
        "{report:?}"
    );
    counts_match_rows(&app).await;
    insert_some(&app, default, &mut rng, 30).await;
    counts_match_rows(&app).await;

    // As after an earlier build that kept daily counts only: its steps are recorded under
    // other digests and the hourly table is empty. The changed triggers recount both.
    app.state
        .db
        .conn()
        .await
        .unwrap()
        .execute_script(
            "DELETE FROM row_counts_hourly; \
             UPDATE picket_schema_steps SET id = id || '-daily' WHERE id LIKE 'counts-%alerts%'",
        )
        .await
        .unwrap();
    let report = picket::app::migrate_state(&app.state).await.unwrap();
    let recounted: Vec<&String> = report
        .steps_run
        .iter()
        .filter(|s| s.starts_with("counts-"))
        .collect();
    assert_eq!(recounted.len(), 3, "{report:?}");
    counts_match_rows(&app).await;
    insert_some(&app, default, &mut rng, 30).await;
    change_some(&app, &mut rng).await;
    counts_match_rows(&app).await;
}
