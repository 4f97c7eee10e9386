//! The `GET /v1/threats` query, checked and turned into the store's [`Filter`].

use chrono::DateTime;
use picket_core::ApiError;

use super::store::{Filter, Sort};
use super::wire::{ListQuery, SortField, SortOrder};

fn timestamp(name: &str, value: &Option<String>) -> Result<Option<i64>, ApiError> {
    value
        .as_deref()
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.timestamp_millis())
                .map_err(|e| ApiError::bad_request(format!("invalid query parameter `{name}`: `{v}` is not an RFC 3339 timestamp ({e})")))
        })
        .transpose()
}

fn sort(field: SortField) -> Sort {
    match field {
        SortField::ObservedAt => Sort::ObservedAt,
        SortField::RiskScore => Sort::RiskScore,
        SortField::UpdatedAt => Sort::UpdatedAt,
        SortField::Severity => Sort::Severity,
    }
}

impl TryFrom<ListQuery> for Filter {
    type Error = ApiError;

    fn try_from(q: ListQuery) -> Result<Filter, ApiError> {
        let limit = q.limit.unwrap_or(100);
        if !(1..=5000).contains(&limit) {
            return Err(ApiError::bad_request(
                "invalid query parameter `limit`: must be between 1 and 5000",
            ));
        }
        let offset = q.offset.unwrap_or(0);
        if offset < 0 {
            return Err(ApiError::bad_request(
                "invalid query parameter `offset`: must be ≥ 0",
            ));
        }
        Ok(Filter {
            observed_from: timestamp("observed_from", &q.observed_from)?,
            observed_to: timestamp("observed_to", &q.observed_to)?,
            asset_keys: q.asset_id,
            severities: q.severity.iter().map(|s| s.as_str().to_string()).collect(),
            statuses: q.status.iter().map(|s| s.as_str().to_string()).collect(),
            threat_types: q.threat_type,
            pinned: q.pinned,
            limit: limit as u64,
            offset: offset as u64,
            sort: sort(q.sort.unwrap_or_default()),
            descending: q.order.unwrap_or_default() == SortOrder::Desc,
        })
    }
}
