//! `delivery`: notices queued with `picket_notify::enqueue` (one webhook delivery each, in
//! transactions of 1,000) and sent by the delivery job's `process_due` to a local HTTP sink that
//! counts what arrives. Reports queueing and sending throughput in deliveries per second.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use picket_core::identity::store;
use picket_core::time::now_ms;
use picket_notify::{Direct, EventType, Notice, Summary};
use serde_json::json;

use crate::Server;

pub async fn run(server: &Server, deliveries: usize) -> anyhow::Result<()> {
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let sink = axum::Router::new().fallback(move || {
        let c = counter.clone();
        async move {
            c.fetch_add(1, Ordering::Relaxed);
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sink_addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, sink).await });

    let res = reqwest::Client::new()
        .post(format!("{}/v1/webhooks", server.base))
        .bearer_auth(&server.key)
        .json(&json!({"url": format!("http://{sink_addr}/hook"),
            "secret": "bench-secret-0123456789"}))
        .send()
        .await?;
    anyhow::ensure!(res.status() == 201, "webhook create: {}", res.status());
    let tenant = store::tenant_by_name(&server.state.db, "default")
        .await?
        .ok_or_else(|| anyhow::anyhow!("no default tenant"))?
        .id;

    let t0 = Instant::now();
    let mut queued = 0;
    while queued < deliveries {
        let n = (deliveries - queued).min(1000);
        let notices: Vec<Notice> = (0..n)
            .map(|i| {
                let id = uuid::Uuid::now_v7().to_string();
                Notice {
                    tenant,
                    event_type: EventType::AlertCreated,
                    subject: id.clone(),
                    level: None,
                    payload: json!({"id": id, "title": format!("Bench alert {}", queued + i),
                        "severity": "high", "state": "new"}),
                    summary: Summary {
                        title: format!("Bench alert {}", queued + i),
                        severity: "high".into(),
                        ..Summary::default()
                    },
                    direct: Direct::default(),
                }
            })
            .collect();
        let mut tx = server.state.db.begin().await?;
        picket_notify::enqueue(&mut tx, &notices, now_ms()).await?;
        tx.commit().await?;
        queued += n;
    }
    let enqueue_secs = t0.elapsed().as_secs_f64();

    let t1 = Instant::now();
    let mut attempts = 0;
    while received.load(Ordering::Relaxed) < deliveries {
        let n = picket_notify::process_due(&server.state, now_ms()).await?;
        anyhow::ensure!(n > 0 || attempts >= deliveries, "nothing left to send");
        attempts += n;
    }
    let send_secs = t1.elapsed().as_secs_f64();
    anyhow::ensure!(
        attempts == deliveries,
        "{attempts} attempts for {deliveries} deliveries"
    );

    println!();
    println!("| Step | Deliveries | Seconds | Deliveries/s |");
    println!("|---|---|---|---|");
    println!(
        "| queue (`enqueue`, 1,000 notices per transaction) | {deliveries} | {enqueue_secs:.2} | {:.0} |",
        deliveries as f64 / enqueue_secs
    );
    println!(
        "| send signed webhooks to a local sink (`process_due`) | {deliveries} | {send_secs:.2} | {:.0} |",
        deliveries as f64 / send_secs
    );
    println!("peak private memory {:.0} MB", crate::peak_private_mb());
    Ok(())
}
