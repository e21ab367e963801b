//! Page through the trades of the last week (REST): offset pages fetched
//! lazily, the range split into windows no longer than the API allows.
//!
//! ```text
//! HERCLE_BASE_URL=http://127.0.0.1:5080 HERCLE_API_KEY=sandbox-key \
//!     cargo run -p hercle --example trades
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr, missing_docs)]

use futures_util::TryStreamExt as _;
use hercle::models::operation::OffsetPaged as _;
use hercle::rest::ops::GetTradesPaginated;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

pub async fn run(client: &hercle::Client) -> Result<(), Error> {
    let rest = client.rest()?;
    let end = time::OffsetDateTime::now_utc();
    let start = end - time::Duration::days(7);
    // Dates and page are filled in per window and page; the page size stays.
    let input = GetTradesPaginated::first_page(GetTradesPaginated::MAX_PAGE_SIZE);
    let mut trades = std::pin::pin!(rest.offset_items_in_range(input, start, end));
    let mut count = 0;
    while let Some(trade) = trades.try_next().await? {
        count += 1;
        println!(
            "{:?} {:?} {:?} at {:?}",
            trade.instrument, trade.side, trade.quantity_filled, trade.price
        );
    }
    println!("{count} trades in 7 days");
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(&hercle::Client::builder().from_env().build()?).await
}
