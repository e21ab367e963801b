//! `hercle`: HercleX from a terminal. `hercle --help` lists the commands;
//! `hercle demo` shows everything against an embedded sandbox.
//!
//! Exit codes (also in `hercle --help`):
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success (also when the reader of the output went away) |
//! | 1 | the API refused the request, or it was not confirmed |
//! | 2 | usage: bad flags, arguments or configuration |
//! | 3 | the API could not be reached (nothing was sent) |
//! | 4 | outcome unknown: the request may have executed; check before retrying |
//! | 5 | authentication or permission refused (401/403) |
//! | 6 | the answer could not be read (decode error) |
//! | 130 | interrupted (Ctrl-C) |

#![allow(clippy::print_stderr)]

mod call;
mod demo;
mod failure;
mod funding;
mod history;
mod market;
mod output;
mod terminal;
mod trading;
mod webhooks;

use clap::{Args, CommandFactory as _, Parser, Subcommand, ValueEnum};
use failure::Failure;
use output::{Format, Json};
use std::io::Write as _;
use std::process::ExitCode;

const AFTER_HELP: &str = "\
Environments: --env local (default: a `hercle sandbox` on http://127.0.0.1:5080, key
`sandbox-key` unless HERCLE_API_KEY is set), --env sandbox (HercleX's public sandbox),
--env production (real money; orders also need --yes or a typed confirmation).
HERCLE_BASE_URL and --base-url name any other server. The key comes from HERCLE_API_KEY.

Exit codes: 0 success; 1 refused by the API or not confirmed; 2 usage or configuration;
3 API unreachable (nothing sent); 4 outcome unknown (may have executed: check before
retrying); 5 authentication refused; 6 unreadable answer; 130 interrupted.";

/// HercleX from a terminal: prices, orders, funding, webhooks and an
/// offline sandbox.
#[derive(Parser, Debug)]
#[command(name = "hercle", version, after_help = AFTER_HELP, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(Args, Debug, Clone)]
struct Global {
    /// Print NDJSON (one JSON object per line) instead of tables.
    #[arg(long, global = true)]
    json: bool,
    /// Which HercleX to talk to.
    #[arg(long, global = true, value_enum)]
    env: Option<Env>,
    /// Talk to this server instead (e.g. http://127.0.0.1:5080); default
    /// from HERCLE_BASE_URL.
    #[arg(long, global = true, value_name = "URL")]
    base_url: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Env {
    /// A local `hercle sandbox` on http://127.0.0.1:5080.
    Local,
    /// HercleX's public sandbox.
    Sandbox,
    /// The live API: real money.
    Production,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List the tradable pairs and their size limits.
    Pairs,
    /// Ask for a price: PAIR at SIZE (in the base asset).
    Price(market::PriceArgs),
    /// Live prices of several pairs: bid, ask, mark, age, updates/s.
    Watch(market::WatchArgs),
    /// Quote, confirm, and buy SIZE of PAIR.
    Buy(trading::OrderArgs),
    /// Quote, confirm, and sell SIZE of PAIR.
    Sell(trading::OrderArgs),
    /// Request a quote for a size (RFQ), and accept it with --accept.
    Rfq(trading::RfqArgs),
    /// Your balances.
    Balances,
    /// Your orders in a date range (paged automatically), or by clientId.
    Orders(trading::HistoryArgs),
    /// Your trades in a date range (paged automatically), or by clientId.
    Trades(trading::HistoryArgs),
    /// Your transactions in a date range (paged automatically).
    Transactions(history::RangeArgs),
    /// Withdraw to a whitelisted address (asks for confirmation).
    Withdraw(funding::WithdrawArgs),
    /// Your deposit addresses, or --whitelisted withdrawal addresses.
    Addresses(funding::AddressesArgs),
    /// Call any of the 46 REST operations by name (`hercle call --list`).
    Call(call::CallArgs),
    /// Receive or check signed webhooks.
    #[command(subcommand)]
    Webhooks(webhooks::WebhooksCommand),
    /// Other venues' WebSocket APIs on the same session core: WhiteBIT,
    /// Hibachi, AllenHark.
    Venue(VenueArgs),
    /// Serve an offline HercleX on localhost until Ctrl-C.
    Sandbox(hercle_sandbox::SandboxArgs),
    /// Everything in one minute against an embedded sandbox: prices, an
    /// order, an RFQ, a webhook, a reconnect.
    Demo(demo::DemoArgs),
    /// Print shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
}

/// `hercle venue NAME watch …`.
#[derive(Args, Debug)]
struct VenueArgs {
    /// The venue.
    #[arg(value_enum)]
    venue: venue_adapters::cli::VenueName,
    #[command(subcommand)]
    action: VenueAction,
}

#[derive(Subcommand, Debug)]
enum VenueAction {
    /// Stream the venue's events as NDJSON (money as strings, every digit);
    /// `--simulate` watches an in-process simulator of the venue.
    Watch(venue_adapters::cli::VenueWatchArgs),
}

/// What a command needs: the client, the output format, the terminal.
pub(crate) struct Ctx {
    client: hercle::Client,
    format: Format,
}

impl Ctx {
    pub(crate) fn rest(&self) -> Result<hercle::rest::Client, Failure> {
        self.client.rest().map_err(Failure::from)
    }

    pub(crate) fn production(&self) -> bool {
        self.client.environment().is_production()
    }

    pub(crate) fn format(&self) -> Format {
        self.format
    }

    /// Prints `value` as a table (`columns` chosen, or all) or NDJSON.
    pub(crate) fn print(&self, value: &Json, columns: &[&str]) -> Result<(), Failure> {
        let mut out = std::io::stdout().lock();
        output::print(&mut out, self.format, value, columns)?;
        out.flush()?;
        Ok(())
    }

    /// Prints a serialisable answer.
    pub(crate) fn print_value<T: serde::Serialize>(
        &self,
        value: &T,
        columns: &[&str],
    ) -> Result<(), Failure> {
        self.print(&Json::of(value)?, columns)
    }

    /// A line for people (not printed with --json, so NDJSON stays clean).
    pub(crate) fn say(&self, line: &str) -> Result<(), Failure> {
        if self.format == Format::Table {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{line}")?;
            out.flush()?;
        }
        Ok(())
    }
}

const LOCAL_URL: &str = "http://127.0.0.1:5080";
const LOCAL_KEY: &str = "sandbox-key";

fn client(global: &Global) -> Result<hercle::Client, Failure> {
    use hercle::Environment;
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let environment = match (&global.base_url, global.env) {
        (Some(url), _) => Environment::Custom(url.clone()),
        (None, Some(Env::Production)) => Environment::Production,
        (None, Some(Env::Sandbox)) => Environment::Sandbox,
        (None, Some(Env::Local)) => Environment::Custom(LOCAL_URL.to_owned()),
        (None, None) => {
            Environment::Custom(var("HERCLE_BASE_URL").unwrap_or_else(|| LOCAL_URL.to_owned()))
        }
    };
    if environment.is_production() && global.env != Some(Env::Production) {
        return Err(Failure::Usage(
            "that URL is the production API: say so with --env production".to_owned(),
        ));
    }
    let local = environment
        .base_url()
        .trim_end_matches('/')
        .eq_ignore_ascii_case(LOCAL_URL);
    let key = match var("HERCLE_API_KEY") {
        Some(k) => k,
        None if local => LOCAL_KEY.to_owned(),
        None => {
            return Err(Failure::Usage("no API key: set HERCLE_API_KEY".to_owned()));
        }
    };
    hercle::Client::builder()
        .environment(environment)
        .api_key(key)
        .build()
        .map_err(|e| Failure::Usage(e.to_string()))
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let format = if cli.global.json {
        Format::Ndjson
    } else {
        Format::Table
    };
    // Commands that need no API client.
    let command = match cli.command {
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "hercle", &mut std::io::stdout().lock());
            return Ok(());
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout().lock())?;
            return Ok(());
        }
        Command::Sandbox(args) => return hercle_sandbox::serve(args).await.map_err(Failure::Io),
        Command::Demo(args) => return demo::run(args, format).await,
        Command::Webhooks(cmd) => return webhooks::run(cmd, format).await,
        Command::Venue(VenueArgs {
            venue,
            action: VenueAction::Watch(args),
        }) => {
            // `Stdout` (not its lock) is Send, as the watch future needs.
            let mut out = std::io::stdout();
            return venue_adapters::cli::watch(venue, args, &mut out)
                .await
                .map_err(|e| match e {
                    venue_adapters::cli::WatchError::Args(m) => Failure::Usage(m),
                    venue_adapters::cli::WatchError::Output(e) => Failure::Io(e),
                    other => Failure::Venue(other.to_string()),
                });
        }
        other => other,
    };
    let ctx = Ctx {
        client: client(&cli.global)?,
        format,
    };
    match command {
        Command::Pairs => market::pairs(&ctx).await,
        Command::Price(a) => market::price(&ctx, a).await,
        Command::Watch(a) => market::watch(&ctx, a).await,
        Command::Buy(a) => trading::order(&ctx, hercle::models::Side::Buy, a).await,
        Command::Sell(a) => trading::order(&ctx, hercle::models::Side::Sell, a).await,
        Command::Rfq(a) => trading::rfq(&ctx, a).await,
        Command::Balances => funding::balances(&ctx).await,
        Command::Orders(a) => trading::orders(&ctx, a).await,
        Command::Trades(a) => trading::trades(&ctx, a).await,
        Command::Transactions(a) => funding::transactions(&ctx, a).await,
        Command::Withdraw(a) => funding::withdraw(&ctx, a).await,
        Command::Addresses(a) => funding::addresses(&ctx, a).await,
        Command::Call(a) => call::run(&ctx, a).await,
        Command::Completions { .. }
        | Command::Man
        | Command::Sandbox(_)
        | Command::Demo(_)
        | Command::Webhooks(_)
        | Command::Venue(_) => Ok(()),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return failure::report(&Failure::Io(e)),
    };
    // These end on Ctrl-C themselves, closing what they opened.
    let own_ctrl_c = matches!(
        cli.command,
        Command::Watch(_) | Command::Sandbox(_) | Command::Webhooks(_)
    );
    let result = runtime.block_on(async {
        if own_ctrl_c {
            return run(cli).await;
        }
        tokio::select! {
            r = run(cli) => r,
            _ = tokio::signal::ctrl_c() => Err(Failure::Interrupted),
        }
    });
    // Background tasks (a hub session) end with the runtime, not after.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => failure::report(&f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
