#![forbid(unsafe_code)]
//! The Picket server: composes the slices into one application. `main.rs` is only the CLI.
//! Read in order:

/// `picket admin …`: tenants, users, keys, agents.
pub mod admin;
/// Building the state and router, binding, serving, shutting down.
pub mod app;
/// `picket import events|intel …`: files into the event corpus or the intel lists.
pub mod import;
/// Logging setup (text or JSON).
pub mod logging;

pub use app::{Application, BuildOptions};
