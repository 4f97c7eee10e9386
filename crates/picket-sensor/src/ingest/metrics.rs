//! Ingest metrics in `/metrics`: lines by source and outcome, batch latency, each agent's
//! spool depth (what it reports in `X-Picket-Spool-Depth`), and alerts stored by type.

use std::sync::Once;
use std::time::Duration;

use picket_core::AppState;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LineLabels {
    source: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AgentLabels {
    agent: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AlertLabels {
    /// `network` or `server`.
    surface: &'static str,
    /// The alert's `type` (`ids`, `new_device`, `bruteforce`, …).
    alert_type: String,
}

type Latency = Family<SourceLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms … ~16 s
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// The ingest metrics, kept in the app state and registered with the server's registry.
pub struct IngestMetrics {
    registered: Once,
    lines: Family<LineLabels, Counter>,
    batches: Family<LineLabels, Counter>,
    latency: Latency,
    spool: Family<AgentLabels, Gauge>,
    alerts: Family<AlertLabels, Counter>,
}

impl Default for IngestMetrics {
    fn default() -> Self {
        IngestMetrics {
            registered: Once::new(),
            lines: Family::default(),
            batches: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            spool: Family::default(),
            alerts: Family::default(),
        }
    }
}

impl IngestMetrics {
    /// The state's ingest metrics, registered on first use.
    pub fn of(state: &AppState) -> &IngestMetrics {
        let m: &IngestMetrics = state.ext::<std::sync::Arc<IngestMetrics>>();
        m.registered.call_once(|| {
            let r = &state.metrics;
            r.register(
                "ingest_lines",
                "Sensor lines by source (eve, zeek, syslog) and outcome (accepted, skipped, rejected)",
                m.lines.clone(),
            );
            r.register(
                "ingest_batches",
                "Sensor batches by source and outcome (stored, duplicate, failed)",
                m.batches.clone(),
            );
            r.register(
                "ingest_batch_duration_seconds",
                "Time to parse and store one sensor batch, by source",
                m.latency.clone(),
            );
            r.register(
                "ingest_spool_depth",
                "Batches waiting in each agent's disk spool, as the agent last reported",
                m.spool.clone(),
            );
            r.register(
                "ingest_alerts",
                "Network and server alerts stored by sensor ingest, by type",
                m.alerts.clone(),
            );
        });
        m
    }

    pub fn lines(&self, source: &'static str, accepted: u64, skipped: u64, rejected: u64) {
        for (outcome, n) in [
            ("accepted", accepted),
            ("skipped", skipped),
            ("rejected", rejected),
        ] {
            self.lines
                .get_or_create(&LineLabels { source, outcome })
                .inc_by(n);
        }
    }

    pub fn batch(&self, source: &'static str, outcome: &'static str, took: Duration) {
        self.batches
            .get_or_create(&LineLabels { source, outcome })
            .inc();
        if outcome == "stored" {
            self.latency
                .get_or_create(&SourceLabels { source })
                .observe(took.as_secs_f64());
        }
    }

    pub fn spool_depth(&self, agent: &str, depth: i64) {
        self.spool
            .get_or_create(&AgentLabels {
                agent: agent.to_string(),
            })
            .set(depth);
    }

    pub fn alert(&self, surface: &'static str, kind: &str) {
        self.alerts
            .get_or_create(&AlertLabels {
                surface,
                alert_type: kind.to_string(),
            })
            .inc();
    }
}
