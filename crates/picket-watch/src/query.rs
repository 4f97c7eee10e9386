//! Checks shared by the `/v1` list queries of monitoring (threats, incidents, alerts).

use chrono::DateTime;
use picket_core::ApiError;

/// `limit` (1–5000, default 100) and `offset` (≥ 0, default 0) of a list, or 400 naming the
/// parameter.
pub(crate) fn page(limit: Option<i64>, offset: Option<i64>) -> Result<(u64, u64), ApiError> {
    let limit = limit.unwrap_or(100);
    if !(1..=5000).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid query parameter `limit`: must be between 1 and 5000",
        ));
    }
    let offset = offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::bad_request(
            "invalid query parameter `offset`: must be ≥ 0",
        ));
    }
    Ok((limit as u64, offset as u64))
}

/// An RFC 3339 timestamp parameter as ms since the epoch, or 400 naming it.
pub(crate) fn timestamp(name: &str, value: &Option<String>) -> Result<Option<i64>, ApiError> {
    value
        .as_deref()
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.timestamp_millis())
                .map_err(|e| {
                    ApiError::bad_request(format!(
                        "invalid query parameter `{name}`: `{v}` is not an RFC 3339 timestamp ({e})"
                    ))
                })
        })
        .transpose()
}
