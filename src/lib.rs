//! e2b-wasm: the E2B SDK surface compiled to WebAssembly.
//!
//! Layers (each a module): `config` (option resolution) → `transport` (fetch, signals, REST,
//! Connect) → `api` (control plane) / `envd` (the in-sandbox daemon) → `js` (the classes
//! exported to JavaScript, a thin layer over the others). Everything but `js` and the fetch
//! edge is plain Rust covered by native `cargo test`.

pub mod api;
pub mod config;
pub mod envd;
pub mod error;
pub mod js;
pub mod transport;
pub mod util;
