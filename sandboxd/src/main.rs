//! The `sandboxd` command line; the modules live in the library (`lib.rs`).

use clap::{Parser, Subcommand};
use sandboxd::{code_interpreter, envd, runtime, serve, template_cli};

#[derive(Parser)]
#[command(name = "sandboxd", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the E2B control plane and sandbox traffic on one address.
    Serve(serve::ServeArgs),
    /// Manage the `base` template's Debian root, shared by every sandboxd on this machine.
    #[command(subcommand)]
    Base(BaseCommand),
    /// Pull container images into a layer store (what templates' `fromImage` uses).
    #[command(subcommand)]
    Image(ImageCommand),
    /// Build templates on a running sandboxd.
    #[command(subcommand)]
    Template(TemplateCommand),
    /// Run the sandbox daemon; on its own it acts on the host it runs on (the SDKs' debug mode).
    Envd(envd::Args),
    /// Run the code-interpreter execution server (inside a sandbox of a template that has
    /// Jupyter kernels; its start command runs this).
    CodeInterpreter(code_interpreter::Args),
    /// Internal: started by the runtime as a sandbox's first process; builds its root and
    /// becomes its envd.
    #[command(hide = true)]
    SandboxInit,
    /// Internal: started by the runtime; kills the instance's sandboxes when sandboxd dies.
    #[command(hide = true)]
    RuntimeWatchdog {
        #[arg(long)]
        instance: String,
        #[arg(long)]
        layers: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum BaseCommand {
    /// Build it now if this machine has none (a first `serve` would otherwise do it).
    Build {
        /// Build it again even if it exists (e.g. to pick up Debian's security updates).
        #[arg(long)]
        rebuild: bool,
    },
}

#[derive(Subcommand)]
enum TemplateCommand {
    /// Build `<dir>/e2b.Dockerfile` into a template, printing the build's log.
    Build(template_cli::BuildArgs),
}

#[derive(Subcommand)]
enum ImageCommand {
    /// Pull an image (`debian:bookworm`, `ghcr.io/org/app:1`) and print its layers and config
    /// as JSON; `debian:*` is built locally when its registry is unreachable.
    Pull {
        reference: String,
        /// The layer store (created 0700 if missing; layers already in it are not downloaded).
        #[arg(long)]
        store: std::path::PathBuf,
        #[arg(long)]
        username: Option<String>,
        /// The registry password (from the environment, so that it stays out of `ps`).
        #[arg(long, env = "SANDBOXD_REGISTRY_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Serve(args) => serve::serve(args),
        Command::Base(BaseCommand::Build { rebuild }) => runtime::base::build_command(rebuild),
        Command::Image(ImageCommand::Pull {
            reference,
            store,
            username,
            password,
        }) => runtime::image::pull_command(&reference, &store, username, password),
        Command::Template(TemplateCommand::Build(args)) => template_cli::build_command(args),
        Command::Envd(args) => envd::run(args),
        Command::CodeInterpreter(args) => code_interpreter::run(args),
        Command::SandboxInit => runtime::sandbox_init(),
        Command::RuntimeWatchdog { instance, layers } => runtime::run_watchdog(&instance, &layers),
    }
}
