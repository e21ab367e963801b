//! `hercle-sandbox`: serves an offline HercleX until Ctrl-C. `--help` lists the flags.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use clap::Parser;
use hercle_sandbox::{Sandbox, SandboxArgs};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "hercle-sandbox", version, about, long_about = None)]
struct Cmd {
    #[command(flatten)]
    args: SandboxArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Cmd::parse().args;
    let addr = args.addr();
    let print_key = args.print_webhook_public_key;
    let custom_keys = !args.api_keys.is_empty();
    // Printing the key needs no port of its own: take any free one.
    let addr = if print_key {
        std::net::SocketAddr::from(([127, 0, 0, 1], 0))
    } else {
        addr
    };
    let config = args.into_config(time::OffsetDateTime::now_utc());
    if !addr.ip().is_loopback() {
        eprintln!(
            "warning: serving on {addr}, reachable beyond this machine; the sandbox has no real authentication"
        );
    }
    let sandbox = match Sandbox::bind(config, addr).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot serve on {addr}: {e}");
            return ExitCode::from(2);
        }
    };
    if print_key {
        print!("{}", sandbox.webhook_public_key_pem());
        return ExitCode::SUCCESS;
    }
    println!("HercleX sandbox listening");
    println!("  REST   {}/api/v1/pairs", sandbox.base_url());
    println!("  hub    {}", sandbox.hub_url());
    println!("  admin  {}/_sandbox/health", sandbox.base_url());
    if custom_keys {
        println!("  key    Authorization: Bearer <a key given with --api-key>");
    } else {
        println!("  key    Authorization: Bearer sandbox-key");
    }
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("error: waiting for Ctrl-C: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
