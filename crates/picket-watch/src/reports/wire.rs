//! Wire types of reports (§2.8, §7, §10.15).

use picket_core::time::{rfc3339, serde_rfc3339};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::store::ReportRow;

/// Report type (§1.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[derive(strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum ReportType {
    Threat,
    Incident,
    Landscape,
}

impl ReportType {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// `POST /v1/reports`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReport {
    #[serde(rename = "type")]
    pub kind: ReportType,
    /// Required for `threat`.
    pub threat_id: Option<String>,
    /// Required for `incident`.
    pub incident_id: Option<String>,
    /// Landscape scope: asset `id`s or `asset_id`s; every asset of the tenant when absent.
    pub asset_ids: Option<Vec<String>>,
    /// Landscape window start, RFC 3339; default `to` minus 7 days.
    pub from: Option<String>,
    /// Landscape window end, RFC 3339; default now.
    pub to: Option<String>,
    /// Up to 200 characters; a title naming the threat, incident or window when absent.
    pub title: Option<String>,
}

/// A report section: `{title, kind, content}` (§10.15). Kinds: `text`, `facts`, `table`,
/// `map`, `trend`, `severity_mix`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SectionDoc {
    pub title: String,
    pub kind: String,
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
}

/// A report (§2.8). `summary` and `sections` are empty until `status` is `ready`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Report {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: ReportType,
    pub title: String,
    /// `pending`, `ready` or `failed`.
    pub status: String,
    #[serde(serialize_with = "serde_rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    /// When generation finished (ready or failed).
    #[serde(serialize_with = "serde_rfc3339::option::serialize")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<i64>,
    /// Why generation failed.
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threat_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<String>,
    /// Landscape scope as server asset ids; absent: every asset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asset_ids: Option<Vec<String>>,
    /// Landscape window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The schedule that asked for this report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule_id: Option<String>,
    /// Figures by name.
    #[schema(value_type = Object)]
    pub summary: serde_json::Map<String, serde_json::Value>,
    #[schema(value_type = Vec<SectionDoc>)]
    pub sections: Vec<picket_report_render::Section>,
}

impl ReportRow {
    pub fn to_wire(self) -> Report {
        let kind = self.kind.parse().unwrap_or(ReportType::Landscape);
        let content = self.content.map(|c| c.0).unwrap_or_default();
        let p = self.params.0;
        Report {
            id: self.id,
            kind,
            title: self.title,
            status: self.status,
            created_at: self.created_at,
            finished_at: self.finished_at,
            error: self.error,
            threat_id: p.threat_id,
            incident_id: p.incident_id,
            asset_ids: p.asset_uuids,
            from: p.from.map(rfc3339),
            to: p.to.map(rfc3339),
            schedule_id: self.schedule_id,
            summary: content.summary,
            sections: content.sections,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportList {
    /// Newest first, without `summary` and `sections` (read one report for those).
    pub reports: Vec<Report>,
    pub total: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// 1–5000, default 100.
    pub limit: Option<i64>,
    /// ≥ 0, default 0.
    pub offset: Option<i64>,
}
