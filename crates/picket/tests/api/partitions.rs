//! Week partitions of the network datasets on PostgreSQL: rows land in their week's table, rows
//! that arrived before their week had one move into it, retention drops whole weeks with their
//! counts, captures and aggregates, and deleting an alert still takes its capture along. On
//! SQLite nothing is partitioned and the same calls change nothing.

use picket_core::config::RetentionConfig;
use picket_core::db::health::schema_health;
use picket_core::db::partitions::{self, day_of, partition_name, span_start, SPAN_DAYS};
use picket_core::db::{placeholder, Backend, Db};
use picket_core::identity::TenantId;
use picket_netmon::datasets::{partitioning, PARTITIONED};
use picket_sensor::retention::prune;
use sea_query::Values;

use crate::helpers::{spawn, TestApp};
use crate::netmon_data::{count, dns, insert, tenant, DNS};
use crate::netmon_devices::utc;
use crate::sensor_retention::{alert_with_capture, rows};

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;

/// Rows of one table (a partition, by name), every tenant's.
async fn in_table(db: &Db, table: &str) -> i64 {
    #[derive(sqlx::FromRow)]
    struct N {
        n: i64,
    }
    let r: Vec<N> = db
        .fetch_all_sql(
            &format!("SELECT COUNT(*) AS n FROM {table}"),
            Values(vec![]),
        )
        .await
        .unwrap();
    r[0].n
}

/// What `row_counts` says the tenant has in `dataset`.
async fn counted(app: &TestApp, dataset: &str, t: TenantId) -> i64 {
    count(
        app,
        &format!(
            "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM row_counts \
             WHERE tenant_id = $1 AND dataset = '{dataset}'"
        ),
        t,
    )
    .await
}

async fn day_names(app: &TestApp, table: &str) -> Vec<String> {
    partitions::day_partitions(&app.state.db, table)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect()
}

#[tokio::test]
async fn retention_drops_whole_weeks_with_their_counts_captures_and_aggregates() {
    let app = spawn().await;
    let db = &app.state.db;
    let (t, other) = (tenant(&app, "default").await, tenant(&app, "other").await);
    let now = utc("2026-06-30 12:07:00");
    let cutoff = now - 30 * DAY;
    let d = day_of(cutoff);
    // The cutoff falls on a Sunday, the last day of its week; `w` is the Monday of the week
    // before it.
    assert_eq!(span_start(d), d - 6);
    let w = d - 13;
    let alerts = partitioning("network_alerts").unwrap();
    let dns_set = partitioning("dns_records").unwrap();
    for p in [alerts, dns_set] {
        let made = partitions::ensure_days(db, p, w, d).await.unwrap();
        let expected = if db.backend() == Backend::Postgres {
            2
        } else {
            0
        };
        assert_eq!(made, expected, "{}", p.table);
    }

    // The whole week before the cutoff's, the cutoff's week on both sides of the cutoff, and
    // a day without a partition (the default partition holds it).
    let gone_capture = alert_with_capture(&app, t, w * DAY + HOUR, Some(now - DAY)).await;
    alert_with_capture(&app, other, (w + 6) * DAY + HOUR, None).await;
    alert_with_capture(&app, t, (d - 3) * DAY, None).await;
    alert_with_capture(&app, t, cutoff + HOUR, None).await;
    alert_with_capture(&app, t, (w - 10) * DAY, None).await;
    insert(
        &app,
        "dns_records",
        DNS,
        vec![
            dns(
                t,
                (w + 1) * DAY + 5,
                "a1",
                "10.0.0.5",
                "A",
                "old.example.com",
            ),
            dns(
                other,
                (w + 2) * DAY + 7,
                "a1",
                "10.0.0.6",
                "A",
                "old.example.com",
            ),
            dns(t, cutoff + HOUR, "a1", "10.0.0.5", "A", "new.example.com"),
        ],
    )
    .await;
    {
        let mut tx = db.begin().await.unwrap();
        for tenant in [t, other] {
            for agg in picket_netmon::data::aggregates::ALL {
                picket_netmon::data::aggregates::rebuild(&mut tx, agg, tenant, 0, now)
                    .await
                    .unwrap();
            }
        }
        tx.commit().await.unwrap();
    }

    if db.backend() == Backend::Postgres {
        // Each row went to its week's table.
        assert_eq!(
            in_table(&app.state.db, &partition_name("network_alerts", w)).await,
            2
        );
        assert_eq!(
            in_table(&app.state.db, &partition_name("network_alerts", w + 7)).await,
            2
        );
        assert_eq!(in_table(&app.state.db, "network_alerts_default").await, 1);
    } else {
        assert!(!partitions::is_partitioned(db, "network_alerts")
            .await
            .unwrap());
    }

    let keep = RetentionConfig {
        metadata_days: 30,
        alerts_days: 30,
        captures_days: 0,
    };
    let pruned = prune(db, &keep, now).await.unwrap();

    if db.backend() == Backend::Postgres {
        // Whole weeks go; the cutoff's own week keeps its row older than the cutoff.
        assert_eq!(pruned.of("network_alerts"), 3, "{pruned:?}");
        assert_eq!(rows(&app, "network_alerts", t).await, 2);
        assert_eq!(
            day_names(&app, "network_alerts").await,
            [partition_name("network_alerts", w + 7)]
        );
        assert_eq!(pruned.of("dns_metadata"), 2);
        assert_eq!(
            day_names(&app, "dns_records").await,
            [partition_name("dns_records", w + 7)]
        );
    } else {
        // SQLite deletes to the millisecond.
        assert_eq!(pruned.of("network_alerts"), 4, "{pruned:?}");
        assert_eq!(rows(&app, "network_alerts", t).await, 1);
        assert_eq!(pruned.of("dns_metadata"), 2);
    }
    assert_eq!(rows(&app, "network_alerts", other).await, 0);
    assert_eq!(rows(&app, "dns_records", other).await, 0);
    assert_eq!(rows(&app, "dns_records", t).await, 1);

    // The dropped alert's capture went with it; the counts match the rows, for both tenants;
    // the aggregates match what is left.
    let captures = count(
        &app,
        &format!("SELECT COUNT(*) AS n FROM network_pcaps WHERE tenant_id = $1 AND alert_id = {gone_capture}"),
        t,
    )
    .await;
    assert_eq!(captures, 0);
    for tenant in [t, other] {
        for dataset in ["network_alerts", "dns_records"] {
            let n = rows(&app, dataset, tenant).await;
            assert_eq!(
                counted(&app, dataset, tenant).await,
                n,
                "{dataset} counts of {tenant:?}"
            );
            let hourly = count(
                &app,
                &format!(
                    "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM row_counts_hourly \
                     WHERE tenant_id = $1 AND dataset = '{dataset}'"
                ),
                tenant,
            )
            .await;
            assert_eq!(hourly, n, "{dataset} hourly counts of {tenant:?}");
        }
        crate::netmon_data::aggregates_match_raw(&app, tenant).await;
    }
    let again = prune(db, &keep, now).await.unwrap();
    assert!(again.deleted.iter().all(|(_, n)| *n == 0), "{again:?}");
}

