//! The control plane's state: every sandbox's record, its lifecycle phase and, while it has
//! processes, its runtime handle. Handlers and the proxy go through [`Controller`]; the runtime
//! work of each transition happens outside the lock, with the phase telling everyone else to wait.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::StatusCode;
use chrono::{DateTime, SubsecRound, Utc};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::credentials::Credentials;
use super::error::ApiError;
use super::list::{ListQuery, Page};
use super::model::{MetricView, NewSandbox, SandboxRecord, SandboxView};
use super::network::NetworkConfig;
use super::store::Store;
use super::template_store::{DEFAULT_TAG, TemplateStore, tag_runtime_id};
use super::warm_pool::{WarmPoolSize, WarmPools};
use crate::runtime::{
    BASE_USER, BASE_WORKDIR, EgressRules, EnvdInit, Layer, Limits, Runtime, Sandbox, SandboxSpec,
};

/// Local plan limits (E2B's hobby tier is 1 h; pro is 24 h).
pub const MAX_TIMEOUT_SECS: i64 = 24 * 3600;
/// What E2B's base template gets; cgroup limits, not reservations.
pub const DEFAULT_LIMITS: Limits = Limits {
    cpu_count: 2,
    memory_mb: 512,
    disk_mb: 10 * 1024,
    pids_max: 4096,
};
/// How long a create waits for its template's ready command to pass, and how often it tries.
const READY_CMD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);
const READY_CMD_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);
/// 5 s samples for one hour.
const METRICS_RING: usize = 720;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiVersion {
    V1,
    V2,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Being created: not visible to clients yet.
    Starting,
    Running,
    Pausing,
    Paused,
    Resuming,
    /// Being killed: already reported as gone.
    Killing,
}

pub struct Entry {
    pub record: SandboxRecord,
    pub phase: Phase,
    /// Running sandboxes and memory-paused (frozen) ones have processes; filesystem-paused
    /// sandboxes exist only as a writable layer on disk.
    pub live: Option<Arc<Live>>,
    pub metrics: VecDeque<MetricView>,
}

impl Entry {
    fn visible(&self) -> bool {
        !matches!(self.phase, Phase::Starting | Phase::Killing)
    }
}

/// A sandbox with processes, shared with the proxy. Taking the runtime handle out (to stop,
/// or to re-wrap it after a pause) cuts every connection the proxy forwarded into it.
pub struct Live {
    sandbox: tokio::sync::RwLock<Option<Sandbox>>,
    cut: CancellationToken,
}

impl Live {
    pub(super) fn new(sandbox: Sandbox) -> Arc<Live> {
        Arc::new(Live {
            sandbox: tokio::sync::RwLock::new(Some(sandbox)),
            cut: CancellationToken::new(),
        })
    }

    /// A connection to `127.0.0.1:<port>` inside the sandbox.
    pub async fn connect(&self, port: u16) -> std::io::Result<TcpStream> {
        match &*self.sandbox.read().await {
            Some(sandbox) => sandbox.connect(port).await,
            None => Err(std::io::ErrorKind::NotConnected.into()),
        }
    }

    /// Fires when the sandbox stops or pauses; forwarded streams end abruptly then.
    pub fn cut_token(&self) -> CancellationToken {
        self.cut.clone()
    }

    /// Whether its envd (PID 1) exited on its own, e.g. killed by the OOM killer. A handle
    /// being used right now counts as alive; the next check sees it.
    pub(super) fn has_died(&self) -> bool {
        self.sandbox
            .try_read()
            .is_ok_and(|sandbox| sandbox.as_ref().is_some_and(|s| !s.is_alive()))
    }

    pub(super) async fn take(&self) -> Option<Sandbox> {
        self.cut.cancel();
        self.sandbox.write().await.take()
    }

