//! The fast path: a scanner for the one record layout HercleX sends, reading
//! the envelope (inside a JSON string) and the quote (inside a JSON string
//! inside that) straight from the record bytes, in one pass.
//!
//! It accepts a strict subset of JSON in which every byte of the argument
//! string is checked: printable ASCII in values, no whitespace, no escape
//! except the quotes of the two inner levels (`\"` for the envelope, `\\\"`
//! for the quote), only the known keys, each at most once. A string value
//! without escapes is its own unescaped text, so it is used as it stands;
//! numbers go through the models' exact-decimal parser; timestamps through
//! the models' lenient parser. Everything else returns `None` and the
//! general path decides, so this scanner never has to reproduce an error.

use hercle_models::decimal::parse_exact;
use hercle_models::{
    Decimal, HubChannel, HubEnvelope, HubMessageType, PriceQuote, SubscribePairPriceChannelData,
    Timestamp,
};

use super::{PRICE_UPDATE_SUBJECT, PriceUpdate, SUBSCRIPTIONS_TARGET};

/// A quote of the envelope, inside the argument string.
const Q1: &[u8] = br#"\""#;
/// A quote of the price quote, inside `data` inside the argument string.
const Q2: &[u8] = br#"\\\""#;

/// `Some` only for a price update laid out as HercleX sends it.
pub(super) fn price_update(record: &[u8]) -> Option<PriceUpdate> {
    let (envelope, quote) = parts(record)?;
    let envelope = build_envelope(&envelope)?;
    let quote = build_quote(quote)?;
    Some(PriceUpdate { envelope, quote })
}

/// [`price_update`] without building the envelope: its `clientId` (which
/// routes the update to its stream) and the quote. The envelope has no
/// required field (`envelope_has_no_required_field` checks it), so whenever
/// this answers, [`price_update`] answers the same.
pub(super) fn price_quote(record: &[u8]) -> Option<(Option<&str>, SubscribePairPriceChannelData)> {
    let (envelope, quote) = parts(record)?;
    Some((envelope.client_id, build_quote(quote)?))
}

/// The fields of a price update laid out as HercleX sends it.
fn parts(record: &[u8]) -> Option<(EnvelopeParts<'_>, QuoteParts<'_>)> {
    let rest = record.strip_prefix(br#"{"type":1,"target":""#)?;
    let rest = rest.strip_prefix(SUBSCRIPTIONS_TARGET.as_bytes())?;
    let rest = rest.strip_prefix(br#"","arguments":[""#)?;
    // No raw `"` passes the scanner, so the argument string ends here.
    let body = rest.strip_suffix(br#""]}"#)?;
    // One UTF-8 check for the whole argument, so that every value below is
    // a plain subslice of `s` (the scanner then admits only ASCII anyway).
    let s = std::str::from_utf8(body).ok()?;
    let mut cur = Cursor {
        s,
        b: s.as_bytes(),
        i: 0,
    };
    let mut envelope = cur.envelope()?;
    let quote = envelope.data.take()?;
    (cur.i == body.len()).then_some((envelope, quote))
}

/// Fields of the envelope as read, borrowed from the record.
#[derive(Default)]
struct EnvelopeParts<'a> {
    channel: Option<&'a str>,
    topic: Option<&'a str>,
    subject: Option<&'a str>,
    r#type: Option<&'a str>,
    client_id: Option<&'a str>,
    data: Option<QuoteParts<'a>>,
}

/// Fields of the quote as read, borrowed from the record.
#[derive(Default)]
struct QuoteParts<'a> {
    id: Option<&'a str>,
    pair: Option<&'a str>,
    buy_price: Option<Decimal>,
    sell_price: Option<Decimal>,
    mark_price: Option<Decimal>,
    size: Option<Decimal>,
    timestamp: Option<Timestamp>,
}

/// The one place the fast path builds a [`PriceQuote`]: when a field becomes
/// required in the generated model, `?` on it here sends a record without it
/// to the general path, which reports the error.
fn build_quote(p: QuoteParts<'_>) -> Option<SubscribePairPriceChannelData> {
    Some(PriceQuote {
        id: p.id?.to_owned(),
        pair: p.pair?.to_owned(),
        buy_price: p.buy_price?,
        sell_price: p.sell_price,
        mark_price: p.mark_price,
        size: p.size,
        timestamp: p.timestamp,
        extra: Default::default(),
    })
}

/// The one place the fast path builds a [`HubEnvelope`] (same rule as
/// [`build_quote`]); `data` has been moved into the quote.
fn build_envelope(p: &EnvelopeParts<'_>) -> Option<HubEnvelope> {
    Some(HubEnvelope {
        channel: p.channel.map(HubChannel::from_wire),
        topic: p.topic.map(str::to_owned),
        subject: p.subject.map(str::to_owned),
        r#type: p.r#type.map(HubMessageType::from_wire),
        client_id: p.client_id.map(str::to_owned),
        data: None,
        extra: Default::default(),
    })
}

struct Cursor<'a> {
    s: &'a str,
    /// `s` as bytes.
    b: &'a [u8],
    i: usize,
}

