//! The POST search body (§1.6): `{"filters", "page", "page_size", "sort": {"field", "order"}}`,
//! every member optional. An empty body counts as `{}`; unknown keys, at the top or inside
//! `filters`, are refused by name (the resource's filter struct denies unknown fields).

use axum::extract::{FromRequest, Request};
use picket_core::extract::{is_json_content_type, parse_json, read_body};
use picket_core::ApiError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use super::{PageRequest, Sort, SortField};

/// `sort` in a search body; unknown names fall back to the defaults.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SortBody {
    pub field: Option<String>,
    /// `asc` or `desc`, any case.
    pub order: Option<String>,
}

impl SortBody {
    pub fn resolve<F: SortField>(&self) -> Sort<F> {
        Sort::resolve(self.field.as_deref(), self.order.as_deref())
    }
}

/// A paginated search (devices, alerts).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchBody<F> {
    #[serde(default)]
    pub filters: Option<F>,
    pub page: Option<i64>,
    pub page_size: Option<i64>,
    #[serde(default)]
    pub sort: Option<SortBody>,
}

impl<F> SearchBody<F> {
    pub fn page_request(&self) -> PageRequest {
        PageRequest::new(self.page, self.page_size)
    }
}

/// A search over a resource that is not paginated (networks, services): `page` is unknown.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnpagedSearchBody<F> {
    #[serde(default)]
    pub filters: Option<F>,
    #[serde(default)]
    pub sort: Option<SortBody>,
}

/// A search body: like [`picket_core::extract::Json`], except that an empty body is `{}` (and
/// then needs no `Content-Type`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SearchJson<T>(pub T);

impl<T, S> FromRequest<S> for SearchJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json_type = is_json_content_type(req.headers());
        let bytes = read_body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return parse_json(b"{}").map(SearchJson);
        }
        if !json_type {
            return Err(ApiError::bad_request(
                "expected a JSON body with header `Content-Type: application/json`",
            ));
        }
        parse_json(&bytes).map(SearchJson)
    }
}

/// A filter array. A lone scalar counts as a one-element array (a comma inside it stays a
/// literal comma); `null` is no filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Shape<T> {
            Many(Vec<T>),
            One(T),
            Nothing(()),
        }
        match Shape::deserialize(d).map_err(|_| {
            serde::de::Error::custom("expected an array of values of the documented type")
        })? {
            Shape::Many(v) => Ok(OneOrMany(v)),
            Shape::One(v) => Ok(OneOrMany(vec![v])),
            Shape::Nothing(()) => Ok(OneOrMany(Vec::new())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Filters {
        #[serde(default)]
        name: OneOrMany<String>,
        #[serde(default)]
        alert: OneOrMany<i64>,
    }

    #[test]
    fn scalars_count_as_one_element_arrays() {
        let b: UnpagedSearchBody<Filters> =
            parse_json(br#"{"filters":{"name":"a,b","alert":[10,20]}}"#).unwrap();
        let f = b.filters.unwrap();
        assert_eq!(f.name.0, vec!["a,b"]);
        assert_eq!(f.alert.0, vec![10, 20]);
        let b: UnpagedSearchBody<Filters> = parse_json(br#"{"filters":{"alert":20}}"#).unwrap();
        assert_eq!(b.filters.unwrap().alert.0, vec![20]);
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_named() {
        let e = parse_json::<UnpagedSearchBody<Filters>>(br#"{"page":1}"#).unwrap_err();
        assert!(e.message.contains("`page`"), "{}", e.message);
        let e = parse_json::<SearchBody<Filters>>(br#"{"filters":{"colour":["x"]}}"#).unwrap_err();
        assert!(e.message.contains("colour"), "{}", e.message);
        let e =
            parse_json::<SearchBody<Filters>>(br#"{"filters":{"alert":["high"]}}"#).unwrap_err();
        assert!(e.message.contains("filters.alert"), "{}", e.message);
        let e = parse_json::<SearchBody<Filters>>(br#"{"page":"2"}"#).unwrap_err();
        assert!(e.message.contains("page"), "{}", e.message);
        let b = parse_json::<SearchBody<Filters>>(
            br#"{"page":3,"page_size":5000,"sort":{"field":"x"}}"#,
        )
        .unwrap();
        assert_eq!(
            b.page_request(),
            PageRequest {
                page: 3,
                page_size: 1000
            }
        );
    }
}