    /// Replaces the egress rules of the sandbox behind this handle.
    pub(super) async fn update_egress(&self, rules: &EgressRules) -> anyhow::Result<()> {
        match &*self.sandbox.read().await {
            Some(sandbox) => sandbox.update_egress(rules),
            None => anyhow::bail!("the sandbox has been stopped"),
        }
    }

    /// envd's recent output in this run (empty once the sandbox stopped).
    pub(super) async fn logs(&self) -> Vec<crate::runtime::LogLine> {
        match &*self.sandbox.read().await {
            Some(sandbox) => sandbox.logs(),
            None => Vec::new(),
        }
    }

    pub(super) async fn metrics(&self) -> Option<anyhow::Result<crate::runtime::Metrics>> {
        match &*self.sandbox.read().await {
            Some(sandbox) => Some(sandbox.metrics().await),
            None => None,
        }
    }
}

/// Why the proxy cannot reach a sandbox.
#[derive(Debug, PartialEq, Eq)]
pub enum RouteError {
    NotFound,
    Transitioning,
}

/// What the proxy needs to forward to a running sandbox.
pub struct RouteTarget {
    pub live: Arc<Live>,
    pub traffic_access_token: Option<String>,
    /// `network.maskRequestHost`: the `Host` requests to the sandbox's ports carry.
    pub mask_request_host: Option<String>,
}

pub struct Controller {
    pub(super) runtime: Runtime,
    pub(super) credentials: Credentials,
    store: Store,
    domain: Option<String>,
    pub(super) sandboxes: Mutex<HashMap<String, Entry>>,
    pub(super) shutting_down: AtomicBool,
    /// Held by a network update from reading the record to recording the change, so that the
    /// rules applied and the rules recorded are those of the same (last) update.
    pub(super) network_updates: tokio::sync::Mutex<()>,
    /// `diskSizeMB` of new sandboxes.
    sandbox_disk_mb: u64,
    templates: Mutex<TemplateStore>,
    /// Uploaded files of `copy` steps: `<template id>/<files hash>`.
    pub(super) template_files_dir: std::path::PathBuf,
    pub(super) warm_pools: WarmPools,
    /// How long a layer no template needs is kept as build cache (see `layer_gc`).
    pub(super) build_cache_max_age: std::time::Duration,
    /// Templates built on their first use (see `on_demand`).
    pub(super) on_demand: super::on_demand::OnDemandBuilds,
}

use super::on_demand::TemplateBuilder;

impl Controller {
    /// Takes over what the last run left: records whose writable layer survived become
    /// filesystem-paused sandboxes (their processes died with that run); everything else goes.
    /// Templates built before are registered with the runtime again.
    pub async fn recover(
        runtime: Runtime,
        layers: Vec<String>,
        credentials: Credentials,
        (store, templates): (Store, TemplateStore),
        domain: Option<String>,
        template_files_dir: std::path::PathBuf,
    ) -> anyhow::Result<Controller> {
        for (info, layers, bottom) in templates.records.values().flat_map(|r| r.runtime_infos()) {
            if let Err(e) = runtime.register_template(info.clone(), layers, bottom) {
                eprintln!(
                    "sandboxd: template {} cannot start: {e:#}",
                    info.template_id
                );
            }
        }
        let layers: HashSet<String> = layers.into_iter().collect();
        let mut sandboxes = HashMap::new();
        for mut record in store.load()? {
            if !layers.contains(&record.sandbox_id) {
                eprintln!(
                    "sandboxd: forgetting {}: its layer is gone",
                    record.sandbox_id
                );
                continue;
            }
            let at = record.paused.as_ref().map_or_else(now, |p| p.at);
            record.paused = Some(super::model::PauseInfo { at, memory: false });
            let entry = Entry {
                record,
                phase: Phase::Paused,
                live: None,
                metrics: VecDeque::new(),
            };
            sandboxes.insert(entry.record.sandbox_id.clone(), entry);
        }
        for orphan in layers.iter().filter(|id| !sandboxes.contains_key(*id)) {
            eprintln!("sandboxd: removing the layer of {orphan}, which has no record");
            runtime.remove_layer(orphan).await?;
        }
        let controller = Controller {
            runtime,
            credentials,
            store,
            domain,
            sandboxes: Mutex::new(sandboxes),
            shutting_down: AtomicBool::new(false),
            network_updates: tokio::sync::Mutex::new(()),
            sandbox_disk_mb: DEFAULT_LIMITS.disk_mb,
            templates: Mutex::new(templates),
            template_files_dir,
            warm_pools: WarmPools::new(Vec::new()),
            build_cache_max_age: super::layer_gc::DEFAULT_BUILD_CACHE_MAX_AGE,
            on_demand: super::on_demand::OnDemandBuilds::default(),
        };
        controller.persist(&controller.lock());
        Ok(controller)
    }

