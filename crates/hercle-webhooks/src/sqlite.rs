//! The default durable store: SQLite (bundled) in WAL mode with group commit.
//!
//! One writer thread owns the connection. Requests queue on a channel; the
//! thread takes everything queued (up to a batch limit), applies it in one
//! transaction, commits, and only then answers each waiting request. Under
//! load many inserts share one commit (and one fsync); an answer of
//! `Inserted` therefore means the event is on disk.
//!
//! A transactional handler ([`SqliteTxHandler`]) runs on that thread too,
//! inside a savepoint of the open transaction: its writes, the processed
//! mark and the commit are one atomic unit, and a failing handler rolls back
//! its own savepoint only.

use std::path::Path;
use std::sync::{Arc, mpsc};
use std::thread;

use bytes::Bytes;
use rusqlite::{Connection, OptionalExtension as _, params};
use tokio::sync::oneshot;

use crate::dispatch::HandlerError;
use crate::store::{
    EventStore, InsertOutcome, NewEvent, StoreError, StoredEvent, TransactionalStore,
};

/// A handler that writes in the store's own transaction, so that its writes
/// commit atomically with the event's processed mark: each event's effect is
/// in the database exactly once, across crashes at any point.
///
/// It runs synchronously on the store's writer thread (keep it short: other
/// writes wait), given a savepoint of the open transaction: write with it
/// (`execute`, `prepare_cached`); an `Err` rolls back its writes and the
/// event is retried. Implemented for `Fn(&Savepoint, &StoredEvent) -> Result`.
pub trait SqliteTxHandler: Send + Sync + 'static {
    /// Applies `event`'s effects through `tx`.
    fn handle(&self, tx: &rusqlite::Savepoint<'_>, event: &StoredEvent)
    -> Result<(), HandlerError>;
}

impl<F> SqliteTxHandler for F
where
    F: Fn(&rusqlite::Savepoint<'_>, &StoredEvent) -> Result<(), HandlerError>
        + Send
        + Sync
        + 'static,
{
    fn handle(
        &self,
        tx: &rusqlite::Savepoint<'_>,
        event: &StoredEvent,
    ) -> Result<(), HandlerError> {
        self(tx, event)
    }
}

type ProcessReply = oneshot::Sender<Result<bool, HandlerError>>;

/// How hard a commit tries to reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: each commit is fsynced; survives power loss. Default.
    #[default]
    Full,
    /// `synchronous=NORMAL`: survives a process crash, may lose the last
    /// commits on power loss or OS crash.
    Normal,
}

enum Cmd {
    Insert(NewEvent, oneshot::Sender<Result<InsertOutcome, StoreError>>),
    Next(usize, oneshot::Sender<Result<Vec<StoredEvent>, StoreError>>),
    Mark(Vec<String>, oneshot::Sender<Result<(), StoreError>>),
    Process(StoredEvent, Arc<dyn SqliteTxHandler>, ProcessReply),
}

/// SQLite-backed [`EventStore`]. Cheap to clone; all clones share one writer.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    tx: mpsc::Sender<Cmd>,
}

impl std::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cmd")
    }
}

const MAX_BATCH: usize = 4096;

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, fully durable.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, Durability::Full)
    }

    /// Opens with the given durability.
    pub fn open_with(path: impl AsRef<Path>, durability: Durability) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(err)?;
        init(&conn, durability).map_err(err)?;
        let (tx, rx) = mpsc::channel();
        thread::Builder::new()
            .name("hercle-webhooks-sqlite".into())
            .spawn(move || writer(conn, rx))
            .map_err(|e| StoreError(e.to_string()))?;
        Ok(SqliteStore { tx })
    }

    fn send<R>(&self, make: impl FnOnce(oneshot::Sender<R>) -> Cmd) -> oneshot::Receiver<R> {
        let (otx, orx) = oneshot::channel();
        // If the writer is gone the receiver below reports it.
        let _ = self.tx.send(make(otx));
        orx
    }
}

fn err(e: rusqlite::Error) -> StoreError {
    StoreError(e.to_string())
}

