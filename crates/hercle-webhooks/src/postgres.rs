//! A shared store on PostgreSQL, for several receiver processes behind a
//! load balancer.
//!
//! * Deduplication: `event_id` is `UNIQUE`; `INSERT .. ON CONFLICT DO NOTHING`
//!   tells a first delivery from a duplicate whichever instance gets it.
//! * Dispatch: [`EventStore::next_unprocessed`] leases the oldest unprocessed,
//!   unleased (or lease-expired) rows to this instance, chosen with
//!   `FOR UPDATE SKIP LOCKED` so that concurrent instances never take the same
//!   rows. A lease lasts [`PgConfig::lease`]; an instance that dies leaves its
//!   leases to expire, and another instance then takes them over.
//! * Exactly-once ([`PgTxHandler`]): the handler runs in a transaction that
//!   first locks the event's row (`FOR UPDATE`) and checks it is still
//!   unprocessed and still leased to this instance, then marks it processed;
//!   the handler's writes and the mark commit together. Two instances can
//!   therefore never both commit an effect for one event, even when a lease
//!   expired while its holder was still working.
//!
//! Lease times come from the store's [`Clock`] (Unix seconds): the
//! instances' clocks must agree to well within the lease length.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Mutex;
use tokio_postgres::{Client, NoTls, Row};

use crate::clock::{Clock, SystemClock};
use crate::dispatch::HandlerError;
use crate::store::{
    EventStore, InsertOutcome, NewEvent, StoreError, StoredEvent, TransactionalStore,
};

/// A handler that writes in the store's transaction (see the module docs):
/// its writes commit atomically with the event's processed mark.
///
/// Write through `tx` only; an `Err` rolls everything back and the event is
/// retried.
pub trait PgTxHandler: Send + Sync + 'static {
    /// Applies `event`'s effects through `tx`.
    fn handle<'a>(
        &'a self,
        tx: &'a tokio_postgres::Transaction<'_>,
        event: &'a StoredEvent,
    ) -> Pin<Box<dyn Future<Output = Result<(), HandlerError>> + Send + 'a>>;
}

/// PostgreSQL store settings.
#[derive(Debug, Clone)]
pub struct PgConfig {
    /// Connections opened (requests share them round-robin).
    pub connections: usize,
    /// How long a lease on claimed events lasts before another instance may
    /// take them over. Longer than the slowest handler batch.
    pub lease: Duration,
    /// This instance's name in leases (a random one by default).
    pub instance: Option<String>,
}

impl Default for PgConfig {
    fn default() -> Self {
        PgConfig {
            connections: 4,
            lease: Duration::from_secs(30),
            instance: None,
        }
    }
}

/// PostgreSQL-backed [`EventStore`] shared by several receiver instances.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    conns: Vec<Mutex<Client>>,
    next: AtomicUsize,
    instance: String,
    lease_secs: i64,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The connection string may hold a password: never printed.
        f.debug_struct("PgStore")
            .field("instance", &self.inner.instance)
            .field("connections", &self.inner.conns.len())
            .finish_non_exhaustive()
    }
}

fn err(e: tokio_postgres::Error) -> StoreError {
    StoreError(format!("postgres: {e}"))
}

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS webhook_events (
        seq          BIGSERIAL PRIMARY KEY,
        event_id     TEXT NOT NULL UNIQUE,
        event_type   TEXT NOT NULL,
        delivery_id  TEXT,
        signed_at    BIGINT NOT NULL,
        received_at  BIGINT NOT NULL,
        body         BYTEA NOT NULL,
        processed_at BIGINT,
        lease_owner  TEXT,
        lease_until  BIGINT
    );
    CREATE INDEX IF NOT EXISTS webhook_events_pending
        ON webhook_events (seq) WHERE processed_at IS NULL;";

/// Advisory lock key serialising schema creation between instances starting together.
const SCHEMA_LOCK: i64 = 0x6865_7263_6c65;

impl PgStore {
    /// Connects with a libpq-style connection string (`host=.. port=..
    /// user=.. dbname=..`; no TLS) and creates the table if needed.
    pub async fn connect(conn_str: &str, config: PgConfig) -> Result<Self, StoreError> {
        Self::connect_with_clock(conn_str, config, Arc::new(SystemClock)).await
    }

    /// As [`PgStore::connect`], with the clock used for leases.
    pub async fn connect_with_clock(
        conn_str: &str,
        config: PgConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StoreError> {
        let mut conns = Vec::new();
        for _ in 0..config.connections.max(1) {
            let (client, connection) = tokio_postgres::connect(conn_str, NoTls)
                .await
                .map_err(err)?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::warn!(error = %e, "postgres connection ended");
                }
            });
            conns.push(Mutex::new(client));
        }
        if let Some(first) = conns.first() {
            let mut c = first.lock().await;
            let tx = c.transaction().await.map_err(err)?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
                .await
                .map_err(err)?;
            tx.batch_execute(SCHEMA).await.map_err(err)?;
            tx.commit().await.map_err(err)?;
        }
        let instance = match config.instance {
            Some(i) => i,
            None => random_instance()?,
        };
        Ok(PgStore {
            inner: Arc::new(Inner {
                conns,
                next: AtomicUsize::new(0),
                instance,
                lease_secs: i64::try_from(config.lease.as_secs().max(1)).unwrap_or(i64::MAX),
                clock,
            }),
        })
    }

    /// This instance's name in leases.
    pub fn instance(&self) -> &str {
        &self.inner.instance
    }

    async fn conn(&self) -> Result<tokio::sync::MutexGuard<'_, Client>, StoreError> {
        let n = self.inner.conns.len().max(1);
        let i = self.inner.next.fetch_add(1, Ordering::Relaxed) % n;
        match self.inner.conns.get(i) {
            Some(m) => Ok(m.lock().await),
            None => Err(StoreError("postgres: no connection".into())),
        }
    }
}

