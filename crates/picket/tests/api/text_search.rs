//! Text search through the trigram index (FTS5 on SQLite, pg_trgm on PostgreSQL) answers
//! exactly what LIKE alone answers: random rows and random needles (wildcards, escapes, case,
//! non-ASCII letters) through both paths, compared page and total; rows deleted after the
//! index was filled leave it; a database migrated from before the index gets it filled.

use picket::app::migrate_state;
use picket_core::db::health::schema_health;
use picket_core::db::schema::TextIndex;
use picket_core::db::Backend;
use picket_core::identity::TenantId;
use picket_netmon::alerts::network::wire::{NetworkAlertFilters, NetworkAlertSort, NetworkQuery};
use picket_netmon::alerts::server::wire::{ServerAlertFilters, ServerAlertSort, ServerQuery};
use picket_netmon::alerts::{
    insert_network_alert, insert_server_alert, search_network_alerts, search_server_alerts,
    NewNetworkAlert, NewServerAlert,
};
use picket_netmon::datasets::ServerAlerts;
use picket_netmon::listing::matching::TextPath;
use picket_netmon::listing::{PageRequest, Sort};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{json, spawn, Rng, TestApp};
use crate::netmon_data::tenant;

/// Few letters, so substrings recur; case pairs, LIKE's own characters, a quote (FTS5's
/// string delimiter), letters whose case folding differs between SQLite, PostgreSQL and
/// FTS5 (É/é, the Kelvin sign, dotted and dotless i, ß, ÿ/Ÿ) and characters outside the
/// basic plane.
pub(crate) const ALPHABET: &[char] = &[
    'a', 'b', 'c', 'A', 'B', 'C', 'o', 'O', ' ', ' ', '%', '_', '\\', ':', '.', '"', '0', '1', 'é',
    'É', 'ß', '\u{212A}', 'k', 'K', 'İ', 'i', 'ı', 'ÿ', 'Ÿ', '€', '😀',
];

fn text(rng: &mut Rng, max: usize) -> String {
    let n = rng.index(max + 1);
    (0..n)
        .map(|_| ALPHABET[rng.index(ALPHABET.len())])
        .collect()
}

