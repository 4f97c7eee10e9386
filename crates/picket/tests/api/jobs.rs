//! The job queue: concurrent workers never run a job twice; failures retry, then die.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use picket::app::{migrate_state, open_state};
use picket_core::jobs::{self, JobRegistry, NewJob};
use picket_core::AppState;
use sea_query::Values;
use serde_json::json;

use crate::helpers::TestDb;

type Runs = Arc<Mutex<HashMap<i64, Vec<String>>>>;

fn counting_registry(runs: Runs, who: &'static str) -> JobRegistry {
    let mut r = JobRegistry::new();
    r.register("test.count", move |_state, payload| {
        let runs = runs.clone();
        async move {
            let n = payload["n"].as_i64().unwrap();
            // Hold the job a little so the other worker has a chance to collide.
            tokio::time::sleep(Duration::from_millis(2)).await;
            runs.lock()
                .unwrap()
                .entry(n)
                .or_default()
                .push(who.to_string());
            Ok(())
        }
    });
    r.register("test.fail", |_state, _payload| async move {
        anyhow::bail!("the disk is full")
    });
    r
}

async fn state(db: &TestDb, jobs: JobRegistry) -> AppState {
    let s = open_state(db.config(), jobs).await.unwrap();
    migrate_state(&s).await.unwrap();
    s
}

#[derive(sqlx::FromRow, Debug)]
struct JobRow {
    status: String,
    attempts: i64,
    last_error: Option<String>,
    run_at: i64,
}

