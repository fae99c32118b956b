//! Everything that touches `fetch`: the global binding, per-call abort signals and timers, Connect unary and server-streaming calls, and the driver that runs them.

pub mod codec;
pub mod connect;
pub mod exchange;
pub mod fetch;
pub mod log;
pub mod signal;
pub mod task;

pub use envd_protocol::{Code, ConnectError};
