//! The `engine.evaluate` job ([`picket_corpus::EVENTS_CHANGED`]): evaluates every event
//! changed since its cursor against all tenants' monitorable assets. It re-reads a short
//! overlap before the cursor, because transactions may commit out of `updated_at` order;
//! re-evaluating an unchanged event writes no version, so the overlap costs only reads.
//! When the scoring model changed since threats were last scored, the pass first re-scores
//! them ([`super::rescore`]).

use std::sync::Arc;

use picket_core::db::DbResult;
use picket_core::time::now_ms;
use picket_core::AppState;

use super::cursor;
use super::index::load_index;
use super::pass::{drafts_of, write_drafts, Pass};
use crate::engine::ThreatDraft;
use crate::threats::store::Nearby;
use picket_corpus::changes;

/// Events read and matched at a time. Each page's threats are written in one transaction
/// (up to [`super::pass`]'s 20,000 a transaction), and each transaction reads the grid cells
/// around its threats once: 20,000 events a page read those cells half as often as 10,000
/// (engine about 13 % faster on the events benchmark), and hold the write lock about as long
/// as one transaction of 20,000 threats does anyway.
const BATCH: u64 = 20_000;
const OVERLAP_MS: i64 = 5 * 60 * 1000;
/// The cursor's name, as stored: the name of the job that keeps it.
const CURSOR: &str = picket_corpus::EVENTS_CHANGED;

/// One page of changed events, matched and ready to write.
struct Page {
    examined: u64,
    high: i64,
    drafts: Vec<ThreatDraft>,
}

/// Evaluates every event changed since the last pass. Reading and matching the next page of
/// events overlaps writing the threats of the one before (on another connection: both
/// databases let a reader run beside the writer).
pub async fn evaluate_changed(state: &AppState) -> anyhow::Result<Pass> {
    evaluate_changed_in_pages(state, BATCH).await
}

/// [`evaluate_changed`], reading `page` events at a time.
pub async fn evaluate_changed_in_pages(state: &AppState, page: u64) -> anyhow::Result<Pass> {
    let db = &state.db;
    super::rescore::rescore_if_outdated(db, now_ms()).await?;
    let start = cursor::get(db, CURSOR).await?;
    let index = Arc::new(load_index(db, None, None).await?);
    let now = now_ms();
    let (pages, mut ready) = tokio::sync::mpsc::channel::<DbResult<Page>>(1);
    let reader = tokio::spawn({
        let db = db.clone();
        async move {
            let mut after = ((start - OVERLAP_MS).max(0), String::new());
            loop {
                let batch = match changes::changed_after(&db, (after.0, &after.1), page).await {
                    Ok(b) => b,
                    Err(e) => {
                        let _ = pages.send(Err(e)).await;
                        return;
                    }
                };
                let Some(last) = batch.last() else { return };
                after = (last.updated_at, last.id.clone());
                let page = Page {
                    examined: batch.len() as u64,
                    high: batch.iter().map(|e| e.updated_at).fold(start, i64::max),
                    drafts: drafts_of(&index, &batch, now),
                };
                if pages.send(Ok(page)).await.is_err() {
                    return; // the writer stopped
                }
            }
        }
    });
    let mut total = Pass::default();
    let mut high = start;
    // What the pass learnt around its threats, kept from one page to the next.
    let mut nearby = Nearby::default();
    let written: DbResult<()> = async {
        while let Some(page) = ready.recv().await {
            let page = page?;
            total.examined += page.examined;
            write_drafts(db, &page.drafts, now, &mut nearby, &mut total).await?;
            high = high.max(page.high);
        }
        Ok(())
    }
    .await;
    if written.is_err() {
        reader.abort();
    }
    written?;
    reader.await?;
    cursor::set(db, CURSOR, high).await?;
    tracing::info!(
        examined = total.examined,
        created = total.created,
        updated = total.updated,
        "engine pass"
    );
    Ok(total)
}
