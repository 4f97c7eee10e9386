//! The `GET /v1/threats` query, checked and turned into the store's [`Filter`].

use picket_core::ApiError;

use crate::query::{page, timestamp};

use super::store::{Filter, Sort};
use super::wire::{ListQuery, SortField, SortOrder};

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
        let (limit, offset) = page(q.limit, q.offset)?;
        Ok(Filter {
            observed_from: timestamp("observed_from", &q.observed_from)?,
            observed_to: timestamp("observed_to", &q.observed_to)?,
            asset_keys: q.asset_id,
            severities: q.severity.iter().map(|s| s.as_str().to_string()).collect(),
            statuses: q.status.iter().map(|s| s.as_str().to_string()).collect(),
            threat_types: q.threat_type,
            pinned: q.pinned,
            limit,
            offset,
            sort: sort(q.sort.unwrap_or_default()),
            descending: q.order.unwrap_or_default() == SortOrder::Desc,
        })
    }
}
