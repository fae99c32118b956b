//! sandboxd: an E2B-compatible control plane with isolated sandboxes (`serve`), and the
//! daemon that runs inside each sandbox (`envd`).
//!
//! Layers: `api` (control plane REST) → `runtime` (namespaces, overlay, cgroups, network) →
//! `envd` (Connect RPC process/filesystem services and `/files`) → `proxy` (sandbox routing);
//! `host_files` creates what sandboxd keeps on the host private to root.
//!
//! A library as well as a binary so that integration tests under `tests/` can drive the
//! runtime with the real `sandboxd` executable (`CARGO_BIN_EXE_sandboxd`) inside sandboxes.

pub mod api;
pub mod envd;
pub mod host_files;
pub mod proxy;
pub mod random;
pub mod runtime;
