//! `hercle venue NAME watch …`: the venue ([`VenueName`]), the flags
//! ([`VenueWatchArgs`], a `clap::Args` the `hercle` binary flattens in) and [`watch`], which
//! streams a venue's events as NDJSON, one JSON object a line, money as
//! strings with every digit.
//!
//! Each line is `{"venue", "topic", "kind", …}` where `kind` is `event`
//! (with `event`: the typed event), `gap` (updates were lost: a reconnect
//! or a restarted stream) or `rejected` (with `reason`). With `--simulate`
//! the venue's simulator runs in-process on a loopback port and feeds
//! events for the subscribed topics.

use std::fmt;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use session_core::{
    DeliveryPolicy, Protocol, SessionConfig, SessionEvent, SessionHandle, SubscribeError, Update,
};
use tokio::sync::mpsc;

use crate::simulator::{self, Sim};
use crate::ws::Secret;
use crate::{allenhark, hibachi, whitebit};

/// The venues `watch` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum VenueName {
    /// WhiteBIT (`wss://api.whitebit.com/ws`).
    Whitebit,
    /// Hibachi account stream.
    Hibachi,
    /// AllenHark (`wss://api.allenhark.com/v1/ws`).
    Allenhark,
}

/// Watch a venue's events as NDJSON on standard output.
#[derive(Clone, Debug, clap::Args)]
pub struct VenueWatchArgs {
    /// What to subscribe to (repeatable). WhiteBIT: `lastprice:MARKET`,
    /// `balanceSpot:ASSET`, `ordersPending:MARKET`, `CHANNEL:KEY`;
    /// Hibachi: `account`, `symbol:SYMBOL`; AllenHark: `price:MINT`,
    /// `bot:BOT_ID`, `transactions:WALLET`. Default: one per venue.
    #[arg(long = "subscribe", short = 's', value_name = "TOPIC")]
    pub subscribe: Vec<String>,
    /// Start the venue's simulator in-process on a loopback port and watch it.
    #[arg(long)]
    pub simulate: bool,
    /// The venue's WebSocket URL (default: the production endpoint, or the
    /// simulator's with `--simulate`).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Stop after this many events.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Stop after this long, e.g. `30s`, `500ms`, `5m`.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub duration: Option<Duration>,
    /// API key (Hibachi, AllenHark).
    #[arg(long, value_name = "KEY", value_parser = secret)]
    pub api_key: Option<Secret>,
    /// Account id (Hibachi).
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,
    /// WhiteBIT websocket token for private channels. Tokens are
    /// single-use: one given here serves the first connection only.
    #[arg(long, value_name = "TOKEN", value_parser = secret)]
    pub token: Option<Secret>,
}

/// Why `watch` stopped early.
#[derive(Debug)]
#[non_exhaustive]
pub enum WatchError {
    /// The flags do not describe a watch (bad topic, missing key).
    Args(String),
    /// The simulator could not start.
    Simulator(std::io::Error),
    /// Writing the output failed.
    Output(std::io::Error),
    /// A subscription could not be registered.
    Subscribe(SubscribeError),
    /// The session closed for good (refused credentials, gave up).
    Closed(String),
}

impl fmt::Display for WatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WatchError::Args(m) => write!(f, "{m}"),
            WatchError::Simulator(e) => write!(f, "starting the simulator: {e}"),
            WatchError::Output(e) => write!(f, "writing the output: {e}"),
            WatchError::Subscribe(e) => write!(f, "subscribing: {e}"),
            WatchError::Closed(r) => write!(f, "session closed: {r}"),
        }
    }
}

impl std::error::Error for WatchError {}

#[derive(Serialize)]
struct Line<'a, E> {
    venue: &'static str,
    topic: &'a str,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<E>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// One rendered line, and whether it is an event (counted by `--count`).
type Rendered = (String, bool);

