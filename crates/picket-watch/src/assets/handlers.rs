//! HTTP handlers of `/v1/assets`.

use std::collections::HashSet;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use picket_core::db::Tx;
use picket_core::error::EventsErrorBody;
use picket_core::extract::{parse_json, Json, NoQuery, Path, Query};
use picket_core::identity::{need, Authed, TenantId};
use picket_core::jobs::{enqueue_tx, NewJob};
use picket_core::{ApiError, AppState, ResultExt};

use super::store;
use super::wire::{
    Asset, AssetInput, AssetList, ListQuery, UpsertBody, UpsertedAssets, DEFAULT_LOOKBACK_DAYS,
};
use super::CHANGED;

/// List every asset of the tenant (no paging), ordered by `asset_id`.
#[utoipa::path(get, path = "/v1/assets", tag = "assets", params(ListQuery),
    responses((status = 200, body = AssetList), (status = 400, body = EventsErrorBody)))]
pub async fn list_assets(
    State(s): State<AppState>,
    auth: Authed<need::AssetsR>,
    Query(q): Query<ListQuery>,
) -> Result<Json<AssetList>, ApiError> {
    let rows = store::list(s.db.reader(), auth.tenant_id, q.status, q.asset_type).await?;
    let assets: Vec<Asset> = rows.iter().map(store::AssetRow::to_wire).collect();
    Ok(Json(AssetList {
        total: assets.len(),
        assets,
    }))
}

/// Bulk upsert by `asset_id`. One invalid item fails the whole request and nothing is written.
#[utoipa::path(put, path = "/v1/assets", tag = "assets", request_body = UpsertBody,
    responses((status = 200, body = UpsertedAssets), (status = 400, body = EventsErrorBody)))]
pub async fn upsert_assets(
    State(s): State<AppState>,
    auth: Authed<need::AssetsW>,
    _: NoQuery,
    Json(body): Json<UpsertBody>,
) -> Result<Json<UpsertedAssets>, ApiError> {
    let mut seen = HashSet::new();
    let mut data = Vec::with_capacity(body.assets.len());
    for (i, input) in body.assets.into_iter().enumerate() {
        let d = input.validate(&format!("assets[{i}]."))?;
        if !seen.insert(d.asset_id.clone()) {
            return Err(ApiError::bad_request(format!(
                "invalid field `assets[{i}].asset_id`: `{}` appears more than once in this request",
                d.asset_id
            )));
        }
        data.push(d);
    }
    let mut tx = s.db.begin().await?;
    let mut out = Vec::with_capacity(data.len());
    for d in &data {
        out.push(store::upsert(&mut tx, auth.tenant_id, d).await?.to_wire());
    }
    rescan(&mut tx, auth.tenant_id, &out).await?;
    tx.commit().await?;
    s.job_signal.notify_one();
    Ok(Json(UpsertedAssets { assets: out }))
}

/// Create one asset; 409 when its `asset_id` exists in the tenant.
#[utoipa::path(post, path = "/v1/assets", tag = "assets", request_body = AssetInput,
    responses((status = 201, body = Asset), (status = 400, body = EventsErrorBody), (status = 409, body = EventsErrorBody)))]
pub async fn create_asset(
    State(s): State<AppState>,
    auth: Authed<need::AssetsW>,
    _: NoQuery,
    Json(input): Json<AssetInput>,
) -> Result<impl IntoResponse, ApiError> {
    let d = input.validate("")?;
    let mut tx = s.db.begin().await?;
    let row = store::insert(&mut tx, auth.tenant_id, &d)
        .await
        .on_conflict(|| format!("an asset with asset_id `{}` already exists", d.asset_id))?;
    let asset = row.to_wire();
    rescan(&mut tx, auth.tenant_id, std::slice::from_ref(&asset)).await?;
    tx.commit().await?;
    s.job_signal.notify_one();
    Ok((StatusCode::CREATED, Json(asset)))
}

/// Get one asset by `id` or `asset_id`.
#[utoipa::path(get, path = "/v1/assets/{asset}", tag = "assets",
    params(("asset" = String, Path, description = "server `id` or client `asset_id`")),
    responses((status = 200, body = Asset), (status = 404, body = EventsErrorBody)))]
pub async fn get_asset(
    State(s): State<AppState>,
    auth: Authed<need::AssetsR>,
    _: NoQuery,
    Path(key): Path<String>,
) -> Result<Json<Asset>, ApiError> {
    let row = store::find(&s.db, auth.tenant_id, &key)
        .await?
        .ok_or_else(|| not_found(&key))?;
    Ok(Json(row.to_wire()))
}

