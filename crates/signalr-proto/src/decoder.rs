//! Incremental decoder: bytes in, borrowed records and messages out.

use std::collections::VecDeque;
use std::ops::ControlFlow;

use crate::error::DecodeError;
use crate::handshake::{
    HandshakeRequest, HandshakeResponse, parse_handshake_request, parse_handshake_response,
};
use crate::message::{HubMessage, parse_message};

/// The ASCII record separator that ends every JSON record.
pub const RECORD_SEPARATOR: u8 = 0x1E;

/// Default [`Decoder`] limit: 1 MiB per record.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 1024 * 1024;

/// The .NET server's default `MaximumReceiveMessageSize` (32 KiB): a server
/// that wants to behave like ASP.NET Core should use this limit.
pub const DOTNET_SERVER_MAX_MESSAGE_SIZE: usize = 32 * 1024;

/// Splits the first 0x1E-terminated record off `buf`.
///
/// Returns the record (without terminator) and everything after the
/// terminator, or `None` when `buf` holds no complete record.
///
/// ```
/// use signalr_proto::split_record;
/// let (first, rest) = split_record(b"{}\x1e{\"type\":6}\x1e").unwrap();
/// assert_eq!((first, rest), (&b"{}"[..], &b"{\"type\":6}\x1e"[..]));
/// ```
pub fn split_record(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = memchr::memchr(RECORD_SEPARATOR, buf)?;
    Some((buf.get(..end)?, buf.get(end + 1..)?))
}

/// Incremental, zero-copy decoder for a stream of JSON records.
///
/// Feed it transport frames of any size with [`push`](Self::push), then take
/// records out until it returns `Ok(None)`. A record may span many pushes and
/// one push may hold many records. Messages borrow the decoder's buffer; the
/// bytes they use are reclaimed at the next `push`.
///
/// Memory stays bounded: a record longer than the maximum message size is
/// dropped (its bytes are not kept) and reported as
/// [`DecodeError::TooLarge`] in its place in the stream.
///
/// After an error the faulty record is gone and decoding can continue, though
/// the protocol allows (and the official peers do) closing the connection.
///
/// ```
/// use signalr_proto::{Decoder, HubMessage};
/// let mut dec = Decoder::new();
/// dec.push(b"{}\x1e{\"type\":1,\"target\":\"subscriptions\",\"argu");
/// assert!(dec.next_handshake_response()?.unwrap().error.is_none());
/// assert!(dec.next_message()?.is_none()); // half a record so far
/// dec.push(b"ments\":[{\"a\":1}]}\x1e{\"type\":6}\x1e");
/// let mut targets = Vec::new();
/// while let Some(msg) = dec.next_message()? {
///     match msg {
///         HubMessage::Invocation(inv) => targets.push(inv.target.into_owned()),
///         HubMessage::Ping => targets.push("ping".into()),
///         _ => {}
///     }
/// }
/// assert_eq!(targets, ["subscriptions", "ping"]);
/// dec.finish()?;
/// # Ok::<(), signalr_proto::DecodeError>(())
/// ```
#[derive(Debug)]
pub struct Decoder {
    buf: Vec<u8>,
    cur: Cursor,
}

/// Everything but the bytes, so that `next_message` can hold a shared borrow of
/// the buffer while advancing the cursor (disjoint fields).
#[derive(Debug)]
struct Cursor {
    /// First byte not yet handed out.
    start: usize,
    /// One past the last 0x1E in the buffer: `[start, tail)` holds only
    /// complete records, `[tail, len)` the unterminated rest.
    tail: usize,
    max: usize,
    /// Dropping the rest of an oversized record until its terminator.
    discarding: bool,
    /// Oversized records to report once the cursor reaches their `at`.
    pending: VecDeque<Pending>,
    records: u64,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    at: usize,
    size: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    /// A decoder with [`DEFAULT_MAX_MESSAGE_SIZE`].
    pub fn new() -> Self {
        Decoder::with_max_message_size(DEFAULT_MAX_MESSAGE_SIZE)
    }

    /// A decoder rejecting records longer than `max` bytes (terminator excluded).
    pub fn with_max_message_size(max: usize) -> Self {
        Decoder {
            buf: Vec::new(),
            cur: Cursor {
                start: 0,
                tail: 0,
                max,
                discarding: false,
                pending: VecDeque::new(),
                records: 0,
            },
        }
    }

