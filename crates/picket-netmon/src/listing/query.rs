//! The query string of a GET list (§1.6): `sort`, `order` and, where paginated, `page` and
//! `page_size`. Filters belong to `/search`, so a documented filter name is refused with a
//! pointer there, and any other parameter is refused by name.

use picket_core::extract::parse_query;
use picket_core::ApiError;

use super::PageRequest;

/// What a GET list accepts besides `sort` and `order`.
#[derive(Debug, Clone, Copy)]
pub struct ListSpec {
    pub paginated: bool,
    /// Filter names the endpoint documents as refused (they work on the search endpoint).
    pub filters: &'static [&'static str],
    /// The search path named in the refusal, e.g. `/api/v1/devices/search`.
    pub search_path: &'static str,
}

/// A parsed GET list query.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub sort: Option<String>,
    pub order: Option<String>,
    /// `None` on endpoints that are not paginated.
    pub page: Option<PageRequest>,
}

impl ListQuery {
    pub fn parse(query: Option<&str>, spec: &ListSpec) -> Result<ListQuery, ApiError> {
        let pairs: Vec<(String, String)> = parse_query(query.unwrap_or_default())?;
        let mut out = ListQuery::default();
        let (mut page, mut page_size) = (None, None);
        for (key, value) in pairs {
            match key.as_str() {
                "sort" => out.sort = Some(value),
                "order" => out.order = Some(value),
                "page" if spec.paginated => page = Some(integer(&key, &value)?),
                "page_size" if spec.paginated => page_size = Some(integer(&key, &value)?),
                k if spec.filters.contains(&k) => {
                    return Err(ApiError::bad_request(format!(
                        "query parameter `{k}` is a filter; filtering is not supported on this \
                         endpoint, use POST {}",
                        spec.search_path
                    )))
                }
                k => {
                    return Err(ApiError::bad_request(format!(
                        "unknown query parameter `{k}`"
                    )))
                }
            }
        }
        if spec.paginated {
            out.page = Some(PageRequest::new(page, page_size));
        }
        Ok(out)
    }
}

fn integer(key: &str, value: &str) -> Result<i64, ApiError> {
    value.trim().parse().map_err(|_| {
        ApiError::bad_request(format!(
            "invalid query parameter `{key}`: `{value}` is not an integer"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEVICES: ListSpec = ListSpec {
        paginated: true,
        filters: &["ip", "mac"],
        search_path: "/api/v1/devices/search",
    };
    const NETWORKS: ListSpec = ListSpec {
        paginated: false,
        filters: &["name"],
        search_path: "/api/v1/networks/search",
    };

    #[test]
    fn reads_sort_order_and_pages() {
        let q = ListQuery::parse(
            Some("page=0&page_size=5000&sort=hostname&order=DESC"),
            &DEVICES,
        )
        .unwrap();
        assert_eq!(q.sort.as_deref(), Some("hostname"));
        assert_eq!(q.order.as_deref(), Some("DESC"));
        assert_eq!(
            q.page,
            Some(PageRequest {
                page: 1,
                page_size: 1000
            })
        );
        let q = ListQuery::parse(None, &NETWORKS).unwrap();
        assert!(q.page.is_none() && q.sort.is_none());
    }

    #[test]
    fn refuses_filters_unknown_parameters_and_non_integers_by_name() {
        let e = ListQuery::parse(Some("ip=10.0.0.1"), &DEVICES).unwrap_err();
        assert!(
            e.message.contains("`ip`") && e.message.contains("/search"),
            "{}",
            e.message
        );
        let e = ListQuery::parse(Some("colour=red"), &DEVICES).unwrap_err();
        assert!(e.message.contains("`colour`"), "{}", e.message);
        let e = ListQuery::parse(Some("page=two"), &DEVICES).unwrap_err();
        assert!(e.message.contains("`page`"), "{}", e.message);
        let e = ListQuery::parse(Some("page=1"), &NETWORKS).unwrap_err();
        assert!(e.message.contains("`page`"), "{}", e.message);
    }
}