/// Stores `value` in `slot` unless the key was already seen: the general
/// path lets the last of repeated keys win; rather than mimic that, give up.
fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    match slot {
        Some(_) => None,
        None => {
            *slot = Some(value);
            Some(())
        }
    }
}

impl<'a> Cursor<'a> {
    // Inlined so that each literal's length is a constant and the compare
    // needs no call to memcmp.
    #[inline(always)]
    fn eat(&mut self, lit: &[u8]) -> Option<()> {
        let rest = self.b.get(self.i..)?;
        rest.starts_with(lit).then(|| self.i += lit.len())
    }

    #[inline(always)]
    fn next_byte(&mut self) -> Option<u8> {
        let c = *self.b.get(self.i)?;
        self.i += 1;
        Some(c)
    }

    /// The text of a string quoted with `q` whose content has no escape at all.
    #[inline(always)]
    fn string(&mut self, q: &[u8]) -> Option<&'a str> {
        self.eat(q)?;
        let start = self.i;
        let rest = self.b.get(self.i..)?;
        let content = rest.get(..memchr::memchr(b'\\', rest)?)?;
        // Printable ASCII but `"`: what needs no escape at any level. No
        // early exit: this vectorizes.
        let bad = content.iter().fold(false, |bad, &c| {
            bad | !(0x20..0x7f).contains(&c) | (c == b'"')
        });
        if bad {
            return None;
        }
        self.i += content.len();
        // Anything but this level's closing quote is an escape: give up.
        self.eat(q)?;
        self.s.get(start..start + content.len())
    }

    /// The text of a number in strict JSON syntax.
    fn number(&mut self) -> Option<&'a str> {
        let start = self.i;
        let digit = |c: Option<&u8>| c.is_some_and(u8::is_ascii_digit);
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.b.get(self.i)? {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                while digit(self.b.get(self.i)) {
                    self.i += 1;
                }
            }
            _ => return None,
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !digit(self.b.get(self.i)) {
                return None;
            }
            while digit(self.b.get(self.i)) {
                self.i += 1;
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digit(self.b.get(self.i)) {
                return None;
            }
            while digit(self.b.get(self.i)) {
                self.i += 1;
            }
        }
        self.s.get(start..self.i)
    }

    /// An exact decimal, read the way the models read it.
    fn decimal(&mut self) -> Option<Decimal> {
        parse_exact(self.number()?).ok()
    }

    /// A timestamp: a string, or unix milliseconds small enough that
    /// serde_json hands them over as an unsigned integer fitting `i64`.
    fn timestamp(&mut self) -> Option<Timestamp> {
        if self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
            let text = self.number()?;
            let plain = text == "0" || (text.len() <= 18 && !text.starts_with('0'));
            if !plain || !text.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            return text.parse().ok().map(Timestamp::from_unix_millis);
        }
        self.string(Q2).map(Timestamp::from_text)
    }

    /// Members of an object up to its `}`, after its `{`.
    #[inline(always)]
    fn members(
        &mut self,
        q: &[u8],
        mut member: impl FnMut(&mut Self, &'a str) -> Option<()>,
    ) -> Option<()> {
        self.eat(b"{")?;
        if self.eat(b"}").is_some() {
            return Some(());
        }
        loop {
            let key = self.string(q)?;
            self.eat(b":")?;
            member(self, key)?;
            match self.next_byte()? {
                b',' => {}
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }

    fn envelope(&mut self) -> Option<EnvelopeParts<'a>> {
        let mut p = EnvelopeParts::default();
        self.members(Q1, |cur, key| match key {
            "channel" => once(&mut p.channel, cur.string(Q1)?),
            "topic" => once(&mut p.topic, cur.string(Q1)?),
            "subject" => once(&mut p.subject, cur.string(Q1)?),
            "type" => once(&mut p.r#type, cur.string(Q1)?),
            "clientId" => once(&mut p.client_id, cur.string(Q1)?),
            "data" => {
                cur.eat(Q1)?;
                let quote = cur.quote()?;
                cur.eat(Q1)?;
                once(&mut p.data, quote)
            }
            _ => None,
        })?;
        (p.subject == Some(PRICE_UPDATE_SUBJECT)).then_some(p)
    }

    fn quote(&mut self) -> Option<QuoteParts<'a>> {
        let mut p = QuoteParts::default();
        self.members(Q2, |cur, key| match key {
            "id" => once(&mut p.id, cur.string(Q2)?),
            "pair" => once(&mut p.pair, cur.string(Q2)?),
            "buyPrice" => once(&mut p.buy_price, cur.decimal()?),
            "sellPrice" => once(&mut p.sell_price, cur.decimal()?),
            "markPrice" => once(&mut p.mark_price, cur.decimal()?),
            "size" => once(&mut p.size, cur.decimal()?),
            // One field under two names (quirks 1, 2): both at once is a repeat.
            "timestamp" | "timeStamp" => once(&mut p.timestamp, cur.timestamp()?),
            _ => None,
        })?;
        Some(p)
    }
}
