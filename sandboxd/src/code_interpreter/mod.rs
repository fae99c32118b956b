//! `sandboxd code-interpreter`: the execution server of the `code-interpreter-v1` template,
//! run inside a sandbox by the template's start command. It answers the code-interpreter SDKs
//! (`runCode`, contexts) on port 49999 and drives Jupyter kernels it launches itself over the
//! Jupyter messaging protocol, with no Jupyter server in between (docs/code-interpreter.md).
//!
//! Layout: `http` routes requests → `contexts` (kernels by ID, env vars per execution) →
//! `kernel` (one kernel process and its channels), `languages` (each language's kernel command
//! and env-var code) → `output` (iopub messages as the SDK's
//! JSON lines); `envd_link` asks envd for the sandbox's env vars and checks the access token.
//! Imports only leaves (`random`, `http_connections`), as envd does.

mod contexts;
mod envd_link;
mod http;
mod kernel;
mod languages;
mod output;

use std::net::SocketAddr;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;

/// The port the SDKs call (`JUPYTER_PORT` in `@e2b/code-interpreter`).
pub const PORT: u16 = 49999;

#[derive(clap::Args)]
pub struct Args {
    /// Port to listen on, on the sandbox's loopback (where sandboxd's proxy connects).
    #[arg(long, default_value_t = PORT)]
    pub port: u16,
    /// Working directory of contexts created without one (E2B's is the user's home).
    #[arg(long, default_value = "/home/user")]
    pub cwd: PathBuf,
    /// envd's address, asked for the sandbox's env vars and to check access tokens.
    #[arg(long, default_value_t = SocketAddr::from(([127, 0, 0, 1], envd_protocol::ENVD_PORT)))]
    pub envd: SocketAddr,
}

pub struct Server {
    contexts: contexts::Contexts,
    envd: SocketAddr,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    // Connection files hold the kernels' signing keys: a directory only this user can enter.
    let dir = std::env::temp_dir().join(format!("sandboxd-ci-{}", crate::random::hex(8)));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    let server = Arc::new(Server {
        contexts: contexts::Contexts::new(dir, args.cwd),
        envd: args.envd,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        // Python's default context before the port opens, so that a template's ready command
        // probing `/health` waits for it and the first `runCode` does not.
        if let Err(e) = server.contexts.default_for("python").await {
            eprintln!("code-interpreter: the default Python context: {e}");
        }
        let address = SocketAddr::from(([127, 0, 0, 1], args.port));
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("binding {address}"))?;
        eprintln!("code-interpreter: listening on {address}");
        crate::http_connections::serve(listener, "code-interpreter", move |req| {
            http::handle(server.clone(), req)
        })
        .await;
        Ok(())
    })
}
