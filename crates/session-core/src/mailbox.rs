//! Bounded per-stream delivery: every update with an explicit lag signal, or
//! latest-only.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

/// How a subscription's updates are queued for a consumer that may be slower
/// than the feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryPolicy {
    /// Keep up to `capacity` updates; when full, drop the oldest and tell
    /// the consumer how many it missed ([`Update::Lagged`]). Memory stays
    /// bounded and the reader never stalls the socket.
    Buffered {
        /// Updates held at most (0 counts as 1).
        capacity: usize,
    },
    /// Keep only the newest update (conflation): right for prices, where an
    /// old quote is worthless once a newer one exists.
    Latest,
}

/// What a subscription yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update<T> {
    /// One update.
    Item(T),
    /// The consumer fell behind; this many older updates were dropped
    /// before the next item.
    Lagged {
        /// How many.
        missed: u64,
    },
    /// Updates were lost before the next item: the link dropped and the
    /// subscription was replayed on a new one, or the protocol saw a
    /// sequence gap. Resynchronise (snapshot) if state is built from deltas.
    Gap,
    /// The peer refused the subscription; nothing follows.
    Rejected(String),
}

#[derive(Debug)]
struct Inner<T> {
    queue: VecDeque<Update<T>>,
    items: usize,
    missed: u64,
    policy: DeliveryPolicy,
    closed: bool,
    receiver_gone: bool,
    waker: Option<Waker>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding this lock cannot leave the queue inconsistent
    // (every mutation is a single VecDeque call), so poisoning is ignored.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A bounded single-consumer queue with a delivery policy.
pub(crate) fn mailbox<T>(policy: DeliveryPolicy) -> (MailboxTx<T>, MailboxRx<T>) {
    let inner = Arc::new(Mutex::new(Inner {
        queue: VecDeque::new(),
        items: 0,
        missed: 0,
        policy,
        closed: false,
        receiver_gone: false,
        waker: None,
    }));
    (MailboxTx(inner.clone()), MailboxRx(inner))
}

/// The session's end of a mailbox. Dropping it ends the stream.
#[derive(Debug)]
pub(crate) struct MailboxTx<T>(Arc<Mutex<Inner<T>>>);

impl<T> MailboxTx<T> {
    /// Queue an update; `false` when the receiver is gone.
    pub(crate) fn push(&self, update: Update<T>) -> bool {
        let mut g = lock(&self.0);
        if g.receiver_gone {
            return false;
        }
        match (&update, g.policy) {
            (Update::Item(_), DeliveryPolicy::Buffered { capacity }) => {
                if g.items >= capacity.max(1) {
                    // Drop the oldest item; markers (Gap) stay in place.
                    if let Some(pos) = g.queue.iter().position(|u| matches!(u, Update::Item(_))) {
                        g.queue.remove(pos);
                        g.items -= 1;
                        g.missed += 1;
                    }
                }
                g.items += 1;
                g.queue.push_back(update);
            }
            (Update::Item(_), DeliveryPolicy::Latest) => {
                if let Some(last @ Update::Item(_)) = g.queue.back_mut() {
                    *last = update;
                } else {
                    g.items += 1;
                    g.queue.push_back(update);
                }
            }
            _ => g.queue.push_back(update),
        }
        if let Some(w) = g.waker.take() {
            w.wake();
        }
        true
    }
}

impl<T> Drop for MailboxTx<T> {
    fn drop(&mut self) {
        let mut g = lock(&self.0);
        g.closed = true;
        if let Some(w) = g.waker.take() {
            w.wake();
        }
    }
}

/// The consumer's end of a mailbox.
#[derive(Debug)]
pub(crate) struct MailboxRx<T>(Arc<Mutex<Inner<T>>>);

impl<T> MailboxRx<T> {
    pub(crate) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<Update<T>>> {
        let mut g = lock(&self.0);
        if g.missed > 0 {
            let missed = std::mem::take(&mut g.missed);
            return Poll::Ready(Some(Update::Lagged { missed }));
        }
        if let Some(u) = g.queue.pop_front() {
            if matches!(u, Update::Item(_)) {
                g.items -= 1;
            }
            return Poll::Ready(Some(u));
        }
        if g.closed {
            return Poll::Ready(None);
        }
        g.waker = Some(cx.waker().clone());
        Poll::Pending
    }

    pub(crate) async fn recv(&self) -> Option<Update<T>> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }
}

impl<T> Drop for MailboxRx<T> {
    fn drop(&mut self) {
        let mut g = lock(&self.0);
        g.receiver_gone = true;
        g.queue.clear();
    }
}
