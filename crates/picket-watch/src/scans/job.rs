//! The scan jobs: `engine.scan` evaluates one tenant's events of the last `lookback_hours`
//! against all or some of its assets, recording progress on the scan row; and the job that
//! asset changes enqueue ([`crate::assets::CHANGED`]) starts such a scan for the changed
//! assets.

use picket_core::db::Db;
use picket_core::identity::TenantId;
use picket_core::time::now_ms;
use picket_core::AppState;
use serde::Deserialize;

use super::store::{self, ScanRow};
use crate::evaluation::{evaluate_batch, load_index, Nearby, Pass};
use picket_corpus::changes;

/// Events read and matched at a time.
const BATCH: u64 = 10_000;

/// The `engine.scan` job. A failure is recorded on the scan and not retried: the client asked
/// for one scan and sees its outcome.
pub async fn run(state: &AppState, payload: &serde_json::Value) -> anyhow::Result<()> {
    let id = payload["scan_id"].as_str().unwrap_or_default().to_string();
    let Some(scan) = store::find(&state.db, &id).await? else {
        anyhow::bail!("scan {id} does not exist");
    };
    let now = now_ms();
    store::mark_running(&state.db, &id, now).await?;
    match scan_pass(&state.db, &scan, now).await {
        Ok(p) => store::mark_done(&state.db, &id, p.examined, p.created, p.updated).await?,
        Err(e) => {
            tracing::warn!(scan = %id, error = %format!("{e:#}"), "scan failed");
            store::mark_failed(
                &state.db,
                &id,
                "the scan could not complete; see the server log",
            )
            .await?;
        }
    }
    Ok(())
}

async fn scan_pass(db: &Db, scan: &ScanRow, now: i64) -> anyhow::Result<Pass> {
    let tenant = TenantId(scan.tenant_id);
    let only: Option<Vec<String>> = scan
        .asset_ids
        .as_deref()
        .map(serde_json::from_str)
        .transpose()?;
    let index = load_index(db, Some(tenant), only.as_deref()).await?;
    let since = now - scan.lookback_hours * 3_600_000;
    let mut total = Pass::default();
    let mut after = (i64::MIN, String::new());
    let mut nearby = Nearby::default();
    loop {
        let batch = changes::visible_since(db, tenant, since, (after.0, &after.1), BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = (last.updated_at, last.id.clone());
        let p = evaluate_batch(db, &index, &batch, now, &mut nearby).await?;
        total.examined += p.examined;
        total.created += p.created;
        total.updated += p.updated;
    }
    Ok(total)
}

/// What an asset change asks to scan ([`crate::assets::CHANGED`]).
#[derive(Deserialize)]
struct Changed {
    tenant_id: i64,
    asset_ids: Vec<String>,
    lookback_hours: i64,
}

/// Starts a scan of changed assets, so that a new or moved asset sees the threats already
/// around it.
pub async fn assets_changed(state: &AppState, payload: &serde_json::Value) -> anyhow::Result<()> {
    let changed: Changed = serde_json::from_value(payload.clone())?;
    store::start(
        state,
        TenantId(changed.tenant_id),
        Some(changed.asset_ids),
        changed.lookback_hours,
    )
    .await?;
    Ok(())
}
