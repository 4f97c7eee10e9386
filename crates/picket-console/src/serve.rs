//! Serves the page and its assets. Each response carries a content-derived `ETag` (a repeat
//! visit revalidates with `If-None-Match` and gets 304) and the security headers: a
//! Content-Security-Policy that allows scripts, styles, workers and requests from this origin
//! only (no inline script or style), no framing, no sniffing, no referrer.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::assets::{self, Asset};

/// The policy of every console response. `img-src data:` is for the icons MapLibre's
/// stylesheet embeds; `worker-src 'self'` for its CSP build's worker, loaded from
/// `/assets/vendor/` (no `blob:` workers).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; worker-src 'self'; \
    font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// `/` and `/assets/{*path}`, generic over the state so any application can merge it.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/assets/{*path}", get(asset))
}

async fn index(headers: HeaderMap) -> Response {
    // The page names its scripts by path, so it must be revalidated every time.
    respond(
        &headers,
        assets::INDEX,
        "text/html; charset=utf-8",
        "no-cache",
    )
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    match assets::find(&path) {
        Some(a) => respond(&headers, a.bytes, a.content_type, cache_control(a)),
        None => {
            with_security_headers((StatusCode::NOT_FOUND, "no such console asset").into_response())
        }
    }
}

fn cache_control(a: &Asset) -> &'static str {
    if a.vendored {
        "public, max-age=86400"
    } else {
        "no-cache"
    }
}

/// A strong validator from the bytes; stable for one build, which is all a cache needs.
fn etag(bytes: &[u8]) -> String {
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    format!("\"{:016x}-{:x}\"", h.finish(), bytes.len())
}

fn respond(
    headers: &HeaderMap,
    bytes: &'static [u8],
    content_type: &'static str,
    cache: &'static str,
) -> Response {
    let tag = etag(bytes);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let mut res = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], bytes).into_response()
    };
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    with_security_headers(res)
}

fn with_security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn get(path: &str, inm: Option<&str>) -> Response {
        let mut req = Request::get(path);
        if let Some(t) = inm {
            req = req.header(header::IF_NONE_MATCH, t);
        }
        router::<()>()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_page_and_assets_carry_types_caching_and_the_policy() {
        let page = get("/", None).await;
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(
            page.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert_eq!(page.headers()[header::CACHE_CONTROL], "no-cache");
        assert_eq!(page.headers()[header::X_FRAME_OPTIONS], "DENY");
        let csp = page.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self';"));
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));

        let js = get("/assets/js/main.js", None).await;
        assert_eq!(
            js.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        let tag = js.headers()[header::ETAG].to_str().unwrap().to_string();
        let again = get("/assets/js/main.js", Some(&tag)).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

        let lib = get("/assets/vendor/maplibre-gl-csp.js", None).await;
        assert_eq!(
            lib.headers()[header::CACHE_CONTROL],
            "public, max-age=86400"
        );
        assert_eq!(
            get("/assets/nope.js", None).await.status(),
            StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn the_page_has_no_inline_script_or_style() {
        let page = std::str::from_utf8(assets::INDEX).unwrap();
        assert!(!page.contains("<script>") && !page.contains("<style") && !page.contains("style="));
    }
}
