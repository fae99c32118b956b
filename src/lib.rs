//! e2b-wasm: the E2B SDK surface compiled to WebAssembly.
//!
//! Layers (each a module): `config` (defaults) → `transport` (fetch, signals, Connect, and the
//! one async driver every call runs on) → `envd` (the in-sandbox daemon) → `js` (the classes
//! exported to JavaScript, a thin layer over the others). The connection options and the control
//! plane (E2B's REST API) are the package's JavaScript (`pkg-templates/sandbox.js`, `api.js`).
//! Everything but `js` and the fetch edge is plain Rust covered by native `cargo test`.
//!
//! The crate is `no_std` + `alloc`. With the `bundle` feature (the shipped wasm) std is not
//! linked at all; otherwise (tests, checks) it is, for its panic handler and allocator.

#![cfg_attr(not(test), no_std)]

extern crate alloc;
#[cfg(all(not(test), not(feature = "bundle")))]
extern crate std;

#[cfg(feature = "bundle")]
mod bundle;

pub mod config;
pub mod envd;
pub mod error;
pub mod js;
pub mod js_object;
pub mod transport;
pub mod util;

/// What std's prelude would bring, for a `no_std` crate.
mod prelude {
    pub use alloc::boxed::Box;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec;
    pub use alloc::vec::Vec;
}
