//! The threat engine's jobs: each loads events and assets, calls the pure [`crate::engine`],
//! and writes what it decides through [`crate::threats::store`].
//!
//! * `engine.evaluate` ([`picket_corpus::EVENTS_CHANGED`]; enqueued after every import or
//!   push, deduplicated, and run every minute as a safety net) evaluates every event changed
//!   since its cursor ([`changed`], [`cursor`]).
//! * `engine.expire` ends active threats past their `expires_at`.
//! * [`pass`] is the load-match-write step that this evaluation and [`crate::scans`] share;
//!   [`index`] builds the engine's asset index from stored assets.
//! * [`rescore`]: the migration job that re-scores existing threats when the scoring model
//!   changes, run by the first evaluation pass after an upgrade.

mod changed;
mod cursor;
mod index;
mod pass;
mod rescore;

pub use crate::threats::store::Nearby;
pub use changed::{evaluate_changed, evaluate_changed_in_pages};
pub use cursor::TABLES;
pub use index::{load_index, monitored};
pub use pass::{evaluate_batch, Pass, WATCHED};
pub use rescore::{rescore, rescore_if_outdated, MODEL};

use picket_core::jobs::JobRegistry;
use picket_core::time::now_ms;

use picket_corpus::EVENTS_CHANGED;

pub const EXPIRE: &str = "engine.expire";

pub fn register(r: &mut JobRegistry) {
    r.register(EVENTS_CHANGED, |s, _| async move {
        evaluate_changed(&s).await.map(|_| ())
    });
    r.register(EXPIRE, |s, _| async move {
        crate::threats::store::expire(&s.db, now_ms())
            .await
            .map(|_| ())
            .map_err(Into::into)
    });
}
