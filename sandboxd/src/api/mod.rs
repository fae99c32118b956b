//! Control plane: the E2B REST API (v1 and v2 paths), sandbox state and lifecycle, and the
//! `serve` command that puts it and the sandbox proxy on one address.

mod controller;
mod credentials;
mod error;
mod ids;
mod lifecycle;
mod list;
mod logs;
mod model;
mod network;
mod routes;
mod store;
mod templates;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

pub use controller::{Controller, RouteError, RouteTarget};
pub use ids::is_valid_sandbox_id;

use crate::host_files;
use crate::runtime::{Runtime, RuntimeConfig};

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address for the REST API and all sandbox traffic (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub listen: String,
    /// Where templates, sandbox layers, state and the API key live.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// API key to require (default: the key stored in the data dir, created on first start).
    #[arg(long, env = "E2B_API_KEY")]
    pub api_key: Option<String>,
    /// Sandbox domain returned to clients; `getHost(port)` is `<port>-<id>.<domain>`
    /// (default: `localhost:<listen port>`, which browsers resolve to this machine).
    #[arg(long)]
    pub domain: Option<String>,
    /// Most processes and threads all sandboxes may have together (default: half of the
    /// host's `kernel.pid_max`/`kernel.threads-max`), so they cannot take all of the host's.
    #[arg(long)]
    pub max_processes: Option<u64>,
    /// Size in MiB of each new sandbox's own filesystem (its `diskSizeMB`): writes past it
    /// fail with ENOSPC inside, uploads with 507.
    #[arg(long, default_value_t = controller::DEFAULT_LIMITS.disk_mb, value_parser = clap::value_parser!(u64).range(64..))]
    pub sandbox_disk_mb: u64,
}

pub fn serve(args: ServeArgs) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve_async(args))
}

async fn serve_async(args: ServeArgs) -> anyhow::Result<()> {
    let control_dir = args.data_dir.join("control");
    prepare_control_dir(&args.data_dir, &control_dir)
        .with_context(|| format!("preparing {}", control_dir.display()))?;
    let (credentials, key_source) =
        credentials::Credentials::load(&args.data_dir, &control_dir, args.api_key)?;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let address = listener.local_addr()?;
    let domain = args
        .domain
        .unwrap_or_else(|| format!("localhost:{}", address.port()));
    let config = RuntimeConfig {
        max_processes: args.max_processes,
        ..RuntimeConfig::new(args.data_dir.clone())
    };
    let (runtime, layers) = Runtime::open(config)
        .await
        .context("preparing the sandbox runtime")?;
    let store = store::Store::new(&control_dir);
    let controller = Arc::new(
        Controller::recover(runtime, layers, credentials, store, Some(domain))
            .await?
            .with_sandbox_disk_mb(args.sandbox_disk_mb),
    );
    tokio::spawn(controller.clone().run_evictor());
    tokio::spawn(controller.clone().run_metrics_sampler());

    let url = format!("http://{address}");
    match key_source {
        credentials::KeySource::Created => eprintln!(
            "sandboxd: created an API key in {}",
            controller.credentials().key_file().display()
        ),
        credentials::KeySource::Stored | credentials::KeySource::Given => {}
    }
    if !matches!(key_source, credentials::KeySource::Given) {
        eprintln!(
            "sandboxd: use it with\n  export E2B_API_URL={url} E2B_SANDBOX_URL={url} E2B_API_KEY={}",
            controller.credentials().api_key()
        );
    }
    // Installed before announcing readiness: a SIGINT right after the ready line must shut
    // down cleanly, not kill the process with the default action.
    let stop = stop_signal()?;
    // The harness waits for this exact line and reads the address from it.
    eprintln!("sandboxd: ready on {url}");

    let app =
        crate::proxy::with_sandbox_routing(routes::router(controller.clone()), controller.clone());
    let shutdown_controller = controller.clone();
    crate::proxy::serve(listener, app, async move {
        stop.await;
        eprintln!("sandboxd: shutting down");
        shutdown_controller.shutdown().await;
    })
    .await;
    eprintln!("sandboxd: stopped");
    Ok(())
}

/// Creates the data dir and `control/` private to root, and tightens the data dir, the secret and
/// the sandbox records where an older sandboxd left them readable by every host user.
fn prepare_control_dir(data_dir: &Path, control_dir: &Path) -> std::io::Result<()> {
    host_files::create_private_dir_all(control_dir)?;
    host_files::make_private(data_dir)?;
    host_files::make_private_with_entries(control_dir)
}

/// Registers for SIGINT and SIGTERM now; the returned future ends at the first of them.
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}
