//! Migrations are idempotent and `schema_health` sees what differs from the declaration.

use picket::app::{migrate_state, open_state};
use picket_core::db::health::schema_health;
use picket_core::db::migrate::{applied_fingerprint, STEPS};
use reqwest::Method;

use crate::helpers::{json, spawn, TestDb};

#[tokio::test]
async fn migrations_are_idempotent_and_recorded() {
    let db = TestDb::new().await;
    let s = open_state(db.config(), picket::app::job_registry())
        .await
        .unwrap();
    assert_eq!(applied_fingerprint(&s.db).await.unwrap(), None);
    let first = migrate_state(&s).await.unwrap();
    assert!(first.changed);
    assert!(first.tables_created.contains(&"assets".to_string()));
    let second = migrate_state(&s).await.unwrap();
    assert!(!second.changed);
    assert!(second.tables_created.is_empty());
    assert_eq!(
        applied_fingerprint(&s.db).await.unwrap(),
        Some(s.schema.fingerprint())
    );
    let health = schema_health(&s.db, &s.schema).await.unwrap();
    assert!(health.is_healthy, "{health:?}");
    assert_eq!(health.tables.len(), s.schema.tables().len());
}

/// A database from a build that declared indexes since retired loses them on migration.
#[tokio::test]
async fn migration_drops_retired_indexes() {
    let db = TestDb::new().await;
    let s = open_state(db.config(), picket::app::job_registry())
        .await
        .unwrap();
    migrate_state(&s).await.unwrap();
    {
        let mut conn = s.db.conn().await.unwrap();
        conn.execute_script(
            "CREATE INDEX events_scope_lat_lng ON events (scope, lat, lng); \
             CREATE INDEX events_scope_category_lat ON events (scope, event_category, lat); \
             CREATE INDEX threats_tenant_observed ON threats (tenant_id, observed_at); \
             CREATE INDEX threats_tenant_risk ON threats (tenant_id, risk_score); \
             CREATE INDEX threats_tenant_observed_id ON threats (tenant_id, observed_at, id); \
             CREATE INDEX threats_tenant_status ON threats (tenant_id, status, observed_at); \
             DELETE FROM picket_schema_steps \
             WHERE id NOT LIKE 'counts-%' AND id NOT LIKE 'generations-%'",
        )
        .await
        .unwrap();
    }
    let before = schema_health(&s.db, &s.schema).await.unwrap();
    assert!(!before.is_healthy);
    let report = migrate_state(&s).await.unwrap();
    assert_eq!(report.steps_run.len(), STEPS.len(), "{report:?}");
    let after = schema_health(&s.db, &s.schema).await.unwrap();
    assert!(after.is_healthy, "{after:?}");
    assert!(migrate_state(&s).await.unwrap().steps_run.is_empty());
}

