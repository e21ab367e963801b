//! The transports: each turns its wire protocol into calls on the
//! application ([`crate::app`]) and the exchange model
//! ([`crate::domain`]), and the answers back. Adapters import only the
//! layers below them and [`http`]; never each other otherwise, never the
//! router.
//!
//! * [`rest`]: the REST API, dispatched on the generated operation ids.
//! * [`hub`]: the SignalR hub (negotiate, the three transports, sessions)
//!   and what each hub method does (`hub::calls`).
//! * [`admin`]: the `/_sandbox/` test API.
//! * [`webhooks`]: outbound delivery of the outbox's events.
//! * [`http`]: what the HTTP adapters share (body type, error body,
//!   query decoding).

pub(crate) mod admin;
pub(crate) mod http;
pub(crate) mod hub;
pub(crate) mod rest;
pub(crate) mod webhooks;
