//! Connect to the hub and listen: lifecycle events, then one call.
//!
//! ```text
//! hercle sandbox &   # or: cargo run -p hercle-cli -- sandbox
//! HERCLE_BASE_URL=http://127.0.0.1:5080 HERCLE_API_KEY=sandbox-key \
//!     cargo run -p hercle --example listen
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr, missing_docs)]

use futures_util::StreamExt as _;
use hercle::hub::SessionEvent;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

pub async fn run(client: &hercle::Client) -> Result<(), Error> {
    // `connect` returns once the session is up (it consumed `Connected`);
    // `events` then carries reconnects, resumes, malformed input and the close.
    let (hub, mut events) = client.hub().connect().await?;
    println!("connected to {}", client.base_url());
    let pairs = hub.get_pairs(&[]).await?;
    println!("{} pairs", pairs.len());
    hub.close().await;
    // The last event of a session is `Closed`, with the reason.
    while let Some(event) = events.next().await {
        if let SessionEvent::Closed { reason } = event {
            println!("closed: {reason}");
            break;
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(&hercle::Client::builder().from_env().build()?).await
}