#[tokio::test]
async fn about_reports_a_dropped_an_extra_and_a_wrong_index() {
    let app = spawn().await;
    let healthy = json(
        app.req(Method::GET, "/api/v1/about").send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(healthy["schema_health"]["is_healthy"], true);

    let db = &app.state.db;
    // One connection: SQLite prepares against the connection's cached schema.
    let mut conn = db.conn().await.unwrap();
    conn.execute_script(
        "DROP INDEX assets_tenant_status_type; CREATE INDEX assets_by_name ON assets (name); \
         DROP INDEX api_keys_user; CREATE INDEX api_keys_user ON api_keys (created_at)",
    )
    .await
    .unwrap();
    drop(conn);

    let about = json(app.get("/api/v1/about").await, 200).await;
    let h = &about["schema_health"];
    assert_eq!(h["is_healthy"], false);
    let table = |name: &str| {
        h["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap()
            .clone()
    };
    let assets = table("assets");
    assert_eq!(assets["is_healthy"], false);
    assert_eq!(
        assets["missing_indexes"],
        serde_json::json!(["assets_tenant_status_type"])
    );
    assert_eq!(
        assets["extra_indexes"],
        serde_json::json!(["assets_by_name"])
    );
    let keys = table("api_keys");
    let wrong = keys["wrong_index_cols"].as_array().unwrap();
    assert_eq!(wrong.len(), 1);
    assert!(
        wrong[0]
            .as_str()
            .unwrap()
            .starts_with("api_keys_user: expected (user_id), found (created_at)"),
        "{wrong:?}"
    );
    assert_eq!(table("tenants")["is_healthy"], true);

    // Migrating again restores the missing index (it leaves extras for a human to judge).
    migrate_state(&app.state).await.unwrap();
    let after = schema_health(db, &app.state.schema).await.unwrap();
    let assets = after.tables.iter().find(|t| t.name == "assets").unwrap();
    assert!(assets.missing_indexes.is_empty());
    assert_eq!(assets.extra_indexes, vec!["assets_by_name"]);
}

/// The statistics job leaves the planner statistics of every table: SQLite's `sqlite_stat1`,
/// and on PostgreSQL an analysed row estimate (a table never analysed shows -1), which
/// autovacuum may not have got to after a bulk load.
#[tokio::test]
async fn planner_statistics_cover_the_tables_on_both_databases() {
    use picket_core::db::{stats, Backend};
    use sea_query::Values;
    #[derive(sqlx::FromRow)]
    struct N {
        n: f64,
    }
    let app = spawn().await;
    stats::refresh_planner_statistics(&app.state.db)
        .await
        .unwrap();
    let sql = match app.state.db.backend() {
        Backend::Sqlite => {
            "SELECT CAST(COUNT(*) AS REAL) AS n FROM sqlite_stat1 WHERE tbl = 'tenants'"
        }
        Backend::Postgres => {
            "SELECT CAST(reltuples AS DOUBLE PRECISION) AS n FROM pg_class \
             WHERE oid = to_regclass('tenants')"
        }
    };
    let rows: Vec<N> = app
        .state
        .db
        .fetch_all_sql(sql, Values(vec![]))
        .await
        .unwrap();
    // One admin tenant was bootstrapped: SQLite has its statistics row, PostgreSQL counts it.
    assert!(rows[0].n >= 1.0, "statistics for tenants: {}", rows[0].n);
}

/// A transaction that grows a table past what PostgreSQL's planner knew of it analyses the
/// table itself, so its own later statements are planned for the rows it added (autovacuum
/// cannot see them before the commit); below the floor, and on SQLite, it does not.
#[tokio::test]
async fn a_growing_transaction_refreshes_the_planner_statistics_of_its_table() {
    use picket_core::db::stats::{Growth, GROWTH_FLOOR};
    use picket_core::db::Backend;
    use sea_query::Values;
    #[derive(sqlx::FromRow)]
    struct N {
        n: f64,
    }
    let app = spawn().await;
    let db = &app.state.db;
    let postgres = db.backend() == Backend::Postgres;
    let mut tx = db.begin().await.unwrap();
    tx.execute_sql("CREATE TABLE growth_probe (n BIGINT)", Values(vec![]))
        .await
        .unwrap();
    let mut growth = Growth::of(&mut tx, &["growth_probe"]).await.unwrap();
    async fn add(tx: &mut picket_core::db::Tx, rows: u64) -> u64 {
        let sql = format!(
            "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < {rows}) \
             INSERT INTO growth_probe SELECT x FROM g"
        );
        tx.execute_sql(&sql, Values(vec![])).await.unwrap()
    }
    async fn known(tx: &mut picket_core::db::Tx) -> f64 {
        let rows: Vec<N> = tx
            .fetch_all_sql(
                "SELECT CAST(reltuples AS DOUBLE PRECISION) AS n FROM pg_class \
                 WHERE oid = to_regclass('growth_probe')",
                Values(vec![]),
            )
            .await
            .unwrap();
        rows[0].n
    }

    let half = GROWTH_FLOOR / 2;
    assert_eq!(add(&mut tx, half).await, half);
    assert!(
        !growth.added(&mut tx, half).await.unwrap(),
        "below the floor"
    );
    if postgres {
        assert!(known(&mut tx).await < 1.0, "not analysed yet");
    }
    assert_eq!(add(&mut tx, half).await, half);
    assert_eq!(growth.added(&mut tx, half).await.unwrap(), postgres);
    if postgres {
        let n = known(&mut tx).await;
        assert_eq!(
            n, GROWTH_FLOOR as f64,
            "the transaction's own rows were sampled"
        );
        // The next refresh waits for the table to double.
        add(&mut tx, GROWTH_FLOOR - 1).await;
        assert!(!growth.added(&mut tx, GROWTH_FLOOR - 1).await.unwrap());
        add(&mut tx, 1).await;
        assert!(growth.added(&mut tx, 1).await.unwrap());
        assert_eq!(known(&mut tx).await, 2.0 * GROWTH_FLOOR as f64);
    }
    tx.rollback().await.unwrap();
}

/// An import larger than the floor leaves the events table analysed on PostgreSQL, from
/// inside its transaction (autovacuum, where it runs, could not have analysed rows before
/// their commit, and this assertion runs right after it).
#[tokio::test]
async fn a_large_import_leaves_the_events_table_analysed() {
    use picket_core::db::stats::GROWTH_FLOOR;
    use picket_core::db::Backend;
    use picket_corpus::{import, store_records, Scope};
    use sea_query::Values;
    #[derive(sqlx::FromRow)]
    struct N {
        n: f64,
    }
    let app = spawn().await;
    let db = &app.state.db;
    let n = GROWTH_FLOOR + 500;
    let features: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({"type": "Feature", "id": format!("growth-{i}"),
                "geometry": {"type": "Point", "coordinates": [3.0 + (i % 100) as f64 * 0.05, 6.0 + (i / 100) as f64 * 0.05]},
                "properties": {"title": format!("Report {i}"), "event_category": "civil_unrest",
                    "severity": "low", "event_date": "2026-11-30", "source": "acled"}})
        })
        .collect();
    let doc = serde_json::json!({"type": "FeatureCollection", "features": features}).to_string();
    let records = import::parse(import::Format::parse("geojson").unwrap(), doc.as_bytes()).unwrap();
    let report = store_records(db, Scope::Global, records).await.unwrap();
    assert_eq!(
        report.new as u64,
        n,
        "rejected: {:?}",
        report.rejected.first()
    );
    if db.backend() == Backend::Postgres {
        let rows: Vec<N> = db
            .fetch_all_sql(
                "SELECT CAST(reltuples AS DOUBLE PRECISION) AS n FROM pg_class \
                 WHERE oid = to_regclass('events')",
                Values(vec![]),
            )
            .await
            .unwrap();
        assert!(
            rows[0].n >= GROWTH_FLOOR as f64,
            "events analysed during the import: {}",
            rows[0].n
        );
    }
}
