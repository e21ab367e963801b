//! Ask for a price, then place an order on it (REST), as the docs teach.
//!
//! ```text
//! HERCLE_BASE_URL=http://127.0.0.1:5080 HERCLE_API_KEY=sandbox-key \
//!     cargo run -p hercle --example quote_and_order
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr, missing_docs)]

use hercle::models::{PlaceOtcOrderRequest, Side};
use hercle::rest::ops::GetPairPricePath;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

pub async fn run(client: &hercle::Client) -> Result<(), Error> {
    let rest = client.rest()?;
    let quote = rest
        .get_pair_price(GetPairPricePath {
            pair: "BTCUSDT".into(),
            size: "0.01".parse()?,
        })
        .await?;
    println!("quote {}: buy at {}", quote.id, quote.buy_price);
    // The quote's id fixes the price; slippage bounds the fill (docs: 1.0 = 1%).
    let order = rest
        .place_otc_order(PlaceOtcOrderRequest {
            price_id: Some(quote.id.clone()),
            side: Some(Side::Buy),
            slippage: Some("0.5".parse()?),
            ..Default::default()
        })
        .await?;
    println!(
        "trade {:?}: {:?} {:?} at {:?}, status {:?}",
        order.trade_id, order.side, order.size, order.price, order.status
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(&hercle::Client::builder().from_env().build()?).await
}
