//! e2b-wasm: the E2B SDK surface compiled to WebAssembly.
//!
//! Layers (each a module): `config` → `transport` (fetch, Connect framing, errors) →
//! `api` (control plane) / `envd` (messages and calls) → the JS-facing classes.