    /// Gives new sandboxes a disk of `mb` MiB instead of the default.
    pub fn with_sandbox_disk_mb(mut self, mb: u64) -> Controller {
        self.sandbox_disk_mb = mb;
        self
    }

    /// Keeps ready sandboxes of these templates (see [`Controller::run_warm_pools`]).
    pub fn with_warm_pools(mut self, sizes: Vec<WarmPoolSize>) -> Controller {
        self.warm_pools = WarmPools::new(sizes);
        self
    }

    /// Keeps layers no template needs as build cache for `max_age` after their last use.
    pub fn with_build_cache_max_age(mut self, max_age: std::time::Duration) -> Controller {
        self.build_cache_max_age = max_age;
        self
    }

    /// Builds missing templates that `builder` knows when they are first asked for.
    pub fn with_template_builder(mut self, builder: Option<TemplateBuilder>) -> Controller {
        self.on_demand = super::on_demand::OnDemandBuilds::new(builder);
        self
    }

    pub(super) fn sandbox_disk_mb(&self) -> u64 {
        self.sandbox_disk_mb
    }

    pub(super) fn template_store(&self) -> MutexGuard<'_, TemplateStore> {
        self.templates
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.sandboxes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes the records of every sandbox a restart should know about. A failure is logged,
    /// not returned: the in-memory state is still right and the next change retries.
    pub(super) fn persist(&self, sandboxes: &HashMap<String, Entry>) {
        let records = sandboxes
            .values()
            .filter(|e| e.visible())
            .map(|e| &e.record);
        if let Err(e) = self.store.save(records) {
            eprintln!("sandboxd: saving sandbox state: {e:#}");
        }
    }

    pub(super) fn domain(&self) -> Option<&str> {
        self.domain.as_deref()
    }

    /// The CPUs and memory sandboxes of `template_id` (a runtime ID: a template's, or a tag's
    /// `<id>:<tag>`) get: the template's `cpuCount`/`memoryMB`, as at E2B; `base`'s defaults
    /// for `base`.
    pub(super) fn template_limits(&self, template_id: &str) -> Limits {
        let id = template_id.split(':').next().unwrap_or(template_id);
        match self.template_store().records.get(id) {
            Some(t) => Limits {
                cpu_count: t.cpu_count,
                memory_mb: t.memory_mb,
                disk_mb: self.sandbox_disk_mb,
                ..DEFAULT_LIMITS
            },
            None => Limits {
                disk_mb: self.sandbox_disk_mb,
                ..DEFAULT_LIMITS
            },
        }
    }

