//! The map layer of event intelligence: vector tiles decoded back, country summaries checked
//! against the event list, the GeoJSON layer, on real feeds and pushed events, across tenants.

use std::collections::BTreeMap;

use picket_corpus::import::{self, Format};
use picket_corpus::map::mercator::{code, quantise, Tile};
use picket_corpus::{store_records, Scope};
use prost::Message;
use reqwest::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, ETAG, IF_NONE_MATCH};
use reqwest::Method;
use serde_json::{json, Value};
use tinymvt::geometry::GeometryDecoder;
use tinymvt::tag::{TagsDecoder, Value as Tag};

use crate::events_corpus::fixture;
use crate::helpers::{events_error, json, spawn, spawn_with, TestApp};

/// Imports a real feed sample into the global corpus; the number of events stored.
async fn load(app: &TestApp, format: Format, file: &str) -> usize {
    let bytes = std::fs::read(fixture(file)).unwrap();
    let records = import::parse(format, &bytes).unwrap();
    let r = store_records(&app.state.db, Scope::Global, records)
        .await
        .unwrap();
    r.new + r.merged + r.updated
}

async fn push(app: &TestApp, key: &str, events: Value) {
    let req = app.req_as(key, Method::POST, "/v1/events").json(&events);
    let body = json(req.send().await.unwrap(), 202).await;
    assert_eq!(body["rejected"], json!([]), "{body}");
}

