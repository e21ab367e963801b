//! `hercle-sandbox [PORT]`: serves an offline HercleX on 127.0.0.1 until Ctrl-C.

#![allow(clippy::print_stdout)]

use hercle_sandbox::{Config, Sandbox};
use std::net::SocketAddr;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(5080);
    let config = Config {
        start_time: time::OffsetDateTime::now_utc(),
        ..Config::default()
    };
    let sandbox = Sandbox::bind(config, SocketAddr::from(([127, 0, 0, 1], port))).await?;
    println!("HercleX sandbox listening");
    println!("  REST   {}/api/v1/pairs", sandbox.base_url());
    println!("  hub    {}", sandbox.hub_url());
    println!("  admin  {}/_sandbox/health", sandbox.base_url());
    println!("  key    Authorization: Bearer sandbox-key");
    tokio::signal::ctrl_c().await?;
    Ok(())
}
