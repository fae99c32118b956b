//! The wasm-bindgen export layer: option parsing, JS result objects, error objects, callbacks.
//! Every exported async method is a synchronous shim: it reads its options, asks `envd` for
//! the call's first step, and hands it to `transport::exchange::run`.

pub mod commands;
pub mod errors;
pub mod filesystem;
pub mod handle;
pub mod opts;
pub mod output;
pub mod pty;
pub mod sandbox;
pub mod watch;
