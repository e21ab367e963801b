//! The exchange model: what HercleX does, with no HTTP, no hyper, no
//! SignalR and no shared server state (no locks, no sockets, no tasks).
//! Everything here is plain data and functions over it, driven by the
//! application layer (`crate::app`) for both transports alike.
//!
//! * [`state`]: the accounts and the event queue; the operations are
//!   `impl State` blocks in [`trading`], [`funding`] and [`banking`].
//! * [`market`]: prices, quotes and price ids.
//! * [`paging`]: every list query (offset pages, cursor pages, windows),
//!   each implemented once for REST and hub alike.
//! * [`error`]: what went wrong, in domain terms; the adapters map it to
//!   an HTTP status or a hub subject.
//! * [`clock`], [`rng`], [`bolt11`]: deterministic time, ids and invoices.

pub(crate) mod banking;
pub(crate) mod bolt11;
pub(crate) mod clock;
pub(crate) mod error;
pub(crate) mod funding;
pub(crate) mod market;
pub(crate) mod paging;
pub(crate) mod rng;
pub(crate) mod state;
pub(crate) mod trading;