/// Partial update: the body's fields are merged onto the asset (nested objects key by key,
/// `null` clears an optional field), and the result is validated as a whole.
#[utoipa::path(patch, path = "/v1/assets/{asset}", tag = "assets",
    params(("asset" = String, Path, description = "server `id` or client `asset_id`")),
    request_body(content = serde_json::Value, description = "any subset of AssetInput"),
    responses((status = 200, body = Asset), (status = 400, body = EventsErrorBody), (status = 404, body = EventsErrorBody), (status = 409, body = EventsErrorBody)))]
pub async fn patch_asset(
    State(s): State<AppState>,
    auth: Authed<need::AssetsW>,
    _: NoQuery,
    Path(key): Path<String>,
    Json(patch): Json<serde_json::Value>,
) -> Result<Json<Asset>, ApiError> {
    if !patch.is_object() {
        return Err(ApiError::bad_request(
            "invalid JSON body: expected an object",
        ));
    }
    let current = store::find(&s.db, auth.tenant_id, &key)
        .await?
        .ok_or_else(|| not_found(&key))?;
    let mut merged = serde_json::to_value(current.data().to_input()).map_err(ApiError::internal)?;
    merge_patch(&mut merged, &patch);
    let input: AssetInput = parse_json(merged.to_string().as_bytes())?;
    let d = input.validate("")?;
    let mut tx = s.db.begin().await?;
    let row = store::update(&mut tx, auth.tenant_id, &current.id, &d)
        .await
        .on_conflict(|| format!("an asset with asset_id `{}` already exists", d.asset_id))?
        .ok_or_else(|| not_found(&key))?;
    let asset = row.to_wire();
    rescan(&mut tx, auth.tenant_id, std::slice::from_ref(&asset)).await?;
    tx.commit().await?;
    s.job_signal.notify_one();
    Ok(Json(asset))
}

/// Delete an asset. Its threats keep their history; it drops out of future matching.
#[utoipa::path(delete, path = "/v1/assets/{asset}", tag = "assets",
    params(("asset" = String, Path, description = "server `id` or client `asset_id`")),
    responses((status = 204), (status = 404, body = EventsErrorBody)))]
pub async fn delete_asset(
    State(s): State<AppState>,
    auth: Authed<need::AssetsW>,
    _: NoQuery,
    Path(key): Path<String>,
) -> Result<StatusCode, ApiError> {
    let row = store::find(&s.db, auth.tenant_id, &key)
        .await?
        .ok_or_else(|| not_found(&key))?;
    if !store::delete(&s.db, auth.tenant_id, &row.id).await? {
        return Err(not_found(&key));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Asks for a scan of recent events for changed, monitorable assets (in the caller's
/// transaction, so exactly when the change commits): a new or moved asset sees the threats
/// already around it. Looks back `lookback_days` (at most 30 days; per-category maximum ages
/// still apply).
async fn rescan(tx: &mut Tx, tenant: TenantId, assets: &[Asset]) -> Result<(), ApiError> {
    let monitorable: Vec<&Asset> = assets.iter().filter(|a| a.monitorable).collect();
    if monitorable.is_empty() {
        return Ok(());
    }
    let days = monitorable
        .iter()
        .map(|a| {
            a.threat_config
                .lookback_days
                .unwrap_or(DEFAULT_LOOKBACK_DAYS)
        })
        .max()
        .unwrap_or(DEFAULT_LOOKBACK_DAYS);
    let ids: Vec<&str> = monitorable.iter().map(|a| a.id.as_str()).collect();
    let job = NewJob::new(
        CHANGED,
        serde_json::json!({
            "tenant_id": tenant.0,
            "asset_ids": ids,
            "lookback_hours": (i64::from(days) * 24).min(720),
        }),
    );
    enqueue_tx(tx, &job).await?;
    Ok(())
}

fn not_found(key: &str) -> ApiError {
    ApiError::not_found(format!("no asset `{key}`"))
}

/// RFC 7396 JSON merge patch.
fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    match (target, patch) {
        (serde_json::Value::Object(t), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(serde_json::Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn merge_patch_merges_nested_and_removes_nulls() {
        let mut t = json!({"a": 1, "b": {"x": 1, "y": 2}, "c": 3});
        super::merge_patch(
            &mut t,
            &json!({"b": {"y": null, "z": 4}, "c": null, "d": [1]}),
        );
        assert_eq!(t, json!({"a": 1, "b": {"x": 1, "z": 4}, "d": [1]}));
    }
}
