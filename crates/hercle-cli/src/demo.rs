//! `hercle demo`: the whole SDK in about a minute, against an embedded
//! sandbox, through the same public client a user's code would use.

use crate::Ctx;
use crate::failure::Failure;
use crate::output::{Format, Json};
use futures_util::StreamExt as _;
use hercle::Decimal;
use hercle::hub::{DeliveryPolicy, SessionEvent, Update};
use hercle::models::{PlaceOtcOrderRequest, Side, WhitelistAddressRequest, WithdrawRequest};
use hercle::rest::ops::GetPairPricePath;
use hercle::sandbox::{Config, HubFault, Sandbox};
use hercle::webhooks::{MemoryStore, Receiver, StoredEvent, Verifier};
use std::time::Duration;
use tokio::time::Instant;

/// `hercle demo`.
#[derive(clap::Args, Debug)]
pub(crate) struct DemoArgs {
    /// How many live price updates to show.
    #[arg(long, default_value_t = 6)]
    updates: usize,
}

/// Every wait in the demo is bounded: a stuck step fails, it never hangs.
const STEP: Duration = Duration::from_secs(20);

async fn within<T>(what: &str, f: impl Future<Output = T>) -> Result<T, Failure> {
    tokio::time::timeout(STEP, f)
        .await
        .map_err(|_| Failure::Invalid(format!("{what}: nothing within {} s", STEP.as_secs())))
}

