//! Bounded per-stream delivery: every update with an explicit lag signal, or
//! latest-only.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

/// How a subscription's updates are queued for a consumer that may be slower
/// than the feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryPolicy {
    /// Keep up to `capacity` updates; when full, drop the oldest and tell
    /// the consumer how many it missed ([`Update::Lagged`]). Memory stays
    /// bounded and the reader never stalls the socket. The stream takes
    /// what is queued in one go and hands it out in order, so it may hold
    /// up to `capacity` more that it has already taken; those are never
    /// dropped.
    Buffered {
        /// Updates queued at most (0 counts as 1).
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
    (
        MailboxTx(inner.clone()),
        MailboxRx {
            shared: inner,
            taken: VecDeque::new(),
        },
    )
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
pub(crate) struct MailboxRx<T> {
    shared: Arc<Mutex<Inner<T>>>,
    /// A buffered queue taken whole under one lock: a lock and unlock per
    /// update were most of what delivery cost at a high rate. Older than
    /// anything still queued, so handed out first; a `Lagged` counted
    /// meanwhile concerns newer updates and follows them.
    taken: VecDeque<Update<T>>,
}

impl<T> MailboxRx<T> {
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Update<T>>> {
        if let Some(u) = self.taken.pop_front() {
            return Poll::Ready(Some(u));
        }
        let mut g = lock(&self.shared);
        if g.missed > 0 {
            let missed = std::mem::take(&mut g.missed);
            return Poll::Ready(Some(Update::Lagged { missed }));
        }
        // Not for `Latest`: an update taken early could no longer be
        // replaced by a newer one.
        if matches!(g.policy, DeliveryPolicy::Buffered { .. }) && g.queue.len() > 1 {
            // The queue keeps the buffer `taken` had, so neither side
            // allocates in the steady state.
            std::mem::swap(&mut g.queue, &mut self.taken);
            g.items = 0;
            drop(g);
            return Poll::Ready(self.taken.pop_front());
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

    // A plain poll, not an `async fn`: each level of future moved the
    // update (184 bytes for a price quote) once more.
    pub(crate) fn recv(&mut self) -> impl Future<Output = Option<Update<T>>> + '_ {
        std::future::poll_fn(|cx| self.poll_recv(cx))
    }
}

impl<T> Drop for MailboxRx<T> {
    fn drop(&mut self) {
        let mut g = lock(&self.shared);
        g.receiver_gone = true;
        g.queue.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What is queued now, `None` once nothing is.
    fn ready<T>(rx: &mut MailboxRx<T>) -> Option<Option<Update<T>>> {
        match rx.poll_recv(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(u) => Some(u),
            Poll::Pending => None,
        }
    }

    fn next<T>(rx: &mut MailboxRx<T>) -> Option<Update<T>> {
        ready(rx).expect("nothing queued")
    }

    #[test]
    fn a_taken_batch_comes_first_then_the_lag_it_did_not_see() {
        let (tx, mut rx) = mailbox(DeliveryPolicy::Buffered { capacity: 4 });
        for i in 0..3 {
            tx.push(Update::Item(i));
        }
        // Takes all three; hands out the first.
        assert_eq!(next(&mut rx), Some(Update::Item(0)));
        // The queue is free again: six more overflow it by two.
        for i in 3..9 {
            tx.push(Update::Item(i));
        }
        let rest: Vec<_> = std::iter::from_fn(|| ready(&mut rx).flatten()).collect();
        let mut want = vec![
            Update::Item(1),
            Update::Item(2),
            Update::Lagged { missed: 2 },
        ];
        want.extend((5..9).map(Update::Item));
        assert_eq!(rest, want);
        drop(tx);
        assert_eq!(next(&mut rx), None);
    }

    #[test]
    fn latest_is_never_taken_early() {
        let (tx, mut rx) = mailbox(DeliveryPolicy::Latest);
        tx.push(Update::Gap);
        tx.push(Update::Item(1));
        assert_eq!(next(&mut rx), Some(Update::Gap));
        // Still queued, so a newer update replaces it.
        tx.push(Update::Item(2));
        assert_eq!(next(&mut rx), Some(Update::Item(2)));
    }
}
