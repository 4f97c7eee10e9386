//! Allowed services and exclude rules: authorizing by id and by fields, listing, renaming and
//! deleting entries, exclude rules, and network deletes taking their allowed entries along.

use super::*;

#[tokio::test]
async fn authorizing_is_idempotent_and_exclude_rules_still_win() {
    let app = spawn().await;
    let s = create(
        &app,
        json!({"service_ip": "10.0.0.7", "service_port": 3389, "proto": "tcp"}),
    )
    .await;
    let path = format!("/api/v1/services/{}/authorize", s["id"]);
    let rule = exclude(&app, json!({"ip": "10.0.0.0/24"})).await;
    assert_eq!(rule["port_from"], Value::Null);
    assert_eq!(rule["proto"], Value::Null);

    // Honestly false while the exclude rule matches; the entry is added all the same.
    let first = json(send(&app, Method::PATCH, &path).await, 200).await;
    assert_eq!(first["service"]["authorized"], false);
    assert_eq!(allowed(&app).await, ["10.0.0.7 3389/tcp"]);
    // Again, with an empty JSON object as the body: same answer, still one entry.
    let res = app
        .req(Method::PATCH, &path)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(res, 200).await, first);
    assert_eq!(allowed(&app).await, ["10.0.0.7 3389/tcp"]);

    let res = send(
        &app,
        Method::DELETE,
        &format!("/api/v1/services/exclude-rules/{}", rule["id"]),
    )
    .await;
    assert_eq!(
        json(res, 200).await,
        json!({"deleted": true, "exclude_rule": rule})
    );
    let res = send(&app, Method::PATCH, &path).await;
    assert_eq!(json(res, 200).await["service"]["authorized"], true);

    let res = app
        .req(Method::PATCH, &path)
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    network_error(res, 400, "name").await;
    let res = send(&app, Method::PATCH, "/api/v1/services/999999/authorize").await;
    network_error(res, 404, "999999").await;
    let res = send(&app, Method::PATCH, "/api/v1/services/abc/authorize").await;
    network_error(res, 400, "path").await;
    assert_eq!(
        allowed(&app).await,
        ["10.0.0.7 3389/tcp"],
        "failed requests changed nothing"
    );
}

#[tokio::test]
async fn allowed_entries_by_fields_list_rename_and_delete() {
    let app = spawn().await;
    // No discovered row is needed.
    let a = authorize(&app, json!({"service_ip": "10.0.0.25", "service_port": 443, "proto": "TCP", "name": "Web Server"})).await;
    let id = a["id"].as_i64().unwrap();
    assert_eq!(a["service_ip"], "10.0.0.25");
    assert_eq!(a["proto"], "tcp");
    assert_eq!(a["name"], "Web Server");
    assert_eq!(a.as_object().unwrap().len(), 6, "{a}");
    assert!(a["created_at"].as_str().unwrap().len() == 19, "{a}");

    // Idempotent: the same entry; omitting the name keeps it; giving one renames.
    let again = authorize(
        &app,
        json!({"service_ip": "10.0.0.25/32", "service_port": 443, "proto": "tcp"}),
    )
    .await;
    assert_eq!(again, a);
    let renamed = authorize(
        &app,
        json!({"service_ip": "10.0.0.25", "service_port": 443, "proto": "tcp", "name": "Portal"}),
    )
    .await;
    assert_eq!(renamed["id"], id);
    assert_eq!(renamed["name"], "Portal");
    let b = authorize(
        &app,
        json!({"service_ip": "2001:DB8::/32", "service_port": 53, "proto": "udp"}),
    )
    .await;
    assert_eq!(b["service_ip"], "2001:db8::/32");
    assert_eq!(b["name"], "");
    let list = json(app.get("/api/v1/services/allowed").await, 200).await;
    assert_eq!(list, json!({"allowed_services": [renamed, b]}));

    for (body, needle) in [
        (
            json!({"service_ip": "10.0.0.300", "service_port": 80, "proto": "tcp"}),
            "service_ip",
        ),
        (
            json!({"service_ip": "10.0.0.1/24", "service_port": 80, "proto": "tcp"}),
            "host bits",
        ),
        (
            json!({"service_ip": "10.0.0.1", "service_port": 0, "proto": "tcp"}),
            "service_port",
        ),
        (
            json!({"service_ip": "10.0.0.1", "service_port": "80", "proto": "tcp"}),
            "service_port",
        ),
        (
            json!({"service_ip": "10.0.0.1", "service_port": 80, "proto": "gre"}),
            "proto",
        ),
        (
            json!({"service_ip": "10.0.0.1", "proto": "tcp"}),
            "service_port",
        ),
        (
            json!({"service_ip": "10.0.0.1", "service_port": 80, "proto": "tcp", "network": 1}),
            "network",
        ),
    ] {
        let res = app
            .send_json(Method::POST, "/api/v1/services/authorize", &body)
            .await;
        network_error(res, 400, needle).await;
    }
    network_error(
        app.get("/api/v1/services/allowed?page=1").await,
        400,
        "page",
    )
    .await;

    let path = format!("/api/v1/services/allowed/{id}");
    let res = send(&app, Method::DELETE, &path).await;
    assert_eq!(
        json(res, 200).await,
        json!({"deleted": true, "allowed_service": renamed})
    );
    let res = send(&app, Method::DELETE, &path).await;
    network_error(res, 404, "no allowed service").await;
    let res = send(&app, Method::DELETE, "/api/v1/services/allowed/x").await;
    network_error(res, 400, "path").await;
    assert_eq!(allowed(&app).await, ["2001:db8::/32 53/udp"]);
}

