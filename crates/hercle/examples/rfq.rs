//! Create a request for quote, then accept it (REST).
//!
//! ```text
//! HERCLE_BASE_URL=http://127.0.0.1:5080 HERCLE_API_KEY=sandbox-key \
//!     cargo run -p hercle --example rfq
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr, missing_docs)]

use hercle::models::{AcceptRfqRequest, CreateRfqRequest, Side};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

pub async fn run(client: &hercle::Client) -> Result<(), Error> {
    let rest = client.rest()?;
    let rfq = rest
        .create_rfq(CreateRfqRequest {
            pair: Some("BTCUSDT".into()),
            side: Some(Side::Buy),
            size: Some("0.01".parse()?),
            // Size (base) or amount (quote): both are sent, 0 skips one.
            amount: Some(hercle::Decimal::ZERO),
            ..Default::default()
        })
        .await?;
    let id = rfq.request_for_quote_id.clone();
    println!("rfq {id}: price {:?}", rfq.price);
    let accepted = rest
        .accept_rfq(AcceptRfqRequest {
            request_for_quote_id: Some(id),
            ..Default::default()
        })
        .await?;
    println!(
        "accepted: trade {:?} at {:?}",
        accepted.trade_id, accepted.price
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(&hercle::Client::builder().from_env().build()?).await
}
