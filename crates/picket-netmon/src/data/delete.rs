//! `POST /api/v1/data/delete` and `DELETE /api/v1/data`: delete one dataset's rows by the
//! filters of §8, in one transaction with what hangs off them: a network alert's capture, and
//! the DNS/TCP aggregate buckets the deleted rows fell in, recomputed from the rows that remain.

use axum::extract::State;
use picket_core::db::{counts, DbResult, Tx};
use picket_core::error::NetworkErrorBody;
use picket_core::extract::{Json, NoQuery};
use picket_core::identity::{need, Authed, TenantId};
use picket_core::{ApiError, AppState};
use sea_query::{Alias, Expr, Order};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::aggregates::{self, BUCKET_MS};
use super::filters::Filters;
use super::sets::{self, Dataset};
use crate::datasets::{NetworkAlerts, NetworkPcaps};
use picket_core::db::table::TenantTable;

/// Delete request: one dataset, its filters, and `all: true` to allow an unbounded delete.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteBody {
    /// One dataset key.
    pub table: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub filters: Option<Value>,
    /// Must be `true` to delete with no time bound and no filter.
    pub all: Option<bool>,
}

/// What a delete did (§2.10).
#[derive(Debug, Serialize, ToSchema)]
pub struct DeleteResult {
    pub table: &'static str,
    pub label: &'static str,
    pub deleted_rows: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_pcaps_deleted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_aggregates_rebuilt: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_aggregates_rebuilt: Option<bool>,
}

/// Delete one dataset's rows matching the filters; network alerts take their captures along,
/// DNS and TCP deletes rebuild their 15-minute aggregates.
#[utoipa::path(post, path = "/api/v1/data/delete", tag = "data",
    request_body = DeleteBody,
    responses((status = 200, body = DeleteResult), (status = 400, body = NetworkErrorBody)))]
#[utoipa::path(delete, path = "/api/v1/data", impl_for = DeleteData,
    operation_id = "delete_data", summary = "Same as `POST /api/v1/data/delete`.", tag = "data",
    request_body = DeleteBody,
    responses((status = 200, body = DeleteResult), (status = 400, body = NetworkErrorBody)))]
pub async fn post_delete(
    State(s): State<AppState>,
    auth: Authed<need::DataW>,
    _: NoQuery,
    Json(body): Json<DeleteBody>,
) -> Result<Json<DeleteResult>, ApiError> {
    let key = body.table.as_deref().ok_or_else(|| {
        ApiError::bad_request(format!("`table` is required: one of {}", sets::keys()))
    })?;
    let set = Dataset::by_key(key).ok_or_else(|| {
        ApiError::bad_request(format!(
            "unknown dataset `table`: `{key}`; expected one of {}",
            sets::keys()
        ))
    })?;
    let filters = Filters::parse(body.filters.as_ref(), s.tz)?;
    if !filters.bounds(set) && body.all != Some(true) {
        return Err(ApiError::bad_request(format!(
            "no time bound or filter given: this would delete every row of `{}`; \
             send `\"all\": true` to mean that",
            set.key
        )));
    }
    let mut tx = s.db.begin().await?;
    let deleted_rows = delete_rows(&mut tx, set, &filters, auth.tenant_id).await?;
    tx.commit().await?;
    let flag = |k: &str| (set.key == k).then_some(true);
    Ok(Json(DeleteResult {
        table: set.key,
        label: set.label,
        deleted_rows,
        network_pcaps_deleted: (set.table.name == NetworkAlerts::DECLARED.name).then_some(true),
        dns_aggregates_rebuilt: flag("dns_metadata"),
        tcp_aggregates_rebuilt: flag("tcp_metadata"),
    }))
}

/// The document of `DELETE /api/v1/data`, which [`post_delete`] serves.
pub struct DeleteData;

#[derive(sqlx::FromRow)]
struct Bucket {
    b: i64,
}

/// Deletes the rows of `set` that `filters` select, inside `tx`; returns how many.
pub async fn delete_rows(
    tx: &mut Tx,
    set: &Dataset,
    filters: &Filters,
    tenant: TenantId,
) -> DbResult<u64> {
    let cond = filters.condition(set, tx.backend());
    let table = set.owned();
    if set.table.name == NetworkAlerts::DECLARED.name {
        let owners = table
            .select(tenant)
            .column(table.col("id"))
            .cond_where(cond.clone())
            .to_owned();
        tx.execute(
            NetworkPcaps::delete(tenant)
                .and_where(Expr::col(NetworkPcaps::AlertId).in_subquery(owners)),
        )
        .await?;
    }
    // The buckets the doomed rows fall in, read before they go.
    let buckets: Vec<i64> = match set.aggregate {
        None => Vec::new(),
        Some(_) => {
            let b = Expr::cust(format!("ts - (ts % {BUCKET_MS})"));
            let stmt = table
                .select(tenant)
                .distinct()
                .expr_as(b, Alias::new("b"))
                .cond_where(cond.clone())
                .order_by(Alias::new("b"), Order::Asc)
                .to_owned();
            let rows: Vec<Bucket> = tx.fetch_all(&stmt).await?;
            rows.into_iter().map(|r| r.b).collect()
        }
    };
    let n = tx.execute(table.delete(tenant).cond_where(cond)).await?;
    if let Some(agg) = &set.aggregate {
        aggregates::rebuild_buckets(tx, agg, tenant, &buckets).await?;
    }
    if n > 0 {
        // Days whose rows all went leave count rows at zero behind.
        counts::forget_empty(tx, tenant, set.table.name).await?;
    }
    Ok(n)
}