#[tokio::test]
async fn exclude_rules_list_validate_and_delete() {
    let app = spawn().await;
    let a = exclude(&app, json!({"ip": "10.0.0.0/24", "port_from": 8000, "port_to": 8080, "proto": "TCP", "comment": "dev servers"})).await;
    assert_eq!(
        a,
        json!({"id": a["id"], "ip": "10.0.0.0/24", "port_from": 8000, "port_to": 8080,
            "proto": "tcp", "comment": "dev servers", "created_at": a["created_at"]})
    );
    let b = exclude(
        &app,
        json!({"ip": "10.0.1.9/32", "port_from": 22, "proto": null}),
    )
    .await;
    assert_eq!(
        (&b["ip"], &b["port_from"], &b["port_to"], &b["proto"]),
        (&json!("10.0.1.9"), &json!(22), &json!(22), &Value::Null)
    );
    assert_eq!(b["comment"], "");

    for (body, needle) in [
        (json!({"ip": "10.0.0.1/8"}), "host bits"),
        (json!({"ip": "*"}), "ip"),
        (json!({"port_from": 1}), "ip"),
        (
            json!({"ip": "10.0.0.1", "port_from": 80, "port_to": 79}),
            "port_from",
        ),
        (json!({"ip": "10.0.0.1", "port_to": 65536}), "port_to"),
        (json!({"ip": "10.0.0.1", "port_from": "80"}), "port_from"),
        (json!({"ip": "10.0.0.1", "proto": "any"}), "proto"),
        (json!({"ip": "10.0.0.1", "ports": [1, 2]}), "ports"),
    ] {
        let res = app
            .send_json(Method::POST, "/api/v1/services/exclude-rules", &body)
            .await;
        network_error(res, 400, needle).await;
    }
    let res = app.get("/api/v1/services/exclude-rules").await;
    assert_eq!(
        json(res, 200).await,
        json!({"exclude_rules": [a, b]}),
        "failed requests changed nothing"
    );
    let res = send(
        &app,
        Method::DELETE,
        "/api/v1/services/exclude-rules/999999",
    )
    .await;
    network_error(res, 404, "no exclude rule").await;
}

#[tokio::test]
async fn deleting_a_network_deletes_its_allowed_entries() {
    let app = spawn().await;
    let campus = create_network(&app, json!({"name": "Campus", "cidr": "10.0.0.0/16"})).await;
    let office = create_network(&app, json!({"name": "Office", "cidr": "10.0.1.0/24"})).await;
    let s = create(
        &app,
        json!({"service_ip": "10.0.1.25", "service_port": 443, "proto": "tcp"}),
    )
    .await;
    let res = send(
        &app,
        Method::PATCH,
        &format!("/api/v1/services/{}/authorize", s["id"]),
    )
    .await;
    assert_eq!(json(res, 200).await["service"]["authorized"], true);
    for body in [
        json!({"service_ip": "10.0.1.0/25", "service_port": 22, "proto": "tcp"}),
        json!({"service_ip": "10.0.2.7", "service_port": 22, "proto": "tcp"}),
        json!({"service_ip": "10.0.0.0/8", "service_port": 22, "proto": "tcp"}),
        json!({"service_ip": "*", "service_port": 53, "proto": "udp"}),
        json!({"service_ip": "192.168.1.1", "service_port": 80, "proto": "tcp"}),
    ] {
        authorize(&app, body).await;
    }

    // Office is the most specific network of the first two entries.
    let res = send(
        &app,
        Method::DELETE,
        &format!("/api/v1/networks/{}", office["id"]),
    )
    .await;
    json(res, 200).await;
    assert_eq!(
        allowed(&app).await,
        [
            "10.0.2.7 22/tcp",
            "10.0.0.0/8 22/tcp",
            "* 53/udp",
            "192.168.1.1 80/tcp"
        ]
    );
    assert_eq!(group(&list(&app).await, "10.0.1.25")["authorized"], false);

    // A failed network delete (unknown id) removes nothing.
    let res = send(&app, Method::DELETE, "/api/v1/networks/999999").await;
    network_error(res, 404, "no network").await;
    let res = send(
        &app,
        Method::DELETE,
        &format!("/api/v1/networks/{}", campus["id"]),
    )
    .await;
    json(res, 200).await;
    assert_eq!(
        allowed(&app).await,
        ["10.0.0.0/8 22/tcp", "* 53/udp", "192.168.1.1 80/tcp"]
    );
}
