//! Verify a saved webhook delivery: its body and the two signature headers.
//!
//! ```text
//! hercle sandbox --print-webhook-public-key > webhook.pem
//! cargo run -p hercle --features webhooks --example verify_webhook -- \
//!     webhook.pem TIMESTAMP SIGNATURE body.json
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr, missing_docs)]

use hercle::webhooks::{Event, Verifier};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Checks the delivery (timestamp within tolerance, then the signature over
/// the raw bytes) and only then parses it.
pub fn run(
    public_key_pem: &str,
    timestamp: &str,
    signature: &str,
    body: &[u8],
) -> Result<Event, Error> {
    let verifier = Verifier::from_pems([public_key_pem])?;
    verifier.verify(Some(timestamp), Some(signature), body)?;
    let event = Event::parse(body)?;
    println!("verified {} ({})", event.event.event_type(), event.event_id);
    Ok(event)
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [pem, ts, sig, body] = args.as_slice() else {
        return Err("usage: verify_webhook PUBLIC_KEY.pem TIMESTAMP SIGNATURE BODY.json".into());
    };
    run(
        &std::fs::read_to_string(pem)?,
        ts,
        sig,
        &std::fs::read(body)?,
    )?;
    Ok(())
}
