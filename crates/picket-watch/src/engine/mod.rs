//! The threat engine's pure core: which monitored assets an event affects, how much it
//! matters to each, and the threat drafts that say so — deterministic, explainable, no I/O.
//! Plain data in, decisions out: nothing here reads or writes storage, enqueues jobs or knows
//! the application state, and of this crate it uses only the pure [`picket_corpus::taxonomy`] and
//! [`picket_corpus::grid`] (a unit test in `module_graph` keeps it so). The jobs in
//! [`crate::evaluation`] and [`crate::scans`] load events and assets, call it, and write what
//! it returns through [`crate::threats::writer`].
//!
//! * [`rules`]: per-asset, per-category radius, maximum age and type filters (contract §4.1,
//!   §10.8), with radii widened by an event's physical reach and its uncertainty.
//! * [`index`]: an R-tree of monitorable assets across tenants, queried once per event;
//!   [`area`]: distances to the area a warning covers.
//! * [`likelihood`]: how sure it is that the event happened, by what its source is.
//! * [`intensity`] and [`impact`]: the physical intensity at the asset per hazard (shaking,
//!   wind, fire, warning level) and the impact it means.
//! * [`score`]: likelihood × impact, bands, and the rationales that explain them.
//! * [`draft`]: an event's threat drafts, one per tenant with affected assets.

pub mod area;
pub mod draft;
pub mod impact;
pub mod index;
pub mod intensity;
pub mod likelihood;
pub mod rules;
pub mod score;

pub use draft::{drafts, last_report, AffectedDraft, ObservedEvent, ThreatDraft};
pub use impact::{Hazard, Site};
pub use index::{AssetIndex, Locus, Match, MonitoredAsset};
pub use likelihood::SourceKind;
pub use score::{Assessment, EventFacts, Precision};
