//! Subscribe to a pair's price stream and print a few updates.
//!
//! ```text
//! HERCLE_BASE_URL=http://127.0.0.1:5080 HERCLE_API_KEY=sandbox-key \
//!     cargo run -p hercle --example prices
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr, missing_docs)]

use futures_util::StreamExt as _;
use hercle::hub::{DeliveryPolicy, Update};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

pub async fn run(client: &hercle::Client) -> Result<(), Error> {
    let (hub, _events) = client.hub().connect().await?;
    let size: hercle::Decimal = "0.1".parse()?;
    // `Latest` keeps only the newest quote when the reader is slow: what a
    // price display wants. `Buffered` keeps every update.
    let mut prices = hub
        .subscribe_prices("BTCUSDT", size, DeliveryPolicy::Latest)
        .await?;
    let mut seen = 0;
    while seen < 3 {
        match prices.next().await.ok_or("the price stream ended")? {
            Update::Item(q) => {
                seen += 1;
                println!("{} buy {} id {}", q.pair, q.buy_price, q.id);
            }
            // After a reconnect the stream resumes by itself; a gap says
            // updates may have been missed meanwhile.
            Update::Gap | Update::Lagged { .. } => println!("(gap)"),
            Update::Rejected(r) => return Err(format!("refused: {r}").into()),
        }
    }
    drop(prices); // unsubscribes
    hub.close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(&hercle::Client::builder().from_env().build()?).await
}