fn closed() -> StoreError {
    StoreError("sqlite writer thread stopped".into())
}

fn init(conn: &Connection, durability: Durability) -> rusqlite::Result<()> {
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::InvalidQuery);
    }
    let sync = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA synchronous={sync};
         PRAGMA busy_timeout=5000;
         CREATE TABLE IF NOT EXISTS webhook_events (
             seq         INTEGER PRIMARY KEY AUTOINCREMENT,
             event_id    TEXT NOT NULL UNIQUE,
             event_type  TEXT NOT NULL,
             delivery_id TEXT,
             signed_at   INTEGER NOT NULL,
             received_at INTEGER NOT NULL,
             body        BLOB NOT NULL,
             processed_at INTEGER
         );
         CREATE INDEX IF NOT EXISTS webhook_events_pending
             ON webhook_events(seq) WHERE processed_at IS NULL;"
    ))
}

enum Reply {
    Insert(
        oneshot::Sender<Result<InsertOutcome, StoreError>>,
        Result<InsertOutcome, StoreError>,
    ),
    Next(
        oneshot::Sender<Result<Vec<StoredEvent>, StoreError>>,
        Result<Vec<StoredEvent>, StoreError>,
    ),
    Mark(
        oneshot::Sender<Result<(), StoreError>>,
        Result<(), StoreError>,
    ),
    Process(ProcessReply, Result<bool, HandlerError>),
}

fn writer(mut conn: Connection, rx: mpsc::Receiver<Cmd>) {
    let mut batch: Vec<Cmd> = Vec::new();
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(c) => batch.push(c),
                Err(_) => break,
            }
        }
        let replies = apply(&mut conn, batch.drain(..));
        for r in replies {
            // A requester that went away (client disconnected) is fine to ignore.
            match r {
                Reply::Insert(tx, v) => drop(tx.send(v)),
                Reply::Next(tx, v) => drop(tx.send(v)),
                Reply::Mark(tx, v) => drop(tx.send(v)),
                Reply::Process(tx, v) => drop(tx.send(v)),
            }
        }
    }
}

fn apply(conn: &mut Connection, cmds: impl Iterator<Item = Cmd>) -> Vec<Reply> {
    let now = crate::clock::Clock::now_unix(&crate::clock::SystemClock);
    let mut replies = Vec::new();
    let mut tx = match conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let e = err(e);
            return cmds.map(|c| fail(c, &e)).collect();
        }
    };
    for cmd in cmds {
        replies.push(match cmd {
            Cmd::Insert(ev, reply) => Reply::Insert(reply, insert(&tx, &ev).map_err(err)),
            Cmd::Next(limit, reply) => Reply::Next(reply, next(&tx, limit).map_err(err)),
            Cmd::Mark(ids, reply) => Reply::Mark(reply, mark(&tx, &ids, now).map_err(err)),
            Cmd::Process(ev, handler, reply) => {
                Reply::Process(reply, process(&mut tx, &ev, &*handler, now))
            }
        });
    }
    if let Err(e) = tx.commit() {
        let e = err(e);
        // Nothing in this batch is durable: every write fails.
        return replies
            .into_iter()
            .map(|r| match r {
                Reply::Insert(tx, _) => Reply::Insert(tx, Err(e.clone())),
                Reply::Mark(tx, _) => Reply::Mark(tx, Err(e.clone())),
                Reply::Process(tx, _) => Reply::Process(tx, Err(Box::new(e.clone()))),
                other => other,
            })
            .collect();
    }
    replies
}

fn fail(cmd: Cmd, e: &StoreError) -> Reply {
    match cmd {
        Cmd::Insert(_, tx) => Reply::Insert(tx, Err(e.clone())),
        Cmd::Next(_, tx) => Reply::Next(tx, Err(e.clone())),
        Cmd::Mark(_, tx) => Reply::Mark(tx, Err(e.clone())),
        Cmd::Process(_, _, tx) => Reply::Process(tx, Err(Box::new(e.clone()))),
    }
}

