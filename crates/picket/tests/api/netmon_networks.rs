//! `/api/v1/networks`: the seed's curl examples as written, validation, conflicts, sorting,
//! matching, tenancy and permissions.

use picket_core::identity::Perm;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{json, network_error, spawn, TestApp};

/// Sends a raw JSON body exactly as a curl `-d` would, with the seed's headers.
pub async fn send_raw(app: &TestApp, method: Method, path: &str, body: &str) -> reqwest::Response {
    app.req(method, path)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

pub async fn create(app: &TestApp, body: Value) -> Value {
    json(
        app.send_json(Method::POST, "/api/v1/networks", &body).await,
        201,
    )
    .await["network"]
        .clone()
}

fn names(list: &Value) -> Vec<String> {
    list["networks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn seed_examples_run_as_written() {
    let app = spawn().await;
    let res = send_raw(
        &app,
        Method::POST,
        "/api/v1/networks",
        r#"{"name":"Office LAN","cidr":"10.0.0.0/24","gateway_ip":"10.0.0.1","gateway_mac":"AA:BB:CC:DD:EE:FF","alert":20}"#,
    )
    .await;
    let created = json(res, 201).await;
    let id = created["network"]["id"].as_i64().unwrap();
    assert_eq!(
        created,
        json!({"network": {"id": id, "name": "Office LAN", "cidr": "10.0.0.0/24",
            "gateway_ip": "10.0.0.1", "gateway_mac": "AA:BB:CC:DD:EE:FF", "alert": 20}})
    );

    let list = json(app.get("/api/v1/networks?sort=name&order=asc").await, 200).await;
    assert_eq!(list, json!({"networks": [created["network"]]}));

    let res = send_raw(
        &app,
        Method::POST,
        "/api/v1/networks/search",
        r#"{"filters":{"name":["Office%"],"alert":[20]},"sort":{"field":"cidr","order":"asc"}}"#,
    )
    .await;
    assert_eq!(json(res, 200).await, list);

    let path = format!("/api/v1/networks/{id}");
    let res = send_raw(&app, Method::PATCH, &path, r#"{"alert":30}"#).await;
    let patched = json(res, 200).await;
    assert_eq!(patched["network"]["alert"], 30);
    assert_eq!(patched["network"]["name"], "Office LAN");

    let res = app.req(Method::DELETE, &path).send().await.unwrap();
    assert_eq!(
        json(res, 200).await,
        json!({"deleted": true, "network": patched["network"]})
    );
    let list = json(app.get("/api/v1/networks").await, 200).await;
    assert_eq!(list, json!({"networks": []}));
    let res = app.req(Method::DELETE, &path).send().await.unwrap();
    network_error(res, 404, "no network").await;
}

#[tokio::test]
async fn create_validates_and_normalises() {
    let app = spawn().await;
    let n = create(
        &app,
        json!({"name": "V6", "cidr": "2001:0DB8::/32", "gateway_mac": "aa-bb-cc-dd-ee-0f"}),
    )
    .await;
    assert_eq!(n["cidr"], "2001:db8::/32");
    // Searches find canonical values from other spellings.
    let body = json!({"filters": {"cidr": ["2001:DB8:0::/32"]}});
    let res = app
        .send_json(Method::POST, "/api/v1/networks/search", &body)
        .await;
    assert_eq!(names(&json(res, 200).await), ["V6"]);
    assert_eq!(n["gateway_mac"], "AA:BB:CC:DD:EE:0F");
    assert_eq!(n["gateway_ip"], "");
    assert_eq!(n["alert"], 0);

    for (body, needle) in [
        (json!({"cidr": "10.0.0.0/24"}), "name"),
        (json!({"name": "", "cidr": "10.0.0.0/24"}), "name"),
        (json!({"name": "a"}), "cidr"),
        (json!({"name": "a", "cidr": "10.0.0.1/24"}), "host bits"),
        (
            json!({"name": "a", "cidr": "10.0.0.0/24", "gateway_ip": "10.0.0.300"}),
            "gateway_ip",
        ),
        (
            json!({"name": "a", "cidr": "10.0.0.0/24", "gateway_mac": "xx"}),
            "gateway_mac",
        ),
        (
            json!({"name": "a", "cidr": "10.0.0.0/24", "alert": 15}),
            "alert",
        ),
        (
            json!({"name": "a", "cidr": "10.0.0.0/24", "alert": "high"}),
            "alert",
        ),
        (
            json!({"name": "a", "cidr": "10.0.0.0/24", "vlan": 3}),
            "vlan",
        ),
    ] {
        let res = app.send_json(Method::POST, "/api/v1/networks", &body).await;
        network_error(res, 400, needle).await;
    }
    let list = json(app.get("/api/v1/networks").await, 200).await;
    assert_eq!(names(&list), vec!["V6"], "failed requests changed nothing");
}

#[tokio::test]
async fn duplicates_conflict_and_updates_validate_the_result() {
    let app = spawn().await;
    let a = create(&app, json!({"name": "A", "cidr": "10.0.0.0/24"})).await;
    let b = create(
        &app,
        json!({"name": "B", "cidr": "10.0.1.0/24", "gateway_ip": "10.0.1.1"}),
    )
    .await;
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/networks",
            &json!({"name": "A", "cidr": "10.9.0.0/24"}),
        )
        .await;
    network_error(res, 409, "name").await;
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/networks",
            &json!({"name": "C", "cidr": "10.0.0.0/24"}),
        )
        .await;
    network_error(res, 409, "cidr").await;

    let path_b = format!("/api/v1/networks/{}", b["id"]);
    let res = app
        .send_json(Method::PUT, &path_b, &json!({"name": "A"}))
        .await;
    network_error(res, 409, "name").await;
    let res = app
        .send_json(Method::PATCH, &path_b, &json!({"cidr": "10.0.0.0/24"}))
        .await;
    network_error(res, 409, "cidr").await;
    let res = app.send_json(Method::PATCH, &path_b, &json!({})).await;
    network_error(res, 400, "at least one").await;
    let res = app
        .send_json(Method::PATCH, &path_b, &json!({"name": " "}))
        .await;
    network_error(res, 400, "name").await;
    let res = app
        .send_json(Method::PATCH, &path_b, &json!({"gateway_ip": "nope"}))
        .await;
    network_error(res, 400, "gateway_ip").await;

    // Keeping its own name is not a clash; clearing the gateway is allowed.
    let res = app
        .send_json(
            Method::PUT,
            &path_b,
            &json!({"name": "B", "gateway_ip": "", "alert": 10}),
        )
        .await;
    let b2 = json(res, 200).await["network"].clone();
    assert_eq!(b2["gateway_ip"], "");
    assert_eq!(b2["alert"], 10);
    assert_eq!(b2["cidr"], "10.0.1.0/24");

    for path in ["/api/v1/networks/abc", "/api/v1/networks/1.5"] {
        let res = app
            .send_json(Method::PATCH, path, &json!({"alert": 10}))
            .await;
        network_error(res, 400, "path").await;
    }
    let res = app
        .send_json(
            Method::PATCH,
            "/api/v1/networks/999999",
            &json!({"alert": 10}),
        )
        .await;
    network_error(res, 404, "999999").await;
    let list = json(app.get("/api/v1/networks?sort=id").await, 200).await;
    assert_eq!(list["networks"][0], a);
    assert_eq!(list["networks"][1], b2);
}

#[tokio::test]
async fn sorting_is_whitelisted_numeric_for_ips_and_tiebroken_by_id() {
    let app = spawn().await;
    create(
        &app,
        json!({"name": "b", "cidr": "10.0.0.0/24", "gateway_ip": "10.0.0.10", "alert": 20}),
    )
    .await;
    create(
        &app,
        json!({"name": "a", "cidr": "9.0.0.0/8", "gateway_ip": "9.0.0.9", "alert": 20}),
    )
    .await;
    create(
        &app,
        json!({"name": "c", "cidr": "2001:db8::/32", "gateway_ip": "2001:db8::1", "alert": 10}),
    )
    .await;
    create(
        &app,
        json!({"name": "d", "cidr": "10.0.0.0/16", "gateway_ip": "10.0.0.2", "alert": 30}),
    )
    .await;

    let get = |q: &'static str| {
        let app = &app;
        async move { names(&json(app.get(&format!("/api/v1/networks{q}")).await, 200).await) }
    };
    assert_eq!(get("").await, ["a", "b", "c", "d"]);
    assert_eq!(
        get("?sort=bogus&order=sideways").await,
        ["a", "b", "c", "d"]
    );
    assert_eq!(get("?sort=NAME&order=DESC").await, ["d", "c", "b", "a"]);
    // Numeric, not text: 9.0.0.0 < 10.0.0.0; /16 before /24 on the same address; IPv6 last.
    assert_eq!(get("?sort=cidr").await, ["a", "d", "b", "c"]);
    assert_eq!(
        get("?sort=gateway_ip&order=asc").await,
        ["a", "d", "b", "c"]
    );
    assert_eq!(
        get("?sort=gateway_ip&order=desc").await,
        ["c", "b", "d", "a"]
    );
    // Equal alerts fall back to id (creation order), in the requested direction.
    assert_eq!(get("?sort=alert").await, ["c", "b", "a", "d"]);
    assert_eq!(get("?sort=alert&order=desc").await, ["d", "a", "b", "c"]);

    let res = app
        .send_json(
            Method::POST,
            "/api/v1/networks/search",
            &json!({"sort": {"field": "id", "order": "desc"}}),
        )
        .await;
    assert_eq!(names(&json(res, 200).await), ["d", "c", "a", "b"]);
}

