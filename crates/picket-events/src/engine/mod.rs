//! The threat engine's pure core: which monitored assets an event affects, and how much it
//! matters to each — deterministic, explainable, no I/O. Jobs feed it events and persist what
//! it returns.
//!
//! * [`rules`]: per-asset, per-category radius, maximum age and type filters (contract §4.1,
//!   §10.8).
//! * [`index`]: an R-tree of monitorable assets across tenants, queried once per event.
//! * [`score`]: likelihood × impact, bands, and the rationales that explain them.

pub mod index;
pub mod rules;
pub mod score;

pub use index::{AssetIndex, Locus, Match, MonitoredAsset};
pub use score::{Assessment, EventFacts, Precision};
