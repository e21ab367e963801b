//! The fast path: a scanner for the one record layout HercleX sends, reading
//! the envelope (inside a JSON string) and the quote (inside a JSON string
//! inside that) straight from the record bytes, in one pass.
//!
//! It accepts a strict subset of JSON: the whole argument string is printable
//! ASCII (checked once, up front, in a loop that vectorizes), no whitespace, no escape except the quotes of the two inner
//! levels (`\"` for the envelope, `\\\"` for the quote), only the known keys,
//! each at most once. A string value without escapes is its own unescaped
//! text, so it is used as it stands. A plain number (no sign, no exponent,
//! at most 19 digits) is built into its `Decimal` while its digits are
//! read; any other goes through the models' exact-decimal parser.
//! Timestamps go through the models' lenient parser. Everything else
//! returns `None` and the general path decides, so this scanner never has
//! to reproduce an error.

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
    let client_id = opt_text(envelope.client_id)?;
    Some((client_id, build_quote(quote)?))
}

/// The fields of a price update laid out as HercleX sends it.
fn parts(record: &[u8]) -> Option<(EnvelopeParts<'_>, QuoteParts<'_>)> {
    let rest = record.strip_prefix(br#"{"type":1,"target":""#)?;
    let rest = rest.strip_prefix(SUBSCRIPTIONS_TARGET.as_bytes())?;
    let rest = rest.strip_prefix(br#"","arguments":[""#)?;
    // No raw `"` passes the scanner but those of `\"`, so the argument
    // string ends here.
    let body = rest.strip_suffix(br#""]}"#)?;
    if !plain_ascii(body) {
        return None;
    }
    let mut cur = Cursor { b: body, i: 0 };
    let mut envelope = cur.envelope()?;
    let quote = envelope.data.take()?;
    (cur.i == body.len()).then_some((envelope, quote))
}

/// Printable ASCII. Checked for the whole argument at once, with no early
/// exit so that it vectorizes; every value the scanner then takes is plain
/// ASCII text. A raw `"` passes here because the inner levels' quotes are
/// escaped ones (`\"`); [`Cursor::string`] refuses one inside a value.
fn plain_ascii(b: &[u8]) -> bool {
    !b.iter()
        .fold(false, |bad, &c| bad | (c.wrapping_sub(0x20) > 0x5e))
}

/// Text the scanner has already checked to be ASCII.
fn text(b: &[u8]) -> Option<&str> {
    std::str::from_utf8(b).ok()
}

/// [`text`] of an optional field: `None` only when it is there and not text.
fn opt_text(b: Option<&[u8]>) -> Option<Option<&str>> {
    match b {
        Some(b) => text(b).map(Some),
        None => Some(None),
    }
}

/// Fields of the envelope as read, borrowed from the record.
#[derive(Default)]
struct EnvelopeParts<'a> {
    channel: Option<&'a [u8]>,
    topic: Option<&'a [u8]>,
    subject: Option<&'a [u8]>,
    r#type: Option<&'a [u8]>,
    client_id: Option<&'a [u8]>,
    data: Option<QuoteParts<'a>>,
}

/// Fields of the quote as read, borrowed from the record.
#[derive(Default)]
struct QuoteParts<'a> {
    id: Option<&'a [u8]>,
    pair: Option<&'a [u8]>,
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
        id: text(p.id?)?.to_owned(),
        pair: text(p.pair?)?.to_owned(),
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
    let owned = |v| opt_text(v).map(|v| v.map(str::to_owned));
    Some(HubEnvelope {
        channel: opt_text(p.channel)?.map(HubChannel::from_wire),
        topic: owned(p.topic)?,
        subject: owned(p.subject)?,
        r#type: opt_text(p.r#type)?.map(HubMessageType::from_wire),
        client_id: owned(p.client_id)?,
        data: None,
        extra: Default::default(),
    })
}

/// A position in the argument string, which [`plain_ascii`] has checked.
struct Cursor<'a> {
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

/// Where the first `\\` or `"` of `b` is. Values are short (4 to 36
/// bytes): eight bytes at a time in a register beats both a byte loop and
/// a `memchr` call here.
pub(super) fn quote_or_backslash(b: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // The high bit of each byte of `x` equal to `c`, exact up to the first
    // such byte (a borrow may mark bytes after it, never before).
    let eq = |x: u64, c: u8| {
        let y = x ^ (ONES * u64::from(c));
        y.wrapping_sub(ONES) & !y & HIGH
    };
    let mut chunks = b.chunks_exact(8);
    let mut at = 0;
    for chunk in chunks.by_ref() {
        let x = u64::from_le_bytes(chunk.try_into().ok()?);
        let hits = eq(x, b'\\') | eq(x, b'"');
        if hits != 0 {
            // Little-endian: the lowest set bit is the first byte.
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let tail = chunks
        .remainder()
        .iter()
        .position(|&c| c == b'\\' || c == b'"')?;
    Some(at + tail)
}

/// Digits a `u64` holds whatever they are.
const U64_DIGITS: u32 = 19;

impl<'a> Cursor<'a> {
    // Inlined so that each literal's length is a constant and the compare
    // needs no call to memcmp.
    #[inline(always)]
    fn eat(&mut self, lit: &[u8]) -> Option<()> {
        let rest = self.b.get(self.i..)?;
        rest.starts_with(lit).then(|| self.i += lit.len())
    }

    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline(always)]
    fn next_byte(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    /// The content of a string quoted with `q` that has no escape at all:
    /// it ends at the first backslash, and a raw `"` before that would end
    /// the argument string itself.
    #[inline(always)]
    fn string(&mut self, q: &[u8]) -> Option<&'a [u8]> {
        self.eat(q)?;
        let rest = self.b.get(self.i..)?;
        let len = quote_or_backslash(rest)?;
        self.i += len;
        // Anything but this level's closing quote is an escape: give up.
        self.eat(q)?;
        rest.get(..len)
    }

    /// The digits at the cursor, folded into `acc`: how many there were.
    #[inline(always)]
    fn digits(&mut self, acc: &mut u64) -> u32 {
        let mut n = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            // Wrapping: past 19 digits the value is discarded anyway.
            *acc = acc.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
            self.i += 1;
            n += 1;
        }
        n
    }

    /// An exact decimal. A plain one (no sign, no exponent, at most 19
    /// digits) is its digits as the mantissa and its fraction's length as the
    /// scale, which is exactly what the models' parser makes of it; any
    /// other number is read again by that parser.
    // Inlined: returned through memory, the `Decimal` was written in pieces
    // and read back whole, a store-forwarding stall per number.
    #[inline(always)]
    fn decimal(&mut self) -> Option<Decimal> {
        let start = self.i;
        let mut mantissa = 0;
        let whole = match self.peek()? {
            b'0' => {
                self.i += 1;
                1
            }
            b'1'..=b'9' => self.digits(&mut mantissa),
            _ => return self.decimal_by_parser(start),
        };
        let mut scale = 0;
        if self.peek() == Some(b'.') {
            self.i += 1;
            scale = self.digits(&mut mantissa);
            if scale == 0 {
                return None;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) || whole + scale > U64_DIGITS {
            return self.decimal_by_parser(start);
        }
        // Truncating casts split the u64 into the 96-bit mantissa's words.
        #[allow(clippy::cast_possible_truncation)]
        let (lo, mid) = (mantissa as u32, (mantissa >> 32) as u32);
        Some(Decimal::from_parts(lo, mid, 0, false, scale))
    }

    /// A number from `start` in strict JSON syntax, through the models'
    /// exact-decimal parser.
    #[cold]
    fn decimal_by_parser(&mut self, start: usize) -> Option<Decimal> {
        self.i = start;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let mut ignored = 0;
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                self.digits(&mut ignored);
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits(&mut ignored) == 0 {
                return None;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits(&mut ignored) == 0 {
                return None;
            }
        }
        parse_exact(text(self.b.get(start..self.i)?)?).ok()
    }

    /// A timestamp: a string, or unix milliseconds small enough that
    /// serde_json hands them over as an unsigned integer fitting `i64`
    /// (at most 18 digits, no leading zero, no fraction or exponent).
    fn timestamp(&mut self) -> Option<Timestamp> {
        let mut millis = 0;
        let n = match self.peek()? {
            b'0' => {
                self.i += 1;
                1
            }
            b'1'..=b'9' => self.digits(&mut millis),
            _ => return self.string(Q2).and_then(text).map(Timestamp::from_text),
        };
        if n > 18 || matches!(self.peek(), Some(b'.' | b'e' | b'E' | b'0'..=b'9')) {
            return None;
        }
        Some(Timestamp::from_unix_millis(i64::try_from(millis).ok()?))
    }

    /// `"name":` quoted with `q`, taken whole when it is there. Keys are
    /// never scanned: a key the scanner does not know makes it give up
    /// anyway, so comparing the known ones as literals is enough.
    #[inline(always)]
    fn key(&mut self, q: &[u8], name: &[u8]) -> bool {
        let at = |from: usize, lit: &[u8]| self.b.get(from..).is_some_and(|r| r.starts_with(lit));
        let (i, n) = (self.i, q.len());
        let found = at(i, q)
            && at(i + n, name)
            && at(i + n + name.len(), q)
            && at(i + 2 * n + name.len(), b":");
        if found {
            self.i += 2 * n + name.len() + 1;
        }
        found
    }

    /// The first letter of the key at the cursor, quoted with `q`: picks
    /// the literals worth comparing.
    #[inline(always)]
    fn key_initial(&self, q: &[u8]) -> Option<u8> {
        self.b.get(self.i + q.len()).copied()
    }

    /// Members of an object up to its `}`, after its `{`.
    #[inline(always)]
    fn members(&mut self, mut member: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b"{")?;
        if self.eat(b"}").is_some() {
            return Some(());
        }
        loop {
            member(self)?;
            match self.next_byte()? {
                b',' => {}
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }

    fn envelope(&mut self) -> Option<EnvelopeParts<'a>> {
        let mut p = EnvelopeParts::default();
        self.members(|cur| match cur.key_initial(Q1)? {
            b'c' if cur.key(Q1, b"channel") => once(&mut p.channel, cur.string(Q1)?),
            b'c' if cur.key(Q1, b"clientId") => once(&mut p.client_id, cur.string(Q1)?),
            b't' if cur.key(Q1, b"topic") => once(&mut p.topic, cur.string(Q1)?),
            b't' if cur.key(Q1, b"type") => once(&mut p.r#type, cur.string(Q1)?),
            // Any other subject is not a price update: no need to read it.
            b's' if cur.key(Q1, b"subject") => {
                let subject = PRICE_UPDATE_SUBJECT.as_bytes();
                cur.eat(Q1)?;
                cur.eat(subject)?;
                cur.eat(Q1)?;
                once(&mut p.subject, subject)
            }
            b'd' if cur.key(Q1, b"data") => {
                cur.eat(Q1)?;
                let quote = cur.quote()?;
                cur.eat(Q1)?;
                once(&mut p.data, quote)
            }
            _ => None,
        })?;
        p.subject.is_some().then_some(p)
    }

    fn quote(&mut self) -> Option<QuoteParts<'a>> {
        let mut p = QuoteParts::default();
        self.members(|cur| match cur.key_initial(Q2)? {
            b'i' if cur.key(Q2, b"id") => once(&mut p.id, cur.string(Q2)?),
            b'p' if cur.key(Q2, b"pair") => once(&mut p.pair, cur.string(Q2)?),
            b'b' if cur.key(Q2, b"buyPrice") => once(&mut p.buy_price, cur.decimal()?),
            b's' if cur.key(Q2, b"sellPrice") => once(&mut p.sell_price, cur.decimal()?),
            b's' if cur.key(Q2, b"size") => once(&mut p.size, cur.decimal()?),
            b'm' if cur.key(Q2, b"markPrice") => once(&mut p.mark_price, cur.decimal()?),
            // One field under two names (quirks 1, 2): both at once is a repeat.
            b't' if cur.key(Q2, b"timestamp") || cur.key(Q2, b"timeStamp") => {
                once(&mut p.timestamp, cur.timestamp()?)
            }
            _ => None,
        })?;
        Some(p)
    }
}
