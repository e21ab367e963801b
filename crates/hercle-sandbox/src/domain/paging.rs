//! Every list query's paging, sans-IO and implemented once for both
//! transports: offset pages (a date range, page and page size; REST has
//! them in the path, the hub as arguments), cursor pages (an opaque
//! `paginationToken`, REST's banking lists) and the optional `from`/`to`
//! windows, with the documented bounds. The adapters only gather the raw
//! values; the limits (page sizes, longest date ranges) are decided here.

use crate::domain::error::ApiError;
use hercle_models::Timestamp;
use hercle_models::ops::OperationId;
use time::OffsetDateTime;

/// Documented page size bounds.
pub(crate) const PAGE_SIZE: std::ops::RangeInclusive<i64> = 5..=50;

/// A validated offset page request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OffsetPage {
    /// Inclusive start.
    pub(crate) start: OffsetDateTime,
    /// Inclusive end.
    pub(crate) end: OffsetDateTime,
    /// 0-based page.
    pub(crate) page: usize,
    /// Items per page.
    pub(crate) size: usize,
}

/// The offset-paged lists. Each has one longest date range, whichever
/// transport asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OffsetList {
    /// Orders (REST `GetOrdersPaginated`, hub `GetOrdersPaginated`).
    Orders,
    /// Recent trades.
    Trades,
    /// Trades, the `…/historical` variant.
    HistoricalTrades,
    /// Recent ledger entries.
    Transactions,
    /// Ledger entries, the `…/historical` variant.
    HistoricalTransactions,
    /// Withdrawals.
    Withdrawals,
    /// Fiat transfers (hub `GetTransfersPaginated`; REST lists them by cursor).
    Transfers,
}

/// The transfers' longest range: the docs say 30 days for the transfer
/// list, but the description carries no `x-max-range-days` for it (its
/// REST list is cursor-paged).
const TRANSFERS_MAX_RANGE_DAYS: u32 = 30;

impl OffsetList {
    /// The longest date range: the description's `x-max-range-days` of
    /// the REST operation listing the same items (the generated table), so
    /// REST and hub cannot drift apart. The docs' hub pages say 7 days for
    /// orders and withdrawals where the REST pages say 30 (quirk 28); the
    /// description's value wins for both.
    pub(crate) fn max_range_days(self) -> Option<u32> {
        let op = match self {
            OffsetList::Orders => OperationId::GetOrdersPaginated,
            OffsetList::Trades => OperationId::GetTradesPaginated,
            OffsetList::HistoricalTrades => OperationId::GetHistoricalTradesPaginated,
            OffsetList::Transactions => OperationId::GetTransactionsPaginated,
            OffsetList::HistoricalTransactions => OperationId::GetHistoricalTransactionsPaginated,
            OffsetList::Withdrawals => OperationId::GetWithdrawalsPaginated,
            OffsetList::Transfers => return Some(TRANSFERS_MAX_RANGE_DAYS),
        };
        op.endpoint().max_range_days
    }
}

/// An offset page request as received (already decoded text), before
/// validation.
#[derive(Clone, Debug)]
pub(crate) struct OffsetQuery {
    /// Inclusive start, ISO-8601.
    pub(crate) start: String,
    /// Inclusive end, ISO-8601.
    pub(crate) end: String,
    /// 0-based page.
    pub(crate) page: String,
    /// Items per page.
    pub(crate) page_size: String,
}

impl OffsetQuery {
    /// Validates the query for `list` (bounds and its longest range).
    pub(crate) fn validate(&self, list: OffsetList) -> Result<OffsetPage, ApiError> {
        offset(
            &self.start,
            &self.end,
            &self.page,
            &self.page_size,
            list.max_range_days(),
        )
    }

    /// The page of `items` (oldest first) this query asks for, within
    /// `list`'s limits; `created` reads when an item was made.
    pub(crate) fn page<T: Clone>(
        &self,
        list: OffsetList,
        items: &[T],
        created: impl Fn(&T) -> Option<&Timestamp>,
    ) -> Result<Vec<T>, ApiError> {
        let page = self.validate(list)?;
        Ok(page.apply(items, |i| created(i).and_then(Timestamp::get)))
    }
}

/// `text` is already decoded: REST decodes path segments once, hub
/// arguments are plain strings.
fn date(param: &str, text: &str) -> Result<OffsetDateTime, ApiError> {
    Timestamp::from_text(text)
        .get()
        .ok_or_else(|| ApiError::invalid(param, format!("{param} must be an ISO-8601 date-time")))
}

