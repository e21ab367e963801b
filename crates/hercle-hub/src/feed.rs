//! The price feed: one SignalR record in, one typed price update out.
//!
//! HercleX pushes every price update as a non-blocking invocation of the
//! client method `subscriptions` whose single argument is the hub envelope
//! serialized to a JSON **string**, whose `data` is in turn a JSON string
//! holding the [`PriceQuote`]:
//!
//! ```text
//! {"type":1,"target":"subscriptions","arguments":["{\"channel\":\"subscriptions\",…,
//!  \"subject\":\"execution.feeds.priceUpdate\",…,\"data\":\"{\\\"id\\\":\\\"…\\\",\\\"buyPrice\\\":97016.27,…}\"}"]}
//! ```
//!
//! Read the general way, the record is parsed three times (record, envelope
//! string, data string), each level unescaping the next into a fresh
//! allocation: about 3 µs per update. [`decode`] first tries a scanner
//! specialised for exactly this layout, which reads the envelope and the
//! quote in one pass straight from the record bytes, treating `\"` as the
//! envelope's quote and `\\\"` as the quote's, and hands each number's own
//! text to the same exact-decimal parser the models use. Anything it does
//! not recognise (another message, an escape inside a value, an unknown or
//! repeated key, `null`, whitespace, a number that needs a closer look)
//! makes it give up, and the record goes through the general path:
//! [`signalr_proto::parse_message`], then [`hercle_models::decode_str`] of the
//! envelope and [`EmbeddedJson::decode`] of its `data`. The fast path only
//! ever answers when its answer is the general path's answer (the
//! differential fuzz target and property tests check exactly that), so the
//! result never depends on which path ran.
//!
//! ```
//! use hercle_hub::feed::{self, FeedRecord};
//! let record = br#"{"type":1,"target":"subscriptions","arguments":["{\"channel\":\"subscriptions\",\"topic\":\"Execution\",\"subject\":\"execution.feeds.priceUpdate\",\"type\":\"message\",\"clientId\":\"px-1\",\"data\":\"{\\\"id\\\":\\\"q-1\\\",\\\"pair\\\":\\\"BTCUSDT\\\",\\\"buyPrice\\\":97016.27,\\\"size\\\":0.01}\"}"]}"#;
//! let Ok(FeedRecord::Price(update)) = feed::decode(record) else { panic!() };
//! assert_eq!(update.envelope.client_id.as_deref(), Some("px-1"));
//! assert_eq!(update.quote.buy_price.to_string(), "97016.27");
//! assert_eq!(update.quote.size.unwrap().to_string(), "0.01");
//! # Ok::<(), feed::FeedError>(())
//! ```

mod scan;

use std::fmt;

use hercle_models::{EmbeddedJson, HubEnvelope, PriceQuote, SubscribePairPriceChannelData};
use signalr_proto::{HubMessage, Invocation, parse_message};

/// The client method HercleX pushes price updates to (the `channel` of
/// `SubscribePairPriceChannel` in [`hercle_models::HUB_METHODS`]).
pub const SUBSCRIPTIONS_TARGET: &str = "subscriptions";

/// The envelope `subject` of a price update (the success subject of
/// `SubscribePairPriceChannel` in [`hercle_models::HUB_METHODS`]).
pub const PRICE_UPDATE_SUBJECT: &str = "execution.feeds.priceUpdate";

/// One typed price update.
#[derive(Clone, Debug, PartialEq)]
pub struct PriceUpdate {
    /// The envelope it came in (`clientId` names the subscription), with
    /// `data` moved out into [`quote`](Self::quote): always `None` here.
    pub envelope: HubEnvelope,
    /// The quote, every number exact to its last digit.
    pub quote: SubscribePairPriceChannelData,
}

impl PriceUpdate {
    /// `==`, and also the same representation of every decimal: `PartialEq`
    /// on [`Decimal`](hercle_models::Decimal) compares values, so `1.0 == 1.00`
    /// and `-0 == 0`; this compares scale and sign too.
    pub fn identical(&self, other: &PriceUpdate) -> bool {
        let decimals = |q: &PriceQuote| {
            [Some(q.buy_price), q.sell_price, q.mark_price, q.size]
                .map(|d| d.map(|d| d.serialize()))
        };
        self == other && decimals(&self.quote) == decimals(&other.quote)
    }
}

