//! The one paging scheme of every listing, CLI and HTTP alike: `page` (from 1, default 1) and
//! `page_size` (1–1000, default 20), the numbers of `lrt doc list --page/--page-size` and of
//! upstream LightRAG's paginated document list, and one page with its `total` back. A bad
//! value is the same usage error everywhere (exit 2, HTTP 400), checked before any work.

use serde::Serialize;

use crate::error::{Error, Result};

/// The first page.
pub const DEFAULT_PAGE: u64 = 1;
/// Items per page when none is asked for.
pub const DEFAULT_PAGE_SIZE: u64 = 20;
/// The largest page: enough for a script, small enough that no listing is unbounded.
pub const MAX_PAGE_SIZE: u64 = 1000;

/// A checked page request: only [`Paging::new`] makes one, so a service method given one
/// needs no check of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    page: u64,
    page_size: u64,
}

impl Default for Paging {
    fn default() -> Self {
        Paging {
            page: DEFAULT_PAGE,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }
}

impl Paging {
    /// `page` from 1, `page_size` from 1 to [`MAX_PAGE_SIZE`]; anything else is a usage error.
    pub fn new(page: u64, page_size: u64) -> Result<Paging> {
        if page == 0 || page_size == 0 || page_size > MAX_PAGE_SIZE {
            return Err(Error::Usage(format!(
                "page must be at least 1 and page size between 1 and {MAX_PAGE_SIZE} \
                 (--page/--page-size, or the page/page_size parameters)"
            )));
        }
        Ok(Paging { page, page_size })
    }

    /// The defaults for what is not given (HTTP query parameters are optional).
    pub fn or_default(page: Option<u64>, page_size: Option<u64>) -> Result<Paging> {
        Paging::new(page.unwrap_or(DEFAULT_PAGE), page_size.unwrap_or(DEFAULT_PAGE_SIZE))
    }

    pub fn page(&self) -> u64 {
        self.page
    }

    pub fn page_size(&self) -> u64 {
        self.page_size
    }

    /// How many items the pages before this one hold.
    pub fn offset(&self) -> u64 {
        (self.page - 1).saturating_mul(self.page_size)
    }

    /// How many items this page and the ones before it hold (a store that can only limit
    /// reads this many and skips [`Paging::offset`]).
    pub fn end(&self) -> u64 {
        self.page.saturating_mul(self.page_size)
    }

    /// This page of items read with `offset`/`page_size`, and the total of all pages.
    pub fn wrap<T>(&self, items: Vec<T>, total: u64) -> Page<T> {
        Page {
            items,
            page: self.page,
            page_size: self.page_size,
            total,
        }
    }

    /// This page of a listing read whole (short ones: a tenant's KBs, members, keys).
    pub fn slice<T>(&self, all: Vec<T>) -> Page<T> {
        let total = all.len() as u64;
        let items = all
            .into_iter()
            .skip(usize::try_from(self.offset()).unwrap_or(usize::MAX))
            .take(self.page_size as usize)
            .collect();
        self.wrap(items, total)
    }
}

/// One page of a listing: its items, where it is, and how many items all pages hold.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u64,
    pub page_size: u64,
    pub total: u64,
}

impl<T> Page<T> {
    /// How many pages the listing has (at least one, even when empty).
    pub fn pages(&self) -> u64 {
        self.total.div_ceil(self.page_size).max(1)
    }

    /// The line under a listing's table: `page 2 of 3 (45 tenants)`.
    pub fn footer(&self, what: &str) -> String {
        format!("page {} of {} ({} {what})", self.page, self.pages(), self.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_checked_and_sliced() {
        for (page, size) in [(0, 20), (1, 0), (1, MAX_PAGE_SIZE + 1)] {
            assert!(matches!(Paging::new(page, size), Err(Error::Usage(_))), "{page} {size}");
        }
        assert_eq!(Paging::or_default(None, None).unwrap(), Paging::default());
        let p = Paging::new(2, 3).unwrap();
        assert_eq!((p.offset(), p.end()), (3, 6));
        let page = p.slice((1..=7).collect::<Vec<_>>());
        assert_eq!((page.pages(), page.total), (3, 7));
        assert_eq!(page.items, vec![4, 5, 6]);
        let past = Paging::new(9, 3).unwrap().slice(vec![1, 2]);
        assert!(past.items.is_empty());
        assert_eq!(past.total, 2);
        let huge = Paging::new(u64::MAX, MAX_PAGE_SIZE).unwrap();
        assert!(huge.slice(vec![1]).items.is_empty());
        assert_eq!(
            Paging::default().wrap(Vec::<u8>::new(), 0).footer("tenants"),
            "page 1 of 1 (0 tenants)"
        );
    }
}
