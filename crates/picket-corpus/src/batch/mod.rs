//! Storing a batch of records with a few statements per chunk instead of several per record.
//!
//! For each chunk the rows it can touch are read at once: the events its origins already name
//! (`(source, source_id)`), the events its merged origins were folded into (aliases), and the
//! merge candidates in the chunk's bounding box and time window. The records are then applied
//! one by one, in file order, to that working set in memory — exactly the decisions the
//! record-at-a-time path made, including records that update or merge into an event created
//! earlier in the same chunk — and the result is written back: multi-row inserts for new
//! events and aliases, one `UPDATE` per changed existing event.

//!
//! * [`load`] reads a chunk's working set, [`working`] applies the records to it in memory
//!   (the merging rules of [`super::merge`]), [`write`] writes the result back.

mod load;
mod working;
mod write;

use picket_core::db::stats::Growth;
use picket_core::db::{Db, DbResult, Tx};
use picket_core::time::now_ms;

use super::model::NewEvent;
use super::store::{Events, Scope, Upserted};
use working::Outcome;

/// Records per chunk: bounds the lookups' parameter lists and the candidate window.
const CHUNK: usize = 1000;

/// Stores a batch in one transaction: a `(source, source_id)` already in the scope is updated
/// (keeping its `id` and `created_at`), a record matching another source's event is merged
/// into it, any other is added with a new `evt_` id.
pub async fn upsert_batch(db: &Db, scope: Scope, events: &[NewEvent]) -> DbResult<Upserted> {
    let earliest = now_ms();
    let mut tx = db.begin().await?;
    let out = store(&mut tx, scope, events).await?;
    tx.commit().await?;
    crate::map::note_write(earliest);
    Ok(out)
}

/// Stores the records in the caller's transaction, chunk by chunk.
pub(crate) async fn store(tx: &mut Tx, scope: Scope, events: &[NewEvent]) -> DbResult<Upserted> {
    // The chunks' lookups by (source, source_id) and by cell name hundreds of keys each.
    tx.custom_plans().await?;
    // Those lookups are planned with the table's statistics, which must follow what this
    // transaction adds (a fresh database's first import would otherwise plan with none).
    let mut growth = Growth::of(tx, &[Events::DECLARED.name]).await?;
    let mut out = Upserted::default();
    for chunk in events.chunks(CHUNK) {
        let now = now_ms();
        let mut w = load::load(tx, scope, chunk).await?;
        let before = out.new;
        for (at, e) in chunk.iter().enumerate() {
            match w.apply(e, at, now) {
                Outcome::New => out.new += 1,
                Outcome::Updated => out.updated += 1,
                Outcome::Merged => out.merged += 1,
            }
        }
        write::write(tx, scope, w, chunk, now).await?;
        growth.added(tx, (out.new - before) as u64).await?;
    }
    Ok(out)
}
