//! Tenant isolation on both surfaces, through HTTP. Two tenants, `alpha` and `bravo`, hold rows
//! of every tenant-owned resource. Acting as alpha, every endpoint that takes an id answers
//! bravo's ids with 404 in its surface's error shape, no list, search or export shows bravo's
//! rows, and alpha's writes change nothing bravo sees (read back with bravo's key, before and
//! after). Alpha's rows carry `alpha` in their text and bravo's `bravo`, so a leak is the word
//! `bravo` in an answer to alpha; bravo also keeps decoys on alpha's addresses (a device with
//! alpha's MAC, a network over alpha's range, allowed entries and exclude rules aimed at alpha's
//! services) that only a missing tenant predicate would let into alpha's answers.
//!
//! **Every new tenant-owned resource joins this module**: seed its rows in both tenants, then
//! add one [`Case`] — alpha's reads, bravo's ids as foreign calls, alpha's own writes, bravo's
//! reads — in `events.rs` (`/v1`), `network.rs` or `data.rs` (`/api/v1`; their rows are made in
//! `network_rows.rs`).

use std::io::{Cursor, Read};

use picket_core::identity::TenantId;
use picket_core::jobs::run_pending_jobs;
use reqwest::{Method, Response};
use serde_json::Value;

use crate::helpers::{events_error, network_error, spawn, TestApp};

mod data;
mod delivery;
mod events;
mod ingest;
mod network;
mod network_rows;

/// The word that marks bravo's rows; it never appears in an answer to alpha.
const BRAVO: &str = "bravo";

/// One tenant: its id and an admin key.
pub struct Side {
    pub key: String,
    pub tenant: TenantId,
}

/// The server with its two tenants: `alpha` acts, `bravo`'s rows must stay out of its reach.
pub struct Pair {
    pub app: TestApp,
    pub alpha: Side,
    pub bravo: Side,
}

impl Pair {
    pub async fn new() -> Pair {
        let app = spawn().await;
        let alpha = side(&app, "alpha").await;
        let bravo = side(&app, "bravo").await;
        Pair { app, alpha, bravo }
    }

    pub async fn send(&self, key: &str, call: &Call) -> Response {
        let mut req = self.app.req_as(key, call.method.clone(), &call.path);
        if let Some(body) = &call.body {
            req = req.json(body);
        }
        req.send().await.unwrap()
    }

    /// Sends `call` as `side` and reads the answer, asserting the status.
    pub async fn read_as(&self, side: &Side, call: &Call) -> String {
        let res = self.send(&side.key, call).await;
        let status = res.status().as_u16();
        let text = canonical(res).await;
        assert_eq!(status, call.status, "{call}: {text}");
        text
    }
}

async fn side(app: &TestApp, name: &str) -> Side {
    let key = app.tenant_key(name, None).await;
    let tenant = crate::helpers::tenant(&app.state.db, name).await.id;
    Side { key, tenant }
}

/// Which error shape a 404 comes in.
#[derive(Debug, Clone, Copy)]
pub enum Surface {
    /// `/v1`: `{"error": {"code": "not_found", "message", "retryable"}}`.
    Events,
    /// `/api/v1`: `{"error": "..."}`.
    Network,
}

/// One request, its expected status, and the text its answer must contain.
pub struct Call {
    pub method: Method,
    pub path: String,
    pub body: Option<Value>,
    pub status: u16,
    pub shows: Vec<String>,
}

impl std::fmt::Display for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        match &self.body {
            Some(b) => write!(f, " {b}"),
            None => Ok(()),
        }
    }
}

pub fn call(method: Method, path: impl Into<String>) -> Call {
    Call {
        method,
        path: path.into(),
        body: None,
        status: 200,
        shows: Vec::new(),
    }
}

pub fn get(path: impl Into<String>) -> Call {
    call(Method::GET, path)
}

pub fn post(path: impl Into<String>, body: Value) -> Call {
    call(Method::POST, path).body(body)
}

