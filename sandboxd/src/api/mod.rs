//! Control plane: the E2B REST API (v1 and v2 paths), sandbox state and lifecycle. `serve` puts
//! it and the sandbox proxy on one address.

mod controller;
mod credentials;
mod error;
mod ids;
mod layer_gc;
mod lifecycle;
mod list;
mod logs;
mod model;
mod network;
mod on_demand;
mod routes;
mod store;
mod template_builds;
mod template_store;
mod template_tags;
mod templates;
mod warm_pool;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

pub use controller::{Controller, RouteError, RouteTarget};
pub use credentials::KeySource;
pub use ids::is_valid_sandbox_id;
pub use on_demand::TemplateBuilder;
pub use routes::router;
pub use warm_pool::WarmPoolSize;

use credentials::Credentials;

use crate::host_files;
use crate::runtime::{Runtime, RuntimeConfig};

/// Host-wide limits and pools the server is started with (see `serve::ServeArgs`).
pub struct StartLimits {
    /// Most processes and threads all sandboxes together may have (`None`: the runtime's default).
    pub max_processes: Option<u64>,
    /// Size in MiB of each new sandbox's own filesystem.
    pub sandbox_disk_mb: u64,
    /// Ready sandboxes to keep per template (none by default).
    pub warm_pools: Vec<WarmPoolSize>,
    /// How long template layers no template needs are kept as build cache.
    pub build_cache_max_age: std::time::Duration,
    /// Registry that `fromImage` names of Docker Hub are pulled from instead of Docker Hub.
    pub docker_hub_mirror: Option<String>,
    /// Builds templates the server lacks when first asked for (`serve`'s built-in ones).
    pub template_builder: Option<TemplateBuilder>,
}

/// Default size in MiB of a sandbox's own filesystem.
pub const DEFAULT_SANDBOX_DISK_MB: u64 = controller::DEFAULT_LIMITS.disk_mb;

/// The control plane on `data_dir`: its records recovered, the sandbox runtime ready and its
/// background tasks (eviction, metrics) running. Also says where the API key came from, for the
/// server's start-up lines.
pub async fn start(
    data_dir: &Path,
    api_key: Option<String>,
    domain: String,
    limits: StartLimits,
) -> anyhow::Result<(Arc<Controller>, KeySource)> {
    let control_dir = data_dir.join("control");
    prepare_control_dir(data_dir, &control_dir)
        .with_context(|| format!("preparing {}", control_dir.display()))?;
    let (credentials, key_source) = Credentials::load(data_dir, &control_dir, api_key)?;
    let config = RuntimeConfig {
        max_processes: limits.max_processes,
        docker_hub_mirror: limits.docker_hub_mirror,
        ..RuntimeConfig::new(data_dir.to_path_buf())
    };
    let (runtime, layers) = Runtime::open(config)
        .await
        .context("preparing the sandbox runtime")?;
    let store = store::Store::new(&control_dir);
    let templates = template_store::TemplateStore::load(&control_dir)?;
    let controller = Arc::new(
        Controller::recover(
            runtime,
            layers,
            credentials,
            (store, templates),
            Some(domain),
            control_dir.join("template-files"),
        )
        .await?
        .with_sandbox_disk_mb(limits.sandbox_disk_mb)
        .with_warm_pools(limits.warm_pools)
        .with_build_cache_max_age(limits.build_cache_max_age)
        .with_template_builder(limits.template_builder),
    );
    controller.collect_layers();
    tokio::spawn(controller.clone().run_evictor());
    tokio::spawn(controller.clone().run_metrics_sampler());
    controller.run_warm_pools();
    Ok((controller, key_source))
}

/// Creates the data dir and `control/` private to root, and tightens the data dir, the secret and
/// the sandbox records where an older sandboxd left them readable by every host user.
fn prepare_control_dir(data_dir: &Path, control_dir: &Path) -> std::io::Result<()> {
    host_files::create_private_dir_all(control_dir)?;
    host_files::make_private(data_dir)?;
    host_files::make_private_with_entries(control_dir)
}
