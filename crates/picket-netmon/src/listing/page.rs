//! Pagination (§1.5): clamping the request, serving the last page for a page past the end, and
//! the envelope members every paginated list answers with.

use serde::Serialize;
use utoipa::ToSchema;

pub const DEFAULT_PAGE_SIZE: i64 = 100;
pub const MAX_PAGE_SIZE: i64 = 1000;

/// A page request after clamping: `page` ≥ 1, `page_size` in 1..=1000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: i64,
    pub page_size: i64,
}

impl PageRequest {
    /// Below 1 → 1 for `page`; `page_size` below 1 → 100 and above 1000 → 1000.
    pub fn new(page: Option<i64>, page_size: Option<i64>) -> PageRequest {
        let page = page.unwrap_or(1).max(1);
        let page_size = match page_size {
            None => DEFAULT_PAGE_SIZE,
            Some(n) if n < 1 => DEFAULT_PAGE_SIZE,
            Some(n) => n.min(MAX_PAGE_SIZE),
        };
        PageRequest { page, page_size }
    }

    /// The page actually served for `total_rows` rows, and the rows to skip before it.
    pub fn serve(self, total_rows: i64) -> (PageInfo, u64) {
        let total_pages = (total_rows + self.page_size - 1) / self.page_size;
        let page = self.page.min(total_pages).max(1);
        let info = PageInfo {
            page,
            page_size: self.page_size,
            total_rows,
            total_pages,
        };
        (info, ((page - 1) * self.page_size) as u64)
    }
}

/// The pagination members of a list envelope, beside the resource's array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct PageInfo {
    /// The page served: the one asked for, or the last page when that was past the end.
    pub page: i64,
    pub page_size: i64,
    pub total_rows: i64,
    /// 0 when there are no rows.
    pub total_pages: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_clamped() {
        assert_eq!(
            PageRequest::new(None, None),
            PageRequest {
                page: 1,
                page_size: 100
            }
        );
        assert_eq!(
            PageRequest::new(Some(0), Some(0)),
            PageRequest {
                page: 1,
                page_size: 100
            }
        );
        assert_eq!(PageRequest::new(Some(-3), Some(-1)).page_size, 100);
        assert_eq!(PageRequest::new(Some(2), Some(5000)).page_size, 1000);
    }

    #[test]
    fn past_the_end_serves_the_last_page_and_empty_is_page_one_of_zero() {
        let (info, skip) = PageRequest::new(Some(9), Some(10)).serve(25);
        assert_eq!((info.page, info.total_pages, skip), (3, 3, 20));
        let (info, skip) = PageRequest::new(Some(4), Some(10)).serve(0);
        assert_eq!(
            (info.page, info.total_pages, info.total_rows, skip),
            (1, 0, 0, 0)
        );
        let (info, _) = PageRequest::new(Some(2), Some(10)).serve(20);
        assert_eq!((info.page, info.total_pages), (2, 2));
    }
}
