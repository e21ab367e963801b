//! The fast path: a scanner for the one record layout HercleX sends, reading
//! the envelope (inside a JSON string) and the quote (inside a JSON string
//! inside that) straight from the record bytes, in one pass.
//!
//! It accepts a strict subset of JSON: the argument string is valid UTF-8
//! (checked once, up front), no whitespace, no control character, no
//! escape except the quotes of the two inner levels (`\"` for the
//! envelope, `\\\"` for the quote), only the known keys, each at most
//! once. A string value without escapes is its own unescaped text, so it
//! is used as it stands. A plain number (no sign, no exponent,
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
    let mut p = Parts::default();
    p.read(record)?;
    let envelope = build_envelope(&p.envelope);
    let quote = build_quote(&mut p.quote)?;
    Some(PriceUpdate { envelope, quote })
}

/// [`price_update`] without building the envelope: its `clientId` (which
/// routes the update to its stream) and the quote. The envelope has no
/// required field (`envelope_has_no_required_field` checks it), so whenever
/// this answers, [`price_update`] answers the same.
pub(super) fn price_quote(record: &[u8]) -> Option<(Option<&str>, SubscribePairPriceChannelData)> {
    let mut p = Parts::default();
    p.read(record)?;
    Some((p.envelope.client_id, build_quote(&mut p.quote)?))
}

/// The fields of a price update, borrowed from the record. The scanner
/// writes each value straight into its slot here: values passed back by
/// return were built in pieces on the stack and copied whole (a stalled
/// load each), and these structs moved by value cost a `memcpy` each.
#[derive(Default)]
struct Parts<'a> {
    envelope: EnvelopeParts<'a>,
    quote: QuoteParts<'a>,
}

