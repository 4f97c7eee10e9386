//! Threat relevance: does a threat's severity agree with what the feeds themselves say?
//!
//! Labelled cases from the real samples ([`cases`]) are imported through the real importers
//! with their dates shifted to now. Each case gets assets at known distances from its event —
//! one tenant per case and distance, so every threat is judged against the one asset it names —
//! the engine runs to completion, and each tenant's threats are read over HTTP. The scenario
//! prints a confusion matrix of Picket's severity against the expected band for assets near the
//! event, the share within one band, and the targets: GDACS Orange/Red sudden-onset
//! events near an asset high or critical, Green ones rarely critical, severity never rising
//! with distance nor falling with magnitude, and no threat for an asset outside the radius.

mod cases;
mod report;

use std::time::Instant;

use picket_core::identity::store as identity;
use picket_corpus::model::Severity;
use picket_corpus::{store_records, Scope};
use serde_json::{json, Value};

use crate::Server;
use cases::Case;

/// Where an asset goes: a distance from the case's event, due east.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Place {
    /// The case's labelled distance.
    Near,
    /// A step of the distance sweep.
    At(f64),
    /// Beyond the event's radius.
    Outside(f64),
}

impl Place {
    fn km(self, near: f64) -> f64 {
        match self {
            Place::Near => near,
            Place::At(km) | Place::Outside(km) => km,
        }
    }
}

/// The sweep's distances past the near one, in km.
const SWEEP_KM: [f64; 6] = [10.0, 25.0, 50.0, 100.0, 200.0, 400.0];
/// Where magnitude variants are compared.
const VARIANT_KM: f64 = 25.0;

/// One asset of one case, and what the engine made of it.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub case: usize,
    pub place: Place,
    pub km: f64,
    /// The threat's severity and risk score; `None`: no threat.
    pub got: Option<(Severity, f64)>,
}

/// The point `km` from `(lat, lng)` along `bearing` degrees, on the engine's mean sphere.
fn destination(lat: f64, lng: f64, bearing: f64, km: f64) -> (f64, f64) {
    let d = km / 6371.0088;
    let (p1, l1, b) = (lat.to_radians(), lng.to_radians(), bearing.to_radians());
    let p2 = (p1.sin() * d.cos() + p1.cos() * d.sin() * b.cos()).asin();
    let l2 = l1 + (b.sin() * d.sin() * p1.cos()).atan2(d.cos() - p1.sin() * p2.sin());
    (
        p2.to_degrees(),
        (l2.to_degrees() + 540.0).rem_euclid(360.0) - 180.0,
    )
}

/// How far from its coordinates the engine's documented rules let the case's event reach, in
/// km: its default radius (grown with magnitude or wind) plus its uncertainty or its area's
/// reach (`None`: country matching).
fn radius_km(c: &Case) -> Option<f64> {
    use picket_watch::engine::{area, rules, Hazard, SourceKind};
    let kind = SourceKind::of(&c.importer, &c.importer);
    let hazard = Hazard::of(kind, c.category, &c.event_type, &c.attributes);
    let widen = match &c.attributes.area {
        Some(a) => area::extent_km(a, c.lat, c.lng),
        None => c.attributes.precision.unwrap_or_default().widening_km(),
    };
    Some(rules::default_radius_km(c.category, hazard)? + widen)
}

fn places(c: &Case) -> Vec<Place> {
    if c.variant {
        return vec![Place::At(VARIANT_KM)];
    }
    let mut p = vec![Place::Near];
    p.extend(
        SWEEP_KM
            .iter()
            .filter(|km| **km > c.near_km)
            .map(|km| Place::At(*km)),
    );
    if let Some(r) = radius_km(c) {
        p.push(Place::Outside(r + 5.0));
    }
    p
}

pub async fn run(server: &Server) -> anyhow::Result<()> {
    let db = &server.state.db;
    let client = reqwest::Client::new();
    let at = chrono::Utc::now() - chrono::Duration::hours(1);
    let corpus = cases::build(at)?;
    let cases = &corpus.cases;

    let t = Instant::now();
    let mut imported = 0;
    for (_, records) in corpus.files.iter().cloned() {
        let report = store_records(db, Scope::Global, records).await?;
        imported += report.new + report.updated + report.merged;
    }

    // One tenant per case and place, each with its one asset.
    let mut tenants = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        for place in places(c) {
            let n = tenants.len();
            let tenant = identity::create_tenant(db, &format!("relevance-{n:05}")).await?;
            let user = identity::create_user(db, tenant.id, "bench", true, &[]).await?;
            let (_, key) = identity::create_api_key(db, &user, None).await?;
            let km = place.km(c.near_km);
            let (lat, lng) = destination(c.lat, c.lng, 90.0, km);
            let mut attributes = json!({"lat": lat, "lng": lng});
            // Cyber events match by country.
            if let Some(country) = picket_corpus::country::country_at(lat, lng) {
                attributes["country"] = json!(country);
            }
            let body = json!({"assets": [{"asset_id": "site", "type": "facility", "name": format!("Site {n}"),
                "attributes": attributes}]});
            let res = client
                .put(format!("{}/v1/assets", server.base))
                .bearer_auth(&key)
                .json(&body)
                .send()
                .await?;
            anyhow::ensure!(res.status() == 200, "assets: {}", res.text().await?);
            if let Some(event) = &c.push {
                let res = client
                    .post(format!("{}/v1/events", server.base))
                    .bearer_auth(&key)
                    .json(&json!([event]))
                    .send()
                    .await?;
                anyhow::ensure!(res.status() == 202, "push: {}", res.text().await?);
            }
            tenants.push((i, place, km, key));
        }
    }
    let setup = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let pass = picket_watch::evaluation::evaluate_changed(&server.state).await?;
    let engine = t.elapsed().as_secs_f64();

    /// A page of `GET /v1/threats`.
    #[derive(serde::Deserialize)]
    struct Page {
        threats: Vec<Value>,
    }
    let mut outcomes = Vec::with_capacity(tenants.len());
    for (case, place, km, key) in &tenants {
        let page: Page = client
            .get(format!("{}/v1/threats?limit=5000", server.base))
            .bearer_auth(key)
            .send()
            .await?
            .json()
            .await?;
        let c = &cases[*case];
        let got = page
            .threats
            .iter()
            .find(|t| {
                t["title"] == c.title.as_str()
                    && (t["coordinates"]["lat"].as_f64().unwrap_or(f64::NAN) - c.lat).abs() < 1e-6
                    && (t["coordinates"]["lng"].as_f64().unwrap_or(f64::NAN) - c.lng).abs() < 1e-6
            })
            .map(|t| {
                (
                    Severity::parse(t["severity"].as_str().unwrap_or(""))
                        .unwrap_or(Severity::Negligible),
                    t["risk_score"].as_f64().unwrap_or(0.0),
                )
            });
        outcomes.push(Outcome {
            case: *case,
            place: *place,
            km: *km,
            got,
        });
    }

    println!(
        "\n{} cases ({imported} events imported, {} tenants with one asset each) set up in {setup:.1} s; \
         engine: {} events in {engine:.2} s, {} threats",
        cases.len(),
        tenants.len(),
        pass.examined,
        pass.created
    );
    report::print(cases, &outcomes);
    Ok(())
}