    /// What the runtime starts for `record`: the template's user, workdir and envs (the
    /// request's envs win), unless the template is gone (then `base`'s).
    pub(super) fn spec_for(&self, record: &SandboxRecord) -> Result<SandboxSpec, ApiError> {
        let template = self.runtime.template(&record.template_id);
        let (default_user, default_workdir, mut env_vars) = template.map_or_else(
            || {
                (
                    BASE_USER.to_string(),
                    BASE_WORKDIR.to_string(),
                    Default::default(),
                )
            },
            |t| (t.default_user, t.default_workdir, t.env_vars),
        );
        env_vars.extend(record.env_vars.clone());
        Ok(SandboxSpec {
            sandbox_id: record.sandbox_id.clone(),
            template_id: record.template_id.clone(),
            allow_internet_access: record.needs_uplink(),
            egress: record.egress_rules().map_err(ApiError::bad_request)?,
            limits: Limits {
                cpu_count: record.cpu_count,
                memory_mb: record.memory_mb,
                disk_mb: record.disk_size_mb,
                ..DEFAULT_LIMITS
            },
            envd: EnvdInit {
                env_vars,
                access_token: record.envd_access_token.clone(),
                default_user,
                default_workdir: Some(default_workdir),
            },
        })
    }

    /// `POST /sandboxes`: checks the request, reserves its record as `Starting` (so that
    /// lists and shutdown see it), takes a sandbox from the template's warm pool or starts one,
    /// and publishes it as `Running`.
    pub async fn create(&self, req: NewSandbox, api: ApiVersion) -> Result<SandboxView, ApiError> {
        self.build_if_missing(&req.template_id).await?;
        let mut record = self.validate_create(req, api)?;
        let pooled = self.take_pooled(&record);
        if let Some(pooled) = &pooled {
            record = self.record_for_pooled(record, pooled);
        }
        let sandbox_id = record.sandbox_id.clone();
        let timeout_secs = record.timeout_secs as i64;
        let spec = self.reserve(record)?;
        let warm = match pooled {
            Some(pooled) => self.hand_over(pooled, &spec).await,
            None => None,
        };
        let sandbox = match warm {
            Some(sandbox) => sandbox,
            None => match self.start_cold(&spec).await {
                Ok(sandbox) => sandbox,
                Err(e) => {
                    self.lock().remove(&sandbox_id);
                    return Err(e);
                }
            },
        };
        self.publish(&sandbox_id, Live::new(sandbox), timeout_secs)
            .await
    }

    /// Starts the sandbox of `spec` and its template's start command.
    async fn start_cold(&self, spec: &SandboxSpec) -> Result<Sandbox, ApiError> {
        let sandbox = (self.runtime.start(spec, Layer::Fresh).await)
            .map_err(|e| ApiError::internal("starting the sandbox", e))?;
        if let Err(e) = self.run_start_cmd(&sandbox, spec).await {
            let _ = sandbox.stop(false).await;
            return Err(e);
        }
        Ok(sandbox)
    }