    /// The configured limit.
    pub fn max_message_size(&self) -> usize {
        self.cur.max
    }

    /// Records taken out so far (including skipped and faulty ones); handy as
    /// log context for an error.
    pub fn records_read(&self) -> u64 {
        self.cur.records
    }

    /// Bytes held and not yet handed out.
    pub fn buffered_len(&self) -> usize {
        self.buf.len().saturating_sub(self.cur.start)
    }

    /// Appends a chunk of the byte stream (one transport frame, a POST body,
    /// an SSE event's data…). Never fails; problems surface in the `next_*`
    /// methods, in stream order.
    pub fn push(&mut self, chunk: &[u8]) {
        self.compact();
        let mut chunk = chunk;
        if self.cur.discarding {
            match memchr::memchr(RECORD_SEPARATOR, chunk) {
                None => return,
                Some(i) => {
                    chunk = chunk.get(i + 1..).unwrap_or_default();
                    self.cur.discarding = false;
                }
            }
        }
        let old_len = self.buf.len();
        self.buf.extend_from_slice(chunk);
        if let Some(i) = memchr::memrchr(RECORD_SEPARATOR, chunk) {
            self.cur.tail = old_len + i + 1;
        }
        let partial = self.buf.len() - self.cur.tail;
        if partial > self.cur.max {
            // Keep the complete records before it; forget the oversized tail so
            // the buffer never grows past `max` for a single record.
            self.buf.truncate(self.cur.tail);
            self.cur.discarding = true;
            self.cur.pending.push_back(Pending {
                at: self.cur.tail,
                size: partial,
            });
        }
    }

    /// [`push`](Self::push) `chunk`, then hands `each` every record
    /// [`next_record`](Self::next_record) would return, in the same order
    /// and with the same errors, until it returns [`ControlFlow::Break`].
    ///
    /// The records complete in `chunk` are read where they lie: only the
    /// completion of a record begun in an earlier chunk, a trailing partial
    /// record, and what is left after a `Break` are copied into the buffer
    /// (for a busy feed, one frame of whole records costs no copy at all).
    ///
    /// ```
    /// use std::ops::ControlFlow;
    /// use signalr_proto::Decoder;
    /// let mut dec = Decoder::new();
    /// let mut seen = Vec::new();
    /// dec.records(b"{\"type\":6}\x1e{\"type\":", |r| {
    ///     seen.push(r.unwrap().to_vec());
    ///     ControlFlow::Continue(())
    /// });
    /// dec.records(b"7}\x1e", |r| {
    ///     seen.push(r.unwrap().to_vec());
    ///     ControlFlow::Continue(())
    /// });
    /// assert_eq!(seen, [&b"{\"type\":6}"[..], &b"{\"type\":7}"[..]]);
    /// ```
    pub fn records<F>(&mut self, chunk: &[u8], mut each: F)
    where
        F: FnMut(Result<&[u8], DecodeError>) -> ControlFlow<()>,
    {
        let mut rest = chunk;
        if !self.is_drained() {
            // Finish what is buffered first: push up to the first separator
            // (all of `chunk` if it has none) and hand out what that completes.
            let head = memchr::memchr(RECORD_SEPARATOR, rest).map_or(rest.len(), |i| i + 1);
            let (first, after) = rest.split_at(head);
            self.push(first);
            rest = after;
            if self.hand_out(&mut each).is_break() || !self.is_drained() {
                // (Never drained here while the buffer ends on the separator
                // just pushed; if it did, buffering keeps the order.)
                return self.push(rest);
            }
        }
        while let Some(end) = memchr::memchr(RECORD_SEPARATOR, rest) {
            let (record, after) = rest.split_at(end);
            rest = after.get(1..).unwrap_or_default();
            let record = self.cur.count(record.len()).map(|()| record);
            if each(record).is_break() {
                return self.push(rest);
            }
        }
        if rest.is_empty() {
            // The usual end: the frame held whole records only.
            return;
        }
        // The trailing partial record; if it is already too long, its error
        // comes now, as it would after a plain `push`.
        self.push(rest);
        let _ = self.hand_out(&mut each);
    }