impl Call {
    pub fn body(mut self, body: Value) -> Call {
        self.body = Some(body);
        self
    }

    pub fn answers(mut self, status: u16) -> Call {
        self.status = status;
        self
    }

    /// Text the answer must contain (compact JSON, sorted keys: `"total_rows":0`).
    pub fn shows(mut self, texts: &[&str]) -> Call {
        self.shows.extend(texts.iter().map(|t| t.to_string()));
        self
    }
}

/// The same request with each of `methods`, e.g. PATCH and PUT of one update.
pub fn each(methods: &[Method], path: &str, body: Option<&Value>) -> Vec<Call> {
    methods
        .iter()
        .map(|m| {
            let c = call(m.clone(), path);
            match body {
                Some(b) => c.body(b.clone()),
                None => c,
            }
        })
        .collect()
}

/// One resource's isolation, checked in order: bravo's reads (which must show bravo's rows, so
/// that the rest is not vacuous), alpha's reads, the foreign calls, alpha's writes, pending jobs
/// drained, and bravo's reads again, unchanged.
pub struct Case {
    pub surface: Surface,
    /// Made as alpha: 200, showing their markers and never [`BRAVO`].
    pub reads: Vec<Call>,
    /// Requests naming bravo's rows, made as alpha: each answers 404.
    pub foreign: Vec<Call>,
    /// Alpha's own writes, with their expected status and markers; bravo must not notice them.
    pub writes: Vec<Call>,
    /// Made as bravo: showing their markers, answered the same before and after.
    pub bravo_reads: Vec<Call>,
}

impl Case {
    pub async fn check(self, p: &Pair) {
        let before = bravo_view(p, &self.bravo_reads).await;
        for c in &self.reads {
            let text = p.read_as(&p.alpha, c).await;
            assert!(
                !text.to_lowercase().contains(BRAVO),
                "{c} shows bravo's rows to alpha: {text}"
            );
            assert_shows(c, &text);
        }
        for c in &self.foreign {
            let res = p.send(&p.alpha.key, c).await;
            let msg = match self.surface {
                Surface::Events => events_error(res, 404, "not_found", "").await,
                Surface::Network => network_error(res, 404, "").await,
            };
            assert!(!msg.is_empty(), "{c}: a 404 says what is missing");
        }
        for c in &self.writes {
            let text = p.read_as(&p.alpha, c).await;
            assert_shows(c, &text);
        }
        run_pending_jobs(&p.app.state).await.unwrap();
        let after = bravo_view(p, &self.bravo_reads).await;
        for ((c, b), a) in self.bravo_reads.iter().zip(&before).zip(&after) {
            assert_eq!(a, b, "{c}: alpha's requests changed what bravo sees");
        }
    }
}

async fn bravo_view(p: &Pair, reads: &[Call]) -> Vec<String> {
    let mut out = Vec::with_capacity(reads.len());
    for c in reads {
        let text = p.read_as(&p.bravo, c).await;
        assert_shows(c, &text);
        out.push(text);
    }
    out
}

fn assert_shows(c: &Call, text: &str) {
    for s in &c.shows {
        assert!(text.contains(s.as_str()), "{c} shows `{s}`: {text}");
    }
}

/// An answer as comparable text: JSON compact with sorted keys, a ZIP as its entries' text in
/// order, anything else (a capture) as hex.
pub async fn canonical(res: Response) -> String {
    let kind = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let bytes = res.bytes().await.unwrap();
    if kind.starts_with("application/json") {
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        return v.to_string();
    }
    if kind == "application/zip" {
        let mut zip = zip::ZipArchive::new(Cursor::new(&bytes[..])).expect("a valid ZIP");
        let mut out = String::new();
        for i in 0..zip.len() {
            let mut entry = zip.by_index(i).unwrap();
            out.push_str(&format!("== {} ==\n", entry.name()));
            entry.read_to_string(&mut out).unwrap();
        }
        return out;
    }
    hex(&bytes)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