/// Watch the venue the flags name, writing NDJSON to `out` until `--count`
/// events, `--duration`, or the session ends.
pub async fn watch(
    venue: VenueName,
    args: VenueWatchArgs,
    out: &mut (impl Write + Send),
) -> Result<(), WatchError> {
    let (tx, rx) = mpsc::unbounded_channel::<Rendered>();
    // The simulator (and its feeder) live as long as this call.
    match venue {
        VenueName::Whitebit => {
            let topics = parse_all(&args.subscribe, "lastprice:BTC_USDT", whitebit_topic)?;
            let private = topics.iter().any(|(_, t)| {
                matches!(
                    t.channel,
                    whitebit::Channel::BalanceSpot | whitebit::Channel::OrdersPending
                )
            });
            let (sim, url, tokens) = if args.simulate {
                let sim = Arc::new(
                    Sim::start(simulator::whitebit::WhiteBitSim::new(Default::default()))
                        .await
                        .map_err(WatchError::Simulator)?,
                );
                let s = Arc::clone(&sim);
                let tokens: Arc<dyn whitebit::TokenProvider> = Arc::new(move || {
                    let t = s.venue().issue_token();
                    async move { Ok::<Secret, String>(t) }
                });
                let url = args.url.clone().unwrap_or_else(|| sim.url("/ws"));
                (Some(sim), url, private.then_some(tokens))
            } else {
                let tokens = args.token.clone().map(|t| {
                    Arc::new(move || {
                        let t = t.clone();
                        async move { Ok::<Secret, String>(t) }
                    }) as Arc<dyn whitebit::TokenProvider>
                });
                (
                    None,
                    args.url.clone().unwrap_or_else(|| whitebit::URL.to_owned()),
                    tokens,
                )
            };
            let config = whitebit::WhiteBitConfig {
                url,
                ..Default::default()
            };
            let (handle, events) = whitebit::connect(config, tokens, SessionConfig::default());
            let feeder = sim.as_ref().map(|sim| {
                let sim = Arc::clone(sim);
                let topics: Vec<whitebit::Topic> = topics.iter().map(|(_, t)| t.clone()).collect();
                feed(move |n| {
                    for t in &topics {
                        let v = format!("{}.{:02}", 100 + n, n % 100);
                        let cmd = match t.channel {
                            whitebit::Channel::BalanceSpot => simulator::whitebit::Cmd::Balance {
                                asset: t.key.clone(),
                                available: v,
                                freeze: "0.000000001".into(),
                            },
                            whitebit::Channel::OrdersPending => simulator::whitebit::Cmd::Order {
                                event: 1,
                                id: 4_986_126_152 + n,
                                market: t.key.clone(),
                                price: v,
                                amount: "0.001".into(),
                            },
                            _ => simulator::whitebit::Cmd::LastPrice {
                                market: t.key.clone(),
                                price: v,
                            },
                        };
                        sim.command(cmd);
                    }
                })
            });
            pump(&handle, topics, "whitebit", &tx).await?;
            drop(tx);
            let r = write_lines(rx, events, &args, out).await;
            handle.close().await;
            drop(feeder);
            r
        }
        VenueName::Hibachi => {
            let topics = parse_all(&args.subscribe, "account", hibachi_topic)?;
            let (sim, url, key, account) = if args.simulate {
                let cfg = simulator::hibachi::Config::default();
                let (key, account) = (Secret::new(cfg.api_key.clone()), cfg.account_id.clone());
                let sim = Arc::new(
                    Sim::start(simulator::hibachi::HibachiSim::new(cfg))
                        .await
                        .map_err(WatchError::Simulator)?,
                );
                let url = args.url.clone().unwrap_or_else(|| sim.url("/ws/account"));
                (Some(sim), url, key, account)
            } else {
                let key = args
                    .api_key
                    .clone()
                    .ok_or_else(|| WatchError::Args("hibachi needs --api-key".into()))?;
                let account = args
                    .account_id
                    .clone()
                    .ok_or_else(|| WatchError::Args("hibachi needs --account-id".into()))?;
                (
                    None,
                    args.url.clone().unwrap_or_else(|| hibachi::URL.to_owned()),
                    key,
                    account,
                )
            };
            let config = hibachi::HibachiConfig {
                url,
                ..hibachi::HibachiConfig::new(account, key)
            };
            let (handle, events) = hibachi::connect(config, SessionConfig::default());
            let feeder = sim.as_ref().map(|sim| {
                let sim = Arc::clone(sim);
                let topics: Vec<hibachi::Topic> = topics.iter().map(|(_, t)| t.clone()).collect();
                feed(move |n| {
                    if n % 10 == 5 && topics.contains(&hibachi::Topic::Account) {
                        sim.command(simulator::hibachi::Cmd::SeedEvents);
                    }
                    for t in &topics {
                        let symbol = match t {
                            hibachi::Topic::Symbol(s) => s.clone(),
                            hibachi::Topic::Account => "ETH/USDT-P".to_owned(),
                        };
                        sim.command(simulator::hibachi::Cmd::Trade {
                            symbol,
                            price: format!("{}.000001", 2000 + n),
                        });
                    }
                })
            });
            pump(&handle, topics, "hibachi", &tx).await?;
            drop(tx);
            let r = write_lines(rx, events, &args, out).await;
            handle.close().await;
            drop(feeder);
            r
        }
        VenueName::Allenhark => {
            let topics = parse_all(
                &args.subscribe,
                "price:EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
                allenhark_topic,
            )?;
            let (sim, url, key) = if args.simulate {
                let cfg = simulator::allenhark::Config::default();
                let key = Secret::new(cfg.api_key.clone());
                let sim = Arc::new(
                    Sim::start(simulator::allenhark::AllenHarkSim::new(cfg))
                        .await
                        .map_err(WatchError::Simulator)?,
                );
                let url = args.url.clone().unwrap_or_else(|| sim.url("/v1/ws"));
                (Some(sim), url, key)
            } else {
                let key = args
                    .api_key
                    .clone()
                    .ok_or_else(|| WatchError::Args("allenhark needs --api-key".into()))?;
                (
                    None,
                    args.url
                        .clone()
                        .unwrap_or_else(|| allenhark::URL.to_owned()),
                    key,
                )
            };
            let config = allenhark::AllenHarkConfig {
                url,
                ..allenhark::AllenHarkConfig::new(key)
            };
            let (handle, events) = allenhark::connect(config, SessionConfig::default());
            let feeder = sim.as_ref().map(|sim| {
                let sim = Arc::clone(sim);
                let topics: Vec<allenhark::Topic> = topics.iter().map(|(_, t)| t.clone()).collect();
                feed(move |n| {
                    for t in &topics {
                        let cmd = match t {
                            allenhark::Topic::Bot(b) => simulator::allenhark::Cmd::Bot {
                                bot_id: b.clone(),
                                profit: format!("0.{n:03}15"),
                            },
                            allenhark::Topic::Price(m) => simulator::allenhark::Cmd::Price {
                                mint: m.clone(),
                                price: format!("1.000{n}"),
                            },
                            allenhark::Topic::Transactions(w) => {
                                simulator::allenhark::Cmd::Confirmed {
                                    wallet: w.clone(),
                                    slot: 250_123_456 + n,
                                    name_wallet: false,
                                }
                            }
                            allenhark::Topic::Unrouted => continue,
                        };
                        sim.command(cmd);
                    }
                })
            });
            pump(&handle, topics, "allenhark", &tx).await?;
            drop(tx);
            let r = write_lines(rx, events, &args, out).await;
            handle.close().await;
            drop(feeder);
            r
        }
    }
}