fn random_instance() -> Result<String, StoreError> {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 8];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| StoreError("no randomness for the instance name".into()))?;
    Ok(bytes.iter().fold(String::from("rcv_"), |mut s, b| {
        s.push_str(&format!("{b:02x}"));
        s
    }))
}

fn stored(r: &Row) -> Result<StoredEvent, tokio_postgres::Error> {
    Ok(StoredEvent {
        seq: r.try_get(0)?,
        event: NewEvent {
            event_id: r.try_get(1)?,
            event_type: r.try_get(2)?,
            delivery_id: r.try_get(3)?,
            signed_at: r.try_get(4)?,
            received_at: r.try_get(5)?,
            body: Bytes::from(r.try_get::<_, Vec<u8>>(6)?),
        },
    })
}

impl EventStore for PgStore {
    async fn insert_if_new(&self, ev: NewEvent) -> Result<InsertOutcome, StoreError> {
        let c = self.conn().await?;
        let n = c
            .execute(
                "INSERT INTO webhook_events
                     (event_id, event_type, delivery_id, signed_at, received_at, body)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (event_id) DO NOTHING",
                &[
                    &ev.event_id,
                    &ev.event_type,
                    &ev.delivery_id,
                    &ev.signed_at,
                    &ev.received_at,
                    &&ev.body[..],
                ],
            )
            .await
            .map_err(err)?;
        Ok(if n == 1 {
            InsertOutcome::Inserted
        } else {
            InsertOutcome::Duplicate
        })
    }

    /// Leases up to `limit` events to this instance: unprocessed ones that
    /// nobody holds, whose lease expired, or that this instance already holds.
    async fn next_unprocessed(&self, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let now = self.inner.clock.now_unix();
        let until = now.saturating_add(self.inner.lease_secs);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let c = self.conn().await?;
        let rows = c
            .query(
                "UPDATE webhook_events SET lease_owner = $1, lease_until = $2
                 WHERE seq IN (
                     SELECT seq FROM webhook_events
                     WHERE processed_at IS NULL
                       AND (lease_owner IS NULL OR lease_owner = $1 OR lease_until < $3)
                     ORDER BY seq LIMIT $4
                     FOR UPDATE SKIP LOCKED)
                 RETURNING seq, event_id, event_type, delivery_id, signed_at, received_at, body",
                &[&self.inner.instance, &until, &now, &limit],
            )
            .await
            .map_err(err)?;
        let mut events = rows
            .iter()
            .map(stored)
            .collect::<Result<Vec<_>, _>>()
            .map_err(err)?;
        events.sort_by_key(|e| e.seq);
        Ok(events)
    }

    async fn mark_processed(&self, event_ids: Vec<String>) -> Result<(), StoreError> {
        if event_ids.is_empty() {
            return Ok(());
        }
        let now = self.inner.clock.now_unix();
        let c = self.conn().await?;
        c.execute(
            "UPDATE webhook_events
             SET processed_at = $2, lease_owner = NULL, lease_until = NULL
             WHERE event_id = ANY($1) AND processed_at IS NULL",
            &[&event_ids, &now],
        )
        .await
        .map_err(err)?;
        Ok(())
    }
}

impl TransactionalStore for PgStore {
    type TxHandler = dyn PgTxHandler;

    /// `Ok(false)` when the event is already processed or its lease now
    /// belongs to another instance (which will process it).
    async fn process_in_tx(
        &self,
        event: StoredEvent,
        handler: Arc<dyn PgTxHandler>,
    ) -> Result<bool, HandlerError> {
        let now = self.inner.clock.now_unix();
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(err)?;
        let row = tx
            .query_opt(
                "SELECT lease_owner FROM webhook_events
                 WHERE event_id = $1 AND processed_at IS NULL FOR UPDATE",
                &[&event.event_id()],
            )
            .await
            .map_err(err)?;
        let owner: Option<String> = match &row {
            None => return Ok(false), // Dropping `tx` rolls back.
            Some(r) => r.try_get(0).map_err(err)?,
        };
        if owner.as_deref() != Some(self.inner.instance.as_str()) {
            return Ok(false);
        }
        handler.handle(&tx, &event).await?;
        tx.execute(
            "UPDATE webhook_events
             SET processed_at = $2, lease_owner = NULL, lease_until = NULL
             WHERE event_id = $1",
            &[&event.event_id(), &now],
        )
        .await
        .map_err(err)?;
        tx.commit().await.map_err(err)?;
        Ok(true)
    }
}
