//! Pagination rules, sans-IO: offset pages (date range in the path) and
//! cursor pages (opaque `paginationToken`), with the documented bounds.

use crate::domain::error::ApiError;
use hercle_models::Timestamp;
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

/// `text` is already decoded: REST decodes path segments once, hub
/// arguments are plain strings.
fn date(param: &str, text: &str) -> Result<OffsetDateTime, ApiError> {
    Timestamp::from_text(text)
        .get()
        .ok_or_else(|| ApiError::invalid(param, format!("{param} must be an ISO-8601 date-time")))
}

/// Validates `/{startDate}/{endDate}/{page}/{pageSize}` against the bounds
/// and the endpoint's longest range.
pub(crate) fn offset(
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
