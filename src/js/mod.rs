//! The wasm-bindgen export layer: option parsing, JS result objects, error objects, callbacks.

pub mod commands;
pub mod errors;
pub mod handle;
pub mod opts;
pub mod paginator;
pub mod sandbox;
