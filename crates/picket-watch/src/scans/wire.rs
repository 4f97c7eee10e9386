//! Wire types of scans.

use picket_core::time::serde_rfc3339;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::store::ScanRow;

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    /// Assets to scan for (`id` or `asset_id`); all of the tenant's when absent.
    pub asset_ids: Option<Vec<String>>,
    /// How far back to look, 1–720 hours (default 24).
    pub lookback_hours: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScanStarted {
    /// Always `scan_started`.
    pub status: &'static str,
    pub scan_id: String,
}

/// Scan progress (§10.10).
#[derive(Debug, Serialize, ToSchema)]
pub struct ScanStatus {
    pub scan_id: String,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    pub events_examined: i64,
    pub threats_created: i64,
    pub threats_updated: i64,
    #[serde(serialize_with = "serde_rfc3339::option::serialize")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<i64>,
    #[serde(serialize_with = "serde_rfc3339::option::serialize")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<i64>,
    pub error: Option<String>,
}

impl From<ScanRow> for ScanStatus {
    fn from(r: ScanRow) -> Self {
        ScanStatus {
            scan_id: r.id,
            status: r.status,
            events_examined: r.events_examined,
            threats_created: r.threats_created,
            threats_updated: r.threats_updated,
            started_at: r.started_at,
            finished_at: r.finished_at,
            error: r.error,
        }
    }
}
