//! Balances, transactions, withdrawals and addresses.

use crate::Ctx;
use crate::failure::Failure;
use crate::history::{RangeArgs, page_range};
use crate::output::Json;
use crate::terminal::{Spinner, confirm};
use hercle::Decimal;
use hercle::models::WithdrawRequest;
use hercle::rest::ops;

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
    page_range::<ops::GetTransactionsPaginated>(ctx, &range, &[]).await
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
