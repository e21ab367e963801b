//! Protocol-agnostic connection lifecycle.
//!
//! TODO docs
mod driver;
mod error;
mod event;
mod frame;
mod mailbox;
mod policy;
mod protocol;
mod session;
mod transport;

pub use driver::{Events, SessionHandle, Subscription, session, spawn};
pub use error::{
    CloseReason, ConnectError, ConnectStage, DisconnectReason, NotSent, RequestError, Retry,
    SubscribeError, TransportError, Unanswered,
};
pub use event::SessionEvent;
pub use frame::Frame;
pub use mailbox::{DeliveryPolicy, Update};
pub use policy::{Backoff, FixedDelays, ReconnectPolicy};
pub use protocol::{Cx, KeepAlive, KeepAliveMode, Protocol, Sent, Step};
pub use session::{Output, Phase, RequestId, Session, SessionConfig, Stats, SubId};
pub use transport::{Connector, Lines, Transport};
