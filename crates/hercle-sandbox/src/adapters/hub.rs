//! The SignalR hub server at `/ExecutionLiveServer/v1`, speaking the wire
//! protocol of an ASP.NET Core hub with the JSON hub protocol:
//!
//! * `POST …/negotiate?negotiateVersion=0|1`: authenticates (bearer header or
//!   `access_token` query), answers 503 during maintenance, and hands out a
//!   connection id (plus the secret token in version 1). Other methods: 405.
//! * `GET …?id=<token>` with a WebSocket upgrade: the WebSockets transport,
//!   JSON records in text frames. Without `id` a connection is created on the
//!   spot, which is what clients do with `skipNegotiation`. Unknown `id`: 404,
//!   an `id` that already has a socket: 409.
//! * Server-Sent Events and long polling, with HTTP POST sends and DELETE:
//!   see [`http`]. Negotiate lists all three transports.
//! * Stateful reconnect (`useStatefulReconnect=true`, WebSockets only): a
//!   socket reopened with the token of a live stateful connection is handed
//!   to its waiting session instead of getting 409.
//!
//! Negotiate and the WebSocket upgrade are in [`server`]; the [`Hub`]
//! every part shares (application and connection registry) in [`context`];
//! a connection's transport as its session sees it in [`link`].
//!
//! What a connection does once its transport is up (handshake, keep-alive,
//! dispatch, price streams, injected faults) is in [`session`], the same for
//! every transport; what each hub method means is in [`calls`].

pub(crate) mod calls;
mod context;
mod http;
mod link;
mod registry;
mod server;
mod session;

pub(crate) use context::Hub;
pub(crate) use server::{HUB_PATH, serve};
