//! The web console: a one-page app of hand-written ES modules and CSS (no bundler, no build
//! step), plus the vendored MapLibre GL JS, all embedded in the binary at compile time. It
//! talks to the server only through the public `/v1` and `/api/v1` APIs, with the key the user
//! signs in with; this crate serves files and nothing else.
//!
//! Reading order: [`assets`] (the embedded files and their types), then [`serve`] (the router,
//! caching and security headers).

/// The embedded files: path, bytes, content type.
pub mod assets;
/// The router: `/` and `/assets/…`, with ETags, caching and the security headers.
pub mod serve;

pub use serve::router;
