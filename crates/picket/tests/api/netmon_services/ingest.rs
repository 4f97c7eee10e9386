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

/// The batch path sensor ingest takes: one call creates the new services (and only those are
/// answered, with the policy applied), widens the known ones, and keeps tenants apart.
#[tokio::test]
async fn observe_services_batches_create_widen_and_apply_the_policy() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    let sighting = |ip: &str, port: u16, proto: Proto, first: &str, last: &str| ServiceSighting {
        ip: ip.parse().unwrap(),
        port: NonZeroU16::new(port).unwrap(),
        proto,
        first: utc(first),
        last: utc(last),
    };
    let batch = |tenant: TenantId, sightings: Vec<ServiceSighting>| {
        let db = app.state.db.clone();
        async move {
            let mut tx = db.begin().await.unwrap();
            let created = observe_services(&mut tx, tenant, &sightings).await.unwrap();
            tx.commit().await.unwrap();
            created
        }
    };
    authorize(
        &app,
        json!({"service_ip": "10.0.0.40", "service_port": 22, "proto": "tcp"}),
    )
    .await;
    let known = seen(&app, t, "10.0.0.30", 631, Proto::Tcp, "2026-06-02 12:00:00").await;
    let created = batch(
        t,
        vec![
            sighting(
                "10.0.0.30",
                631,
                Proto::Tcp,
                "2026-06-01 09:00:00",
                "2026-06-03 09:00:00",
            ),
            sighting(
                "10.0.0.40",
                22,
                Proto::Tcp,
                "2026-06-02 10:00:00",
                "2026-06-02 11:00:00",
            ),
            sighting(
                "10.0.0.40",
                53,
                Proto::Udp,
                "2026-06-02 10:30:00",
                "2026-06-02 10:30:00",
            ),
        ],
    )
    .await;
    let answered: Vec<(usize, bool)> = created.iter().map(|c| (c.index, c.authorized)).collect();
    assert_eq!(answered, [(1, true), (2, false)], "{created:?}");
    assert!(created.iter().all(|c| c.id != known.id));

    let l = list(&app).await;
    let printer = &group(&l, "10.0.0.30")["tcp_ports"][0];
    assert_eq!(printer["first_seen"], "2026-06-01 09:00:00");
    assert_eq!(printer["last_seen"], "2026-06-03 09:00:00");
    let dns = &group(&l, "10.0.0.40")["udp_ports"][0];
    assert_eq!(dns["port"], 53, "{l}");

    // A second, older batch only widens: nothing is created again.
    let again = batch(
        t,
        vec![sighting(
            "10.0.0.40",
            53,
            Proto::Udp,
            "2026-06-01 00:00:00",
            "2026-06-01 00:00:00",
        )],
    )
    .await;
    assert!(again.is_empty(), "{again:?}");
    let l = list(&app).await;
    assert_eq!(
        group(&l, "10.0.0.40")["udp_ports"][0]["first_seen"],
        "2026-06-01 00:00:00"
    );

    // Another tenant's sighting of the same service is its own.
    app.tenant_key("other", None).await;
    let ot = tenant(&app, "other").await;
    let theirs = batch(
        ot,
        vec![sighting(
            "10.0.0.40",
            53,
            Proto::Udp,
            "2026-06-05 00:00:00",
            "2026-06-05 00:00:00",
        )],
    )
    .await;
    assert_eq!(theirs.len(), 1);
    assert!(!theirs[0].authorized);
}
