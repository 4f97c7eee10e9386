//! The error policy, for every handler on both surfaces.
//!
//! * Storage and domain code return precise errors ([`crate::db::DbError`], domain enums).
//! * Handlers return `Result<_, ApiError>`; `?` maps the precise errors (`From<DbError>`), and
//!   unique-constraint clashes become 409 in one place ([`ResultExt::on_conflict`]).
//! * Unexpected errors are logged with their cause chain and answered 500 with no internals.
//! * An [`ApiError`] does not know its surface. The [`render_errors`] middleware, which wraps the
//!   whole app, renders it in the shape of the surface the path belongs to:
//!   `{"error": "…"}` on `/api/v1` (and sensor ingest), `{"error": {code, message, retryable}}` on
//!   `/v1`. The same middleware converts any error response that did not come from an `ApiError`
//!   (axum's own 405, a timeout, a panic) so that no plain-text rejection reaches a client.

use std::fmt;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use crate::db::DbError;

/// Which published error shape a path answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// `/v1/…`: `{"error": {"code", "message", "retryable"}}`.
    Events,
    /// `/api/v1/…` and `/api/agent/…`: `{"error": "…"}`.
    Network,
    /// Operations endpoints (`/healthz`, `/metrics`, …): the network shape.
    Other,
}

impl Surface {
    pub fn of_path(path: &str) -> Surface {
        if path == "/v1" || path.starts_with("/v1/") {
            Surface::Events
        } else if path.starts_with("/api/") || path == "/api" {
            Surface::Network
        } else {
            Surface::Other
        }
    }
}

/// An error answer: status, stable code, human message, retry hint.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retryable: bool,
    retry_after_secs: Option<u64>,
}

/// The error fields carried from handler to the rendering middleware.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub code: &'static str,
    pub message: String,
    pub retryable: bool,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code_for(status),
            message: message.into(),
            retryable: status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS,
            retry_after_secs: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message)
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }

    pub fn payload_too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body is larger than the limit of {limit} bytes"),
        )
    }

    pub fn rate_limited(retry_after_secs: u64) -> ApiError {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate limit exceeded; retry later",
        );
        e.retry_after_secs = Some(retry_after_secs.max(1));
        e
    }

    /// Logs the cause chain and answers an opaque 500.
    pub fn internal(err: impl Into<anyhow::Error>) -> ApiError {
        let err = err.into();
        tracing::error!(error = format!("{err:#}"), "internal error");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
    }

    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> ApiError {
        if e.is_transient() {
            tracing::warn!(error = %e, "transient database error");
            return ApiError::unavailable("the database is busy; retry the request");
        }
        ApiError::internal(e)
    }
}

/// Maps a unique-constraint violation to 409 with a message, leaving other errors as they are.
pub trait ResultExt<T> {
    fn on_conflict(self, message: impl FnOnce() -> String) -> Result<T, ApiError>;
}

impl<T> ResultExt<T> for Result<T, DbError> {
    fn on_conflict(self, message: impl FnOnce() -> String) -> Result<T, ApiError> {
        self.map_err(|e| {
            if e.is_unique_violation() {
                ApiError::conflict(message())
            } else {
                ApiError::from(e)
            }
        })
    }
}

fn code_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 415 | 422 => "invalid_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "timeout",
        409 => "conflict",
        413 => "payload_too_large",
        429 => "rate_limited",
        503 => "unavailable",
        504 => "timeout",
        _ if status.is_server_error() => "internal",
        _ => "invalid_request",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let info = ErrorInfo {
            code: self.code,
            message: self.message,
            retryable: self.retryable,
        };
        // The body is final only outside `render_errors` (unit tests); inside it is re-rendered.
        let mut res = (self.status, axum::Json(events_body(&info))).into_response();
        if let Some(secs) = self.retry_after_secs {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res.extensions_mut().insert(info);
        res
    }
}

fn events_body(info: &ErrorInfo) -> serde_json::Value {
    json!({"error": {"code": info.code, "message": info.message, "retryable": info.retryable}})
}

fn body_for(surface: Surface, info: &ErrorInfo) -> serde_json::Value {
    match surface {
        Surface::Events => events_body(info),
        Surface::Network | Surface::Other => json!({ "error": info.message }),
    }
}

/// The documented error body of the network surface, for OpenAPI.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NetworkErrorBody {
    pub error: String,
}

/// The documented error body of the events surface, for OpenAPI.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EventsErrorBody {
    pub error: EventsErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EventsErrorDetail {
    pub code: String,
    pub message: String,
    pub retryable: bool,
}

const MAX_REWRAPPED_BODY: usize = 4096;

/// Middleware: renders every error response in the shape of its surface (see module docs).
pub async fn render_errors(req: Request, next: Next) -> Response {
    let surface = Surface::of_path(req.uri().path());
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json && res.extensions().get::<ErrorInfo>().is_none() {
        // A handler's own JSON answer (`/readyz`'s 503, say): already deliberate.
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let info = match parts.extensions.remove::<ErrorInfo>() {
        Some(info) => info,
        None => {
            // Not ours: axum's 405, a timeout, a panic, a length-limit rejection.
            let bytes = axum::body::to_bytes(body, MAX_REWRAPPED_BODY)
                .await
                .unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes).trim().to_string();
            let message = if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
                "internal server error".to_string()
            } else if text.is_empty() {
                default_message(status)
            } else {
                text
            };
            ErrorInfo {
                code: code_for(status),
                message,
                retryable: status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS,
            }
        }
    };
    let body = serde_json::to_vec(&body_for(surface, &info)).unwrap_or_default();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_ENCODING);
    Response::from_parts(parts, Body::from(body))
}

fn default_message(status: StatusCode) -> String {
    match status {
        StatusCode::NOT_FOUND => "no such route".into(),
        StatusCode::METHOD_NOT_ALLOWED => "method not allowed on this route".into(),
        StatusCode::PAYLOAD_TOO_LARGE => "request body is too large".into(),
        StatusCode::REQUEST_TIMEOUT => "request timed out".into(),
        s => s.canonical_reason().unwrap_or("error").to_lowercase(),
    }
}

/// Fallback for unknown routes (rendered per surface by [`render_errors`]).
pub async fn route_not_found(req: Request) -> ApiError {
    ApiError::not_found(format!(
        "no route for {} {}",
        req.method(),
        req.uri().path()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surfaces_by_path() {
        assert_eq!(Surface::of_path("/v1/assets"), Surface::Events);
        assert_eq!(Surface::of_path("/v1"), Surface::Events);
        assert_eq!(Surface::of_path("/v10/x"), Surface::Other);
        assert_eq!(Surface::of_path("/api/v1/about"), Surface::Network);
        assert_eq!(Surface::of_path("/api/agent/v1/eve"), Surface::Network);
        assert_eq!(Surface::of_path("/healthz"), Surface::Other);
    }

    #[test]
    fn codes_follow_status() {
        assert_eq!(ApiError::bad_request("x").code, "invalid_request");
        assert_eq!(ApiError::rate_limited(1).code, "rate_limited");
        assert!(ApiError::rate_limited(1).retryable);
        assert!(!ApiError::not_found("x").retryable);
    }
}