/// What a record of the hub stream is, as far as the feed is concerned.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // the hot variant; boxing it would cost an allocation per update
pub enum FeedRecord<'a> {
    /// A price update on `subscriptions`.
    Price(PriceUpdate),
    /// Any other hub message, already parsed, for the general dispatch.
    /// Includes `subscriptions` invocations of another subject, and those
    /// carrying an `invocationId` (the caller owes the server a Completion;
    /// [`price_update`] decodes their quote).
    Message(HubMessage<'a>),
    /// A message `type` this version does not know; the protocol says skip it.
    Skipped,
}

/// A record on the price channel that does not decode.
#[derive(Clone, Debug, PartialEq)]
pub enum FeedError {
    /// Not a valid SignalR hub message.
    Record(signalr_proto::DecodeError),
    /// A `subscriptions` argument that is not a hub envelope.
    Envelope(hercle_models::DecodeError),
    /// A price update envelope without `data`.
    MissingData,
    /// A price update whose `data` is not a `PriceQuote`; the error names
    /// the JSON path inside `data`.
    Data(hercle_models::DecodeError),
}

impl fmt::Display for FeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeedError::Record(e) => write!(f, "hub record: {e}"),
            FeedError::Envelope(e) => write!(f, "`{SUBSCRIPTIONS_TARGET}` envelope: {e}"),
            FeedError::MissingData => write!(f, "`{PRICE_UPDATE_SUBJECT}` envelope without data"),
            FeedError::Data(e) => write!(f, "`{PRICE_UPDATE_SUBJECT}` data: {e}"),
        }
    }
}

impl std::error::Error for FeedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FeedError::Record(e) => Some(e),
            FeedError::Envelope(e) | FeedError::Data(e) => Some(e),
            FeedError::MissingData => None,
        }
    }
}

/// Decodes one record (without its 0x1E terminator): the fast scanner when
/// it recognises the record, the general path otherwise. Same result either way.
pub fn decode(record: &[u8]) -> Result<FeedRecord<'_>, FeedError> {
    match decode_fast(record) {
        Some(update) => Ok(FeedRecord::Price(update)),
        None => decode_general(record),
    }
}

/// The fast path alone: `Some` only for a price update in the layout HercleX
/// sends, with exactly the value [`decode_general`] gives; `None` means
/// "not sure", never "invalid".
pub fn decode_fast(record: &[u8]) -> Option<PriceUpdate> {
    scan::price_update(record)
}

/// [`decode_fast`] for a consumer that needs only the envelope's
/// `clientId` and the quote (the hub's own price streams): the same answer
/// without building the rest of the envelope.
pub fn decode_fast_quote(record: &[u8]) -> Option<(Option<&str>, SubscribePairPriceChannelData)> {
    scan::price_quote(record)
}

/// The general path alone: the SignalR decoder, then the models' decoders
/// for the envelope and its `data`.
pub fn decode_general(record: &[u8]) -> Result<FeedRecord<'_>, FeedError> {
    let Some(msg) = parse_message(record).map_err(FeedError::Record)? else {
        return Ok(FeedRecord::Skipped);
    };
    if let HubMessage::Invocation(inv) = &msg
        && inv.invocation_id.is_none()
        && let Some(update) = price_update(inv)?
    {
        return Ok(FeedRecord::Price(update));
    }
    Ok(FeedRecord::Message(msg))
}

/// The price update an invocation carries, or `None` when it is not one
/// (another target, no argument, another subject).
///
/// Argument 0 is accepted as the documented JSON string or as a plain
/// object, like `data` (quirk 10).
pub fn price_update(inv: &Invocation<'_>) -> Result<Option<PriceUpdate>, FeedError> {
    if inv.target != SUBSCRIPTIONS_TARGET {
        return Ok(None);
    }
    let Some(arg) = inv.arguments.first() else {
        return Ok(None);
    };
    let envelope: EmbeddedJson =
        hercle_models::decode_str(arg.get()).map_err(FeedError::Envelope)?;
    let mut envelope: HubEnvelope = envelope.decode().map_err(FeedError::Envelope)?;
    if envelope.subject.as_deref() != Some(PRICE_UPDATE_SUBJECT) {
        return Ok(None);
    }
    let data = envelope.data.take().ok_or(FeedError::MissingData)?;
    let quote = data.decode().map_err(FeedError::Data)?;
    Ok(Some(PriceUpdate { envelope, quote }))
}

#[cfg(test)]
mod tests;
