//! `hercle-bench`: benchmark commands any comparison harness starts the same
//! way (shared/reference/bench-contract.md). The first argument picks the
//! suite; each suite lives in its own module.
//!
//! - `hercle-bench rest`: the REST client loop (environment per the contract);
//! - `hercle-bench rest-server`: the local HTTP server it and its peers load,
//!   serving the documented `/api/v1/pairs` and `/api/v1/user/balances` bodies.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod rest;
mod rest_server;
mod rusage;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("rest") => rest::main(),
        Some("rest-server") => rest_server::main(args.get(1).map(String::as_str)),
        _ => Err("usage: hercle-bench rest | rest-server [PORT]".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
