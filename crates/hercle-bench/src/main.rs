//! `hercle-bench <suite>`: the command a comparison harness starts, the same
//! way for every contestant (shared/reference/bench-contract.md). The first
//! argument picks the suite; each suite lives in its own module and reads its
//! settings from the environment.
//!
//! - `hercle-bench rest`: the REST client loop;
//! - `hercle-bench rest-server [PORT]`: the local HTTP server it and its peers
//!   load, serving the documented `/api/v1/pairs` and `/api/v1/user/balances`
//!   bodies;
//! - `hercle-bench webhook`: the webhook receiver the harness loads;
//! - `hercle-bench signalr`: the hub client receiving a price feed;
//! - `hercle-bench signalr-floor`: the same feed read with no runtime and no
//!   decode, the floor the `signalr` figures are read against;
//! - `hercle-bench signalr-server [PORT [RATE]]`: the local hub it and its
//!   peers read the feed from.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod report;
mod rest;
mod rest_server;
mod rusage;
mod signalr;
mod signalr_floor;
mod signalr_server;
mod webhook;

use std::process::ExitCode;

const USAGE: &str = "usage: hercle-bench rest | rest-server [PORT] | webhook | signalr | signalr-floor | signalr-server [PORT [RATE]]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("rest") => rest::main(),
        Some("rest-server") => rest_server::main(args.get(1).map(String::as_str)),
        Some("signalr") => signalr::main(),
        Some("signalr-floor") => signalr_floor::main(),
        Some("signalr-server") => signalr_server::main(
            args.get(1).map(String::as_str),
            args.get(2).map(String::as_str),
        ),
        Some("webhook") => return webhook::main(args.into_iter().skip(1).collect()),
        other => Err(format!("hercle-bench: unknown suite {other:?}; {USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
