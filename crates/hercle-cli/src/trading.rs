//! Orders, RFQs, and the order and trade history.

use crate::Ctx;
use crate::failure::Failure;
use crate::history::{RangeArgs, page_range};
use crate::output::Json;
use crate::terminal::{Spinner, confirm};
use hercle::Decimal;
use hercle::models::{AcceptRfqRequest, CreateRfqRequest, PlaceOtcOrderRequest, Side};
use hercle::rest::ops;

/// `hercle buy` / `hercle sell`.
#[derive(clap::Args, Debug)]
pub(crate) struct OrderArgs {
    /// The pair, e.g. BTCUSDT.
    pair: String,
    /// The size, in the pair's base asset.
    size: Decimal,
    /// The worst price move to accept, in percent (1 = 1%).
    #[arg(long, value_name = "PCT", default_value = "0.5")]
    slippage: Decimal,
    /// Place without asking.
    #[arg(long, short)]
    yes: bool,
}

/// `hercle rfq`.
#[derive(clap::Args, Debug)]
pub(crate) struct RfqArgs {
    /// The pair, e.g. BTCUSDT.
    pair: String,
    /// The size, in the pair's base asset (with --quote: an amount in its quote asset).
    size: Decimal,
    /// SIZE is an amount in the quote asset (e.g. USDT) instead.
    #[arg(long)]
    quote: bool,
    /// buy or sell.
    #[arg(long, value_parser = side, default_value = "buy")]
    side: Side,
    /// Accept the quote (asks first unless --yes).
    #[arg(long)]
    accept: bool,
    /// Accept without asking.
    #[arg(long, short)]
    yes: bool,
}

fn side(s: &str) -> Result<Side, String> {
    match s {
        "buy" => Ok(Side::Buy),
        "sell" => Ok(Side::Sell),
        _ => Err(format!("{s:?}: buy or sell")),
    }
}

/// A date range, or a clientId.
#[derive(clap::Args, Debug)]
pub(crate) struct HistoryArgs {
    #[command(flatten)]
    range: RangeArgs,
    /// Only what was placed under this clientId.
    #[arg(long, conflicts_with_all = ["from", "to"])]
    client_id: Option<String>,
}

pub(crate) async fn order(ctx: &Ctx, side: Side, args: OrderArgs) -> Result<(), Failure> {
    let rest = ctx.rest()?;
    let quote = {
        let _s = Spinner::start("asking for a price");
        rest.get_pair_price(ops::GetPairPricePath {
            pair: args.pair.clone(),
            size: args.size,
        })
        .await?
    };
    let price = match side {
        Side::Sell => quote.sell_price.unwrap_or(quote.buy_price),
        _ => quote.buy_price,
    };
    let verb = if side == Side::Sell { "sell" } else { "buy" };
    ctx.say(&format!(
        "quote {}: {verb} {} {} at {} (slippage {}%)",
        quote.id, args.size, args.pair, price, args.slippage
    ))?;
    confirm(
        &format!("{verb} {} {} at {price}", args.size, args.pair),
        args.yes,
        ctx.production(),
        &args.pair,
    )?;
    let fill = {
        let _s = Spinner::start("placing the order");
        rest.place_otc_order(PlaceOtcOrderRequest {
            price_id: Some(quote.id.clone()),
            side: Some(side),
            slippage: Some(args.slippage),
            ..Default::default()
        })
        .await?
    };
    ctx.print_value(&fill, &[])
}

pub(crate) async fn rfq(ctx: &Ctx, args: RfqArgs) -> Result<(), Failure> {
    let rest = ctx.rest()?;
    let rfq = {
        let _s = Spinner::start("requesting a quote");
        rest.create_rfq(CreateRfqRequest {
            pair: Some(args.pair.clone()),
            side: Some(args.side.clone()),
            // Both are required; 0 says "not this one" (the docs' convention).
            size: Some(if args.quote { Decimal::ZERO } else { args.size }),
            amount: Some(if args.quote { args.size } else { Decimal::ZERO }),
            ..Default::default()
        })
        .await?
    };
    let rfq = Json::of(&rfq)?;
    ctx.print(&rfq, &[])?;
    if !args.accept {
        return Ok(());
    }
    let id = rfq
        .get("requestForQuoteId")
        .map(Json::text)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| Failure::Invalid("the RFQ answer has no requestForQuoteId".to_owned()))?;
    let price = rfq.get("price").map(Json::text).unwrap_or_default();
    confirm(
        &format!("accept RFQ {id} for {} {} at {price}", args.size, args.pair),
        args.yes,
        ctx.production(),
        &args.pair,
    )?;
    let fill = rest
        .accept_rfq(AcceptRfqRequest {
            request_for_quote_id: Some(id),
            ..Default::default()
        })
        .await?;
    ctx.print_value(&fill, &[])
}

pub(crate) async fn orders(ctx: &Ctx, args: HistoryArgs) -> Result<(), Failure> {
    const COLUMNS: &[&str] = &[
        "orderId",
        "clientId",
        "instrument",
        "side",
        "orderStatus",
        "quantity",
        "executedPrice",
    ];
    if let Some(client_id) = args.client_id {
        let orders = ctx
            .rest()?
            .get_orders_by_client_id(ops::GetOrdersByClientIdPath { client_id })
            .await?;
        return ctx.print_value(&orders, COLUMNS);
    }
    page_range::<ops::GetOrdersPaginated>(ctx, &args.range, COLUMNS).await
}

pub(crate) async fn trades(ctx: &Ctx, args: HistoryArgs) -> Result<(), Failure> {
    const COLUMNS: &[&str] = &[
        "id",
        "clientId",
        "instrument",
        "side",
        "price",
        "quantityFilled",
        "timestamp",
    ];
    if let Some(trade_client_id) = args.client_id {
        let trades = ctx
            .rest()?
            .get_trades_by_client_id(ops::GetTradesByClientIdPath { trade_client_id })
            .await?;
        return ctx.print_value(&trades, COLUMNS);
    }
    page_range::<ops::GetTradesPaginated>(ctx, &args.range, COLUMNS).await
}