/// A needle: usually a piece of a stored text with its case changed and a wildcard or escape
/// slipped in, sometimes random characters.
fn needle(rng: &mut Rng, stored: &[String]) -> String {
    let source = &stored[rng.index(stored.len())];
    let chars: Vec<char> = source.chars().collect();
    if chars.is_empty() || rng.chance(25) {
        let n = 1 + rng.index(6);
        return (0..n)
            .map(|_| ALPHABET[rng.index(ALPHABET.len())])
            .collect();
    }
    let start = rng.index(chars.len());
    let len = 1 + rng.index((chars.len() - start).min(9));
    let mut out = String::new();
    for &c in &chars[start..start + len] {
        match rng.index(10) {
            0 => out.extend(c.to_uppercase()),
            1 => out.extend(c.to_lowercase()),
            2 if rng.chance(30) => out.push('_'),
            3 if rng.chance(30) => {
                out.push(c);
                out.push('%');
            }
            4 if matches!(c, '%' | '_' | '\\') => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

fn needles(rng: &mut Rng, stored: &[String]) -> Vec<String> {
    let n = if rng.chance(20) { 2 } else { 1 };
    (0..n).map(|_| needle(rng, stored)).collect()
}

/// Whether a needle can use the index: it has a literal run of three characters.
fn indexable(needle: &str) -> bool {
    let mut run = 0;
    let mut chars = needle.chars();
    while let Some(c) = chars.next() {
        match c {
            '%' | '_' => run = 0,
            '\\' => {
                chars.next();
                run += 1;
            }
            _ => run += 1,
        }
        if run >= 3 {
            return true;
        }
    }
    false
}

const PAGES: [(i64, i64); 3] = [(1, 1000), (2, 7), (1, 3)];

async fn server_ids(
    app: &TestApp,
    t: TenantId,
    q: &ServerQuery,
    page: PageRequest,
) -> (i64, i64, Vec<i64>) {
    let sort = Sort::<ServerAlertSort>::resolve(Some("id"), Some("asc"));
    let (info, rows) = search_server_alerts(&app.state.db, t, q, sort, page)
        .await
        .unwrap();
    (
        info.total_rows,
        info.page,
        rows.into_iter().map(|r| r.id).collect(),
    )
}

async fn server_query(search: &[String]) -> ServerQuery {
    let f: ServerAlertFilters = serde_json::from_value(json!({ "search": search })).unwrap();
    f.check(chrono_tz::UTC).unwrap()
}

#[tokio::test]
async fn server_alert_search_through_the_index_answers_as_like() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    let other = tenant(&app, "other").await;
    let mut rng = Rng(0x5EED_0001);
    let mut stored = Vec::new();
    let mut ids = Vec::new();
    let mut tx = app.state.db.begin().await.unwrap();
    for i in 0..400 {
        let line = text(&mut rng, 24);
        let owner = if i % 5 == 4 { other } else { t };
        let a = NewServerAlert {
            ts: 1_780_000_000_000 + i,
            line: line.clone(),
            ..NewServerAlert::default()
        };
        let id = insert_server_alert(&mut tx, owner, &a).await.unwrap();
        if owner == t {
            ids.push(id);
        }
        stored.push(line);
    }
    tx.commit().await.unwrap();
    // Deleted rows must leave the index too.
    for id in ids.iter().step_by(9) {
        let res = app
            .req(Method::DELETE, &format!("/api/v1/serveralerts/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }

    let (mut compared, mut narrowed, mut hits) = (0, 0, 0);
    for _ in 0..250 {
        let search = needles(&mut rng, &stored);
        let mut q = server_query(&search).await;
        for (page, size) in PAGES {
            let page = PageRequest::new(Some(page), Some(size));
            q.text_path = TextPath::Indexed;
            let indexed = server_ids(&app, t, &q, page).await;
            q.text_path = TextPath::LikeOnly;
            let like = server_ids(&app, t, &q, page).await;
            assert_eq!(indexed, like, "search {search:?}, page {page:?}");
        }
        compared += 1;
        if search.iter().all(|s| indexable(s)) {
            narrowed += 1;
            q.text_path = TextPath::LikeOnly;
            if server_ids(&app, t, &q, PageRequest::new(None, None))
                .await
                .0
                > 0
            {
                hits += 1;
            }
        }
    }
    // The comparison means something: many needles went through the index and found rows.
    assert!(narrowed > 60 && hits > 30, "{compared} {narrowed} {hits}");
}

async fn network_ids(
    app: &TestApp,
    t: TenantId,
    q: &NetworkQuery,
    page: PageRequest,
) -> (i64, i64, Vec<i64>) {
    let sort = Sort::<NetworkAlertSort>::resolve(Some("id"), Some("asc"));
    let (info, rows) = search_network_alerts(&app.state.db, t, q, sort, page)
        .await
        .unwrap();
    (
        info.total_rows,
        info.page,
        rows.into_iter().map(|r| r.id).collect(),
    )
}

#[tokio::test]
async fn network_alert_search_through_the_index_answers_as_like() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    let other = tenant(&app, "other").await;
    let mut rng = Rng(0x5EED_0002);
    let ips = [
        "10.0.0.5",
        "10.0.10.50",
        "192.168.1.1",
        "2001:db8::1",
        "8.8.8.8",
    ];
    let mut stored: Vec<String> = ips.iter().map(|s| s.to_string()).collect();
    stored.extend(["10.0.0.5:445".to_string(), ":8080".to_string()]);
    let mut tx = app.state.db.begin().await.unwrap();
    for i in 0..300 {
        let subject = text(&mut rng, 16);
        let message = text(&mut rng, 24);
        let a = NewNetworkAlert {
            ts: 1_780_000_000_000 + i,
            src_ip: "10.9.9.9".into(),
            dst_ip: ips[rng.index(ips.len())].into(),
            dst_port: [22, 445, 8080, 53][rng.index(4)],
            level: 20,
            kind: "ids".into(),
            subject: subject.clone(),
            message: message.clone(),
            ..NewNetworkAlert::default()
        };
        let owner = if i % 4 == 3 { other } else { t };
        insert_network_alert(&mut tx, owner, &a).await.unwrap();
        stored.push(subject);
        stored.push(message);
    }
    tx.commit().await.unwrap();

    let mut narrowed = 0;
    for _ in 0..200 {
        let search = needles(&mut rng, &stored);
        let f: NetworkAlertFilters = serde_json::from_value(json!({ "search": search })).unwrap();
        let mut q = f.check(chrono_tz::UTC).unwrap();
        for (page, size) in PAGES {
            let page = PageRequest::new(Some(page), Some(size));
            q.text_path = TextPath::Indexed;
            let indexed = network_ids(&app, t, &q, page).await;
            q.text_path = TextPath::LikeOnly;
            let like = network_ids(&app, t, &q, page).await;
            assert_eq!(indexed, like, "search {search:?}, page {page:?}");
        }
        narrowed += usize::from(search.iter().all(|s| indexable(s)));
    }
    assert!(narrowed > 50, "{narrowed}");
}

/// A database whose rows predate the index (dropped here, as a database migrated by an
/// earlier build lacks it) gets it on migration, filled with the rows already there.
#[tokio::test]
async fn migration_fills_the_index_from_existing_rows() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    let line = |n: i64| NewServerAlert {
        ts: 1_780_000_000_000 + n,
        line: format!("sshd[{n}]: Failed password for Root from 192.0.2.{n}"),
        ..NewServerAlert::default()
    };
    let mut tx = app.state.db.begin().await.unwrap();
    insert_server_alert(&mut tx, t, &line(1)).await.unwrap();
    tx.commit().await.unwrap();

    let index = ServerAlerts::DECLARED.text_indexes[0];
    let backend = app.state.db.backend();
    let drop = drop_text_index(backend, &index);
    app.state
        .db
        .conn()
        .await
        .unwrap()
        .execute_script(&drop)
        .await
        .unwrap();
    let mut tx = app.state.db.begin().await.unwrap();
    for n in 2..5 {
        insert_server_alert(&mut tx, t, &line(n)).await.unwrap();
    }
    tx.commit().await.unwrap();
    if backend == Backend::Sqlite {
        let health = schema_health(&app.state.db, &app.state.schema)
            .await
            .unwrap();
        let table = health.tables.iter().find(|h| h.name == "server_alerts");
        assert!(
            table.is_some_and(|h| h.missing_indexes.contains(&index.name.to_string())),
            "{health:?}"
        );
    }

    migrate_state(&app.state).await.unwrap();
    let health = schema_health(&app.state.db, &app.state.schema)
        .await
        .unwrap();
    assert!(health.is_healthy, "{health:?}");
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/serveralerts/search",
            &json!({"filters": {"search": ["password for root"]}}),
        )
        .await;
    let body = json(res, 200).await;
    assert_eq!(body["total_rows"], 4, "{body}");
    // The index follows writes again.
    let mut tx = app.state.db.begin().await.unwrap();
    insert_server_alert(&mut tx, t, &line(5)).await.unwrap();
    tx.commit().await.unwrap();
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/serveralerts/search",
            &json!({"filters": {"search": ["FOR ROOT from 192.0.2.5"]}}),
        )
        .await;
    assert_eq!(json(res, 200).await["total_rows"], 1);
}

/// SQL that removes a text index's objects, as a database from before the index has none:
/// its tables, vocabulary and triggers (SQLite) or GIN indexes (PostgreSQL).
pub(crate) fn drop_text_index(backend: Backend, index: &TextIndex) -> String {
    match backend {
        Backend::Sqlite => {
            let mut s = format!("DROP TABLE IF EXISTS {};", index.sqlite_vocab_name());
            for t in index.sqlite_table_names() {
                s.push_str(&format!("DROP TABLE {t};"));
            }
            for trigger in index.sqlite_trigger_names() {
                s.push_str(&format!("DROP TRIGGER {trigger};"));
            }
            s
        }
        Backend::Postgres => index
            .pg_index_names()
            .iter()
            .map(|i| format!("DROP INDEX IF EXISTS {i};"))
            .collect(),
    }
}