/// Validates `/{startDate}/{endDate}/{page}/{pageSize}` against the bounds
/// and the endpoint's longest range.
fn offset(
    start: &str,
    end: &str,
    page: &str,
    page_size: &str,
    max_range_days: Option<u32>,
) -> Result<OffsetPage, ApiError> {
    let start = date("startDate", start)?;
    let end = date("endDate", end)?;
    if end < start {
        return Err(ApiError::rule(
            "endDate",
            "endDate must not be before startDate",
        ));
    }
    if let Some(days) = max_range_days
        && end - start > time::Duration::days(i64::from(days))
    {
        return Err(ApiError::rule(
            "endDate",
            format!("The date range must not exceed {days} days"),
        ));
    }
    let page: i64 = page
        .parse()
        .map_err(|_| ApiError::invalid("page", "page must be an integer"))?;
    if page < 0 {
        return Err(ApiError::invalid("page", "page must be 0 or more"));
    }
    let size = page_size_of(page_size)?;
    Ok(OffsetPage {
        start,
        end,
        page: usize::try_from(page).unwrap_or(usize::MAX),
        size,
    })
}

/// Checks a page size against 5–50.
pub(crate) fn page_size_of(text: &str) -> Result<usize, ApiError> {
    let size: i64 = text
        .parse()
        .map_err(|_| ApiError::invalid("pageSize", "pageSize must be an integer"))?;
    if !PAGE_SIZE.contains(&size) {
        return Err(ApiError::invalid(
            "pageSize",
            "pageSize must be between 5 and 50",
        ));
    }
    Ok(usize::try_from(size).unwrap_or(5))
}

impl OffsetPage {
    /// The page of `items` (sorted oldest first) whose time is in range.
    pub(crate) fn apply<T: Clone>(
        &self,
        items: &[T],
        time_of: impl Fn(&T) -> Option<OffsetDateTime>,
    ) -> Vec<T> {
        items
            .iter()
            .filter(|i| time_of(i).is_some_and(|t| t >= self.start && t <= self.end))
            .skip(self.page.saturating_mul(self.size))
            .take(self.size)
            .cloned()
            .collect()
    }
}

/// An optional `from`/`to` window (inclusive) on when items were created,
/// as the banking lists take it: REST `from`/`to` query parameters, hub
/// `From`/`To` arguments. An unbounded side lets everything through.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Window {
    from: Option<OffsetDateTime>,
    to: Option<OffsetDateTime>,
}

impl Window {
    /// Parses the bounds given (`None` or `""` is no bound).
    pub(crate) fn parse(
        (from_name, from): (&str, Option<&str>),
        (to_name, to): (&str, Option<&str>),
    ) -> Result<Window, ApiError> {
        let bound = |name: &str, text: Option<&str>| {
            text.filter(|t| !t.trim().is_empty())
                .map(|t| date(name, t))
                .transpose()
        };
        let window = Window {
            from: bound(from_name, from)?,
            to: bound(to_name, to)?,
        };
        if let (Some(f), Some(t)) = (window.from, window.to)
            && t < f
        {
            return Err(ApiError::rule(
                to_name,
                format!("{to_name} must not be before {from_name}"),
            ));
        }
        Ok(window)
    }

    /// Whether an item created at `at` is inside; an item without a
    /// readable time is inside only an unbounded window.
    pub(crate) fn contains(&self, at: Option<OffsetDateTime>) -> bool {
        if self.from.is_none() && self.to.is_none() {
            return true;
        }
        at.is_some_and(|t| self.from.is_none_or(|f| t >= f) && self.to.is_none_or(|e| t <= e))
    }

    /// The items inside.
    pub(crate) fn apply<T: Clone>(
        &self,
        items: &[T],
        time_of: impl Fn(&T) -> Option<OffsetDateTime>,
    ) -> Vec<T> {
        items
            .iter()
            .filter(|i| self.contains(time_of(i)))
            .cloned()
            .collect()
    }
}

/// A cursor page: items after the token's id, and the next token if more remain.
pub(crate) fn cursor<T: Clone>(
    items: &[T],
    id_of: impl Fn(&T) -> Option<&str>,
    page_size: &str,
    token: Option<&str>,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let size = page_size_of(page_size)?;
    let start = match token.filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => {
            let last = parse_token(t)
                .ok_or_else(|| ApiError::rule("paginationToken", "Invalid pagination token"))?;
            items
                .iter()
                .position(|i| id_of(i) == Some(last.as_str()))
                .map(|p| p + 1)
                .ok_or_else(|| ApiError::rule("paginationToken", "Invalid pagination token"))?
        }
    };
    let page: Vec<T> = items.iter().skip(start).take(size).cloned().collect();
    let next = if start + page.len() < items.len() {
        page.last().and_then(&id_of).map(make_token)
    } else {
        None
    };
    Ok((page, next))
}