/// Runs `handler` for `ev` in a savepoint together with the processed mark.
/// `Ok(false)`: already processed, the handler did not run.
fn process(
    tx: &mut rusqlite::Transaction<'_>,
    ev: &StoredEvent,
    handler: &dyn SqliteTxHandler,
    now: i64,
) -> Result<bool, HandlerError> {
    // Dropping the savepoint without commit rolls it back (rusqlite's default).
    let sp = tx.savepoint()?;
    let pending: Option<Option<i64>> = sp
        .prepare_cached("SELECT processed_at FROM webhook_events WHERE event_id = ?1")?
        .query_row([ev.event_id()], |r| r.get(0))
        .optional()?;
    if !matches!(pending, Some(None)) {
        return Ok(false);
    }
    handler.handle(&sp, ev)?;
    sp.prepare_cached("UPDATE webhook_events SET processed_at = ?2 WHERE event_id = ?1")?
        .execute(params![ev.event_id(), now])?;
    sp.commit()?;
    Ok(true)
}

fn insert(tx: &rusqlite::Transaction<'_>, ev: &NewEvent) -> rusqlite::Result<InsertOutcome> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO webhook_events
             (event_id, event_type, delivery_id, signed_at, received_at, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(event_id) DO NOTHING",
    )?;
    let n = stmt.execute(params![
        ev.event_id,
        ev.event_type,
        ev.delivery_id,
        ev.signed_at,
        ev.received_at,
        &ev.body[..]
    ])?;
    Ok(if n == 1 {
        InsertOutcome::Inserted
    } else {
        InsertOutcome::Duplicate
    })
}

fn next(tx: &rusqlite::Transaction<'_>, limit: usize) -> rusqlite::Result<Vec<StoredEvent>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = tx.prepare_cached(
        "SELECT seq, event_id, event_type, delivery_id, signed_at, received_at, body
         FROM webhook_events WHERE processed_at IS NULL ORDER BY seq LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit], |r| {
        Ok(StoredEvent {
            seq: r.get(0)?,
            event: NewEvent {
                event_id: r.get(1)?,
                event_type: r.get(2)?,
                delivery_id: r.get(3)?,
                signed_at: r.get(4)?,
                received_at: r.get(5)?,
                body: Bytes::from(r.get::<_, Vec<u8>>(6)?),
            },
        })
    })?;
    rows.collect()
}

fn mark(tx: &rusqlite::Transaction<'_>, ids: &[String], now: i64) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "UPDATE webhook_events SET processed_at = ?2 WHERE event_id = ?1 AND processed_at IS NULL",
    )?;
    for id in ids {
        stmt.execute(params![id, now])?;
    }
    Ok(())
}

impl SqliteStore {
    /// Reads (total, processed) counts straight from a database file
    /// (read-only; for tests and status output).
    pub fn count_events(path: impl AsRef<Path>) -> Result<(i64, i64), StoreError> {
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(err)?;
        let row: Option<(i64, i64)> = conn
            .query_row(
                "SELECT COUNT(*), COUNT(processed_at) FROM webhook_events",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(err)?;
        Ok(row.unwrap_or((0, 0)))
    }
}

impl EventStore for SqliteStore {
    async fn insert_if_new(&self, event: NewEvent) -> Result<InsertOutcome, StoreError> {
        self.send(|tx| Cmd::Insert(event, tx))
            .await
            .map_err(|_| closed())?
    }

    async fn next_unprocessed(&self, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.send(|tx| Cmd::Next(limit, tx))
            .await
            .map_err(|_| closed())?
    }

    async fn mark_processed(&self, event_ids: Vec<String>) -> Result<(), StoreError> {
        if event_ids.is_empty() {
            return Ok(());
        }
        self.send(|tx| Cmd::Mark(event_ids, tx))
            .await
            .map_err(|_| closed())?
    }
}

impl TransactionalStore for SqliteStore {
    type TxHandler = dyn SqliteTxHandler;

    async fn process_in_tx(
        &self,
        event: StoredEvent,
        handler: Arc<dyn SqliteTxHandler>,
    ) -> Result<bool, HandlerError> {
        self.send(|tx| Cmd::Process(event, handler, tx))
            .await
            .map_err(|_| closed())?
    }
}
