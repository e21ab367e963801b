//! Pairs, prices, and the live price view.

use crate::Ctx;
use crate::failure::Failure;
use crate::output::{Format, Json, write_rows};
use crate::terminal::{Spinner, stdout_is_terminal};
use futures_util::StreamExt as _;
use hercle::Decimal;
use hercle::hub::{DeliveryPolicy, Update};
use std::io::Write as _;
use std::time::Duration;
use tokio::time::Instant;

/// `hercle price`.
#[derive(clap::Args, Debug)]
pub(crate) struct PriceArgs {
    /// The pair, e.g. BTCUSDT.
    pair: String,
    /// The size, in the pair's base asset, e.g. 0.1.
    size: Decimal,
}

/// `hercle watch`.
#[derive(clap::Args, Debug)]
pub(crate) struct WatchArgs {
    /// What to watch, as PAIR:SIZE (e.g. BTCUSDT:0.1 ETHUSDT:2).
    #[arg(required = true, value_name = "PAIR:SIZE", value_parser = pair_size)]
    targets: Vec<(String, Decimal)>,
    /// Stop after this many updates in total.
    #[arg(long)]
    count: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    seconds: Option<u64>,
}

fn pair_size(s: &str) -> Result<(String, Decimal), String> {
    let (pair, size) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?}: expected PAIR:SIZE, e.g. BTCUSDT:0.1"))?;
    let size: Decimal = size
        .parse()
        .map_err(|_| format!("{s:?}: the size {size:?} is not a number"))?;
    if pair.is_empty() || size <= Decimal::ZERO {
        return Err(format!("{s:?}: expected a pair and a size above zero"));
    }
    Ok((pair.to_owned(), size))
}

pub(crate) async fn pairs(ctx: &Ctx) -> Result<(), Failure> {
    let pairs = {
        let _s = Spinner::start("fetching pairs");
        ctx.rest()?.get_pairs().await?
    };
    ctx.print_value(&pairs, &["name", "asset", "currency", "minSize", "maxSize"])
}

pub(crate) async fn price(ctx: &Ctx, args: PriceArgs) -> Result<(), Failure> {
    let quote = {
        let _s = Spinner::start("asking for a price");
        ctx.rest()?
            .get_pair_price(hercle::rest::ops::GetPairPricePath {
                pair: args.pair,
                size: args.size,
            })
            .await?
    };
    ctx.print_value(&quote, &[])
}

/// The live state of one watched pair.
struct Row {
    pair: String,
    size: Decimal,
    bid: String,
    ask: String,
    mark: String,
    last: Option<Instant>,
    updates: u64,
    gaps: u64,
}

fn text(d: Option<Decimal>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

pub(crate) async fn watch(ctx: &Ctx, args: WatchArgs) -> Result<(), Failure> {
    let (hub, _events) = {
        let _s = Spinner::start("connecting to the hub");
        ctx.client.hub().connect().await?
    };
    let mut rows = Vec::new();
    let mut streams = Vec::new();
    for (i, (pair, size)) in args.targets.iter().enumerate() {
        let stream = hub
            .subscribe_prices(pair, *size, DeliveryPolicy::Latest)
            .await
            .map_err(|e| Failure::Subscribe(format!("{pair}:{size}: {e}")))?;
        streams.push(stream.map(move |u| (i, u)));
        rows.push(Row {
            pair: pair.clone(),
            size: *size,
            bid: String::new(),
            ask: String::new(),
            mark: String::new(),
            last: None,
            updates: 0,
            gaps: 0,
        });
    }
    let mut updates = futures_util::stream::select_all(streams);
    let live = ctx.format() == Format::Table && stdout_is_terminal();
    let started = Instant::now();
    let deadline = args.seconds.map(|s| started + Duration::from_secs(s));
    let mut total = 0u64;
    let mut drawn = false;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let result = loop {
        if args.count.is_some_and(|c| total >= c) {
            break Ok(());
        }
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        let (i, update) = tokio::select! {
            u = updates.next() => match u {
                Some(u) => u,
                None => break Err(Failure::Subscribe("the price streams ended".to_owned())),
            },
            _ = sleep => break Ok(()),
            _ = &mut ctrl_c => break Ok(()),
        };
        let Some(row) = rows.get_mut(i) else { continue };
        match update {
            Update::Item(q) => {
                total += 1;
                row.updates += 1;
                row.last = Some(Instant::now());
                // HercleX's buyPrice is what you pay (the ask), sellPrice
                // what you get (the bid).
                row.ask = q.buy_price.to_string();
                row.bid = text(q.sell_price);
                row.mark = text(q.mark_price);
                if live {
                    draw(&rows, started, drawn)?;
                    drawn = true;
                } else if ctx.format() == Format::Ndjson {
                    let mut line = Json::of(&q)?;
                    if let Json::Object(entries) = &mut line {
                        entries.push(("size".to_owned(), Json::Number(row.size.to_string())));
                    }
                    ctx.print(&line, &[])?;
                } else {
                    let mut out = std::io::stdout().lock();
                    writeln!(
                        out,
                        "{} {} bid {} ask {} mark {}",
                        row.pair, row.size, row.bid, row.ask, row.mark
                    )?;
                    out.flush()?;
                }
            }
            Update::Gap | Update::Lagged { .. } => row.gaps += 1,
            Update::Rejected(r) => {
                break Err(Failure::Subscribe(format!(
                    "{}:{}: {r}",
                    row.pair, row.size
                )));
            }
        }
    };
    drop(updates);
    // Unsubscribed by the drop above; now a clean close of the connection.
    hub.close().await;
    result
}

/// Redraws the table in place: back to its first line, then every row.
fn draw(rows: &[Row], started: Instant, redraw: bool) -> Result<(), Failure> {
    let now = Instant::now();
    let elapsed = now.duration_since(started).as_millis().max(1);
    let mut table = vec![
        ["PAIR", "SIZE", "BID", "ASK", "MARK", "AGE", "UPD/S", "GAPS"]
            .map(str::to_owned)
            .to_vec(),
    ];
    for r in rows {
        let age = r
            .last
            .map(|t| format!("{}ms", now.duration_since(t).as_millis()))
            .unwrap_or_else(|| "-".to_owned());
        // Whole updates per second with one decimal, in integers.
        let tenths = u128::from(r.updates) * 10_000 / elapsed;
        table.push(vec![
            r.pair.clone(),
            r.size.to_string(),
            r.bid.clone(),
            r.ask.clone(),
            r.mark.clone(),
            age,
            format!("{}.{}", tenths / 10, tenths % 10),
            r.gaps.to_string(),
        ]);
    }
    let mut buf = Vec::new();
    if redraw {
        // Cursor up to the table's first line.
        write!(buf, "\x1b[{}F", table.len())?;
    }
    let mut body = Vec::new();
    write_rows(&mut body, &table)?;
    for line in String::from_utf8_lossy(&body).lines() {
        writeln!(buf, "\x1b[2K{line}")?;
    }
    let mut out = std::io::stdout().lock();
    out.write_all(&buf)?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn pair_size_targets() {
        assert_eq!(
            pair_size("BTCUSDT:0.10").unwrap(),
            ("BTCUSDT".to_owned(), "0.10".parse().unwrap())
        );
        for bad in ["BTCUSDT", "BTCUSDT:x", ":1", "BTCUSDT:0", "BTCUSDT:-1"] {
            assert!(pair_size(bad).is_err(), "{bad}");
        }
    }
}