    /// Hands `each` the buffered records until there are none or it breaks.
    fn hand_out<F>(&mut self, each: &mut F) -> ControlFlow<()>
    where
        F: FnMut(Result<&[u8], DecodeError>) -> ControlFlow<()>,
    {
        while let Some(record) = self.next_record().transpose() {
            each(record)?;
        }
        ControlFlow::Continue(())
    }

    /// Nothing buffered, pending or being skipped: the next byte starts a record.
    fn is_drained(&self) -> bool {
        self.cur.start >= self.buf.len() && !self.cur.discarding && self.cur.pending.is_empty()
    }

    /// Signals the end of the stream: fails with [`DecodeError::Truncated`] if
    /// an unterminated record is left over. Call it after draining messages.
    pub fn finish(&self) -> Result<(), DecodeError> {
        let rest = self.buf.get(self.cur.tail.max(self.cur.start)..);
        let rest = rest.unwrap_or_default();
        if rest.iter().all(u8::is_ascii_whitespace) {
            Ok(())
        } else {
            Err(DecodeError::Truncated {
                buffered: rest.len(),
            })
        }
    }

    /// Drops all buffered bytes and state, e.g. for a new connection.
    pub fn reset(&mut self) {
        let max = self.cur.max;
        *self = Decoder::with_max_message_size(max);
    }

    /// The next complete record (without terminator), unparsed.
    pub fn next_record(&mut self) -> Result<Option<&[u8]>, DecodeError> {
        let buf: &[u8] = &self.buf;
        Ok(self
            .cur
            .take(buf)?
            .map(|(s, e)| buf.get(s..e).unwrap_or_default()))
    }

    /// The next hub message, skipping records of unknown `type`.
    ///
    /// `Ok(None)` means "no complete record buffered": push more bytes.
    pub fn next_message(&mut self) -> Result<Option<HubMessage<'_>>, DecodeError> {
        let buf: &[u8] = &self.buf;
        let cur = &mut self.cur;
        while let Some((s, e)) = cur.take(buf)? {
            if let Some(msg) = parse_message(buf.get(s..e).unwrap_or_default())? {
                return Ok(Some(msg));
            }
        }
        Ok(None)
    }

    /// Server side: the client's handshake request, the first record.
    pub fn next_handshake_request(&mut self) -> Result<Option<HandshakeRequest<'_>>, DecodeError> {
        self.next_record()?.map(parse_handshake_request).transpose()
    }

    /// Client side: the server's handshake response, the first record. Hub
    /// messages that arrived in the same frame stay buffered for
    /// [`next_message`](Self::next_message).
    pub fn next_handshake_response(
        &mut self,
    ) -> Result<Option<HandshakeResponse<'_>>, DecodeError> {
        self.next_record()?
            .map(parse_handshake_response)
            .transpose()
    }

    fn compact(&mut self) {
        let consumed = self.cur.start;
        if consumed == 0 {
            return;
        }
        if consumed >= self.buf.len() {
            self.buf.clear();
        } else {
            self.buf.drain(..consumed);
        }
        self.cur.start = 0;
        self.cur.tail = self.cur.tail.saturating_sub(consumed);
        for p in &mut self.cur.pending {
            p.at = p.at.saturating_sub(consumed);
        }
    }
}

impl Cursor {
    /// Advances past the next complete record and returns its byte range.
    fn take(&mut self, buf: &[u8]) -> Result<Option<(usize, usize)>, DecodeError> {
        if let Some(p) = self.pending.front().copied()
            && self.start >= p.at
        {
            self.pending.pop_front();
            self.records += 1;
            return Err(DecodeError::TooLarge {
                size: p.size,
                max: self.max,
            });
        }
        if self.start >= self.tail {
            return Ok(None);
        }
        let window = buf.get(self.start..self.tail).unwrap_or_default();
        let Some(len) = memchr::memchr(RECORD_SEPARATOR, window) else {
            // Unreachable while the `tail` invariant holds; recover rather than loop.
            self.start = self.tail;
            return Ok(None);
        };
        let begin = self.start;
        self.start = begin + len + 1;
        self.count(len)?;
        Ok(Some((begin, begin + len)))
    }

    /// Counts a complete record of `len` bytes taken out, buffered or read
    /// in place: an error when it is over the limit.
    fn count(&mut self, len: usize) -> Result<(), DecodeError> {
        self.records += 1;
        if len > self.max {
            return Err(DecodeError::TooLarge {
                size: len,
                max: self.max,
            });
        }
        Ok(())
    }
}
