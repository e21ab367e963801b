//! Hands stored events to the user's handler, in store order, deduplicated.
//!
//! The dispatcher reads unprocessed events from the store, awaits the handler
//! for each, and then durably marks it processed before moving on. Because
//! the mark is durable before the next handler call, a crash can repeat at
//! most the one event whose handler was running (or had returned but not yet
//! been marked): delivery to the handler is at-least-once, and exactly-once
//! when the handler's effects are idempotent on [`StoredEvent::event_id`] or
//! committed together with the event id. A handler error leaves the event
//! unprocessed; it is retried with backoff and later events wait (order is kept).

use std::error::Error;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::store::{EventStore, StoredEvent};

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

/// Runs the handler over the store's unprocessed events.
#[derive(Debug)]
pub struct Dispatcher<S, H> {
    store: S,
    handler: H,
    wake: Arc<Notify>,
    config: DispatchConfig,
}

impl<S: EventStore, H: Handler> Dispatcher<S, H> {
    /// A dispatcher; `wake` is notified by the receiver after each new insert.
    pub fn new(store: S, handler: H, wake: Arc<Notify>, config: DispatchConfig) -> Self {
        Dispatcher {
            store,
            handler,
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
            loop {
                match self.handler.handle(event.clone()).await {
                    Ok(()) => break,
                    Err(e) => {
                        tracing::warn!(event_id = %id, error = %e, "webhook handler failed; retrying");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(self.config.retry_max);
                    }
                }
            }
            let mut delay = self.config.retry_initial;
            while let Err(e) = self.store.mark_processed(vec![id.clone()]).await {
                tracing::warn!(event_id = %id, error = %e, "marking webhook processed failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(self.config.retry_max);
            }
        }
        n
    }
}