#[tokio::test]
async fn rows_that_came_before_their_week_had_a_partition_move_into_it() {
    let app = spawn().await;
    let db = &app.state.db;
    let t = tenant(&app, "default").await;
    // A Saturday and the Sunday after it: one week.
    let day = day_of(utc("2026-03-14 00:00:00"));
    let week = span_start(day);
    assert_eq!(week, day - 5);
    let a = alert_with_capture(&app, t, day * DAY + HOUR, Some(day * DAY)).await;
    let b = alert_with_capture(&app, t, day * DAY + 2 * HOUR, Some(day * DAY)).await;
    alert_with_capture(&app, t, (day + 1) * DAY + HOUR, None).await;
    let before = counted(&app, "network_alerts", t).await;
    assert_eq!(before, 3);

    // The maintenance of a much later day: its own days, and the days found in the default
    // partition, most recent first.
    let later = (day + 200) * DAY;
    let made = partitions::maintain(db, PARTITIONED, later).await.unwrap();
    if db.backend() == Backend::Sqlite {
        assert_eq!(made.created, 0);
        return;
    }
    // Yesterday to two days ahead of the later day: one week or two, per dataset; and the
    // week the default partition held.
    let today = day_of(later);
    let around = if span_start(today - 1) == span_start(today + partitions::AHEAD_DAYS) {
        1
    } else {
        2
    };
    assert_eq!(made.created, 6 * around + 1, "{made:?}");
    assert_eq!(in_table(&app.state.db, "network_alerts_default").await, 0);
    assert_eq!(
        in_table(&app.state.db, &partition_name("network_alerts", week)).await,
        3
    );
    // Moving changed no count, and the rows answer as before.
    assert_eq!(counted(&app, "network_alerts", t).await, 3);
    assert_eq!(rows(&app, "network_alerts", t).await, 3);
    let again = partitions::maintain(db, PARTITIONED, later).await.unwrap();
    assert_eq!(again.created, 0);

    // New rows of a day go to its partition; deleting an alert deletes its capture (a trigger
    // stands in for the foreign key a partitioned table cannot be the target of).
    let c = alert_with_capture(&app, t, day * DAY + 3 * HOUR, Some(day * DAY)).await;
    assert_eq!(
        in_table(&app.state.db, &partition_name("network_alerts", week)).await,
        4
    );
    let p = placeholder(db.backend(), 1);
    db.execute_sql(
        &format!("DELETE FROM network_alerts WHERE tenant_id = {p} AND id IN ({a}, {c})"),
        Values(vec![t.0.into()]),
    )
    .await
    .unwrap();
    assert_eq!(
        rows(&app, "network_pcaps", t).await,
        1,
        "only {b}'s capture is left"
    );
    assert_eq!(counted(&app, "network_alerts", t).await, 2);

    // The database still matches the declaration, partitions and all.
    let health = schema_health(db, &app.state.schema).await.unwrap();
    assert!(health.is_healthy, "{health:?}");
}

