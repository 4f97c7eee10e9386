//! Sensor ingest: what a tenant's agent posts lands in that tenant only. Both tenants' sensors
//! post the same kinds of lines (bravo's carry `bravo` in their names), and alpha's sensor
//! also names bravo's flow in a capture upload; alpha's reads of every dataset ingest fills
//! show none of bravo's rows, and bravo's reads do not change.

use picket_core::identity::{store, TenantId};
use reqwest::Method;
use serde_json::json;

use super::{get, post, Case, Pair, Surface};

const PCAP: &[u8] = include_bytes!("../../fixtures/alerts/zeek-nmap-vsn.pcap");

/// EVE and Zeek lines of one tenant: an alert on flow `flow`, DNS and HTTP naming `word`, a
/// DHCP lease for `word-laptop` (a unicast MAC), and a connection answered by an internal
/// service.
fn lines(word: &str, flow: i64, mac: &str, net: &str) -> (String, String) {
    let eve = [
        format!(r#"{{"timestamp":"2024-03-01T10:00:00Z","flow_id":{flow},"event_type":"alert","src_ip":"{net}.10","src_port":51000,"dest_ip":"198.51.100.7","dest_port":80,"proto":"TCP","alert":{{"signature":"{word} signature","signature_id":1,"category":"{word} category","severity":1}}}}"#),
        format!(r#"{{"timestamp":"2024-03-01T10:00:01Z","event_type":"dns","src_ip":"{net}.10","dest_ip":"{net}.1","proto":"UDP","dns":{{"type":"query","rrname":"{word}.example","rrtype":"A"}}}}"#),
        format!(r#"{{"timestamp":"2024-03-01T10:00:02Z","event_type":"http","src_ip":"{net}.10","dest_ip":"198.51.100.7","dest_port":80,"proto":"TCP","http":{{"hostname":"{word}.example","url":"/{word}","http_user_agent":"{word}-agent"}}}}"#),
        format!(r#"{{"timestamp":"2024-03-01T10:00:03Z","event_type":"dhcp","dhcp":{{"client_mac":"{mac}","assigned_ip":"{net}.10","hostname":"{word}-laptop"}}}}"#),
    ]
    .join("\n");
    let zeek = format!(
        r#"{{"_path":"conn","ts":1709287200.5,"id.orig_h":"{net}.10","id.orig_p":50000,"id.resp_h":"{net}.11","id.resp_p":8443,"proto":"tcp","conn_state":"SF","orig_bytes":1,"resp_bytes":2,"orig_pkts":3,"resp_pkts":3}}"#
    );
    (eve, zeek)
}

async fn ingest(p: &Pair, tenant: TenantId, name: &str, eve: &str, zeek: &str) -> String {
    let (_, token) = store::create_agent(&p.app.state.db, tenant, name)
        .await
        .unwrap();
    for (path, body) in [("eve", eve), ("zeek", zeek)] {
        let res = p
            .app
            .req_as(&token, Method::POST, &format!("/api/agent/v1/{path}"))
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }
    token
}

#[tokio::test]
async fn ingested_rows_stay_in_the_agents_tenant() {
    let p = Pair::new().await;
    let (eve, zeek) = lines("alpha", 101, "AA:AA:AA:00:00:10", "10.1.0");
    let alpha_token = ingest(&p, p.alpha.tenant, "alpha-sensor", &eve, &zeek).await;
    let (eve, zeek) = lines("bravo", 202, "BA:BB:BB:00:00:10", "10.2.0");
    ingest(&p, p.bravo.tenant, "bravo-sensor", &eve, &zeek).await;
    // Alpha's sensor sends a capture for bravo's flow: it waits for an alpha alert of that
    // flow, and bravo's alert keeps none.
    let res = p
        .app
        .req_as(&alpha_token, Method::POST, "/api/agent/v1/pcap?flow_id=202")
        .body(PCAP.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let export = json!({"datasets": ["network_alerts", "dns_metadata", "http_metadata",
        "tcp_metadata", "dhcp_metadata"]});
    Case {
        surface: Surface::Network,
        reads: vec![
            get("/api/v1/networkalerts").shows(&["alpha signature", r#""pcap_id":null"#]),
            get("/api/v1/devices").shows(&["alpha-laptop", r#""total_rows":1"#]),
            get("/api/v1/services").shows(&["10.1.0.11"]),
            post("/api/v1/data/export", export.clone()).shows(&["alpha.example", "alpha-agent"]),
        ],
        foreign: vec![],
        writes: vec![],
        bravo_reads: vec![
            get("/api/v1/networkalerts").shows(&["bravo signature", r#""pcap_id":null"#]),
            get("/api/v1/devices").shows(&["bravo-laptop"]),
            get("/api/v1/services").shows(&["10.2.0.11"]),
            post("/api/v1/data/export", export).shows(&["bravo.example"]),
        ],
    }
    .check(&p)
    .await;
}
