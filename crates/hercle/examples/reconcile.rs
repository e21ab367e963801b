//! Place an order over the hub and, when the connection drops before the
//! answer, find out whether it executed before trying again.
//!
//! ```text
//! HERCLE_BASE_URL=http://127.0.0.1:5080 HERCLE_API_KEY=sandbox-key \
//!     cargo run -p hercle --example reconcile
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr, missing_docs)]

use futures_util::StreamExt as _;
use hercle::hub::{DeliveryPolicy, HubClient, HubError, Update};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Places a buy of `size` on `price_id` under `client_id`; on an unknown
/// outcome looks the order up by that clientId instead of placing it twice.
pub async fn place_once(
    hub: &HubClient,
    client_id: &str,
    price_id: &str,
    size: hercle::Decimal,
) -> Result<String, Error> {
    let args = [price_id.into(), "buy".into(), size.into()];
    match hub
        .call_with_id::<hercle::models::PlaceOtcOrderData>("PlaceOtcOrder", client_id, &args)
        .await
    {
        Ok(order) => Ok(format!("placed: status {:?}", order.status)),
        Err(e @ (HubError::OutcomeUnknown { .. } | HubError::Timeout { .. })) => {
            println!("outcome unknown ({e}); reconciling by clientId {client_id}");
            let known = hub.reconcile_order(client_id).await?;
            Ok(if known.is_empty() {
                "not executed: safe to place again".to_owned()
            } else {
                format!("executed: {} order(s) under {client_id}", known.len())
            })
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn run(client: &hercle::Client) -> Result<(), Error> {
    let (hub, _events) = client.hub().connect().await?;
    let size: hercle::Decimal = "0.1".parse()?;
    let mut prices = hub
        .subscribe_prices("BTCUSDT", size, DeliveryPolicy::Latest)
        .await?;
    let quote = loop {
        if let Update::Item(q) = prices.next().await.ok_or("the price stream ended")? {
            break q;
        }
    };
    let client_id = hub.fresh_client_id();
    println!("{}", place_once(&hub, &client_id, &quote.id, size).await?);
    // Asking again by the same clientId finds the order.
    println!(
        "{} order(s) under {client_id}",
        hub.reconcile_order(&client_id).await?.len()
    );
    hub.close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(&hercle::Client::builder().from_env().build()?).await
}