/// Calls `tick(n)` every 200 ms (n from 1) until dropped.
fn feed(mut tick: impl FnMut(u64) + Send + 'static) -> AbortOnDrop {
    AbortOnDrop(tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_millis(200));
        let mut n = 0;
        loop {
            interval.tick().await;
            n += 1;
            tick(n);
        }
    }))
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Subscribe to every topic and forward its updates, rendered, to `tx`.
async fn pump<P>(
    handle: &SessionHandle<P>,
    topics: Vec<(String, P::Topic)>,
    venue: &'static str,
    tx: &mpsc::UnboundedSender<Rendered>,
) -> Result<(), WatchError>
where
    P: Protocol,
    P::Event: Serialize,
{
    for (label, topic) in topics {
        let mut sub = handle
            .subscribe(topic, DeliveryPolicy::Buffered { capacity: 4096 })
            .await
            .map_err(WatchError::Subscribe)?;
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Some(update) = sub.recv().await {
                let (kind, event, reason) = match update {
                    Update::Item(e) => ("event", Some(e), None),
                    Update::Gap => ("gap", None, None),
                    Update::Lagged { missed } => {
                        ("lagged", None, Some(format!("{missed} updates dropped")))
                    }
                    Update::Rejected(r) => ("rejected", None, Some(r)),
                };
                let line = Line {
                    venue,
                    topic: &label,
                    kind,
                    event,
                    reason,
                };
                let Ok(text) = serde_json::to_string(&line) else {
                    continue;
                };
                if tx.send((text, kind == "event")).is_err() {
                    return;
                }
            }
        });
    }
    Ok(())
}