/// A cursor page of `items` inside `window` (`time_of` reads when an
/// item was created): REST's banking lists.
pub(crate) fn cursor_in<T: Clone>(
    items: &[T],
    window: &Window,
    id_of: impl Fn(&T) -> Option<&str>,
    time_of: impl Fn(&T) -> Option<OffsetDateTime>,
    page_size: &str,
    token: Option<&str>,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    cursor(&window.apply(items, time_of), id_of, page_size, token)
}

/// An offset page of `items` inside `window`, by page number: the hub's
/// banking lists (`From`/`To`, `Page`, `PageSize`).
pub(crate) fn window_page<T: Clone>(
    items: &[T],
    window: &Window,
    time_of: impl Fn(&T) -> Option<OffsetDateTime>,
    page: i64,
    page_size: i64,
) -> Result<Vec<T>, ApiError> {
    let items = window.apply(items, time_of);
    let page =
        usize::try_from(page).map_err(|_| ApiError::invalid("Page", "Page must be 0 or more"))?;
    let size = page_size_of(&page_size.to_string())?;
    Ok(items
        .iter()
        .skip(page.saturating_mul(size))
        .take(size)
        .cloned()
        .collect())
}

/// Tokens look like HercleX's (a DynamoDB key): `{"Id":{"S":"<id>"}}`.
fn make_token(id: &str) -> String {
    serde_json::json!({ "Id": { "S": id } }).to_string()
}

fn parse_token(token: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(token).ok()?;
    v.get("Id")?.get("S")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_bounds() {
        let ok = offset(
            "2025-01-01T00:00:00+00:00",
            "2025-01-07T00:00:00Z",
            "0",
            "25",
            Some(7),
        )
        .unwrap();
        assert_eq!((ok.page, ok.size), (0, 25));
        // Malformed values are 400; a range that breaks a rule is 422.
        for (s, e, p, n, days, status) in [
            (
                "2025-01-01T00:00:00Z",
                "2025-01-09T00:00:00Z",
                "0",
                "25",
                Some(7),
                422,
            ),
            (
                "2025-01-02T00:00:00Z",
                "2025-01-01T00:00:00Z",
                "0",
                "25",
                None,
                422,
            ),
            (
                "2025-01-01T00:00:00Z",
                "2025-01-02T00:00:00Z",
                "-1",
                "25",
                None,
                400,
            ),
            (
                "2025-01-01T00:00:00Z",
                "2025-01-02T00:00:00Z",
                "0",
                "4",
                None,
                400,
            ),
            (
                "2025-01-01T00:00:00Z",
                "2025-01-02T00:00:00Z",
                "0",
                "51",
                None,
                400,
            ),
            ("yesterday", "2025-01-02T00:00:00Z", "0", "5", None, 400),
        ] {
            assert_eq!(
                offset(s, e, p, n, days).unwrap_err().status(),
                status,
                "{s} {e} {p} {n}"
            );
        }
    }

    #[test]
    fn windows_bound_either_side() {
        let at = |s: &str| Timestamp::from_text(s).get();
        let w = Window::parse(
            ("from", Some("2025-01-02T00:00:00Z")),
            ("to", Some("2025-01-03T00:00:00Z")),
        )
        .unwrap();
        assert!(w.contains(at("2025-01-02T00:00:00Z")), "inclusive");
        assert!(w.contains(at("2025-01-03T00:00:00Z")), "inclusive");
        assert!(!w.contains(at("2025-01-01T23:59:59Z")));
        assert!(!w.contains(None), "no time, bounded window");
        let open = Window::parse(("from", None), ("to", Some(""))).unwrap();
        assert!(open.contains(None));
        let since = Window::parse(("From", Some("2025-01-02T00:00:00Z")), ("To", None)).unwrap();
        assert!(since.contains(at("2030-01-01T00:00:00Z")));
        assert_eq!(
            Window::parse(("from", Some("soon")), ("to", None))
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            Window::parse(
                ("from", Some("2025-01-03T00:00:00Z")),
                ("to", Some("2025-01-02T00:00:00Z"))
            )
            .unwrap_err()
            .status(),
            422
        );
    }

    #[test]
    fn cursor_walks_every_item_once() {
        let items: Vec<String> = (0..23).map(|i| format!("id-{i:03}")).collect();
        let mut token: Option<String> = None;
        let mut seen = Vec::new();
        loop {
            let (page, next) = cursor(&items, |s| Some(s.as_str()), "5", token.as_deref()).unwrap();
            seen.extend(page);
            match next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        assert_eq!(seen, items);
        assert!(cursor(&items, |s| Some(s.as_str()), "5", Some("garbage")).is_err());
        assert!(cursor(&items, |s| Some(s.as_str()), "500", None).is_err());
    }
}
