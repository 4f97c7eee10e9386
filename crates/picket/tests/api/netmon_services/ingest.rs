//! `observe_service`, as sensor ingest calls it, and times in the configured timezone.

use super::*;

async fn seen(
    app: &TestApp,
    t: TenantId,
    ip: &str,
    port: u16,
    proto: Proto,
    at: &str,
) -> ObservedService {
    let mut tx = app.state.db.begin().await.unwrap();
    let port = NonZeroU16::new(port).unwrap();
    let o = observe_service(&mut tx, t, ip.parse().unwrap(), port, proto, utc(at))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    o
}

#[tokio::test]
async fn observe_service_upserts_widens_and_applies_the_policy() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    observe(
        &app,
        t,
        "AA:BB:CC:DD:EE:02",
        "10.0.0.30",
        "printer",
        utc("2026-06-01 08:00:00"),
    )
    .await;

    let o = seen(&app, t, "10.0.0.30", 631, Proto::Tcp, "2026-06-02 12:00:00").await;
    assert!(o.created && !o.authorized, "{o:?}");
    let again = seen(&app, t, "10.0.0.30", 631, Proto::Tcp, "2026-06-01 12:00:00").await;
    assert!(!again.created);
    assert_eq!(again.id, o.id);
    seen(&app, t, "10.0.0.30", 631, Proto::Tcp, "2026-06-03 12:00:00").await;
    seen(&app, t, "10.0.0.30", 631, Proto::Tcp, "2026-06-02 13:00:00").await;
    let l = list(&app).await;
    let port = &group(&l, "10.0.0.30")["tcp_ports"][0];
    assert_eq!(port["first_seen"], "2026-06-01 12:00:00");
    assert_eq!(port["last_seen"], "2026-06-03 12:00:00");
    assert_eq!(group(&l, "10.0.0.30")["name"], "printer");

    // The same port over UDP is another service.
    let udp = seen(&app, t, "10.0.0.30", 631, Proto::Udp, "2026-06-02 12:00:00").await;
    assert!(udp.created && udp.id != o.id);

    authorize(
        &app,
        json!({"service_ip": "10.0.0.0/24", "service_port": 631, "proto": "tcp"}),
    )
    .await;
    assert!(
        seen(&app, t, "10.0.0.30", 631, Proto::Tcp, "2026-06-04 00:00:00")
            .await
            .authorized
    );
    exclude(
        &app,
        json!({"ip": "10.0.0.30", "port_from": 600, "port_to": 700, "proto": "tcp"}),
    )
    .await;
    assert!(
        !seen(&app, t, "10.0.0.30", 631, Proto::Tcp, "2026-06-04 00:00:00")
            .await
            .authorized
    );
    exclude(
        &app,
        json!({"ip": "10.0.0.0/24", "port_from": 1, "port_to": 10}),
    )
    .await;
    let o = seen(&app, t, "10.0.0.31", 631, Proto::Tcp, "2026-06-04 00:00:00").await;
    assert!(
        o.created && o.authorized,
        "rules for other ports or addresses do not match"
    );

    // Another tenant's sighting is its own row.
    let other = app.tenant_key("other", None).await;
    let ot = tenant(&app, "other").await;
    assert!(
        seen(
            &app,
            ot,
            "10.0.0.30",
            631,
            Proto::Tcp,
            "2026-06-04 00:00:00"
        )
        .await
        .created
    );
    let res = app
        .req_as(&other, Method::GET, "/api/v1/services")
        .send()
        .await
        .unwrap();
    assert_eq!(ports(&json(res, 200).await), ["10.0.0.30 631/tcp false"]);
}

#[tokio::test]
async fn times_are_read_and_written_in_the_configured_timezone() {
    let app = spawn_with(|c| c.timezone = "Europe/Berlin".into(), None).await;
    let t = tenant(&app, "default").await;
    let s = create(&app, json!({"service_ip": "10.0.0.1", "service_port": 80, "proto": "tcp", "first_seen": "2026-06-01 09:15:00", "last_seen": "2026-06-01 10:00:00"})).await;
    assert_eq!(s["first_seen"], "2026-06-01 09:15:00");
    // 10:00 UTC is 12:00 in Berlin.
    seen(&app, t, "10.0.0.1", 80, Proto::Tcp, "2026-06-01 10:00:00").await;
    let l = list(&app).await;
    assert_eq!(group(&l, "10.0.0.1")["last_seen"], "2026-06-01 12:00:00");
    assert_eq!(group(&l, "10.0.0.1")["first_seen"], "2026-06-01 09:15:00");
}
