//! Balances, transactions, withdrawals and addresses.

use crate::Ctx;
use crate::failure::Failure;
use crate::output::Json;
use crate::terminal::{Spinner, confirm};
use crate::trading::{days_ago, page_range};
use hercle::Decimal;
use hercle::models::WithdrawRequest;
use hercle::rest::Input;
use hercle::rest::ops;
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

/// `hercle withdraw`.
#[derive(clap::Args, Debug)]
pub(crate) struct WithdrawArgs {
    /// The asset, e.g. USDT.
    asset: String,
    /// The amount.
    amount: Decimal,
    /// A whitelisted address.
    address: String,
    /// The network, e.g. ETH or TRX.
    #[arg(long)]
    network: String,
    /// Withdraw without asking.
    #[arg(long, short)]
    yes: bool,
}

/// `hercle addresses`.
#[derive(clap::Args, Debug)]
pub(crate) struct AddressesArgs {
    /// The whitelisted withdrawal addresses instead of the deposit addresses.
    #[arg(long)]
    whitelisted: bool,
}

pub(crate) async fn balances(ctx: &Ctx) -> Result<(), Failure> {
    let balances = {
        let _s = Spinner::start("fetching balances");
        ctx.rest()?.get_balances().await?
    };
    let json = Json::of(&balances)?;
    // One account (or several, quirk: one object or an array): list its assets.
    let accounts = match json {
        Json::Array(items) => items,
        other => vec![other],
    };
    let assets: Vec<Json> = accounts
        .iter()
        .filter_map(|a| match a.get("assets") {
            Some(Json::Array(items)) => Some(items.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    ctx.print(&Json::Array(assets), &[])
}

pub(crate) async fn transactions(ctx: &Ctx, range: RangeArgs) -> Result<(), Failure> {
    let input = Input::<ops::GetTransactionsPaginated> {
        path: ops::GetTransactionsPaginatedPath {
            start_date: String::new(),
            end_date: String::new(),
            page: 0,
            page_size: 50,
        },
        query: (),
        body: (),
    };
    page_range(ctx, input, &range, &[]).await
}

pub(crate) async fn withdraw(ctx: &Ctx, args: WithdrawArgs) -> Result<(), Failure> {
    confirm(
        &format!(
            "withdraw {} {} to {} on {}",
            args.amount, args.asset, args.address, args.network
        ),
        args.yes,
        ctx.production(),
        &args.asset,
    )?;
    let answer = {
        let _s = Spinner::start("withdrawing");
        ctx.rest()?
            .withdraw(WithdrawRequest {
                asset: Some(args.asset),
                amount: Some(args.amount),
                address: Some(args.address),
                network: Some(args.network),
                ..Default::default()
            })
            .await?
    };
    ctx.print_value(&answer, &[])
}

pub(crate) async fn addresses(ctx: &Ctx, args: AddressesArgs) -> Result<(), Failure> {
    let rest = ctx.rest()?;
    let _s = Spinner::start("fetching addresses");
    if args.whitelisted {
        let list = rest.get_whitelisted_addresses().await?;
        drop(_s);
        ctx.print_value(&list, &[])
    } else {
        let list = rest.get_deposit_addresses().await?;
        drop(_s);
        ctx.print_value(&list, &[])
    }
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
