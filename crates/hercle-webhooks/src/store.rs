//! The event store: durable, deduplicating, ordered.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use crate::event::Event;

/// A verified event about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// `EventId`: the deduplication key.
    pub event_id: String,
    /// `EventType` as received.
    pub event_type: String,
    /// `X-Webhook-Id`, if sent.
    pub delivery_id: Option<String>,
    /// `X-Webhook-Timestamp`, Unix seconds (verified).
    pub signed_at: i64,
    /// When it was received, Unix seconds.
    pub received_at: i64,
    /// The raw body bytes exactly as received (and verified).
    pub body: Bytes,
}

/// A stored event as handed to the handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Store order (ascending in arrival order).
    pub seq: i64,
    /// The stored fields.
    pub event: NewEvent,
}

impl StoredEvent {
    /// `EventId`; pass it to your side effects to make them idempotent.
    pub fn event_id(&self) -> &str {
        &self.event.event_id
    }

    /// Parses the stored body into a typed [`Event`].
    pub fn parse(&self) -> Result<Event, crate::EventError> {
        Event::parse(&self.event.body)
    }
}

/// Result of [`EventStore::insert_if_new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Stored (durably, for durable stores) for the first time.
    Inserted,
    /// An event with this `EventId` was already stored.
    Duplicate,
}

/// A store failure (I/O, database). The receiver answers 503 so the sender retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "event store error: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

/// Where verified events live between receipt and processing.
///
/// Contract: `insert_if_new` resolves only once the event is durable (for a
/// durable store); `next_unprocessed` returns unprocessed events in `seq`
/// order; `mark_processed` is durable when it resolves. A store shared by
/// several receiver processes (PostgreSQL) also leases what
/// `next_unprocessed` returns to the calling instance, so that the others
/// skip those events until the lease expires.
pub trait EventStore: Send + Sync + 'static {
    /// Stores `event` unless its `EventId` is already stored.
    fn insert_if_new(
        &self,
        event: NewEvent,
    ) -> impl Future<Output = Result<InsertOutcome, StoreError>> + Send;

    /// Up to `limit` unprocessed events, oldest first.
    fn next_unprocessed(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// Marks events processed (by `EventId`).
    fn mark_processed(
        &self,
        event_ids: Vec<String>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A store whose transaction a handler can write in: the handler's writes and
/// the processed mark commit together or not at all, which makes the
/// handler's database effects exactly-once across crashes.
pub trait TransactionalStore: EventStore {
    /// The handler this store runs inside its transaction (e.g.
    /// `dyn SqliteTxHandler`).
    type TxHandler: ?Sized + Send + Sync + 'static;

    /// In one transaction: skips `event` if it is already processed, else
    /// runs `handler` and marks the event processed, then commits. Resolves
    /// to `Ok(true)` once committed, `Ok(false)` if there was nothing to do
    /// (already processed, or taken over by another instance); on `Err`
    /// nothing of the handler's writes remains.
    fn process_in_tx(
        &self,
        event: StoredEvent,
        handler: Arc<Self::TxHandler>,
    ) -> impl Future<Output = Result<bool, crate::HandlerError>> + Send;
}

/// In-memory store: deduplicates and orders, but is not durable. For tests.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<MemoryInner>>,
}

#[derive(Debug, Default)]
struct MemoryInner {
    seen: HashSet<String>,
    pending: VecDeque<StoredEvent>,
    next_seq: i64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, MemoryInner>, StoreError> {
        self.inner
            .lock()
            .map_err(|_| StoreError("memory store lock poisoned".into()))
    }
}

impl EventStore for MemoryStore {
    async fn insert_if_new(&self, event: NewEvent) -> Result<InsertOutcome, StoreError> {
        let mut g = self.lock()?;
        if !g.seen.insert(event.event_id.clone()) {
            return Ok(InsertOutcome::Duplicate);
        }
        g.next_seq += 1;
        let seq = g.next_seq;
        g.pending.push_back(StoredEvent { seq, event });
        Ok(InsertOutcome::Inserted)
    }

    async fn next_unprocessed(&self, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let g = self.lock()?;
        Ok(g.pending.iter().take(limit).cloned().collect())
    }

    async fn mark_processed(&self, event_ids: Vec<String>) -> Result<(), StoreError> {
        let mut g = self.lock()?;
        let ids: HashSet<String> = event_ids.into_iter().collect();
        g.pending.retain(|e| !ids.contains(&e.event.event_id));
        Ok(())
    }
}

/// Stores nothing and never deduplicates: the receiver becomes verify-only
/// (verify, parse, answer 200). For benchmarks and stateless setups.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoStore;

impl EventStore for NoStore {
    async fn insert_if_new(&self, _event: NewEvent) -> Result<InsertOutcome, StoreError> {
        Ok(InsertOutcome::Inserted)
    }

    async fn next_unprocessed(&self, _limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(Vec::new())
    }

    async fn mark_processed(&self, _event_ids: Vec<String>) -> Result<(), StoreError> {
        Ok(())
    }
}

impl<S: EventStore> EventStore for Arc<S> {
    fn insert_if_new(
        &self,
        event: NewEvent,
    ) -> impl Future<Output = Result<InsertOutcome, StoreError>> + Send {
        (**self).insert_if_new(event)
    }

    fn next_unprocessed(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send {
        (**self).next_unprocessed(limit)
    }

    fn mark_processed(
        &self,
        event_ids: Vec<String>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).mark_processed(event_ids)
    }
}

impl<S: TransactionalStore> TransactionalStore for Arc<S> {
    type TxHandler = S::TxHandler;

    fn process_in_tx(
        &self,
        event: StoredEvent,
        handler: Arc<Self::TxHandler>,
    ) -> impl Future<Output = Result<bool, crate::HandlerError>> + Send {
        (**self).process_in_tx(event, handler)
    }
}
