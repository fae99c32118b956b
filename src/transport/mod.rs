//! Everything that touches `fetch`: the global binding, per-call abort signals and timers, REST
//! requests, and Connect unary and server-streaming calls.

pub mod codec;
pub mod connect;
pub mod fetch;
pub mod log;
pub mod rest;
pub mod signal;

pub use envd_protocol::{Code, ConnectError};
