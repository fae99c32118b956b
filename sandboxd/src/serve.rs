//! `sandboxd serve`: the server's entry point. Starts the control plane (`api`) and puts it
//! behind the sandbox proxy (`proxy`) on one address; the only module that wires the two, so
//! that neither imports the other's start-up.

use std::path::PathBuf;

use anyhow::Context;

use crate::api::{self, KeySource};
use crate::{proxy, template_cli};

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
    #[arg(long, default_value_t = api::DEFAULT_SANDBOX_DISK_MB, value_parser = clap::value_parser!(u64).range(64..))]
    pub sandbox_disk_mb: u64,
    /// Keep <n> sandboxes of <template> (ID or name) started and ready, so that a create of it
    /// skips the start and the template's start/ready command; repeatable. Also from
    /// SANDBOXD_WARM_POOL, comma-separated.
    #[arg(
        long = "warm-pool",
        value_name = "TEMPLATE=N",
        env = "SANDBOXD_WARM_POOL",
        value_delimiter = ','
    )]
    pub warm_pools: Vec<api::WarmPoolSize>,
    /// Hours a template layer no template (or tag) needs any more is kept as build cache
    /// after a build last made or reused it; unused layers are removed at start, when a
    /// template or tag is deleted and when a sandbox of a deleted one ends.
    #[arg(long, default_value_t = 24)]
    pub build_cache_hours: u64,
    /// Registry (`host[:port]`) to pull Docker Hub's images from (`fromImage('python:3')`,
    /// `fromDebianImage()`, ...), as Docker's `registry-mirrors`; loopback ones over HTTP.
    #[arg(long)]
    pub docker_hub_mirror: Option<String>,
    /// Directory of built-in templates, `<dir>/<name>/e2b.Dockerfile` (and `e2b.toml`): a
    /// create of such a template that is not built yet builds it first, once (default: the
    /// `templates/` of the source tree sandboxd was built from, if it is there).
    #[arg(long, env = "SANDBOXD_BUILTIN_TEMPLATES", default_value = BUILTIN_TEMPLATES)]
    pub builtin_templates: PathBuf,
}

const BUILTIN_TEMPLATES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../templates");

pub fn serve(args: ServeArgs) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve_async(args))
}

async fn serve_async(args: ServeArgs) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let address = listener.local_addr()?;
    let domain = args
        .domain
        .unwrap_or_else(|| format!("localhost:{}", address.port()));
    let url = format!("http://{address}");
    let limits = api::StartLimits {
        max_processes: args.max_processes,
        sandbox_disk_mb: args.sandbox_disk_mb,
        warm_pools: args.warm_pools,
        build_cache_max_age: std::time::Duration::from_secs(args.build_cache_hours * 3600),
        docker_hub_mirror: args.docker_hub_mirror,
        template_builder: Some(builtin_templates(args.builtin_templates, url.clone())),
    };
    let (controller, key_source) = api::start(&args.data_dir, args.api_key, domain, limits).await?;

    match key_source {
        KeySource::Created => eprintln!(
            "sandboxd: created an API key in {}",
            controller.credentials().key_file().display()
        ),
        KeySource::Stored | KeySource::Given => {}
    }
    if !matches!(key_source, KeySource::Given) {
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

    let app = proxy::with_sandbox_routing(api::router(controller.clone()), controller.clone());
    let shutdown_controller = controller.clone();
    proxy::serve(listener, app, async move {
        stop.await;
        eprintln!("sandboxd: shutting down");
        shutdown_controller.shutdown().await;
    })
    .await;
    eprintln!("sandboxd: stopped");
    Ok(())
}

/// Builds the template `<dir>/<name>` through this server's own build API (as `sandboxd
/// template build` would), for names that are a plain directory name with an
/// `e2b.Dockerfile`.
fn builtin_templates(dir: PathBuf, api_url: String) -> api::TemplateBuilder {
    std::sync::Arc::new(move |name: &str, api_key: &str| {
        let plain = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        let template_dir = dir.join(name);
        if !plain || !template_dir.join("e2b.Dockerfile").is_file() {
            return None;
        }
        Some(Box::pin(template_cli::build_builtin(
            template_dir,
            name.to_string(),
            api_url.clone(),
            api_key.to_string(),
        )))
    })
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
