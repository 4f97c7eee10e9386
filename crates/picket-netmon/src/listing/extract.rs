//! One extractor for a resource's list and search: `GET /api/v1/{resource}` reads the query
//! string, `POST /api/v1/{resource}/search` the search body, and both give a handler the same
//! `{filters, sort, page}`. The rules and error messages are those of [`ListQuery`] and the
//! search bodies; a resource states what differs through [`SearchFilters`]. As `params` of the
//! list's `#[utoipa::path]`, `Listing<F>` documents the query parameters the GET reads.

use axum::extract::{FromRequest, Request};
use axum::http::Method;
use picket_core::extract::{parse_query, NoParams};
use picket_core::ApiError;
use sea_query::Order;
use serde::de::DeserializeOwned;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::Required;
use utoipa::IntoParams;

use super::query::ListSpec;
use super::search::UnpagedSearchBody;
use super::{ListQuery, PageRequest, SearchBody, SearchJson, Sort, SortField};

/// A resource's search filters, and what its list and search need besides them.
pub trait SearchFilters: DeserializeOwned + Default {
    /// The whitelisted sort fields.
    type Sort: SortField;
    /// Whether the list answers pages; a search body of a resource that does not refuses `page`.
    const PAGINATED: bool;
    /// The filter names the GET list refuses with a pointer to the search.
    const NAMES: &'static [&'static str];
    /// The search path named in that refusal, e.g. `/api/v1/devices/search`.
    const SEARCH_PATH: &'static str;
    /// The documented sort names with their aliases, and the default.
    const SORT_DOC: &'static str;
}

/// A list or search request, parsed: from the query string of a GET (no filters), or from the
/// body of a POST search (which takes no query parameters).
#[derive(Debug)]
pub struct Listing<F: SearchFilters> {
    pub filters: F,
    pub sort: Sort<F::Sort>,
    /// The clamped page; the default one on resources that are not paginated.
    pub page: PageRequest,
}

impl<F, S> FromRequest<S> for Listing<F>
where
    F: SearchFilters,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if req.method() != Method::POST {
            return from_query::<F>(req.uri().query());
        }
        parse_query::<NoParams>(req.uri().query().unwrap_or_default())?;
        if F::PAGINATED {
            let SearchJson(body) = SearchJson::<SearchBody<F>>::from_request(req, state).await?;
            Ok(Listing {
                page: body.page_request(),
                sort: body.sort.unwrap_or_default().resolve(),
                filters: body.filters.unwrap_or_default(),
            })
        } else {
            let SearchJson(body) =
                SearchJson::<UnpagedSearchBody<F>>::from_request(req, state).await?;
            Ok(Listing {
                page: PageRequest::new(None, None),
                sort: body.sort.unwrap_or_default().resolve(),
                filters: body.filters.unwrap_or_default(),
            })
        }
    }
}

fn from_query<F: SearchFilters>(query: Option<&str>) -> Result<Listing<F>, ApiError> {
    let spec = ListSpec {
        paginated: F::PAGINATED,
        filters: F::NAMES,
        search_path: F::SEARCH_PATH,
    };
    let q = ListQuery::parse(query, &spec)?;
    Ok(Listing {
        filters: F::default(),
        sort: Sort::resolve(q.sort.as_deref(), q.order.as_deref()),
        page: q.page.unwrap_or(PageRequest::new(None, None)),
    })
}

impl<F: SearchFilters> IntoParams for Listing<F> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let integer = || {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        };
        let string = || ObjectBuilder::new().schema_type(Type::String);
        let order = match F::Sort::DEFAULT_ORDER {
            Order::Desc => "asc or desc; default desc",
            _ => "asc or desc; default asc",
        };
        let mut params = Vec::new();
        if F::PAGINATED {
            params.push(query_param(
                "page",
                integer(),
                "default 1; below 1 counts as 1; past the end serves the last page",
            ));
            params.push(query_param(
                "page_size",
                integer(),
                "default 100; at most 1000",
            ));
        }
        params.push(query_param("sort", string(), F::SORT_DOC));
        params.push(query_param("order", string(), order));
        params
    }
}

fn query_param(name: &str, schema: ObjectBuilder, description: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema.build()))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::wire::{DeviceFilters, DeviceSort};
    use crate::networks::wire::NetworkFilters;
    use axum::body::Body;

    async fn listing<F: SearchFilters>(
        method: Method,
        uri: &str,
        body: &str,
    ) -> Result<Listing<F>, String> {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        Listing::<F>::from_request(req, &())
            .await
            .map_err(|e| e.message)
    }

    #[tokio::test]
    async fn get_reads_the_query_and_post_the_body() {
        let l = listing::<DeviceFilters>(Method::GET, "/d?sort=hostname&order=DESC&page=2", "")
            .await
            .unwrap();
        assert_eq!(l.sort.field, DeviceSort::Hostname);
        assert!(matches!(l.sort.order, Order::Desc));
        assert_eq!((l.page.page, l.page.page_size), (2, 100));
        assert!(l.filters.ip.0.is_empty());

        let l = listing::<DeviceFilters>(
            Method::POST,
            "/d/search",
            r#"{"filters":{"ip":"10.0.0.%"},"page_size":5}"#,
        )
        .await
        .unwrap();
        assert_eq!(l.filters.ip.0, ["10.0.0.%"]);
        assert_eq!((l.page.page, l.page.page_size), (1, 5));
        let l = listing::<DeviceFilters>(Method::POST, "/d/search", "")
            .await
            .unwrap();
        assert_eq!(l.sort.field, DeviceSort::LastIp);
    }

    #[tokio::test]
    async fn each_side_refuses_what_belongs_to_the_other() {
        let e = listing::<DeviceFilters>(Method::GET, "/d?mac=aa", "")
            .await
            .unwrap_err();
        assert!(
            e.contains("`mac`") && e.contains("/api/v1/devices/search"),
            "{e}"
        );
        let e = listing::<DeviceFilters>(Method::POST, "/d/search?page=2", "{}")
            .await
            .unwrap_err();
        assert!(e.contains("`page`"), "{e}");
        let e = listing::<DeviceFilters>(Method::POST, "/d/search", r#"{"colour":1}"#)
            .await
            .unwrap_err();
        assert!(e.contains("colour"), "{e}");
        // A resource that is not paginated refuses `page` on both sides.
        let e = listing::<NetworkFilters>(Method::GET, "/n?page=1", "")
            .await
            .unwrap_err();
        assert!(e.contains("`page`"), "{e}");
        let e = listing::<NetworkFilters>(Method::POST, "/n/search", r#"{"page":1}"#)
            .await
            .unwrap_err();
        assert!(e.contains("`page`"), "{e}");
    }

    #[test]
    fn documents_the_parameters_the_list_reads() {
        let names = |params: Vec<Parameter>| -> Vec<String> {
            params.into_iter().map(|p| p.name).collect()
        };
        let paged = Listing::<DeviceFilters>::into_params(|| None);
        assert_eq!(names(paged), ["page", "page_size", "sort", "order"]);
        let unpaged = Listing::<NetworkFilters>::into_params(|| None);
        assert_eq!(names(unpaged), ["sort", "order"]);
    }
}