pub(crate) async fn run(args: DemoArgs, format: Format) -> Result<(), Failure> {
    let started = Instant::now();
    let step = |n: u32, what: &str| println_step(format, n, what);

    // An offline HercleX on a free loopback port, and a webhook receiver
    // that verifies with the sandbox's public key.
    let sandbox = Sandbox::start(Config {
        start_time: time::OffsetDateTime::now_utc(),
        price_interval: Duration::from_millis(500),
        ..Config::default()
    })
    .await?;
    let verifier = Verifier::from_pems([sandbox.webhook_public_key_pem().as_str()])
        .map_err(|e| Failure::Invalid(format!("the sandbox's webhook key: {e}")))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook_url = format!("http://{}/webhooks", listener.local_addr()?);
    let (events_tx, mut events_rx) = tokio::sync::mpsc::unbounded_channel::<StoredEvent>();
    let receiver = tokio::spawn(async move {
        let receiver = Receiver::new(verifier, MemoryStore::new());
        let handler = move |e: StoredEvent| {
            let tx = events_tx.clone();
            async move {
                let _ = tx.send(e);
                Ok(())
            }
        };
        receiver
            .serve(listener, handler, std::future::pending())
            .await
    });
    sandbox.add_webhook_url(&hook_url);

    let ctx = Ctx {
        client: hercle::Client::builder()
            .base_url(sandbox.base_url())
            .api_key("sandbox-key")
            .build()
            .map_err(|e| Failure::Usage(e.to_string()))?,
        format,
    };
    ctx.say(&format!("sandbox   {}", sandbox.base_url()))?;
    ctx.say(&format!(
        "webhooks  {hook_url} (verified with the sandbox's public key)"
    ))?;
    let rest = ctx.rest()?;

    step(1, "pairs and balances (REST)")?;
    ctx.print_value(&rest.get_pairs().await?, &["name", "minSize", "maxSize"])?;
    crate::funding::balances(&ctx).await?;

    step(2, "live prices (hub)")?;
    let (hub, mut events) = within("connecting to the hub", ctx.client.hub().connect()).await??;
    let size: Decimal = "0.1".parse().map_err(|_| Failure::Invalid("size".into()))?;
    let mut prices = hub
        .subscribe_prices("BTCUSDT", size, DeliveryPolicy::Buffered { capacity: 64 })
        .await
        .map_err(|e| Failure::Subscribe(e.to_string()))?;
    let mut shown = 0;
    while shown < args.updates {
        if let Update::Item(q) = within("a price update", prices.next())
            .await?
            .ok_or_else(|| Failure::Subscribe("the price stream ended".into()))?
        {
            shown += 1;
            let mut line = Json::of(&q)?;
            if format == Format::Table {
                ctx.say(&format!(
                    "BTCUSDT {size}  bid {}  ask {}  mark {}",
                    q.sell_price.map(|d| d.to_string()).unwrap_or_default(),
                    q.buy_price,
                    q.mark_price.map(|d| d.to_string()).unwrap_or_default()
                ))?;
            } else {
                if let Json::Object(e) = &mut line {
                    e.insert(0, ("step".into(), Json::String("price".into())));
                }
                ctx.print(&line, &[])?;
            }
        }
    }

    step(3, "a quote, then a buy on it (REST)")?;
    let quote = rest
        .get_pair_price(GetPairPricePath {
            pair: "BTCUSDT".into(),
            size,
        })
        .await?;
    ctx.say(&format!(
        "quote {}: buy {size} BTCUSDT at {}",
        quote.id, quote.buy_price
    ))?;
    let fill = rest
        .place_otc_order(PlaceOtcOrderRequest {
            price_id: Some(quote.id.clone()),
            side: Some(Side::Buy),
            slippage: Some(Decimal::new(5, 1)),
            ..Default::default()
        })
        .await?;
    ctx.print_value(
        &fill,
        &["tradeId", "side", "pair", "price", "size", "status"],
    )?;

    step(4, "an RFQ, created and accepted (REST)")?;
    let rfq = rest
        .create_rfq(hercle::models::CreateRfqRequest {
            pair: Some("ETHUSDT".into()),
            side: Some(Side::Sell),
            size: Some(Decimal::ONE),
            // Both are required; 0 says "not this one" (the docs' convention).
            amount: Some(Decimal::ZERO),
            ..Default::default()
        })
        .await?;
    let rfq_json = Json::of(&rfq)?;
    let rfq_id = rfq_json
        .get("requestForQuoteId")
        .map(Json::text)
        .ok_or_else(|| Failure::Invalid("the RFQ has no id".into()))?;
    ctx.say(&format!(
        "rfq {rfq_id}: sell 1 ETHUSDT at {}",
        rfq_json.get("price").map(Json::text).unwrap_or_default()
    ))?;
    let accepted = rest
        .accept_rfq(hercle::models::AcceptRfqRequest {
            request_for_quote_id: Some(rfq_id),
            ..Default::default()
        })
        .await?;
    ctx.print_value(
        &accepted,
        &["tradeId", "side", "pair", "price", "size", "status"],
    )?;

    step(5, "a withdrawal, and its signed webhook")?;
    let address = "0x5a0b54d5dc17e0aadc383d2db43b0a0d3e029c4c";
    rest.whitelist_address(WhitelistAddressRequest {
        name: Some("demo".into()),
        asset: Some("USDT".into()),
        address: Some(address.into()),
        network: Some("ETH".into()),
        ..Default::default()
    })
    .await?;
    let withdrawal = rest
        .withdraw(WithdrawRequest {
            asset: Some("USDT".into()),
            amount: Some(Decimal::new(25050, 2)),
            address: Some(address.into()),
            network: Some("ETH".into()),
            ..Default::default()
        })
        .await?;
    ctx.print_value(&withdrawal, &["id", "asset", "amount", "fee", "status"])?;
    let event = loop {
        let e = within("the withdrawal's webhook", events_rx.recv())
            .await?
            .ok_or_else(|| Failure::Invalid("the webhook receiver stopped".into()))?;
        if e.event.event_type.contains("Withdrawal") {
            break e;
        }
    };
    let parsed = event
        .parse()
        .map_err(|e| Failure::Invalid(format!("webhook body: {e}")))?;
    ctx.say(&format!(
        "webhook verified and stored once: {} {}",
        parsed.event.event_type(),
        event.event_id()
    ))?;

    step(
        6,
        "a forced disconnect: the hub reconnects and resubscribes",
    )?;
    sandbox.inject_hub_fault(HubFault::Drop { connection: None });
    let downtime = within("the reconnect", async {
        while let Some(e) = events.next().await {
            match e {
                SessionEvent::Reconnected { downtime } | SessionEvent::Resumed { downtime } => {
                    return Ok(downtime);
                }
                SessionEvent::Closed { reason } => {
                    return Err(Failure::Invalid(format!("the session closed: {reason}")));
                }
                _ => {}
            }
        }
        Err(Failure::Invalid("the session ended".into()))
    })
    .await??;
    ctx.say(&format!("reconnected after {} ms", downtime.as_millis()))?;
    let resumed = loop {
        match within("a price after the reconnect", prices.next()).await? {
            Some(Update::Item(q)) => break q,
            Some(_) => {}
            None => return Err(Failure::Subscribe("the price stream ended".into())),
        }
    };
    ctx.say(&format!(
        "prices flowing again: BTCUSDT ask {}",
        resumed.buy_price
    ))?;
    drop(prices);
    hub.close().await;
    receiver.abort();

    if format == Format::Table {
        let ms = started.elapsed().as_millis();
        println_line(&format!("done in {}.{} s", ms / 1000, ms % 1000 / 100))?;
    }
    Ok(())
}

fn println_step(format: Format, n: u32, what: &str) -> Result<(), Failure> {
    if format == Format::Table {
        println_line(&format!("\n==> {n}. {what}"))?;
    }
    Ok(())
}

fn println_line(line: &str) -> Result<(), Failure> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}