fn event(title: &str, lng: f64, lat: f64, extra: Value) -> Value {
    let mut v = json!({"title": title, "event_category": "civil_unrest", "severity": "medium",
        "event_date": "2026-04-18", "coordinates": [lng, lat], "source_id": title});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

async fn get_as(app: &TestApp, key: &str, path: &str) -> reqwest::Response {
    app.req_as(key, Method::GET, path).send().await.unwrap()
}

async fn total(app: &TestApp, key: &str, query: &str) -> u64 {
    let body = json(
        get_as(app, key, &format!("/v1/events?limit=1&{query}")).await,
        200,
    )
    .await;
    body["total"].as_u64().unwrap()
}

/// A decoded feature: pixel position and properties.
#[derive(Debug, Clone)]
struct Feature {
    at: [i32; 2],
    tags: BTreeMap<String, Tag>,
}

impl Feature {
    fn text(&self, key: &str) -> &str {
        match &self.tags[key] {
            Tag::String(s) => s,
            other => panic!("{key} is {other:?}"),
        }
    }
    fn count(&self) -> u64 {
        match self.tags.get("point_count") {
            Some(Tag::Uint(n)) => *n,
            None => 1,
            other => panic!("point_count is {other:?}"),
        }
    }
}

/// The `events` layer of a tile, checked to be a valid MVT v2 layer of points.
fn decode(bytes: &[u8]) -> Vec<Feature> {
    let tile = tinymvt::vector_tile::Tile::decode(bytes).expect("a protobuf vector tile");
    assert_eq!(tile.layers.len(), 1);
    let layer = &tile.layers[0];
    assert_eq!(
        (layer.name.as_str(), layer.version, layer.extent),
        ("events", 2, Some(4096))
    );
    let tags = TagsDecoder::new(&layer.keys, &layer.values);
    layer
        .features
        .iter()
        .map(|f| {
            assert_eq!(f.r#type, Some(1), "points only");
            let points = GeometryDecoder::new(&f.geometry).decode_points().unwrap();
            assert_eq!(points.len(), 1);
            let at = points[0];
            assert!(
                (0..4096).contains(&at[0]) && (0..4096).contains(&at[1]),
                "{at:?}"
            );
            Feature {
                at,
                tags: tags
                    .decode(&f.tags)
                    .unwrap()
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            }
        })
        .collect()
}

/// The features of a tile, none for a 204.
async fn tile(app: &TestApp, key: &str, z: u32, x: u32, y: u32, query: &str) -> Vec<Feature> {
    let res = get_as(
        app,
        key,
        &format!("/v1/events/tiles/{z}/{x}/{y}.mvt?{query}"),
    )
    .await;
    match res.status().as_u16() {
        204 => Vec::new(),
        200 => {
            assert_eq!(
                res.headers()["content-type"],
                "application/vnd.mapbox-vector-tile"
            );
            let bytes = res.bytes().await.unwrap();
            assert!(
                bytes.len() < 500 * 1024,
                "{z}/{x}/{y}: {} bytes",
                bytes.len()
            );
            decode(&bytes)
        }
        other => panic!("{z}/{x}/{y}: status {other}: {}", res.text().await.unwrap()),
    }
}

fn events_in(features: &[Feature]) -> u64 {
    features.iter().map(Feature::count).sum()
}

/// The tile of a point at a zoom.
fn tile_at(z: u8, lng: f64, lat: f64) -> Tile {
    let (x, y) = quantise(lng, lat);
    let shift = 32 - u32::from(z);
    let (tx, ty) = if z == 0 {
        (0, 0)
    } else {
        (x >> shift, y >> shift)
    };
    let t = Tile::new(z.into(), tx, ty).unwrap();
    let (first, last) = t.codes();
    assert!((first..=last).contains(&code(x, y)));
    t
}

#[tokio::test]
async fn map_tiles_draw_real_feeds_as_clusters_that_split_and_points_that_carry_their_event() {
    let app = spawn().await;
    let usgs = load(&app, Format::Usgs, "usgs-earthquakes-week.geojson").await;
    load(&app, Format::Gdacs, "gdacs-rss-24h.xml").await;
    load(&app, Format::Firms, "firms-modis-aus-2019.csv").await;
    let key = app.key.clone();
    let everything = total(&app, &key, "").await;
    assert!(
        everything as usize > usgs,
        "three feeds loaded: {everything}"
    );

    // The world tile holds every event, clustered: the counts add up.
    let world = tile(&app, &key, 0, 0, 0, "").await;
    assert!(
        world.iter().all(|f| f.tags.contains_key("point_count")),
        "clusters at zoom 0"
    );
    assert!(world.len() > 10 && world.len() <= 4096, "{}", world.len());
    assert_eq!(events_in(&world), everything);
    for f in &world {
        let sev = f.text("severity_max");
        assert!(["critical", "high", "medium", "low", "negligible"].contains(&sev));
    }
    // Clusters split as the map zooms in: the four tiles of zoom 1 hold the same events, in
    // more features.
    let mut split = 0;
    let mut features = 0;
    for (x, y) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
        let t = tile(&app, &key, 1, x, y, "").await;
        split += events_in(&t);
        features += t.len();
    }
    assert_eq!(split, everything);
    assert!(
        features > world.len(),
        "{features} features at zoom 1, {} at 0",
        world.len()
    );

    // Filters apply to tiles: the earthquakes alone.
    let quakes = total(&app, &key, "event_category=geological").await;
    assert!(quakes > 0);
    let world_quakes = tile(&app, &key, 0, 0, 0, "event_category=geological").await;
    assert_eq!(events_in(&world_quakes), quakes);

    // Zoomed in on one earthquake of the USGS sample: the event itself, with its properties.
    let list = json(
        get_as(&app, &key, "/v1/events?keyword=Hualian&limit=1").await,
        200,
    )
    .await;
    let quake = &list["events"][0];
    let (lng, lat) = (
        quake["coordinates"][0].as_f64().unwrap(),
        quake["coordinates"][1].as_f64().unwrap(),
    );
    let t = tile_at(14, lng, lat);
    let near = tile(&app, &key, 14, t.x, t.y, "").await;
    let f = near
        .iter()
        .find(|f| f.tags.get("id") == Some(&Tag::String(quake["id"].as_str().unwrap().into())))
        .unwrap_or_else(|| panic!("{quake} in {near:?}"));
    assert_eq!(f.text("title"), quake["title"].as_str().unwrap());
    assert_eq!(f.text("event_category"), "geological");
    assert_eq!(f.text("severity"), quake["severity"].as_str().unwrap());
    assert_eq!(f.text("event_date"), quake["event_date"].as_str().unwrap());
    assert!(!f.tags.contains_key("point_count"));
    // Its pixel is where the coordinates fall in the tile.
    let (west, south, east, north) = t.bounds();
    let x = ((lng - west) / (east - west) * 4096.0) as i32;
    assert!((f.at[0] - x).abs() <= 1, "{:?} vs x {x}", f.at);
    assert!(lat > south && lat < north);
}

#[tokio::test]
async fn map_tiles_are_right_at_the_antimeridian_and_the_poles_and_empty_tiles_answer_204() {
    let app = spawn().await;
    let acme = app.tenant_key("acme", None).await;
    push(
        &app,
        &acme,
        json!([
            event("East of the date line", 179.99, 0.5, json!({})),
            event("West of the date line", -179.99, 0.5, json!({})),
            event("Research station near the pole", 20.0, 89.5, json!({})),
            event("Station in the far south", -60.0, -88.0, json!({})),
        ]),
    )
    .await;
    // Zoom 3: the last column ends at the antimeridian, the first begins there.
    let east = tile(&app, &acme, 3, 7, 3, "").await;
    assert_eq!(east.len(), 1);
    assert_eq!(east[0].text("title"), "East of the date line");
    assert_eq!(east[0].at[0], 4095, "on the east edge: {:?}", east[0].at);
    let west = tile(&app, &acme, 3, 0, 3, "").await;
    assert_eq!(west.len(), 1);
    assert_eq!(west[0].text("title"), "West of the date line");
    assert_eq!(west[0].at[0], 0, "on the west edge: {:?}", west[0].at);
    // Beyond Web Mercator's 85.05°, events sit on the top and bottom edges of the polar rows.
    let north = tile(&app, &acme, 3, 4, 0, "").await;
    assert_eq!(north.len(), 1);
    assert_eq!(north[0].at[1], 0);
    let south = tile(&app, &acme, 3, 2, 7, "").await;
    assert_eq!(south.len(), 1);
    assert_eq!(south[0].at[1], 4095);
    // An empty ocean tile: 204, no body.
    let res = get_as(&app, &acme, "/v1/events/tiles/10/10/500.mvt").await;
    assert_eq!(res.status(), 204);
    assert!(res.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn map_tiles_cache_compress_and_check_their_coordinates() {
    let app = spawn().await;
    let acme = app.tenant_key("acme", None).await;
    let many: Vec<Value> = (0..2000)
        .map(|i| {
            event(
                &format!("Protest number {i} in Lagos with a long descriptive title"),
                3.3 + f64::from(i % 50) * 0.002,
                6.4 + f64::from(i / 50) * 0.002,
                json!({}),
            )
        })
        .collect();
    push(&app, &acme, Value::Array(many)).await;
    let t = tile_at(8, 3.35, 6.44);
    let path = format!("/v1/events/tiles/8/{}/{}.mvt", t.x, t.y);
    let res = get_as(&app, &acme, &path).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()[CACHE_CONTROL], "private, max-age=60");
    let etag = res.headers()[ETAG].to_str().unwrap().to_string();
    let plain = res.bytes().await.unwrap();
    // 2,000 events in one tile: more than a tile draws one by one, so clusters.
    let features = decode(&plain);
    assert_eq!(events_in(&features), 2000);
    assert!(features.iter().all(|f| f.tags.contains_key("point_count")));
    // Gzip when accepted: smaller, the same tile once inflated.
    let res = app
        .req_as(&acme, Method::GET, &path)
        .header(ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()[CONTENT_ENCODING], "gzip");
    let gz = res.bytes().await.unwrap();
    assert!(gz.len() < plain.len());
    let mut inflated = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut inflated).unwrap();
    assert_eq!(inflated, plain);
    // The ETag answers 304 until the tile changes.
    let again = app
        .req_as(&acme, Method::GET, &path)
        .header(IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    push(
        &app,
        &acme,
        json!([event("One more protest", 3.36, 6.45, json!({}))]),
    )
    .await;
    let changed = app
        .req_as(&acme, Method::GET, &path)
        .header(IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(
        changed.status(),
        200,
        "a new event changes the tile at once"
    );
    assert_eq!(events_in(&decode(&changed.bytes().await.unwrap())), 2001);

    for (path, needle) in [
        ("/v1/events/tiles/23/0/0.mvt", "zoom 23"),
        ("/v1/events/tiles/2/4/0.mvt", "outside zoom 2"),
        ("/v1/events/tiles/2/0/-1.mvt", "`y`"),
        ("/v1/events/tiles/a/0/0.mvt", "`z`"),
        ("/v1/events/tiles/0/0/0.mvt?bbox=1,2", "bbox"),
        ("/v1/events/tiles/0/0/0.mvt?limit=5", "limit"),
    ] {
        events_error(
            get_as(&app, &acme, path).await,
            400,
            "invalid_request",
            needle,
        )
        .await;
    }
    events_error(
        get_as(&app, &acme, "/v1/events/tiles/0/0/0.png").await,
        404,
        "not_found",
        "mvt",
    )
    .await;
}

#[tokio::test]
async fn map_layers_show_a_tenant_its_own_pushed_events_and_never_another_tenants() {
    let app = spawn().await;
    load(&app, Format::Usgs, "usgs-earthquakes-week.geojson").await;
    let acme = app.tenant_key("acme", None).await;
    let globex = app.tenant_key("globex", None).await;
    push(
        &app,
        &acme,
        json!([event(
            "Acme picket",
            3.39,
            6.45,
            json!({"location_country": "NG"})
        )]),
    )
    .await;
    push(
        &app,
        &globex,
        json!([event(
            "Globex picket",
            3.391,
            6.451,
            json!({"location_country": "NG", "severity": "critical"})
        )]),
    )
    .await;

    let t = tile_at(12, 3.39, 6.45);
    let titles = |fs: Vec<Feature>| {
        fs.iter()
            .map(|f| f.text("title").to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        titles(tile(&app, &acme, 12, t.x, t.y, "").await),
        ["Acme picket"]
    );
    assert_eq!(
        titles(tile(&app, &globex, 12, t.x, t.y, "").await),
        ["Globex picket"]
    );
    let admin = app.key.clone();
    assert!(tile(&app, &admin, 12, t.x, t.y, "").await.is_empty());

    let ng = |body: &Value| {
        body["countries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["country"] == "NG")
            .cloned()
    };
    let mine = json(get_as(&app, &acme, "/v1/events/countries").await, 200).await;
    assert_eq!(ng(&mine).unwrap()["by_severity"]["critical"], 0, "{mine}");
    assert_eq!(ng(&mine).unwrap()["total"], 1);
    let theirs = json(get_as(&app, &admin, "/v1/events/countries").await, 200).await;
    assert!(ng(&theirs).is_none(), "{theirs}");

    let geo = json(
        get_as(&app, &acme, "/v1/events/geojson?location_country=NG").await,
        200,
    )
    .await;
    assert_eq!(geo["total"], 1);
    assert_eq!(geo["features"][0]["properties"]["title"], "Acme picket");
    // Answers are kept until the events change: a new event shows in the next answer of each.
    let heat = json(get_as(&app, &acme, "/v1/events/heatmap-points").await, 200).await;
    let all = json(get_as(&app, &acme, "/v1/events/geojson").await, 200).await;
    push(
        &app,
        &acme,
        json!([event(
            "Acme Nairobi office",
            36.82,
            -1.29,
            json!({"location_country": "KE"})
        )]),
    )
    .await;
    let mine = json(get_as(&app, &acme, "/v1/events/countries").await, 200).await;
    let ke = mine["countries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["country"] == "KE")
        .cloned();
    assert_eq!(ke.unwrap()["total"], 1, "{mine}");
    let heat2 = json(get_as(&app, &acme, "/v1/events/heatmap-points").await, 200).await;
    assert_eq!(
        heat2["total"].as_u64().unwrap(),
        heat["total"].as_u64().unwrap() + 1
    );
    let all2 = json(get_as(&app, &acme, "/v1/events/geojson").await, 200).await;
    assert_eq!(
        all2["total"].as_u64().unwrap(),
        all["total"].as_u64().unwrap() + 1
    );
    let at = json(
        get_as(&app, &globex, "/v1/events/at-point?lat=6.451&lng=3.391").await,
        200,
    )
    .await;
    assert_eq!(at["events"][0]["title"], "Globex picket");
    assert_eq!(at["total"], 1);
}

#[tokio::test]
async fn map_countries_agree_with_the_event_list_under_every_filter() {
    // Two list requests per country and filter: more than the default rate limit allows.
    let app = spawn_with(|c| c.rate_limit.per_second = 0, None).await;
    load(&app, Format::Usgs, "usgs-earthquakes-week.geojson").await;
    load(&app, Format::Gdacs, "gdacs-rss-24h.xml").await;
    let key = app.key.clone();
    for query in [
        "",
        "event_category=geological",
        "date_from=2026-04-16&date_to=2026-04-17",
        "bbox=100,-50,180,50",
        "keyword=km",
    ] {
        let body = json(
            get_as(&app, &key, &format!("/v1/events/countries?{query}")).await,
            200,
        )
        .await;
        let countries = body["countries"].as_array().unwrap();
        assert_eq!(body["total"], countries.len());
        let mut previous = u64::MAX;
        for c in countries {
            let code = c["country"].as_str().unwrap();
            assert_eq!(code.len(), 2, "{c}");
            let n = c["total"].as_u64().unwrap();
            assert!(n <= previous, "most events first");
            previous = n;
            assert_eq!(
                n,
                total(&app, &key, &format!("{query}&location_country={code}")).await,
                "{code} with {query}"
            );
            let sum = |k: &str| {
                c[k].as_object()
                    .unwrap()
                    .values()
                    .map(|v| v.as_u64().unwrap())
                    .sum::<u64>()
            };
            assert_eq!((sum("by_severity"), sum("by_category")), (n, n), "{c}");
            assert_eq!(c["by_severity"].as_object().unwrap().len(), 5);
            let latest = json(
                get_as(
                    &app,
                    &key,
                    &format!("/v1/events?limit=1&{query}&location_country={code}"),
                )
                .await,
                200,
            )
            .await;
            assert_eq!(
                c["latest_event_date"], latest["events"][0]["event_date"],
                "{code}"
            );
        }
        if query.is_empty() {
            assert!(countries.len() > 5, "{body}");
        }
    }
    for (q, needle) in [
        ("bbox=1,2,3", "bbox"),
        ("date_to=2026-13-01", "date_to"),
        ("limit=1", "limit"),
    ] {
        events_error(
            get_as(&app, &key, &format!("/v1/events/countries?{q}")).await,
            400,
            "invalid_request",
            needle,
        )
        .await;
    }
}

#[tokio::test]
async fn map_geojson_is_a_feature_collection_cut_at_10000_most_severe_first() {
    let app = spawn().await;
    let acme = app.tenant_key("acme", None).await;
    let severities = ["low", "medium", "high", "critical", "negligible"];
    let events: Vec<Value> = (0..10_050)
        .map(|i| {
            event(
                &format!("Event {i}"),
                -70.0 + f64::from(i % 100) * 0.01,
                -33.0 + f64::from(i / 100) * 0.01,
                json!({"severity": severities[i as usize % 5],
                       "event_date": format!("2026-04-{:02}", 1 + i % 28)}),
            )
        })
        .collect();
    for chunk in events.chunks(5000) {
        push(&app, &acme, Value::Array(chunk.to_vec())).await;
    }
    let res = get_as(&app, &acme, "/v1/events/geojson").await;
    assert_eq!(res.headers()["content-type"], "application/geo+json");
    let geo = json(res, 200).await;
    assert_eq!(geo["type"], "FeatureCollection");
    assert_eq!(
        (
            geo["total"].clone(),
            geo["truncated"].clone(),
            geo["limit"].clone()
        ),
        (json!(10_050), json!(true), json!(10_000))
    );
    let features = geo["features"].as_array().unwrap();
    assert_eq!(features.len(), 10_000);
    // The 50 left out are the least severe (negligible), the oldest of them.
    let rank = |s: &str| {
        ["negligible", "low", "medium", "high", "critical"]
            .iter()
            .position(|x| *x == s)
            .unwrap()
    };
    let keys: Vec<(usize, String)> = features
        .iter()
        .map(|f| {
            (
                rank(f["properties"]["severity"].as_str().unwrap()),
                f["properties"]["event_date"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        keys.windows(2)
            .all(|w| w[0].0 > w[1].0 || (w[0].0 == w[1].0 && w[0].1 >= w[1].1)),
        "most severe, then newest"
    );
    let f = &features[0];
    assert_eq!(f["type"], "Feature");
    assert_eq!(f["geometry"]["type"], "Point");
    assert_eq!(f["id"], f["properties"]["id"]);
    assert_eq!(f["properties"]["severity"], "critical");
    let one = json(
        get_as(&app, &acme, "/v1/events/geojson?keyword=event%2010049").await,
        200,
    )
    .await;
    assert_eq!(
        (one["total"].clone(), one["truncated"].clone()),
        (json!(1), json!(false))
    );
    let i = 10_049;
    assert_eq!(
        one["features"][0]["geometry"]["coordinates"],
        json!([
            -70.0 + f64::from(i % 100) * 0.01,
            -33.0 + f64::from(i / 100) * 0.01
        ])
    );
    let none = app.tenant_key("acme", Some(&[])).await;
    for path in [
        "/v1/events/geojson",
        "/v1/events/countries",
        "/v1/events/tiles/0/0/0.mvt",
    ] {
        events_error(
            get_as(&app, &none, path).await,
            403,
            "forbidden",
            "perm_events_r",
        )
        .await;
    }
}
