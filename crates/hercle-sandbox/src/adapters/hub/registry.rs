//! Which hub connections exist: negotiated ones waiting for their socket and
//! live ones, so that a transport request's `id` can be checked the way the
//! .NET server does (unknown → 404, already connected → 409).
//!
//! Each entry also remembers the application that created it, so a token
//! from one sandbox is unknown to another even if they shared a registry.

use super::link::HttpHandle;
use crate::app::App;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::time::Instant;

/// How long a negotiated connection waits for its transport before it is
/// forgotten (the .NET server's `DisconnectTimeout` default).
const PENDING_TTL: Duration = Duration::from_secs(15);

/// A connection a transport has just taken over.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Claimed {
    pub(super) connection_id: String,
    pub(super) key: String,
    pub(super) early: Vec<bytes::Bytes>,
    pub(super) stateful: bool,
}

/// Why a transport request's `id` is refused.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ClaimError {
    /// Never negotiated here, expired, or already closed.
    Unknown,
    /// The connection already has its socket.
    InUse,
    /// Negotiated with another API key.
    OtherUser,
}

struct Entry {
    owner: Weak<App>,
    connection_id: String,
    key: String,
    /// `Some(negotiated at)` until a transport claims it.
    pending_since: Option<Instant>,
    /// How POSTs, polls and DELETEs reach an SSE or long-polling connection.
    http: Option<HttpHandle>,
    /// Records POSTed before the transport's first request (signalrcore
    /// sends its handshake before its first poll); the .NET server buffers
    /// them in the connection's pipe, created at negotiate.
    early: Vec<bytes::Bytes>,
    /// Negotiated with `useStatefulReconnect=true`.
    stateful: bool,
    /// Set by a stateful session: where a WebSocket reopened with the same
    /// token goes, so the session resumes instead of a new one starting.
    reattach: Option<tokio::sync::mpsc::Sender<hyper::upgrade::OnUpgrade>>,
}

#[derive(Default)]
struct Inner {
    /// Secret token → connection.
    by_token: HashMap<String, Entry>,
    /// Public id → secret token.
    token_of: HashMap<String, String>,
}

/// The hub connections of one sandbox.
pub(crate) struct Registry {
    inner: Mutex<Inner>,
}

