//! Hands stored events to the user's handler, in store order, deduplicated.
//!
//! Two ways to process an event ([`Process`]):
//!
//! * [`AtLeastOnce`] with a [`Handler`]: the handler runs, then the event is
//!   durably marked processed. A crash after the handler's effect and before
//!   the mark runs the handler again for that event after restart, so effects
//!   outside the database must be idempotent on [`StoredEvent::event_id`].
//! * [`ExactlyOnce`] with the store's transactional handler (e.g.
//!   [`SqliteTxHandler`](crate::SqliteTxHandler)): the handler writes in the
//!   store's transaction and the processed mark commits with those writes,
//!   so each event's database effect is present exactly once, whatever the
//!   crash point.
//!
//! A processing error leaves the event unprocessed; it is retried with
//! backoff and later events wait (order is kept within one dispatcher).

use std::error::Error;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::store::{EventStore, StoredEvent, TransactionalStore};

/// Error returned by a handler; the event will be retried.
pub type HandlerError = Box<dyn Error + Send + Sync + 'static>;

/// Processes one stored event. Implemented for `Fn(StoredEvent) -> impl Future`.
pub trait Handler: Send + Sync + 'static {
    /// Handles `event`; `Ok` marks it processed, `Err` retries it later.
    fn handle(&self, event: StoredEvent) -> impl Future<Output = Result<(), HandlerError>> + Send;
}

impl<F, Fut> Handler for F
where
    F: Fn(StoredEvent) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send,
{
    fn handle(&self, event: StoredEvent) -> impl Future<Output = Result<(), HandlerError>> + Send {
        self(event)
    }
}

/// How a dispatcher processes one event it took from the store `S`.
pub trait Process<S>: Send + Sync + 'static {
    /// Processes `event`; `Ok` once its processing is durably recorded,
    /// `Err` to retry it later.
    fn process(
        &self,
        store: &S,
        event: StoredEvent,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send;
}

/// Runs a [`Handler`], then marks the event processed: at-least-once.
#[derive(Debug, Clone)]
pub struct AtLeastOnce<H>(pub H);

impl<S: EventStore, H: Handler> Process<S> for AtLeastOnce<H> {
    async fn process(&self, store: &S, event: StoredEvent) -> Result<(), HandlerError> {
        let id = event.event_id().to_owned();
        self.0.handle(event).await?;
        store.mark_processed(vec![id]).await?;
        Ok(())
    }
}

/// Runs the store's transactional handler in the transaction that marks the
/// event processed: exactly-once for the handler's writes in that store.
pub struct ExactlyOnce<T: ?Sized>(pub Arc<T>);

impl<T: ?Sized> Clone for ExactlyOnce<T> {
    fn clone(&self) -> Self {
        ExactlyOnce(self.0.clone())
    }
}

impl<T: ?Sized> std::fmt::Debug for ExactlyOnce<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExactlyOnce(..)")
    }
}

impl<S: TransactionalStore> Process<S> for ExactlyOnce<S::TxHandler> {
    async fn process(&self, store: &S, event: StoredEvent) -> Result<(), HandlerError> {
        store.process_in_tx(event, self.0.clone()).await.map(drop)
    }
}

/// Dispatcher tuning.
#[derive(Debug, Clone)]
pub struct DispatchConfig {
    /// Events fetched from the store per read.
    pub batch: usize,
    /// How often to look at the store without a wake-up (for stores written
    /// by other processes too).
    pub idle_poll: Duration,
    /// First retry delay after a handler or store error (doubles, capped).
    pub retry_initial: Duration,
    /// Maximum retry delay.
    pub retry_max: Duration,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            batch: 256,
            idle_poll: Duration::from_secs(1),
            retry_initial: Duration::from_millis(100),
            retry_max: Duration::from_secs(30),
        }
    }
}

/// Runs a [`Process`] over the store's unprocessed events.
#[derive(Debug)]
pub struct Dispatcher<S, P> {
    store: S,
    processor: P,
    wake: Arc<Notify>,
    config: DispatchConfig,
}

impl<S: EventStore, P: Process<S>> Dispatcher<S, P> {
    /// A dispatcher; `wake` is notified by the receiver after each new insert.
    pub fn new(store: S, processor: P, wake: Arc<Notify>, config: DispatchConfig) -> Self {
        Dispatcher {
            store,
            processor,
            wake,
            config,
        }
    }

    /// Processes everything currently unprocessed, then returns how many events were handled.
    pub async fn drain(&self) -> usize {
        let mut done = 0;
        loop {
            let n = self.step().await;
            if n == 0 {
                return done;
            }
            done += n;
        }
    }

    /// Runs forever (cancel by dropping the future / aborting the task).
    pub async fn run(self) {
        loop {
            if self.step().await == 0 {
                let _ = tokio::time::timeout(self.config.idle_poll, self.wake.notified()).await;
            }
        }
    }

    /// One batch: returns the number of events handled.
    async fn step(&self) -> usize {
        let mut delay = self.config.retry_initial;
        let batch = loop {
            match self.store.next_unprocessed(self.config.batch.max(1)).await {
                Ok(b) => break b,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook store read failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.config.retry_max);
                }
            }
        };
        let n = batch.len();
        for event in batch {
            let id = event.event_id().to_owned();
            let mut delay = self.config.retry_initial;
            while let Err(e) = self.processor.process(&self.store, event.clone()).await {
                tracing::warn!(event_id = %id, error = %e, "webhook processing failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(self.config.retry_max);
            }
        }
        n
    }
}