#[tokio::test]
async fn search_matches_case_insensitively_with_wildcards_and_escapes() {
    let app = spawn().await;
    create(&app, json!({"name": "Office LAN", "cidr": "10.0.0.0/24", "gateway_mac": "AA:BB:CC:DD:EE:FF", "alert": 20})).await;
    create(
        &app,
        json!({"name": "Office_WAN", "cidr": "10.0.1.0/24", "alert": 30}),
    )
    .await;
    create(
        &app,
        json!({"name": "100% guest", "cidr": "10.0.2.0/24", "gateway_ip": "10.0.2.1"}),
    )
    .await;
    create(&app, json!({"name": "1000 guest", "cidr": "10.0.3.0/24"})).await;
    create(&app, json!({"name": "ÜBERSEE", "cidr": "10.0.4.0/24"})).await;

    let search = |body: Value| {
        let app = &app;
        async move {
            let res = app
                .send_json(Method::POST, "/api/v1/networks/search", &body)
                .await;
            names(&json(res, 200).await)
        }
    };
    assert_eq!(
        search(json!({"filters": {"name": ["office lan"]}})).await,
        ["Office LAN"]
    );
    assert_eq!(
        search(json!({"filters": {"name": "OFFICE%"}})).await,
        ["Office LAN", "Office_WAN"]
    );
    assert_eq!(
        search(json!({"filters": {"name": ["office\\_%"]}})).await,
        ["Office_WAN"]
    );
    assert_eq!(
        search(json!({"filters": {"name": ["100\\%%"]}})).await,
        ["100% guest"]
    );
    let mut both = search(json!({"filters": {"name": ["100%"]}})).await;
    both.sort();
    assert_eq!(both, ["100% guest", "1000 guest"]);
    assert!(
        search(json!({"filters": {"name": ["office"]}}))
            .await
            .is_empty(),
        "no wildcard means equality"
    );
    // Several values OR, several keys AND; scalars count as one-element arrays.
    assert_eq!(
        search(json!({"filters": {"name": ["Office%", "1000 guest"], "alert": [20, 0]}})).await,
        ["1000 guest", "Office LAN"]
    );
    assert_eq!(
        search(json!({"filters": {"alert": 30}})).await,
        ["Office_WAN"]
    );
    assert_eq!(
        search(json!({"filters": {"cidr": ["10.0.2.%"]}})).await,
        ["100% guest"]
    );
    assert_eq!(
        search(json!({"filters": {"gateway_ip": ["10.0.2.1"]}})).await,
        ["100% guest"]
    );
    for mac in [
        "aa-bb-cc-dd-ee-ff",
        "aabbccddeeff",
        "AA:BB:cc:DD:ee:FF",
        "aa:bb%",
    ] {
        assert_eq!(
            search(json!({"filters": {"gateway_mac": [mac]}})).await,
            ["Office LAN"],
            "{mac}"
        );
    }
    // An empty body is {}.
    let res = app
        .req(Method::POST, "/api/v1/networks/search")
        .send()
        .await
        .unwrap();
    assert_eq!(names(&json(res, 200).await).len(), 5);
}