impl Registry {
    pub(crate) fn new() -> Registry {
        Registry {
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records a negotiated connection; returns (connection id, token).
    /// Negotiate version 0 has no separate token: the public id is the `id`
    /// that transport requests carry.
    pub(super) fn negotiated(
        &self,
        app: &Arc<App>,
        key: String,
        version: u32,
        stateful: bool,
    ) -> (String, String) {
        let mut inner = self.lock();
        // Forget connections that never came and sandboxes that are gone.
        let now = Instant::now();
        let stale: Vec<String> = inner
            .by_token
            .iter()
            .filter(|(_, e)| {
                e.owner.strong_count() == 0
                    || e.pending_since
                        .is_some_and(|t| now.duration_since(t) >= PENDING_TTL)
            })
            .map(|(t, _)| t.clone())
            .collect();
        for token in stale {
            if let Some(e) = inner.by_token.remove(&token) {
                inner.token_of.remove(&e.connection_id);
            }
        }
        let id = new_id();
        let token = if version == 0 { id.clone() } else { new_id() };
        inner.token_of.insert(id.clone(), token.clone());
        inner.by_token.insert(
            token.clone(),
            Entry {
                owner: Arc::downgrade(app),
                connection_id: id.clone(),
                key,
                pending_since: Some(now),
                http: None,
                early: Vec::new(),
                stateful,
                reattach: None,
            },
        );
        (id, token)
    }

    /// A socket opened without negotiate: a live connection from the start.
    pub(super) fn direct(&self, app: &Arc<App>, key: String) -> String {
        let (id, token) = (new_id(), new_id());
        let mut inner = self.lock();
        inner.token_of.insert(id.clone(), token.clone());
        inner.by_token.insert(
            token,
            Entry {
                owner: Arc::downgrade(app),
                connection_id: id.clone(),
                key,
                pending_since: None,
                http: None,
                early: Vec::new(),
                stateful: false,
                reattach: None,
            },
        );
        id
    }

    /// A transport for a negotiated connection; returns its public id, the
    /// API key it was negotiated with and the records POSTed so far. `key`
    /// is the requester's, when it sent credentials.
    pub(super) fn claim(
        &self,
        app: &Arc<App>,
        token: &str,
        key: Option<&str>,
    ) -> Result<Claimed, ClaimError> {
        let mut inner = self.lock();
        let entry = inner.by_token.get_mut(token).ok_or(ClaimError::Unknown)?;
        let owner_ok = entry.owner.upgrade().is_some_and(|o| Arc::ptr_eq(&o, app));
        if !owner_ok
            || entry
                .pending_since
                .is_some_and(|t| t.elapsed() >= PENDING_TTL)
        {
            return Err(ClaimError::Unknown);
        }
        if entry.pending_since.is_none() {
            return Err(ClaimError::InUse);
        }
        if key.is_some_and(|k| k != entry.key) {
            return Err(ClaimError::OtherUser);
        }
        entry.pending_since = None;
        Ok(Claimed {
            connection_id: entry.connection_id.clone(),
            key: entry.key.clone(),
            early: std::mem::take(&mut entry.early),
            stateful: entry.stateful,
        })
    }

    /// Lets a stateful session take WebSockets reopened with its token.
    pub(super) fn accept_reattach(
        &self,
        connection_id: &str,
        to: tokio::sync::mpsc::Sender<hyper::upgrade::OnUpgrade>,
    ) {
        let mut inner = self.lock();
        let Some(token) = inner.token_of.get(connection_id).cloned() else {
            return;
        };
        if let Some(entry) = inner.by_token.get_mut(&token) {
            entry.reattach = Some(to);
        }
    }

    /// Where a WebSocket reopened for a live stateful connection goes, if
    /// `token` names one of `key`'s.
    pub(super) fn reattach(
        &self,
        app: &Arc<App>,
        token: &str,
        key: &str,
    ) -> Option<tokio::sync::mpsc::Sender<hyper::upgrade::OnUpgrade>> {
        let inner = self.lock();
        let entry = inner.by_token.get(token)?;
        let owner_ok = entry.owner.upgrade().is_some_and(|o| Arc::ptr_eq(&o, app));
        (owner_ok && entry.key == key)
            .then(|| entry.reattach.clone())
            .flatten()
    }

    /// Buffers a POST for a negotiated connection whose transport has not
    /// started yet; `false` when there is no such connection.
    pub(super) fn post_early(&self, app: &Arc<App>, token: &str, body: bytes::Bytes) -> bool {
        let mut inner = self.lock();
        let Some(entry) = inner.by_token.get_mut(token) else {
            return false;
        };
        let live = entry.owner.upgrade().is_some_and(|o| Arc::ptr_eq(&o, app));
        if !live || entry.pending_since.is_none() {
            return false;
        }
        entry.early.push(body);
        true
    }

    /// Makes a claimed connection reachable by the HTTP transports' requests.
    pub(super) fn attach_http(&self, connection_id: &str, handle: HttpHandle) {
        let mut inner = self.lock();
        let Some(token) = inner.token_of.get(connection_id).cloned() else {
            return;
        };
        if let Some(entry) = inner.by_token.get_mut(&token) {
            entry.http = Some(handle);
        }
    }

    /// The live SSE or long-polling connection with this token.
    pub(super) fn http(&self, app: &Arc<App>, token: &str) -> Option<HttpHandle> {
        let inner = self.lock();
        let entry = inner.by_token.get(token)?;
        let owner_ok = entry.owner.upgrade().is_some_and(|o| Arc::ptr_eq(&o, app));
        owner_ok.then(|| entry.http.clone()).flatten()
    }

    /// Whether this token names a negotiated connection still waiting for
    /// its transport.
    pub(super) fn is_pending(&self, token: &str) -> bool {
        self.lock()
            .by_token
            .get(token)
            .is_some_and(|e| e.pending_since.is_some())
    }

    /// Forgets a connection whose socket is gone.
    pub(super) fn remove(&self, connection_id: &str) {
        let mut inner = self.lock();
        if let Some(token) = inner.token_of.remove(connection_id) {
            inner.by_token.remove(&token);
        }
    }
}

/// 128 unpredictable bits as 32 hex digits. The std hasher's per-process
/// random keys make this unguessable enough for a sandbox's tokens without a
/// random-number crate; the counter keeps values distinct.
fn new_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let state = std::collections::hash_map::RandomState::new();
    let half = || {
        let mut h = state.build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.finish()
    };
    format!("{:016x}{:016x}", half(), half())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_distinct() {
        let a = new_id();
        assert_eq!(a.len(), 32);
        assert_ne!(a, new_id());
    }

    #[tokio::test]
    async fn claim_rules() {
        let shared = App::new(crate::Config::default()).unwrap();
        let other = App::new(crate::Config::default()).unwrap();
        let r = Registry::new();
        let (v0, same) = r.negotiated(&shared, "k".into(), 0, false);
        assert_eq!(v0, same);
        let id_of = |c: Result<Claimed, ClaimError>| c.map(|c| c.connection_id);
        assert_eq!(id_of(r.claim(&shared, &v0, Some("k"))), Ok(v0.clone()));
        let (id, token) = r.negotiated(&shared, "k".into(), 1, false);
        assert_eq!(
            id_of(r.claim(&other, &token, Some("k"))),
            Err(ClaimError::Unknown)
        );
        assert_eq!(
            id_of(r.claim(&shared, &token, Some("x"))),
            Err(ClaimError::OtherUser)
        );
        assert!(r.post_early(&shared, &token, bytes::Bytes::from_static(b"hs")));
        let claimed = r.claim(&shared, &token, None).unwrap();
        assert_eq!(
            (claimed.connection_id.as_str(), claimed.key.as_str()),
            (id.as_str(), "k")
        );
        assert_eq!(claimed.early, [bytes::Bytes::from_static(b"hs")]);
        assert!(
            !r.post_early(&shared, &token, bytes::Bytes::new()),
            "live: not early"
        );
        assert_eq!(
            id_of(r.claim(&shared, &token, Some("k"))),
            Err(ClaimError::InUse)
        );
        // The public id is not a token.
        assert_eq!(
            id_of(r.claim(&shared, &id, Some("k"))),
            Err(ClaimError::Unknown)
        );
        r.remove(&id);
        assert_eq!(
            id_of(r.claim(&shared, &token, Some("k"))),
            Err(ClaimError::Unknown)
        );
    }
}
