//! The threat engine's pure core: which monitored assets an event affects, how much it
//! matters to each, and the threat drafts that say so — deterministic, explainable, no I/O.
//! Plain data in, decisions out: nothing here reads or writes storage, enqueues jobs or knows
//! the application state, and of this crate it uses only the pure [`picket_corpus::taxonomy`] and
//! [`picket_corpus::grid`] (a unit test in `module_graph` keeps it so). The jobs in
//! [`crate::evaluation`] and [`crate::scans`] load events and assets, call it, and write what
//! it returns through [`crate::threats::writer`].
//!
//! * [`rules`]: per-asset, per-category radius, maximum age and type filters (contract §4.1,
//!   §10.8).
//! * [`index`]: an R-tree of monitorable assets across tenants, queried once per event.
//! * [`score`]: likelihood × impact, bands, and the rationales that explain them.
//! * [`draft`]: an event's threat drafts, one per tenant with affected assets.

pub mod draft;
pub mod index;
pub mod rules;
pub mod score;

pub use draft::{drafts, AffectedDraft, ObservedEvent, ThreatDraft};
pub use index::{AssetIndex, Locus, Match, MonitoredAsset};
pub use score::{Assessment, EventFacts, Precision};
