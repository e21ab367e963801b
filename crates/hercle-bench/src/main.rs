//! `hercle-bench <suite>`: the command a comparison harness starts, the same
//! way for every contestant (see `bench-contract.md`). The first argument
//! picks the suite; each suite reads its settings from the environment.
#![allow(clippy::print_stderr)]

use std::process::ExitCode;

mod webhook;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("webhook") => webhook::main(args.collect()),
        other => {
            eprintln!("hercle-bench: unknown suite {other:?}; usage: hercle-bench webhook");
            ExitCode::from(2)
        }
    }
}