impl<'a> Parts<'a> {
    /// Reads a price update laid out as HercleX sends it.
    fn read(&mut self, record: &'a [u8]) -> Option<()> {
        let rest = record.strip_prefix(br#"{"type":1,"target":""#)?;
        let rest = rest.strip_prefix(SUBSCRIPTIONS_TARGET.as_bytes())?;
        let rest = rest.strip_prefix(br#"","arguments":[""#)?;
        // No raw `"` passes the scanner but those of `\"`, so the argument
        // string ends here.
        let body = rest.strip_suffix(br#""]}"#)?;
        // One check for the whole argument: every value is then a `&str`
        // slice of it.
        let body = std::str::from_utf8(body).ok()?;
        let mut cur = Cursor { s: body, i: 0 };
        cur.envelope(self)?;
        (cur.i == body.len() && self.envelope.data && self.envelope.subject.is_some()).then_some(())
    }
}

/// Fields of the envelope as read.
#[derive(Default)]
struct EnvelopeParts<'a> {
    channel: Option<&'a str>,
    topic: Option<&'a str>,
    subject: Option<&'a str>,
    r#type: Option<&'a str>,
    client_id: Option<&'a str>,
    /// `data` was there (its fields are in [`Parts::quote`]).
    data: bool,
}

/// Fields of the quote as read.
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
// Inlined so that the quote is built where the caller returns it, not
// built here and copied (184 bytes) there.
#[inline(always)]
fn build_quote(p: &mut QuoteParts<'_>) -> Option<SubscribePairPriceChannelData> {
    Some(PriceQuote {
        id: p.id?.to_owned(),
        pair: p.pair?.to_owned(),
        buy_price: p.buy_price?,
        sell_price: p.sell_price,
        mark_price: p.mark_price,
        size: p.size,
        timestamp: p.timestamp.take(),
        extra: Default::default(),
    })
}

/// The one place the fast path builds a [`HubEnvelope`]: it has no
/// required field, and one that becomes required stops this compiling.
/// `data` has gone into the quote.
fn build_envelope(p: &EnvelopeParts<'_>) -> HubEnvelope {
    HubEnvelope {
        channel: p.channel.map(HubChannel::from_wire),
        topic: p.topic.map(str::to_owned),
        subject: p.subject.map(str::to_owned),
        r#type: p.r#type.map(HubMessageType::from_wire),
        client_id: p.client_id.map(str::to_owned),
        data: None,
        extra: Default::default(),
    }
}

/// A position in the argument string.
struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

/// `None` when the key was already seen: the general path lets the last of
/// repeated keys win; rather than mimic that, give up.
fn fresh<T>(slot: &Option<T>) -> Option<()> {
    slot.is_none().then_some(())
}

/// Stores `value` in `slot` unless the key was already seen ([`fresh`]).
fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    fresh(slot)?;
    *slot = Some(value);
    Some(())
}

/// Where the string value at the start of `b` stops being plain: the first
/// `\\`, `"` or control character (JSON refuses those raw in a string; the
/// general path then reports it). Values are short (4 to 36 bytes): eight
/// bytes at a time in a register beats both a byte loop and a `memchr`
/// call here.
pub(super) fn string_end(b: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // The high bit of each byte of `x` below `n` (at most 0x80), exact up
    // to the first such byte (a borrow may mark bytes after it, never
    // before).
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH;
    // Bytes equal to `c` are the zero bytes of `x ^ c`.
    let eq = |x: u64, c: u8| below(x ^ (ONES * u64::from(c)), 1);
    let mut chunks = b.chunks_exact(8);
    let mut at = 0;
    for chunk in chunks.by_ref() {
        let x = u64::from_le_bytes(chunk.try_into().ok()?);
        let hits = eq(x, b'\\') | eq(x, b'"') | below(x, 0x20);
        if hits != 0 {
            // Little-endian: the lowest set bit is the first byte.
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let tail = chunks
        .remainder()
        .iter()
        .position(|&c| c == b'\\' || c == b'"' || c < 0x20)?;
    Some(at + tail)
}

/// 10ⁿ for the lengths [`digit_run`] gives.
const POW10: [u64; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

/// How many ASCII digits `chunk` (eight bytes) starts with, and their value.
/// All eight at once in a register: prices and millisecond stamps run to
/// 8–14 digits, and a loop per digit is a chain of multiplies plus an exit
/// branch that varies with every number.
#[inline(always)]
pub(super) fn digit_run(chunk: &[u8]) -> (usize, u64) {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    let Ok(bytes) = <[u8; 8]>::try_from(chunk) else {
        return (0, 0);
    };
    let x = u64::from_le_bytes(bytes);
    // A byte is a digit when its high nibble is 3 before and after adding
    // 6. A carry out of a non-digit byte can only disturb the bytes after
    // it, so the first non-zero byte of `off` is exactly the first
    // non-digit.
    let high = ONES * 0xf0;
    let off = ((x & high) ^ (ONES * 0x30)) | ((x.wrapping_add(ONES * 0x06) & high) ^ (ONES * 0x30));
    let k = (off.trailing_zeros() / 8) as usize;
    if k == 0 {
        return (0, 0);
    }
    // The digits' values, the first (most significant) in the lowest byte;
    // shifting out the bytes after them leaves zeros in front, which are
    // leading zeros. Then pairs, quads and the eight are combined.
    let mut v = x.wrapping_sub(ONES * 0x30) << (8 * (8 - k));
    v = (v.wrapping_mul(10) + (v >> 8)) & 0x00ff_00ff_00ff_00ff;
    v = (v.wrapping_mul(100) + (v >> 16)) & 0x0000_ffff_0000_ffff;
    v = (v.wrapping_mul(10_000) + (v >> 32)) & 0xffff_ffff;
    (k, v)
}

/// Digits a `u64` holds whatever they are.
const U64_DIGITS: u32 = 19;

impl<'a> Cursor<'a> {
    #[inline(always)]
    fn b(&self) -> &'a [u8] {
        self.s.as_bytes()
    }

    // Inlined so that each literal's length is a constant and the compare
    // needs no call to memcmp.
    #[inline(always)]
    fn eat(&mut self, lit: &[u8]) -> Option<()> {
        let rest = self.b().get(self.i..)?;
        rest.starts_with(lit).then(|| self.i += lit.len())
    }

    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.b().get(self.i).copied()
    }

    #[inline(always)]
    fn next_byte(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    /// The content of a string quoted with `q` that has no escape at all:
    /// it ends at the first backslash, and a raw `"` before that would end
    /// the argument string itself. That end is a character boundary: every
    /// byte of a multi-byte character is 0x80 or above.
    #[inline(always)]
    fn string(&mut self, q: &[u8]) -> Option<&'a str> {
        self.eat(q)?;
        let start = self.i;
        let len = string_end(self.b().get(start..)?)?;
        self.i += len;
        // Anything but this level's closing quote is an escape: give up.
        self.eat(q)?;
        self.s.get(start..start + len)
    }

    /// The digits at the cursor, folded into `acc`: how many there were.
    #[inline(always)]
    fn digits(&mut self, acc: &mut u64) -> u32 {
        let mut n = 0;
        while let Some(chunk) = self.b().get(self.i..self.i + 8) {
            let (k, value) = digit_run(chunk);
            let Some(&scale) = POW10.get(k) else {
                return n;
            };
            // Wrapping: past 19 digits the value is discarded anyway.
            *acc = acc.wrapping_mul(scale).wrapping_add(value);
            self.i += k;
            n += k as u32;
            if k < 8 {
                return n;
            }
        }
        while let Some(c @ b'0'..=b'9') = self.peek() {
            *acc = acc.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
            self.i += 1;
            n += 1;
        }
        n
    }

    /// An exact decimal, into `slot` unless it is [`fresh`]. A plain one (no
    /// sign, no exponent, at most 19 digits) is its digits as the mantissa
    /// and its fraction's length as the scale, which is exactly what the
    /// models' parser makes of it; any other number is read again by that
    /// parser.
    // Written into its slot, not returned: a returned `Decimal` was built
    // in pieces on the stack and read back whole, a store-forwarding stall
    // per number.
    #[inline(always)]
    fn decimal(&mut self, slot: &mut Option<Decimal>) -> Option<()> {
        fresh(slot)?;
        let start = self.i;
        let mut mantissa = 0;
        let whole = match self.peek()? {
            b'0' => {
                self.i += 1;
                1
            }
            b'1'..=b'9' => self.digits(&mut mantissa),
            _ => return self.decimal_by_parser(start, slot),
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
            return self.decimal_by_parser(start, slot);
        }
        // Truncating casts split the u64 into the 96-bit mantissa's words.
        #[allow(clippy::cast_possible_truncation)]
        let (lo, mid) = (mantissa as u32, (mantissa >> 32) as u32);
        *slot = Some(Decimal::from_parts(lo, mid, 0, false, scale));
        Some(())
    }

    /// A number from `start` in strict JSON syntax, through the models'
    /// exact-decimal parser.
    #[cold]
    fn decimal_by_parser(&mut self, start: usize, slot: &mut Option<Decimal>) -> Option<()> {
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
        *slot = Some(parse_exact(self.s.get(start..self.i)?).ok()?);
        Some(())
    }

    /// A timestamp, into `slot` unless it is [`fresh`]: a string, or unix
    /// milliseconds small enough that serde_json hands them over as an
    /// unsigned integer fitting `i64` (at most 18 digits, no leading zero,
    /// no fraction or exponent).
    fn timestamp(&mut self, slot: &mut Option<Timestamp>) -> Option<()> {
        fresh(slot)?;
        let mut millis = 0;
        let n = match self.peek()? {
            b'0' => {
                self.i += 1;
                1
            }
            b'1'..=b'9' => self.digits(&mut millis),
            _ => {
                *slot = Some(Timestamp::from_text(self.string(Q2)?));
                return Some(());
            }
        };
        if n > 18 || matches!(self.peek(), Some(b'.' | b'e' | b'E' | b'0'..=b'9')) {
            return None;
        }
        *slot = Some(Timestamp::from_unix_millis(i64::try_from(millis).ok()?));
        Some(())
    }

    /// `"name":` quoted with `q`, taken whole when it is there. Keys are
    /// never scanned: a key the scanner does not know makes it give up
    /// anyway, so comparing the known ones as literals is enough.
    #[inline(always)]
    fn key(&mut self, q: &[u8], name: &[u8]) -> bool {
        let at = |from: usize, lit: &[u8]| self.b().get(from..).is_some_and(|r| r.starts_with(lit));
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
        self.b().get(self.i + q.len()).copied()
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

    fn envelope(&mut self, parts: &mut Parts<'a>) -> Option<()> {
        let (p, quote) = (&mut parts.envelope, &mut parts.quote);
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
                once(&mut p.subject, PRICE_UPDATE_SUBJECT)
            }
            b'd' if cur.key(Q1, b"data") && !p.data => {
                p.data = true;
                cur.eat(Q1)?;
                cur.quote(quote)?;
                cur.eat(Q1)
            }
            _ => None,
        })
    }

    fn quote(&mut self, p: &mut QuoteParts<'a>) -> Option<()> {
        self.members(|cur| match cur.key_initial(Q2)? {
            b'i' if cur.key(Q2, b"id") => once(&mut p.id, cur.string(Q2)?),
            b'p' if cur.key(Q2, b"pair") => once(&mut p.pair, cur.string(Q2)?),
            b'b' if cur.key(Q2, b"buyPrice") => cur.decimal(&mut p.buy_price),
            b's' if cur.key(Q2, b"sellPrice") => cur.decimal(&mut p.sell_price),
            b's' if cur.key(Q2, b"size") => cur.decimal(&mut p.size),
            b'm' if cur.key(Q2, b"markPrice") => cur.decimal(&mut p.mark_price),
            // One field under two names (quirks 1, 2): both at once is a repeat.
            b't' if cur.key(Q2, b"timestamp") || cur.key(Q2, b"timeStamp") => {
                cur.timestamp(&mut p.timestamp)
            }
            _ => None,
        })
    }
}
