//! Pagination: offset pages, cursor pages and long date ranges as lazy
//! streams of items.
//!
//! The date-range split is sans-IO ([`windows`]): the API's ranges are
//! inclusive at both ends, so consecutive windows meet with no gap and no
//! overlap when each starts one tick (100 ns, the resolution of the .NET
//! timestamps the API sends) after the previous one ends.

use crate::{Client, Error};
use futures_util::stream::{self, Stream, StreamExt, TryStreamExt};
use hercle_models::operation::{CursorPaged, DateRanged, Input, OffsetPaged};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The resolution windows are cut at.
pub const TICK: time::Duration = time::Duration::nanoseconds(100);

/// Splits the inclusive range `[start, end]` into inclusive windows no
/// longer than `max` (`end - start <= max`), in order, the first starting at
/// `start`, the last ending at `end`, each starting one [`TICK`] after the
/// previous one ends. Ends are truncated to whole ticks; an empty range
/// (`end < start`) gives no window.
pub fn windows(
    start: OffsetDateTime,
    end: OffsetDateTime,
    max: time::Duration,
) -> Vec<(OffsetDateTime, OffsetDateTime)> {
    let (start, end) = (truncate(start), truncate(end));
    let max = if max < time::Duration::ZERO {
        time::Duration::ZERO
    } else {
        max
    };
    let mut out = Vec::new();
    let mut from = start;
    while from <= end {
        let to = match from.checked_add(max) {
            Some(t) if t < end => t,
            _ => end,
        };
        out.push((from, to));
        match to.checked_add(TICK) {
            Some(next) if to < end => from = next,
            _ => break,
        }
    }
    out
}

fn truncate(t: OffsetDateTime) -> OffsetDateTime {
    let nanos = t.nanosecond();
    t.replace_nanosecond(nanos - nanos % 100).unwrap_or(t)
}

/// The ISO-8601 text sent for a window edge (UTC, 7 fractional digits).
pub fn format_instant(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let base = t
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default();
    // `...:SSZ` -> `...:SS.fffffffZ`
    let stem = base.strip_suffix('Z').unwrap_or(&base);
    format!("{stem}.{:07}Z", t.nanosecond() / 100)
}

impl Client {
    /// Every item of an offset-paged operation, fetching page 0, 1, … lazily
    /// until a page comes back shorter than the page size.
    pub fn offset_items<O>(
        &self,
        input: Input<O>,
    ) -> impl Stream<Item = Result<O::Item, Error>> + use<O>
    where
        O: OffsetPaged + 'static,
        Input<O>: Clone,
    {
        let client = self.clone();
        stream::try_unfold(Some((input, 0i64)), move |state| {
            let client = client.clone();
            async move {
                let Some((mut input, page)) = state else {
                    return Ok(None);
                };
                O::set_page(&mut input, page);
                let size = O::page_size(&input);
                let items = O::items(client.call::<O>(input.clone()).await?);
                let more = !items.is_empty()
                    && size.is_none_or(|s| i64::try_from(items.len()).unwrap_or(i64::MAX) >= s);
                let next = more.then_some((input, page + 1));
                Ok(Some((stream::iter(items.into_iter().map(Ok)), next)))
            }
        })
        .try_flatten()
    }

    /// Every item of an offset-paged operation over `[start, end]`, split
    /// into windows no longer than the operation's documented limit, in
    /// order, each paged through before the next.
    pub fn offset_items_in_range<O>(
        &self,
        input: Input<O>,
        start: OffsetDateTime,
        end: OffsetDateTime,
    ) -> impl Stream<Item = Result<O::Item, Error>> + use<O>
    where
        O: OffsetPaged + DateRanged + 'static,
        Input<O>: Clone,
    {
        let limit = O::endpoint()
            .max_range_days
            .map_or(time::Duration::MAX, |d| time::Duration::days(i64::from(d)));
        let client = self.clone();
        stream::iter(windows(start, end, limit))
            .map(move |(from, to)| {
                let mut input = input.clone();
                O::set_range(&mut input, format_instant(from), format_instant(to));
                client.offset_items(input)
            })
            .flatten()
    }

