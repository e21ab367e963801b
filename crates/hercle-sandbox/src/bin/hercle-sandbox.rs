//! `hercle-sandbox`: serves an offline HercleX until Ctrl-C. `--help` lists the flags.

#![allow(clippy::print_stderr)]

use clap::Parser;
use hercle_sandbox::SandboxArgs;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "hercle-sandbox", version, about, long_about = None)]
struct Cmd {
    #[command(flatten)]
    args: SandboxArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    match hercle_sandbox::serve(Cmd::parse().args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