async fn job_row(s: &AppState, id: i64) -> JobRow {
    let sql = format!(
        "SELECT status, attempts, last_error, run_at FROM jobs WHERE id = {}",
        picket_core::db::placeholder(s.db.backend(), 1)
    );
    s.db.fetch_optional_sql::<JobRow>(&sql, Values(vec![id.into()]))
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn two_workers_in_two_processes_never_run_the_same_job() {
    let db = TestDb::new().await;
    let runs: Runs = Arc::default();
    // Two states over one database: as two server processes would be.
    let a = state(&db, counting_registry(runs.clone(), "a")).await;
    let b = state(&db, counting_registry(runs.clone(), "b")).await;
    const N: i64 = 120;
    for n in 0..N {
        jobs::enqueue(&a.db, &NewJob::new("test.count", json!({ "n": n })))
            .await
            .unwrap();
    }
    let wa = jobs::spawn_workers(&a, 2, "proc-a");
    let wb = jobs::spawn_workers(&b, 2, "proc-b");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let counts = jobs::counts(&a.db).await.unwrap();
        let done = counts
            .iter()
            .find(|c| c.status == "done")
            .map_or(0, |c| c.n);
        if done == N {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "workers did not finish: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wa.shutdown(Duration::from_secs(5)).await;
    wb.shutdown(Duration::from_secs(5)).await;
    let runs = runs.lock().unwrap();
    assert_eq!(runs.len() as i64, N, "every job ran");
    for (n, who) in runs.iter() {
        assert_eq!(who.len(), 1, "job {n} ran {} times: {who:?}", who.len());
    }
}

#[tokio::test]
async fn failures_retry_with_backoff_then_die_with_the_error() {
    let db = TestDb::new().await;
    let s = state(&db, counting_registry(Arc::default(), "x")).await;
    let retried = jobs::enqueue(&s.db, &NewJob::new("test.fail", json!({})).max_attempts(3))
        .await
        .unwrap()
        .unwrap();
    let dies = jobs::enqueue(&s.db, &NewJob::new("test.fail", json!({})).max_attempts(1))
        .await
        .unwrap()
        .unwrap();

    let before = picket_core::time::now_ms();
    assert_eq!(
        jobs::run_pending_jobs(&s).await.unwrap(),
        2,
        "retries wait for their backoff"
    );
    let r = job_row(&s, retried).await;
    assert_eq!(r.status, "queued");
    assert_eq!(r.attempts, 1);
    assert!(r.run_at >= before + 5_000, "first retry after at least 5 s");
    assert_eq!(r.last_error.as_deref(), Some("the disk is full"));
    let d = job_row(&s, dies).await;
    assert_eq!(d.status, "dead");
    assert_eq!(d.last_error.as_deref(), Some("the disk is full"));
}

#[tokio::test]
async fn dedupe_keys_and_unknown_kinds() {
    let db = TestDb::new().await;
    let runs: Runs = Arc::default();
    let s = state(&db, counting_registry(runs.clone(), "x")).await;
    let first = jobs::enqueue(
        &s.db,
        &NewJob::new("test.count", json!({"n": 1})).dedupe("k"),
    )
    .await
    .unwrap();
    let second = jobs::enqueue(
        &s.db,
        &NewJob::new("test.count", json!({"n": 2})).dedupe("k"),
    )
    .await
    .unwrap();
    assert!(first.is_some());
    assert!(
        second.is_none(),
        "a pending job with the same key absorbs the second"
    );
    let other = jobs::enqueue(&s.db, &NewJob::new("from.the.future", json!({})))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(jobs::run_pending_jobs(&s).await.unwrap(), 1);
    assert_eq!(
        runs.lock().unwrap().keys().copied().collect::<Vec<_>>(),
        vec![1]
    );
    assert_eq!(
        job_row(&s, other).await.status,
        "queued",
        "kinds this build does not know are left alone"
    );
    // Once done, the key is free again.
    assert!(jobs::enqueue(
        &s.db,
        &NewJob::new("test.count", json!({"n": 3})).dedupe("k")
    )
    .await
    .unwrap()
    .is_some());
}

#[tokio::test]
async fn stale_running_jobs_are_reclaimed() {
    let db = TestDb::new().await;
    let s = state(&db, counting_registry(Arc::default(), "x")).await;
    let id = jobs::enqueue(&s.db, &NewJob::new("test.count", json!({"n": 9})))
        .await
        .unwrap()
        .unwrap();
    let job = jobs::claim(&s.db, "crashed-worker", &["test.count".to_string()])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.id, id);
    assert!(
        jobs::claim(&s.db, "other", &["test.count".to_string()])
            .await
            .unwrap()
            .is_none(),
        "claimed jobs are not claimed again"
    );
    assert_eq!(
        jobs::reclaim_stale(&s.db, 60_000).await.unwrap(),
        0,
        "lease not yet over"
    );
    assert_eq!(jobs::reclaim_stale(&s.db, -1).await.unwrap(), 1);
    assert_eq!(job_row(&s, id).await.status, "queued");
    assert_eq!(jobs::run_pending_jobs(&s).await.unwrap(), 1);
    assert_eq!(job_row(&s, id).await.status, "done");
}

#[tokio::test]
async fn the_statistics_job_gives_sqlite_planner_statistics() {
    let db = TestDb::new().await;
    let s = state(&db, picket::app::job_registry()).await;
    for n in 0..50 {
        picket_core::identity::store::create_tenant(&s.db, &format!("stats-{n}"))
            .await
            .unwrap();
    }
    let id = jobs::enqueue(&s.db, &NewJob::new(picket::app::DB_STATISTICS, json!({})))
        .await
        .unwrap();
    jobs::run_pending_jobs(&s).await.unwrap();
    assert_eq!(job_row(&s, id.expect("queued")).await.status, "done");
    if s.db.backend() == picket_core::db::Backend::Sqlite {
        #[derive(sqlx::FromRow)]
        struct N {
            n: i64,
        }
        let rows: N =
            s.db.fetch_optional_sql(
                "SELECT COUNT(*) AS n FROM sqlite_stat1 WHERE tbl = 'tenants'",
                Values(vec![]),
            )
            .await
            .unwrap()
            .unwrap();
        assert!(rows.n > 0, "tenants analysed");
    }
}

#[tokio::test]
async fn a_payload_that_is_not_json_fails_without_running_the_handler() {
    let db = TestDb::new().await;
    let runs: Runs = Arc::default();
    let s = state(&db, counting_registry(runs.clone(), "x")).await;
    let id = jobs::enqueue(
        &s.db,
        &NewJob::new("test.count", json!({"n": 1})).max_attempts(1),
    )
    .await
    .unwrap()
    .unwrap();
    let sql = format!(
        "UPDATE jobs SET payload = '{{\"n\": 1' WHERE id = {}",
        picket_core::db::placeholder(s.db.backend(), 1)
    );
    s.db.execute_sql(&sql, Values(vec![id.into()]))
        .await
        .unwrap();
    jobs::run_pending_jobs(&s).await.unwrap();
    let row = job_row(&s, id).await;
    assert_eq!(row.status, "dead");
    let error = row.last_error.unwrap_or_default();
    assert!(error.contains("stored job payload is not JSON"), "{error}");
    assert!(runs.lock().unwrap().is_empty(), "the handler never ran");
}
