//! The list and search conventions every network resource shares (contract §1.5–§1.8):
//! pagination and its envelope, the GET query and POST search body, sort fields and order,
//! and string matching. Resources supply their filter and sort-field types; everything that
//! reads a request lives here so devices, networks, alerts and services answer alike. A
//! resource's list and search are one handler taking a [`Listing`], mounted on both routes.

pub mod extract;
pub mod matching;
pub mod page;
pub mod query;
pub mod route;
pub mod search;

pub use extract::{Listing, SearchFilters};
pub use page::{PageInfo, PageRequest};
pub use query::ListQuery;
pub use search::{OneOrMany, SearchBody, SearchJson};

use sea_query::Order;

/// A resource's whitelisted sort fields, parsed from the names and aliases it documents.
pub trait SortField: Sized + Copy {
    /// The field used when none, or an unknown one, is asked for.
    const DEFAULT: Self;
    /// The order used when none, or an unknown one, is asked for.
    const DEFAULT_ORDER: Order;
    /// The field a name or alias denotes; `None` for unknown names.
    fn parse(name: &str) -> Option<Self>;
}

/// A resolved sort: a known field and an order. Unknown input falls back to the defaults, never
/// an error (documented).
#[derive(Debug, Clone)]
pub struct Sort<F> {
    pub field: F,
    pub order: Order,
}

impl<F: SortField> Sort<F> {
    pub fn resolve(field: Option<&str>, order: Option<&str>) -> Sort<F> {
        let field = field.and_then(|f| F::parse(f.trim())).unwrap_or(F::DEFAULT);
        let order = match order.map(|o| o.trim().to_ascii_lowercase()).as_deref() {
            Some("asc") => Order::Asc,
            Some("desc") => Order::Desc,
            _ => F::DEFAULT_ORDER,
        };
        Sort { field, order }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum F {
        Ip,
        Name,
    }
    impl SortField for F {
        const DEFAULT: F = F::Ip;
        const DEFAULT_ORDER: Order = Order::Asc;
        fn parse(name: &str) -> Option<F> {
            match name {
                "ip" | "last_ip" => Some(F::Ip),
                "name" => Some(F::Name),
                _ => None,
            }
        }
    }

    #[test]
    fn unknown_fields_and_orders_fall_back_to_defaults() {
        let s = Sort::<F>::resolve(Some("name"), Some("DeSc"));
        assert_eq!(s.field, F::Name);
        assert!(matches!(s.order, Order::Desc));
        let s = Sort::<F>::resolve(Some("bogus"), Some("sideways"));
        assert_eq!(s.field, F::Ip);
        assert!(matches!(s.order, Order::Asc));
        let s = Sort::<F>::resolve(None, None);
        assert_eq!(s.field, F::Ip);
    }
}