    /// Starts the template's start command, as its user, and waits for its ready command to
    /// pass (each try is one process through envd, every [`READY_CMD_INTERVAL`]).
    pub(super) async fn run_start_cmd(
        &self,
        sandbox: &Sandbox,
        spec: &SandboxSpec,
    ) -> Result<(), ApiError> {
        let Some(template) = self.runtime.template(&spec.template_id) else {
            return Ok(());
        };
        let (user, token) = (&spec.envd.default_user, spec.envd.access_token.as_deref());
        if let Some(start) = &template.start_cmd {
            sandbox
                .spawn_shell(user, start, token)
                .await
                .map_err(|e| ApiError::internal("starting the template's start command", e))?;
        }
        let Some(ready) = &template.ready_cmd else {
            return Ok(());
        };
        let deadline = tokio::time::Instant::now() + READY_CMD_TIMEOUT;
        loop {
            let code = sandbox
                .run_shell(user, ready, token)
                .await
                .map_err(|e| ApiError::internal("running the template's ready command", e))?;
            if code == 0 {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!(
                        "the template's ready command did not pass within {} s",
                        READY_CMD_TIMEOUT.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(READY_CMD_INTERVAL).await;
        }
    }

    /// Checks a create request against what sandboxd supports and turns it into the record of
    /// a new sandbox (a fresh ID, its tokens); nothing is stored yet.
    fn validate_create(&self, req: NewSandbox, api: ApiVersion) -> Result<SandboxRecord, ApiError> {
        if self.shutting_down.load(Ordering::SeqCst) {
            return Err(shutting_down_error());
        }
        if req.mcp.as_ref().is_some_and(|m| !m.is_null()) {
            return Err(ApiError::bad_request(
                "MCP gateways are not supported by sandboxd",
            ));
        }
        if req.volume_mounts.as_ref().is_some_and(|v| !v.is_empty()) {
            return Err(ApiError::bad_request(
                "volume mounts are not supported by sandboxd",
            ));
        }
        let template = self.resolve_template(&req.template_id)?;
        let limits = self.template_limits(&template.template_id);
        let default_timeout = match api {
            ApiVersion::V1 => 15,
            ApiVersion::V2 => 300,
        };
        let timeout_secs = validate_timeout(req.timeout.unwrap_or(default_timeout), false)?;
        let auto_pause = req.auto_pause.unwrap_or(false);
        let auto_pause_memory = req.auto_pause_memory.unwrap_or(true);
        let auto_resume = req.auto_resume.is_some_and(|a| a.enabled);
        if auto_resume && !auto_pause_memory {
            return Err(ApiError::bad_request(
                "autoResume cannot be combined with autoPauseMemory: false",
            ));
        }
        let secure = match api {
            ApiVersion::V1 => req.secure == Some(true),
            ApiVersion::V2 => true,
        };
        let network = NetworkConfig::from_create(req.network)?;
        let public_traffic = network
            .as_ref()
            .and_then(|n| n.allow_public_traffic)
            .unwrap_or(true);
        if !public_traffic && !secure {
            return Err(ApiError::bad_request(
                "allowPublicTraffic: false requires a secure sandbox",
            ));
        }
        let sandbox_id = super::ids::new_sandbox_id();
        let started_at = now();
        Ok(SandboxRecord {
            envd_access_token: secure.then(|| self.credentials.envd_access_token(&sandbox_id)),
            traffic_access_token: (!public_traffic)
                .then(|| self.credentials.traffic_access_token(&sandbox_id)),
            sandbox_id,
            template_id: template.template_id,
            alias: template.aliases.into_iter().next(),
            started_at,
            end_at: started_at,
            timeout_secs: timeout_secs as u64,
            metadata: req.metadata.unwrap_or_default(),
            env_vars: req.env_vars.unwrap_or_default(),
            allow_internet_access: req.allow_internet_access,
            network,
            auto_pause,
            auto_pause_memory,
            auto_resume,
            cpu_count: limits.cpu_count,
            memory_mb: limits.memory_mb,
            disk_size_mb: self.sandbox_disk_mb,
            paused: None,
        })
    }

    /// Stores a new record as `Starting` and returns what the runtime needs to start it.
    fn reserve(&self, record: SandboxRecord) -> Result<SandboxSpec, ApiError> {
        let spec = self.spec_for(&record)?;
        self.lock().insert(
            record.sandbox_id.clone(),
            Entry {
                record,
                phase: Phase::Starting,
                live: None,
                metrics: VecDeque::new(),
            },
        );
        Ok(spec)
    }

    /// Marks a started sandbox `Running`, its timeout counting from now, and saves the state;
    /// if shutdown began while it started, stops it instead.
    async fn publish(
        &self,
        sandbox_id: &str,
        live: Arc<Live>,
        timeout_secs: i64,
    ) -> Result<SandboxView, ApiError> {
        let view = {
            let mut sandboxes = self.lock();
            let shutting_down = self.shutting_down.load(Ordering::SeqCst);
            let entry = sandboxes
                .get_mut(sandbox_id)
                .expect("only create removes Starting");
            if shutting_down {
                sandboxes.remove(sandbox_id);
                None
            } else {
                // The timeout counts from when the sandbox is usable.
                let started_at = now();
                entry.record.started_at = started_at;
                entry.record.end_at = started_at + chrono::Duration::seconds(timeout_secs);
                entry.phase = Phase::Running;
                entry.live = Some(live.clone());
                let view = entry.record.to_sandbox(self.domain());
                self.persist(&sandboxes);
                Some(view)
            }
        };
        match view {
            Some(view) => Ok(view),
            None => {
                if let Some(sandbox) = live.take().await {
                    let _ = sandbox.stop(false).await;
                }
                Err(shutting_down_error())
            }
        }
    }

    /// Resolves `[namespace/]name[:tag]`: `default` (or `latest`, or no tag) is the current
    /// build, any other tag the build it was given to.
    fn resolve_template(&self, requested: &str) -> Result<crate::runtime::TemplateInfo, ApiError> {
        let without_namespace = requested.rsplit('/').next().unwrap_or(requested);
        let (name, tag) = match without_namespace.split_once(':') {
            Some((name, tag)) => (name, Some(tag)),
            None => (without_namespace, None),
        };
        let not_found = || {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!("template '{requested}' not found"),
            )
        };
        let template = self.runtime.template(name).ok_or_else(not_found)?;
        match tag {
            None | Some(DEFAULT_TAG) | Some("latest") => Ok(template),
            Some(tag) => self
                .runtime
                .template(&tag_runtime_id(&template.template_id, tag))
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::NOT_FOUND,
                        format!("tag '{tag}' of template '{name}' not found"),
                    )
                }),
        }
    }

    pub fn get(&self, sandbox_id: &str) -> Result<super::model::SandboxDetailView, ApiError> {
        let sandboxes = self.lock();
        let entry = visible_entry(&sandboxes, sandbox_id)?;
        Ok(entry.record.to_detail(self.domain()))
    }

    /// Runs a list query; returns the page's items, its next token and the running total.
    pub fn list(
        &self,
        query: &ListQuery,
    ) -> (
        Vec<super::model::ListedSandboxView>,
        Option<String>,
        Option<usize>,
    ) {
        let template_id = query
            .template
            .as_ref()
            .map(|t| self.runtime.template(t).map(|info| info.template_id));
        let sandboxes = self.lock();
        let records = sandboxes
            .values()
            .filter(|e| e.visible())
            .map(|e| &e.record);
        let Page {
            items,
            next_token,
            total_running,
        } = query.apply(records, template_id.as_ref().map(|t| t.as_deref()));
        let items = items.into_iter().map(SandboxRecord::to_listed).collect();
        (items, next_token, total_running)
    }

    pub fn metrics(
        &self,
        sandbox_id: &str,
        start: Option<i64>,
        end: Option<i64>,
    ) -> Result<Vec<MetricView>, ApiError> {
        if let (Some(start), Some(end)) = (start, end)
            && start > end
        {
            return Err(ApiError::bad_request("start must not be after end"));
        }
        let sandboxes = self.lock();
        let entry = visible_entry(&sandboxes, sandbox_id)?;
        Ok(entry
            .metrics
            .iter()
            .filter(|m| start.is_none_or(|s| m.timestamp_unix >= s))
            .filter(|m| end.is_none_or(|e| m.timestamp_unix <= e))
            .cloned()
            .collect())
    }

    /// Latest sample of each requested sandbox that has one.
    pub fn latest_metrics(&self, ids: &[String]) -> BTreeMap<String, MetricView> {
        let sandboxes = self.lock();
        ids.iter()
            .filter_map(|id| {
                let entry = sandboxes.get(id).filter(|e| e.visible())?;
                Some((id.clone(), entry.metrics.back()?.clone()))
            })
            .collect()
    }

    pub(super) async fn sample_metrics_of(&self, sandbox_id: &str, live: &Live) {
        let Some(Ok(metrics)) = live.metrics().await else {
            return;
        };
        let sample = MetricView::new(now(), &metrics);
        if let Some(entry) = self.lock().get_mut(sandbox_id) {
            if entry.metrics.len() == METRICS_RING {
                entry.metrics.pop_front();
            }
            entry.metrics.push_back(sample);
        }
    }

    /// The proxy's view: a running sandbox's connection handle, resuming it first when it is
    /// paused with auto-resume.
    pub async fn route(self: &Arc<Self>, sandbox_id: &str) -> Result<RouteTarget, RouteError> {
        let auto_resume = {
            let sandboxes = self.lock();
            let entry = sandboxes
                .get(sandbox_id)
                .filter(|e| e.visible())
                .ok_or(RouteError::NotFound)?;
            match (entry.phase, &entry.live) {
                (Phase::Running, Some(live)) => {
                    return Ok(RouteTarget {
                        live: live.clone(),
                        traffic_access_token: entry.record.traffic_access_token.clone(),
                        mask_request_host: entry
                            .record
                            .network
                            .as_ref()
                            .and_then(|n| n.mask_request_host.clone()),
                    });
                }
                (Phase::Paused, _) => {
                    let memory = entry.record.paused.as_ref().is_some_and(|p| p.memory);
                    (entry.record.auto_resume && memory).then_some(entry.record.timeout_secs)
                }
                (Phase::Pausing | Phase::Resuming, _) => return Err(RouteError::Transitioning),
                _ => None,
            }
        };
        let timeout = auto_resume.ok_or(RouteError::NotFound)?;
        // On its own task, so a client giving up cannot leave the resume half-done.
        let (controller, id) = (self.clone(), sandbox_id.to_string());
        tokio::spawn(async move { controller.connect(&id, Some(timeout as i64), None).await })
            .await
            .map_err(|_| RouteError::NotFound)?
            .map_err(|_| RouteError::NotFound)?;
        Box::pin(self.route(sandbox_id)).await
    }

    /// IDs of running sandboxes whose envd access token satisfies `accepts` (signed URLs carry
    /// no sandbox ID when the SDK talks through `E2B_SANDBOX_URL`).
    pub fn running_with_token(&self, accepts: impl Fn(&str) -> bool) -> Vec<String> {
        self.lock()
            .values()
            .filter(|e| e.phase == Phase::Running)
            .filter(|e| e.record.envd_access_token.as_deref().is_some_and(&accepts))
            .map(|e| e.record.sandbox_id.clone())
            .collect()
    }
}

