//! sandboxd: an E2B-compatible control plane with isolated sandboxes (`serve`), and the
//! daemon that runs inside each sandbox (`envd`).
//!
//! Layers: `api` (control plane REST) → `runtime` (namespaces, overlay, cgroups, network) →
//! `envd` (Connect RPC process/filesystem services and `/files`) → `proxy` (sandbox routing).

mod api;
mod envd;
mod proxy;
mod runtime;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "sandboxd", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the E2B control plane and sandbox traffic on one address.
    Serve(api::ServeArgs),
    /// Run the sandbox daemon; on its own it acts on the host it runs on (the SDKs' debug mode).
    Envd(envd::Args),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Serve(args) => api::serve(args),
        Command::Envd(args) => envd::run(args),
    }
}
