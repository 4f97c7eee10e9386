//! Every file the console serves, embedded with `include_bytes!` so `picket serve` needs
//! nothing on disk and nothing at build time.

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// Path below `/assets/`.
    pub path: &'static str,
    pub bytes: &'static [u8],
    pub content_type: &'static str,
    /// Third-party files pinned by version: a browser may keep them a day without asking.
    pub vendored: bool,
}

macro_rules! asset {
    ($path:literal, $ty:expr) => {
        Asset {
            path: $path,
            bytes: include_bytes!(concat!("../assets/", $path)),
            content_type: $ty,
            vendored: false,
        }
    };
    (vendor $path:literal, $ty:expr) => {
        Asset {
            path: $path,
            bytes: include_bytes!(concat!("../assets/", $path)),
            content_type: $ty,
            vendored: true,
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The page every route of the app starts from.
pub const INDEX: &[u8] = include_bytes!("../assets/index.html");

/// The files under `/assets/`.
pub static ASSETS: &[Asset] = &[
    asset!("app.css", CSS),
    asset!("icon.svg", "image/svg+xml"),
    asset!("countries-110m.rings", "text/plain; charset=utf-8"),
    asset!("js/main.js", JS),
    asset!("js/api.js", JS),
    asset!("js/ui.js", JS),
    asset!("js/time.js", JS),
    asset!("js/pages/signin.js", JS),
    asset!("js/pages/map.js", JS),
    asset!("js/pages/threats.js", JS),
    asset!("js/pages/incidents.js", JS),
    asset!("js/pages/alerts.js", JS),
    asset!("js/pages/network.js", JS),
    asset!("js/pages/assets.js", JS),
    asset!("js/pages/reports.js", JS),
    asset!(vendor "vendor/maplibre-gl-csp.js", JS),
    asset!(vendor "vendor/maplibre-gl-csp-worker.js", JS),
    asset!(vendor "vendor/maplibre-gl.css", CSS),
];

/// The asset at `path` (below `/assets/`).
pub fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_unique_and_files_are_not_empty() {
        for (i, a) in ASSETS.iter().enumerate() {
            assert!(!a.bytes.is_empty(), "{} is empty", a.path);
            assert!(
                ASSETS[..i].iter().all(|b| b.path != a.path),
                "{} twice",
                a.path
            );
        }
        assert!(find("js/main.js").is_some());
        assert!(find("../Cargo.toml").is_none());
    }
}