#[tokio::test]
async fn an_older_unpartitioned_table_becomes_partitioned_with_its_rows_counts_and_captures() {
    use picket::app::{job_registry, open_state, schema};
    use picket_core::db::migrate::migrate;

    let test_db = crate::helpers::TestDb::new().await;
    let state = open_state(test_db.config(), job_registry()).await.unwrap();
    let db = &state.db;
    // The database as a build before partitioning left it, with rows, a capture and counts.
    migrate(db, &schema().unpartitioned()).await.unwrap();
    assert!(!partitions::is_partitioned(db, "network_alerts")
        .await
        .unwrap());
    let t = picket_core::identity::store::create_tenant(db, "acme")
        .await
        .unwrap()
        .id;
    let day = day_of(utc("2026-03-14 00:00:00"));
    let insert = |ts: i64, capture: bool| {
        let db = db.clone();
        async move {
            let mut tx = db.begin().await.unwrap();
            let id = picket_netmon::alerts::insert_network_alert(
                &mut tx,
                t,
                &crate::sensor_retention::network_alert(ts),
            )
            .await
            .unwrap();
            if capture {
                picket_core::db::bulk::insert_rows(
                    &mut tx,
                    "network_pcaps",
                    &["tenant_id", "alert_id", "data", "created_at"],
                    vec![vec![t.0.into(), id.into(), vec![0xd4u8].into(), ts.into()]],
                )
                .await
                .unwrap();
            }
            tx.commit().await.unwrap();
            id
        }
    };
    let old = insert(day * DAY + HOUR, true).await;
    insert((day + 1) * DAY + HOUR, false).await;

    // This build's migration.
    let report = migrate(db, &state.schema).await.unwrap();
    let count_sql = |sql: &str| {
        let sql = sql.replace("$1", &placeholder(db.backend(), 1));
        let db = db.clone();
        async move {
            #[derive(sqlx::FromRow)]
            struct N {
                n: i64,
            }
            let r: Vec<N> = db
                .fetch_all_sql(&sql, Values(vec![t.0.into()]))
                .await
                .unwrap();
            r[0].n
        }
    };
    let counted_now = count_sql(
        "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM row_counts \
         WHERE tenant_id = $1 AND dataset = 'network_alerts'",
    );
    if db.backend() == Backend::Sqlite {
        assert!(report
            .steps_run
            .iter()
            .all(|s| !s.starts_with("partition-")));
        assert_eq!(counted_now.await, 2);
        return;
    }
    assert!(
        report
            .steps_run
            .contains(&"partition-network_alerts".to_string()),
        "{report:?}"
    );
    for p in PARTITIONED {
        assert!(
            partitions::is_partitioned(db, p.table).await.unwrap(),
            "{}",
            p.table
        );
    }
    // The rows stayed (in the legacy partition), counted once.
    assert_eq!(
        count_sql("SELECT COUNT(*) AS n FROM network_alerts_legacy WHERE tenant_id = $1").await,
        2
    );
    assert_eq!(counted_now.await, 2);
    // New rows: the legacy partition ends with its last row's week (a Saturday and a Sunday),
    // so the days it holds get no partition of their own and the next week does; ids go on
    // after the old ones; an update moves counts once, not twice.
    let next = span_start(day) + SPAN_DAYS;
    assert_eq!(next, day + 2);
    let made = partitions::ensure_days(db, partitioning("network_alerts").unwrap(), day, next)
        .await
        .unwrap();
    assert_eq!(made, 1);
    let new = insert((next + 3) * DAY + HOUR, false).await;
    assert!(new > old, "{new} after {old}");
    assert_eq!(
        in_table(db, &partition_name("network_alerts", next)).await,
        1
    );
    db.execute_sql(
        &format!(
            "UPDATE network_alerts SET level = 50 WHERE tenant_id = {} AND id = {old}",
            placeholder(db.backend(), 1)
        ),
        Values(vec![t.0.into()]),
    )
    .await
    .unwrap();
    assert_eq!(
        count_sql(
            "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM row_counts \
             WHERE tenant_id = $1 AND dataset = 'network_alerts'"
        )
        .await,
        3
    );
    // The capture still goes with its alert, by trigger now.
    db.execute_sql(
        &format!(
            "DELETE FROM network_alerts WHERE tenant_id = {} AND id = {old}",
            placeholder(db.backend(), 1)
        ),
        Values(vec![t.0.into()]),
    )
    .await
    .unwrap();
    assert_eq!(
        count_sql("SELECT COUNT(*) AS n FROM network_pcaps WHERE tenant_id = $1").await,
        0
    );
    let health = schema_health(db, &state.schema).await.unwrap();
    assert!(health.is_healthy, "{health:?}");
    // A second migration has nothing left to do.
    let again = migrate(db, &state.schema).await.unwrap();
    assert!(again.steps_run.is_empty(), "{again:?}");
}