    /// Every item of a cursor-paged operation, following `paginationToken`
    /// lazily until it is absent or empty.
    pub fn cursor_items<O>(
        &self,
        input: Input<O>,
    ) -> impl Stream<Item = Result<O::Item, Error>> + use<O>
    where
        O: CursorPaged + 'static,
        Input<O>: Clone,
    {
        let client = self.clone();
        stream::try_unfold(Some((input, None::<String>)), move |state| {
            let client = client.clone();
            async move {
                let Some((mut input, token)) = state else {
                    return Ok(None);
                };
                O::set_token(&mut input, token);
                let (items, next) = O::split(client.call::<O>(input.clone()).await?);
                Ok(Some((
                    stream::iter(items.into_iter().map(Ok)),
                    next.map(|t| (input, Some(t))),
                )))
            }
        })
        .try_flatten()
    }
}

/// Collects at most `max` items; `truncated` says whether more were left.
pub async fn collect_bounded<T>(
    items: impl Stream<Item = Result<T, Error>>,
    max: usize,
) -> Result<Collected<T>, Error> {
    let mut items = std::pin::pin!(items);
    let mut out = Vec::new();
    while let Some(item) = items.next().await {
        if out.len() == max {
            return Ok(Collected {
                items: out,
                truncated: true,
            });
        }
        out.push(item?);
    }
    Ok(Collected {
        items: out,
        truncated: false,
    })
}

/// The result of [`collect_bounded`].
#[derive(Debug)]
pub struct Collected<T> {
    /// The items, at most the bound.
    pub items: Vec<T>,
    /// Whether the stream had more.
    pub truncated: bool,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use proptest::prelude::*;

    fn at(ns: i128) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(ns).unwrap()
    }

    #[test]
    fn a_range_within_the_limit_is_one_window() {
        let (s, e) = (at(0), at(7 * 86_400 * 1_000_000_000));
        assert_eq!(windows(s, e, time::Duration::days(7)), vec![(s, e)]);
        assert!(windows(e, s, time::Duration::days(7)).is_empty());
    }

    #[test]
    fn edges_are_one_tick_apart() {
        let day = time::Duration::days(1);
        let w = windows(at(0), at(0) + time::Duration::days(3), day);
        assert_eq!(w.len(), 3);
        assert_eq!(w[0], (at(0), at(0) + day));
        assert_eq!(w[1], (at(0) + day + TICK, at(0) + day * 2 + TICK));
        assert_eq!(w[2], (at(0) + day * 2 + TICK * 2, at(0) + day * 3));
    }

    #[test]
    fn instants_are_formatted_with_ticks() {
        assert_eq!(format_instant(at(1_500)), "1970-01-01T00:00:00.0000015Z");
        let parsed = hercle_models::Timestamp::from_text("2025-01-01T00:00:00.1234567Z");
        assert_eq!(
            format_instant(parsed.get().unwrap()),
            "2025-01-01T00:00:00.1234567Z"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]
        #[test]
        fn windows_cover_the_range_exactly(
            start in 0i128..4_000_000_000_000_000_000,
            len in 0i128..400 * 86_400 * 1_000_000_000,
            days in 1i64..40,
        ) {
            let (s, e) = (truncate(at(start)), truncate(at(start + len)));
            let max = time::Duration::days(days);
            let w = windows(s, e, max);
            prop_assert!(!w.is_empty());
            prop_assert_eq!(w[0].0, s);
            prop_assert_eq!(w[w.len() - 1].1, e);
            for (a, b) in &w {
                prop_assert!(a <= b);
                prop_assert!(*b - *a <= max);
            }
            for pair in w.windows(2) {
                prop_assert_eq!(pair[0].1 + TICK, pair[1].0, "no gap, no overlap");
                // Every window but the last is as long as allowed: the fewest windows.
                prop_assert_eq!(pair[0].1 - pair[0].0, max);
            }
        }
    }
}
