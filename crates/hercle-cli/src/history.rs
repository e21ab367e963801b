//! The history commands' date ranges (`orders`, `trades`, `transactions`):
//! `--from`/`--to`/`--limit`, and paging through the range in the windows
//! each operation allows.

use crate::Ctx;
use crate::failure::Failure;
use crate::terminal::Spinner;
use hercle::models::operation::{DateRanged, OffsetPaged};
use hercle::rest::Input;
use time::OffsetDateTime;

/// A date range, paged automatically.
#[derive(clap::Args, Debug)]
pub(crate) struct RangeArgs {
    /// Start: a date (2026-11-01) or an RFC 3339 time. Default: 7 days ago.
    #[arg(long, value_parser = instant)]
    pub(crate) from: Option<OffsetDateTime>,
    /// End: a date (taken as the end of that day) or an RFC 3339 time. Default: now.
    #[arg(long, value_parser = end_instant)]
    pub(crate) to: Option<OffsetDateTime>,
    /// Stop after this many items.
    #[arg(long, default_value_t = 1000)]
    pub(crate) limit: usize,
}

impl RangeArgs {
    pub(crate) fn bounds(&self) -> Result<(OffsetDateTime, OffsetDateTime), Failure> {
        let to = self.to.unwrap_or_else(OffsetDateTime::now_utc);
        let from = self.from.unwrap_or_else(|| days_ago(7));
        if from > to {
            return Err(Failure::Usage(format!("--from {from} is after --to {to}")));
        }
        Ok((from, to))
    }
}

fn instant(s: &str) -> Result<OffsetDateTime, String> {
    parse_instant(s, false)
}

fn end_instant(s: &str) -> Result<OffsetDateTime, String> {
    parse_instant(s, true)
}

fn parse_instant(s: &str, end_of_day: bool) -> Result<OffsetDateTime, String> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(s, &format)
        .map_err(|_| format!("{s:?}: expected a date (2026-11-01) or an RFC 3339 time"))?;
    let time = if end_of_day {
        time::Time::from_hms(23, 59, 59).unwrap_or(time::Time::MIDNIGHT)
    } else {
        time::Time::MIDNIGHT
    };
    Ok(date.with_time(time).assume_utc())
}

/// Every item of a date range: windows no longer than the operation
/// allows, pages as large as it allows fetched lazily, at most `--limit`
/// items.
pub(crate) async fn page_range<O>(
    ctx: &Ctx,
    range: &RangeArgs,
    columns: &[&str],
) -> Result<(), Failure>
where
    O: OffsetPaged + DateRanged + 'static,
    Input<O>: Clone,
    O::Item: serde::Serialize,
{
    let (from, to) = range.bounds()?;
    let collected = {
        let _s = Spinner::start("paging");
        let first = O::first_page(O::MAX_PAGE_SIZE);
        let items = ctx.rest()?.offset_items_in_range(first, from, to);
        hercle::rest::paging::collect_bounded(items, range.limit).await?
    };
    ctx.print_value(&collected.items, columns)?;
    if collected.truncated {
        eprintln!(
            "note: stopped at --limit {}; narrow the range or raise the limit",
            range.limit
        );
    }
    Ok(())
}

/// `now - days`, for default ranges.
fn days_ago(days: i64) -> OffsetDateTime {
    OffsetDateTime::now_utc() - time::Duration::days(days)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn dates_and_times() {
        let t = instant("2026-11-01").unwrap();
        assert_eq!((t.hour(), t.day()), (0, 1));
        let t = end_instant("2026-11-01").unwrap();
        assert_eq!((t.hour(), t.minute()), (23, 59));
        let t = instant("2026-11-01T10:00:00+01:00").unwrap();
        assert_eq!(t.to_offset(time::UtcOffset::UTC).hour(), 9);
        assert!(instant("yesterday").is_err());
        assert!(instant("2026-13-01").is_err());
    }
}
