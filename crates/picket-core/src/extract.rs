//! Request extractors that answer bad input with an [`ApiError`] naming the problem, instead of
//! axum's plain-text rejections: [`Json`], [`Query`] and [`Path`].

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::ApiError;

/// A JSON request body, or — as a response — a JSON body.
///
/// Requires `Content-Type: application/json` (or `+json`), enforces the body limit (413), and
/// reports the path of the offending field (`assets[2].attributes.lat: …`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

/// Reads the whole body under the configured limit; shared by the JSON and NDJSON readers.
pub async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|e| match e {
        BytesRejection::FailedToBufferBody(ref inner)
            if inner.status() == StatusCode::PAYLOAD_TOO_LARGE =>
        {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body is larger than the size limit",
            )
        }
        other => ApiError::bad_request(format!("could not read the request body: {other}")),
    })
}

/// True when the request says its body is JSON.
pub fn is_json_content_type(parts: &axum::http::HeaderMap) -> bool {
    let Some(ct) = parts.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// Parses JSON text into `T`, naming the failing field path in the error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::bad_request(format!("malformed JSON body: {inner}"))
        } else if path.is_empty() || path == "." {
            ApiError::bad_request(format!("invalid JSON body: {inner}"))
        } else {
            ApiError::bad_request(format!("invalid field `{path}`: {inner}"))
        }
    })
}

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json_content_type(req.headers()) {
            return Err(ApiError::bad_request(
                "expected a JSON body with header `Content-Type: application/json`",
            ));
        }
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(Json)
    }
}

/// A JSON body that may be absent: an empty body is `T::default()`; anything else must be JSON
/// as for [`Json`].
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonOrEmpty<T>(pub T);

impl<T, S> FromRequest<S> for JsonOrEmpty<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json_type = is_json_content_type(req.headers());
        let bytes = read_body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonOrEmpty(T::default()));
        }
        if !json_type {
            return Err(ApiError::bad_request(
                "expected a JSON body with header `Content-Type: application/json`",
            ));
        }
        parse_json(&bytes).map(JsonOrEmpty)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// A query string parsed with repeated keys as arrays (`a=1&a=2`), unknown keys refused when
/// the target type denies them, and the offending parameter named.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_html_form::Deserializer::from_bytes(query.as_bytes());
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path.is_empty() || path == "." {
            ApiError::bad_request(format!("invalid query string: {inner}"))
        } else {
            ApiError::bad_request(format!("invalid query parameter `{path}`: {inner}"))
        }
    })
}

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or_default()).map(Query)
    }
}

/// For routes that take no query parameters: any parameter is 400 naming it.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

pub type NoQuery = Query<NoParams>;

/// Path parameters; a value of the wrong type is 400 naming the parameter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(e) => Err(ApiError::bad_request(format!(
                "invalid path parameter: {}",
                e.body_text()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Q {
        #[serde(default)]
        asset_id: Vec<String>,
        limit: Option<u32>,
    }

    #[test]
    fn repeated_keys_become_arrays() {
        let q: Q = parse_query("asset_id=a&asset_id=b%2Cc&limit=5").unwrap();
        assert_eq!(q.asset_id, vec!["a", "b,c"]);
        assert_eq!(q.limit, Some(5));
    }

    #[test]
    fn unknown_and_bad_parameters_are_named() {
        let e = parse_query::<Q>("bogus=1").unwrap_err();
        assert!(e.message.contains("bogus"), "{}", e.message);
        let e = parse_query::<Q>("limit=ten").unwrap_err();
        assert!(e.message.contains("limit"), "{}", e.message);
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct B {
        items: Vec<Item>,
    }
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        lat: f64,
    }

    #[test]
    fn json_errors_name_the_field_path() {
        let e = parse_json::<B>(br#"{"items":[{"lat":1},{"lat":"x"}]}"#).unwrap_err();
        assert!(e.message.contains("items[1].lat"), "{}", e.message);
        let e = parse_json::<B>(br#"{"items":[{"lat":1,"lng":2}]}"#).unwrap_err();
        assert!(e.message.contains("lng"), "{}", e.message);
        let e = parse_json::<B>(br#"{"items":"#).unwrap_err();
        assert!(e.message.starts_with("malformed JSON"), "{}", e.message);
    }
}
