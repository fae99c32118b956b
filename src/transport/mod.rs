//! Everything that touches `fetch`: the global binding, per-call abort signals and timers, REST
//! requests, and Connect unary and server-streaming calls.

pub mod fetch;
pub mod log;
pub mod rest;
pub mod signal;

mod protocol_shim;
pub use protocol_shim::{Code, ConnectError};