pub(super) fn visible_entry<'a>(
    sandboxes: &'a HashMap<String, Entry>,
    sandbox_id: &str,
) -> Result<&'a Entry, ApiError> {
    sandboxes
        .get(sandbox_id)
        .filter(|e| e.visible())
        .ok_or_else(|| ApiError::sandbox_not_found(sandbox_id))
}

pub(super) fn visible_entry_mut<'a>(
    sandboxes: &'a mut HashMap<String, Entry>,
    sandbox_id: &str,
) -> Result<&'a mut Entry, ApiError> {
    sandboxes
        .get_mut(sandbox_id)
        .filter(|e| e.visible())
        .ok_or_else(|| ApiError::sandbox_not_found(sandbox_id))
}

/// Timeouts in seconds: positive (zero allowed where the API counts it as "now") and within
/// the local plan limit. Anything else is a 400 that leaves the sandbox as it was.
pub(super) fn validate_timeout(secs: i64, zero_allowed: bool) -> Result<i64, ApiError> {
    if secs < 0 && zero_allowed {
        return Err(ApiError::bad_request(format!(
            "Timeout must be 0 or more seconds, got {secs}"
        )));
    }
    if secs <= 0 && !zero_allowed {
        return Err(ApiError::bad_request("Timeout must be greater than 0"));
    }
    if secs > MAX_TIMEOUT_SECS {
        return Err(ApiError::bad_request(format!(
            "Timeout cannot be greater than {} hours",
            MAX_TIMEOUT_SECS / 3600
        )));
    }
    Ok(secs)
}

pub(super) fn shutting_down_error() -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "sandboxd is shutting down")
}

/// Microsecond precision, like the API's timestamps, so list cursors round-trip exactly.
pub(super) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