#[tokio::test]
async fn bad_list_and_search_requests_name_the_problem() {
    let app = spawn().await;
    for (q, needle) in [
        ("name=Office", "name"),
        ("alert=20", "alert"),
        ("gateway_mac=x", "gateway_mac"),
        ("page=1", "page"),
        ("colour=red", "colour"),
    ] {
        network_error(app.get(&format!("/api/v1/networks?{q}")).await, 400, needle).await;
    }
    for (body, needle) in [
        (r#"{"page":1}"#, "page"),
        (r#"{"filters":{"vlan":[1]}}"#, "vlan"),
        (r#"{"filters":{"alert":["high"]}}"#, "alert"),
        (
            r#"{"sort":{"field":"name","direction":"asc"}}"#,
            "direction",
        ),
        (r#"{"filters":"#, "malformed"),
    ] {
        let res = send_raw(&app, Method::POST, "/api/v1/networks/search", body).await;
        network_error(res, 400, needle).await;
    }
}

#[tokio::test]
async fn tenants_are_isolated_and_writes_need_the_write_permission() {
    let app = spawn().await;
    let mine = create(&app, json!({"name": "Office LAN", "cidr": "10.0.0.0/24"})).await;
    let path = format!("/api/v1/networks/{}", mine["id"]);

    let other = app.tenant_key("other", None).await;
    let res = app
        .req_as(&other, Method::GET, "/api/v1/networks")
        .send()
        .await
        .unwrap();
    assert_eq!(json(res, 200).await, json!({"networks": []}));
    let res = app
        .req_as(&other, Method::PATCH, &path)
        .json(&json!({"alert": 10}))
        .send()
        .await
        .unwrap();
    network_error(res, 404, "no network").await;
    let res = app
        .req_as(&other, Method::DELETE, &path)
        .send()
        .await
        .unwrap();
    network_error(res, 404, "no network").await;
    // The same name and CIDR are free in another tenant.
    let res = app
        .req_as(&other, Method::POST, "/api/v1/networks")
        .json(&json!({"name": "Office LAN", "cidr": "10.0.0.0/24"}))
        .send()
        .await
        .unwrap();
    json(res, 201).await;

    let reader = app.tenant_key("default", Some(&[Perm::DevicesR])).await;
    let res = app
        .req_as(&reader, Method::GET, "/api/v1/networks")
        .send()
        .await
        .unwrap();
    network_error(res, 403, "perm_networks_r").await;
    for (method, p) in [
        (Method::POST, "/api/v1/networks".to_string()),
        (Method::PATCH, path.clone()),
        (Method::PUT, path.clone()),
        (Method::DELETE, path.clone()),
    ] {
        let res = app
            .req_as(&reader, method, &p)
            .json(&json!({"alert": 10}))
            .send()
            .await
            .unwrap();
        network_error(res, 403, "perm_networks_w").await;
    }
    let res = app.get("/api/v1/networks").await;
    assert_eq!(json(res, 200).await["networks"][0], mine, "nothing changed");
}
