//! Bad input on the services endpoints: 400 naming the field, 409 for duplicates, 404 for
//! unknown ids, and a failed request changes nothing.

use super::*;

#[tokio::test]
async fn bad_input_names_the_field_and_changes_nothing() {
    let app = spawn().await;
    let s = create(&app, json!({"service_ip": "10.0.0.1", "service_port": 80, "proto": "tcp", "first_seen": "2026-06-01 09:15", "last_seen": "2026-06-02"})).await;
    assert_eq!(s["first_seen"], "2026-06-01 09:15:00");
    let before = list(&app).await;

    for (body, needle) in [
        (
            json!({"service_ip": "10.0.0.256", "service_port": 80, "proto": "tcp"}),
            "service_ip",
        ),
        (
            json!({"service_ip": "10.0.0.0/24", "service_port": 80, "proto": "tcp"}),
            "service_ip",
        ),
        (
            json!({"service_ip": "10.0.0.2", "service_port": 70000, "proto": "tcp"}),
            "service_port",
        ),
        (
            json!({"service_ip": "10.0.0.2", "service_port": -1, "proto": "tcp"}),
            "service_port",
        ),
        (
            json!({"service_ip": "10.0.0.2", "service_port": "80", "proto": "tcp"}),
            "service_port",
        ),
        (
            json!({"service_ip": "10.0.0.2", "service_port": 80.5, "proto": "tcp"}),
            "service_port",
        ),
        (
            json!({"service_ip": 10, "service_port": 80, "proto": "tcp"}),
            "service_ip",
        ),
        (
            json!({"service_ip": "10.0.0.2", "service_port": 80, "proto": "icmp"}),
            "proto",
        ),
        (
            json!({"service_ip": "10.0.0.2", "service_port": 80}),
            "proto",
        ),
        (json!({"service_port": 80, "proto": "tcp"}), "service_ip"),
        (
            json!({"service_ip": "10.0.0.2", "service_port": 80, "proto": "tcp", "name": "x"}),
            "name",
        ),
        (
            json!({"service_ip": "10.0.0.2", "service_port": 80, "proto": "tcp", "first_seen": "2026-06-01T10:00:00"}),
            "first_seen",
        ),
        (
            json!({"service_ip": "10.0.0.2", "service_port": 80, "proto": "tcp", "first_seen": "2026-06-02", "last_seen": "2026-06-01"}),
            "first_seen",
        ),
    ] {
        let res = app.send_json(Method::POST, "/api/v1/services", &body).await;
        network_error(res, 400, needle).await;
    }
    let res = send_raw(&app, Method::POST, "/api/v1/services", r#"{"service_ip": "#).await;
    network_error(res, 400, "malformed").await;

    // Duplicates are 409, whatever the spelling of the IP or the case of the protocol.
    for ip in ["10.0.0.1", " 10.0.0.1 "] {
        let res = app
            .send_json(
                Method::POST,
                "/api/v1/services",
                &json!({"service_ip": ip, "service_port": 80, "proto": "TCP"}),
            )
            .await;
        network_error(res, 409, "already exists").await;
    }
    let v6 = create(
        &app,
        json!({"service_ip": "2001:db8::1", "service_port": 80, "proto": "tcp"}),
    )
    .await;
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/services",
            &json!({"service_ip": "2001:DB8:0::0001", "service_port": 80, "proto": "tcp"}),
        )
        .await;
    network_error(res, 409, "already exists").await;

    // Updates: validated whole; a clash is 409; unknown id 404; bad id 400.
    let path = format!("/api/v1/services/{}", s["id"]);
    for (body, status, needle) in [
        (json!({}), 400, "at least one"),
        (json!({"service_port": 0}), 400, "service_port"),
        (json!({"service_ip": "nope"}), 400, "service_ip"),
        (json!({"proto": "sctp"}), 400, "proto"),
        (json!({"first_seen": "2026-06-03"}), 400, "first_seen"),
        (json!({"last_seen": "2026-05-01"}), 400, "first_seen"),
        (json!({"authorized": true}), 400, "authorized"),
        (json!({"service_ip": "2001:db8::1"}), 409, "already exists"),
    ] {
        for method in [Method::PATCH, Method::PUT] {
            let res = app.send_json(method, &path, &body).await;
            network_error(res, status, needle).await;
        }
    }
    let res = app
        .send_json(
            Method::PATCH,
            "/api/v1/services/999999",
            &json!({"service_port": 81}),
        )
        .await;
    network_error(res, 404, "999999").await;
    for p in ["/api/v1/services/abc", "/api/v1/services/1.5"] {
        let res = app
            .send_json(Method::PATCH, p, &json!({"service_port": 81}))
            .await;
        network_error(res, 400, "path").await;
        let res = send(&app, Method::DELETE, p).await;
        network_error(res, 400, "path").await;
    }
    let res = send(&app, Method::DELETE, "/api/v1/services/999999").await;
    network_error(res, 404, "999999").await;

    let after = search(&app, json!({"filters": {"ip": ["10.0.0.1"]}})).await;
    assert_eq!(after, before, "failed requests changed nothing");
    assert_eq!(ports(&list(&app).await).len(), 2);
    let _ = v6;
}

#[tokio::test]
async fn bad_list_and_search_requests_name_the_problem() {
    let app = spawn().await;
    for (q, needle) in [
        ("service_ip=10.0.0.1", "service_ip"),
        ("ip=10.0.0.1", "ip"),
        ("proto=tcp", "proto"),
        ("service_port=80", "service_port"),
        ("port=80", "port"),
        ("authorized=true", "authorized"),
        ("page=1", "page"),
        ("page_size=10", "page_size"),
        ("colour=red", "colour"),
    ] {
        network_error(app.get(&format!("/api/v1/services?{q}")).await, 400, needle).await;
    }
    for (body, needle) in [
        (r#"{"page":1}"#, "page"),
        (r#"{"page_size":10}"#, "page_size"),
        (r#"{"filters":{"name":["x"]}}"#, "name"),
        (r#"{"filters":{"service_port":["443"]}}"#, "service_port"),
        (r#"{"filters":{"authorized":["yes"]}}"#, "authorized"),
        (
            r#"{"filters":{"ip":["10.0.0.1"],"service_ip":["10.0.0.2"]}}"#,
            "service_ip",
        ),
        (
            r#"{"sort":{"field":"port","direction":"asc"}}"#,
            "direction",
        ),
        (r#"{"filters":"#, "malformed"),
    ] {
        let res = send_raw(&app, Method::POST, "/api/v1/services/search", body).await;
        network_error(res, 400, needle).await;
    }
    network_error(
        app.get("/api/v1/services/exclude-rules?x=1").await,
        400,
        "x",
    )
    .await;
    // Known paths with another method are 405, in the same error shape.
    for (method, p) in [
        (Method::GET, "/api/v1/services/1"),
        (Method::GET, "/api/v1/services/1/authorize"),
        (Method::GET, "/api/v1/services/authorize"),
        (Method::PATCH, "/api/v1/services/allowed"),
        (Method::GET, "/api/v1/services/search"),
    ] {
        network_error(send(&app, method, p).await, 405, "").await;
    }
}