async fn write_lines(
    mut rx: mpsc::UnboundedReceiver<Rendered>,
    mut events: session_core::Events,
    args: &VenueWatchArgs,
    out: &mut (impl Write + Send),
) -> Result<(), WatchError> {
    let deadline = args.duration.map(|d| tokio::time::Instant::now() + d);
    let mut seen = 0u64;
    if args.count == Some(0) {
        return Ok(());
    }
    loop {
        tokio::select! {
            line = rx.recv() => {
                let Some((text, is_event)) = line else { return Ok(()) };
                writeln!(out, "{text}").and_then(|()| out.flush()).map_err(WatchError::Output)?;
                if is_event {
                    seen += 1;
                    if args.count.is_some_and(|c| seen >= c) {
                        return Ok(());
                    }
                }
            }
            e = events.recv() => match e {
                Some(SessionEvent::Closed { reason }) => return Err(WatchError::Closed(reason.to_string())),
                Some(_) => {}
                None => return Err(WatchError::Closed("session ended".into())),
            },
            () = sleep_until(deadline) => return Ok(()),
        }
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn parse_all<T>(
    specs: &[String],
    default: &str,
    parse: fn(&str) -> Result<T, String>,
) -> Result<Vec<(String, T)>, WatchError> {
    let specs: Vec<&str> = if specs.is_empty() {
        vec![default]
    } else {
        specs.iter().map(String::as_str).collect()
    };
    specs
        .into_iter()
        .map(|s| {
            parse(s)
                .map(|t| (s.to_owned(), t))
                .map_err(WatchError::Args)
        })
        .collect()
}

fn split(spec: &str) -> Result<(&str, &str), String> {
    spec.split_once(':')
        .filter(|(c, k)| !c.is_empty() && !k.is_empty())
        .ok_or_else(|| format!("{spec:?}: expected CHANNEL:KEY"))
}

fn whitebit_topic(spec: &str) -> Result<whitebit::Topic, String> {
    let (channel, key) = split(spec)?;
    Ok(whitebit::Topic::other(channel, key))
}

fn hibachi_topic(spec: &str) -> Result<hibachi::Topic, String> {
    if spec == "account" {
        return Ok(hibachi::Topic::Account);
    }
    match split(spec)? {
        ("symbol", s) => Ok(hibachi::Topic::Symbol(s.to_owned())),
        _ => Err(format!(
            "{spec:?}: hibachi topics are `account` or `symbol:SYMBOL`"
        )),
    }
}

fn allenhark_topic(spec: &str) -> Result<allenhark::Topic, String> {
    match split(spec)? {
        ("bot", k) => Ok(allenhark::Topic::Bot(k.to_owned())),
        ("price", k) => Ok(allenhark::Topic::Price(k.to_owned())),
        ("transactions", k) => Ok(allenhark::Topic::Transactions(k.to_owned())),
        _ => Err(format!(
            "{spec:?}: allenhark topics are bot:ID, price:MINT, transactions:WALLET"
        )),
    }
}

/// A credential flag: kept as a [`Secret`], so `Debug` of the flags
/// never shows it.
fn secret(s: &str) -> Result<Secret, String> {
    Ok(Secret::new(s))
}

/// `250ms`, `1s`, `2m`, `1h`: a whole number and a unit.
fn duration(s: &str) -> Result<Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?}: expected a number and a unit, e.g. 250ms or 2s"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n.saturating_mul(60))),
        "h" => Ok(Duration::from_secs(n.saturating_mul(3600))),
        _ => Err(format!("{s:?}: the unit is one of ms, s, m, h")),
    }
}
