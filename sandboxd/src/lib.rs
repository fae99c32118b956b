//! sandboxd: an E2B-compatible control plane with isolated sandboxes (`serve`), and the
//! daemon that runs inside each sandbox (`envd`).
//!
//! Modules, each importing only those below it (docs/architecture.md draws the graph):
//! - `serve`: the `serve` command; starts `api` and puts it behind `proxy` on one address.
//! - `template_cli`: the `template build` command, a client of a running server's REST API.
//! - `proxy`: sandbox traffic to a sandbox's envd or port; asks `api` which sandbox is where.
//! - `api`: the control plane's REST API, sandbox records and lifecycle; drives `runtime`.
//! - `runtime`: namespaces, overlay layers, cgroups and network; starts `envd` in each sandbox
//!   as a process (`sandboxd envd`), not through its code.
//! - `envd`: the daemon inside a sandbox: Connect RPC process and filesystem services, `/files`.
//! - `code_interpreter`: the code-interpreter template's execution server inside a sandbox
//!   (`runCode` on port 49999 over Jupyter kernels); a sibling of `envd`, run by a start command.
//! - Leaves every layer may use: `crypto` (comparing secrets, `/files` signatures), `random`
//!   (the OS random source), `host_files` (what sandboxd keeps on the host, private to root),
//!   `url_query` (query strings, read as the proxy and envd must both read them),
//!   `http_connections` (the accept loop of envd and the code-interpreter server).
//!
//! A library as well as a binary so that integration tests under `tests/` can drive the
//! runtime with the real `sandboxd` executable (`CARGO_BIN_EXE_sandboxd`) inside sandboxes.

pub mod api;
pub mod code_interpreter;
pub mod crypto;
pub mod envd;
pub mod host_files;
pub mod http_connections;
pub mod proxy;
pub mod random;
pub mod runtime;
pub mod serve;
pub mod template_cli;
pub mod url_query;
