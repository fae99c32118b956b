//! Runtime: real isolation for sandboxes on one Linux machine.
//!
//! Each sandbox gets mount, pid, uts, ipc and net namespaces, an overlay root (read-only template
//! under a per-sandbox writable layer in the data dir), a cgroup (memory, pids, cpu, freezer; v1
//! and v2), and runs `sandboxd envd` as its first process. The control plane (`api`) drives it
//! only through the types below; it never touches namespaces, mounts or cgroups itself.
//!
//! How a start goes (see the submodules for the why of each step):
//! 1. the writable layer is created (or kept) under `<data_dir>/runtime/layers/<id>`;
//! 2. the cgroup is created with its limits ([`cgroup`]);
//! 3. a namespace agent thread unshares a network and a PID namespace ([`agent`]) and spawns
//!    `sandboxd sandbox-init`, which joins the cgroup before it runs, builds the root in its own
//!    mount namespace, installs the syscall filter ([`seccomp`]) and executes envd as PID 1
//!    ([`sandbox_init`]);
//! 4. with internet access, a veth pair and NAT connect it to the host ([`network`]);
//! 5. the runtime waits for envd's `GET /health` and sends `POST /init` ([`envd_client`]).
//!
//! envd runs as `sandboxd envd --listen-fd 3 --sandbox-id <id> --template-id <id>` with only
//! `PATH` in its environment: descriptor 3 is a socket the runtime already listens on (port
//! 49983 in the sandbox's network namespace), the IDs become the internal `E2B_*` variables,
//! and user, workdir, token and `envVars` arrive through `/init`.

mod agent;
pub mod base;
mod boot;
mod cgroup;
mod cleanup;
mod disk;
mod envd_client;
mod envd_log;
mod idmap;
pub mod image;
mod image_template;
mod layer_capture;
mod layer_gc;
mod layout;
mod metrics;
pub mod network;
mod sandbox_init;
mod seccomp;
mod template;
mod template_step;
mod watchdog;

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use envd_protocol::ENVD_PORT;
use tokio::net::{TcpSocket, TcpStream};

pub use envd_log::LogLine;
pub use network::{ALL_TRAFFIC, EgressRules};
pub use sandbox_init::sandbox_init;
pub(crate) use template::BASE_TEMPLATE_ID;
pub use template_step::{StepOutcome, StepRun, Upload};
pub use watchdog::run as run_watchdog;

use agent::NetnsAgent;
use cgroup::{Cgroups, SandboxCgroup};
use layout::{InstanceLock, LayerPaths, Layout};
use network::{Network, Uplink};
use template::Template;
use watchdog::Watchdog;

/// How long a sandbox may take from spawn to envd answering `/health`.
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// Descriptor number of envd's listening socket (`sandboxd envd --listen-fd`).
const ENVD_LISTEN_FD: i32 = 3;
/// `PATH` of envd, hence of every command (docs/envd.md, "Environment of a command").
const SANDBOX_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

pub struct RuntimeConfig {
    /// Root of everything the runtime keeps on disk (templates, layers, bookkeeping).
    pub data_dir: PathBuf,
    /// The `sandboxd` executable that becomes each sandbox's init and envd. The running
    /// executable by default; tests point it at the built binary.
    pub sandboxd_exe: PathBuf,
    /// Cap on the processes and threads of all sandboxes together (`pids.max` of the
    /// instance's cgroup); `None`: half of the host's `kernel.pid_max`/`threads-max`.
    pub max_processes: Option<u64>,
    /// Where Docker Hub's images are pulled from instead ([`image::PullOptions`]).
    pub docker_hub_mirror: Option<String>,
}

impl RuntimeConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> RuntimeConfig {
        RuntimeConfig {
            data_dir: data_dir.into(),
            sandboxd_exe: std::env::current_exe().unwrap_or_else(|_| "/proc/self/exe".into()),
            max_processes: None,
            docker_hub_mirror: None,
        }
    }
}

/// Resource limits applied through the sandbox's cgroup.
#[derive(Clone, Debug)]
pub struct Limits {
    pub cpu_count: u32,
    pub memory_mb: u64,
    /// Size of the sandbox's own filesystem (its writable layer): writes past it fail with
    /// `ENOSPC`. Set when the layer is created; a kept layer keeps its size.
    pub disk_mb: u64,
    pub pids_max: u64,
}

impl Limits {
    /// Refuses limits no sandbox could boot with (envd alone needs a few MiB and threads).
    fn check(&self) -> anyhow::Result<()> {
        if self.cpu_count == 0
            || self.memory_mb < 16
            || self.pids_max < 16
            || self.disk_mb < disk::MIN_DISK_MB
        {
            bail!(
                "limits too small: need cpu_count >= 1, memory_mb >= 16, pids_max >= 16, \
                 disk_mb >= {} ({self:?})",
                disk::MIN_DISK_MB
            );
        }
        Ok(())
    }
}

/// What envd is told at start (the same fields E2B's orchestrator sends to `POST /init`).
#[derive(Clone, Debug, Default)]
pub struct EnvdInit {
    /// Sandbox-wide variables from the create request (`envVars`).
    pub env_vars: BTreeMap<String, String>,
    /// Present for secure sandboxes: envd then requires `X-Access-Token` / signed URLs.
    pub access_token: Option<String>,
    pub default_user: String,
    pub default_workdir: Option<String>,
}

#[derive(Clone, Debug)]
pub struct SandboxSpec {
    /// `i` + 20 chars of `[a-z0-9]`; also the hostname inside. Must be 1-64 chars of
    /// `[A-Za-z0-9_-]` (it names directories and cgroups).
    pub sandbox_id: String,
    /// Resolved template ID (see [`Runtime::template`]).
    pub template_id: String,
    /// Whether the sandbox gets a link to the host (and through it, the internet) at all.
    pub allow_internet_access: bool,
    /// What the link may reach; ignored without one.
    pub egress: EgressRules,
    pub limits: Limits,
    pub envd: EnvdInit,
}

/// Whether a start reuses the sandbox's writable layer (resume after a filesystem-only pause,
/// or after a sandboxd restart) or begins with an empty one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    Fresh,
    Keep,
}

#[derive(Clone, Debug, Default)]
pub struct TemplateInfo {
    pub template_id: String,
    pub aliases: Vec<String>,
    /// The build's ID (what `/.e2b` says as `BUILD_ID`) and when it was built.
    pub build_id: String,
    pub built_at: Option<std::time::SystemTime>,
    /// What its sandboxes' envd is initialised with, unless the create request says otherwise.
    pub default_user: String,
    pub default_workdir: String,
    pub env_vars: BTreeMap<String, String>,
    /// Started in each new sandbox; its create returns once `ready_cmd` passes.
    pub start_cmd: Option<String>,
    pub ready_cmd: Option<String>,
}

/// What `base` sandboxes run as, like E2B's base template.
pub const BASE_USER: &str = "user";
pub const BASE_WORKDIR: &str = "/home/user";

/// What the layers of a built template stack on.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bottom {
    /// The machine's `base` root.
    #[default]
    Base,
    /// A pulled image's unpacked layers ([`Runtime::pull_image`]), uppermost first: the whole
    /// root, without `base` under it.
    Image(Vec<PathBuf>),
}

/// A template built by [`Runtime::build_layer`] steps and registered with
/// [`Runtime::register_template`]: its layers (keys, uppermost first) stack over its bottom.
#[derive(Clone)]
struct BuiltTemplate {
    info: TemplateInfo,
    layers: Vec<String>,
    bottom: Bottom,
}

/// One sample, computed from the sandbox's own cgroup and writable layer (not the host's).
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    pub cpu_count: u32,
    /// Percent of the sandbox's CPUs used since the previous sample (or since start).
    pub cpu_used_pct: f64,
    pub mem_used: u64,
    pub mem_total: u64,
    pub mem_cache: u64,
    pub disk_used: u64,
    pub disk_total: u64,
}

pub struct Runtime {
    config: RuntimeConfig,
    /// Sandboxes in use (running, starting or stopping) and the lower layers they mount.
    active: ActiveSet,
    layout: Layout,
    cgroups: Cgroups,
    network: Arc<Network>,
    base: Template,
    spares: Arc<disk::Spares>,
    /// Templates built from layers, by ID.
    built: Mutex<HashMap<String, BuiltTemplate>>,
    /// Released by [`Runtime::close`] (or drop).
    instance: Mutex<Option<(InstanceLock, Watchdog)>>,
    _data_dir_lock: File,
}

impl Runtime {
    /// Prepares the data dir and the `base` template (building its Debian root first when this
    /// machine has none), and removes whatever an earlier run left behind (processes, mounts,
    /// cgroups, network namespaces) after a crash.
    /// Returns the IDs whose writable layers are still on disk, so the control plane can decide
    /// what to keep (e.g. as paused sandboxes) and what to [`Runtime::remove_layer`].
    ///
    /// Fails when another sandboxd has the same data dir open.
    pub async fn open(config: RuntimeConfig) -> anyhow::Result<(Runtime, Vec<String>)> {
        tokio::task::spawn_blocking(move || Runtime::open_blocking(config)).await?
    }

    fn open_blocking(mut config: RuntimeConfig) -> anyhow::Result<(Runtime, Vec<String>)> {
        crate::host_files::create_private_dir_all(&config.data_dir)
            .with_context(|| format!("creating {}", config.data_dir.display()))?;
        config.data_dir = config.data_dir.canonicalize()?;
        // Layer paths go into overlay mount options, where these characters are separators.
        if config.data_dir.to_string_lossy().contains([',', ':', '\\']) {
            bail!(
                "data dir {} must not contain ',', ':' or '\\'",
                config.data_dir.display()
            );
        }
        let layout = Layout::new(&config.data_dir);
        let lock = layout.lock()?;
        let instance = layout.claim_instance()?;
        protect_from_oom_killer();
        let max_processes = config
            .max_processes
            .unwrap_or_else(cgroup::default_instance_pids_max);
        if max_processes < 16 {
            bail!("max processes {max_processes} is too small: need at least 16");
        }
        let cgroups = Cgroups::detect(&instance.id, max_processes)?;
        let network = Arc::new(Network::new(&instance.id));
        let layers = cleanup::remove_leftovers(&layout, &cgroups, &network)?;
        cleanup::remove_dead_instances(&cgroups);
        let base = template::open_base(&layout.templates())?;
        let watchdog = Watchdog::start(&config.sandboxd_exe, &instance.id, &layout.layers())?;
        let spares = Arc::new(disk::Spares::start(&layout.layers())?);
        let runtime = Runtime {
            config,
            active: Arc::default(),
            layout,
            cgroups,
            network,
            base,
            spares,
            built: Mutex::default(),
            instance: Mutex::new(Some((instance, watchdog))),
            _data_dir_lock: lock,
        };
        Ok((runtime, layers))
    }

    /// Looks a template up by ID or alias: `base` or a registered one; `None` when unknown.
    pub fn template(&self, id_or_alias: &str) -> Option<TemplateInfo> {
        let base = &self.base;
        if id_or_alias == base.template_id || base.aliases.iter().any(|a| a == id_or_alias) {
            return Some(TemplateInfo {
                template_id: base.template_id.clone(),
                aliases: base.aliases.clone(),
                build_id: base.build_id.clone(),
                built_at: base.built_at,
                default_user: BASE_USER.to_string(),
                default_workdir: BASE_WORKDIR.to_string(),
                env_vars: BTreeMap::new(),
                start_cmd: None,
                ready_cmd: None,
            });
        }
        self.built_template(id_or_alias).map(|t| t.info)
    }

    fn built_template(&self, id_or_alias: &str) -> Option<BuiltTemplate> {
        let built = self.built.lock().unwrap();
        built.get(id_or_alias).cloned().or_else(|| {
            built
                .values()
                .find(|t| t.info.aliases.iter().any(|a| a == id_or_alias))
                .cloned()
        })
    }

    /// Every template this runtime can start: `base`, then the registered ones.
    pub fn templates(&self) -> Vec<TemplateInfo> {
        let mut built: Vec<TemplateInfo> = (self.built.lock().unwrap().values())
            .map(|t| t.info.clone())
            .collect();
        built.sort_by(|a, b| a.template_id.cmp(&b.template_id));
        self.template(&self.base.template_id)
            .into_iter()
            .chain(built)
            .collect()
    }

    /// Makes a built template startable (or replaces its current build): `layers` are layer
    /// keys, uppermost first, each already built, over `bottom`. Its aliases must not name
    /// another template.
    pub fn register_template(
        &self,
        info: TemplateInfo,
        layers: Vec<String>,
        bottom: Bottom,
    ) -> anyhow::Result<()> {
        for key in &layers {
            if !self.has_layer(key) {
                bail!("template {}: layer {key} is missing", info.template_id);
            }
        }
        self.check_bottom(&bottom)
            .with_context(|| format!("template {}", info.template_id))?;
        let mut built = self.built.lock().unwrap();
        let taken = |alias: &String| {
            self.base.aliases.contains(alias)
                || built.values().any(|t| {
                    t.info.template_id != info.template_id && t.info.aliases.contains(alias)
                })
        };
        if let Some(alias) = info.aliases.iter().find(|a| taken(a)) {
            bail!("the name {alias} is taken by another template");
        }
        built.insert(
            info.template_id.clone(),
            BuiltTemplate {
                info,
                layers,
                bottom,
            },
        );
        Ok(())
    }

    /// Makes a registered template unknown to new starts (running sandboxes keep their
    /// layers mounted); `false` if it was not registered.
    pub fn unregister_template(&self, template_id: &str) -> bool {
        self.built.lock().unwrap().remove(template_id).is_some()
    }

    /// The host directories of a template's layers, uppermost first, its bottom's last.
    fn template_lowers(&self, template_id: &str) -> anyhow::Result<Vec<PathBuf>> {
        if self.template(template_id).is_none() {
            bail!("unknown template {template_id:?}");
        }
        Ok(match self.built_template(template_id) {
            Some(t) => self.lowers_of(&t.layers, &t.bottom),
            None => self.lowers_of(&[], &Bottom::Base),
        })
    }

    /// cgroup version in use (1 or 2), detected at open.
    pub fn cgroup_version(&self) -> u8 {
        self.cgroups.version()
    }

    /// Starts a sandbox and returns once envd inside answers and has been initialised with
    /// `spec.envd`. On failure nothing of the attempt is left (except a kept layer).
    pub async fn start(&self, spec: &SandboxSpec, layer: Layer) -> anyhow::Result<Sandbox> {
        let lowers = self.template_lowers(&spec.template_id)?;
        self.start_on(spec, layer, lowers).await
    }

    /// [`Runtime::start`] with the given lower layers (uppermost first).
    async fn start_on(
        &self,
        spec: &SandboxSpec,
        layer: Layer,
        template_layers: Vec<PathBuf>,
    ) -> anyhow::Result<Sandbox> {
        layout::check_sandbox_id(&spec.sandbox_id)?;
        spec.limits.check()?;
        let active = ActiveId::claim(&self.active, &spec.sandbox_id, template_layers.clone())?;
        let boot = boot::Boot {
            active,
            spec: spec.clone(),
            layer_mode: layer,
            layer: self.layout.layer(&spec.sandbox_id),
            trash: self.layout.layers(),
            spares: self.spares.clone(),
            exe: self.config.sandboxd_exe.clone(),
            template_layers,
            cgroups: self.cgroups.clone(),
            network: self.network.clone(),
        };
        let sandbox = tokio::task::spawn_blocking(move || boot.run()).await??;
        if let Err(e) = sandbox.wait_ready(&spec.envd).await {
            let tail = sandbox.log.tail(2000);
            sandbox.stop(layer == Layer::Keep).await?;
            return Err(e.context(format!(
                "sandbox {} did not start; envd log: {tail}",
                spec.sandbox_id
            )));
        }
        sandbox.log.push("envd is ready");
        Ok(sandbox)
    }

    /// Deletes a stopped sandbox's writable layer (refused while the sandbox runs).
    pub async fn remove_layer(&self, sandbox_id: &str) -> anyhow::Result<()> {
        layout::check_sandbox_id(sandbox_id)?;
        let _active = ActiveId::claim(&self.active, sandbox_id, Vec::new())?;
        let (layer, trash) = (self.layout.layer(sandbox_id), self.layout.layers());
        tokio::task::spawn_blocking(move || cleanup::delete_layer(&layer, &trash)).await?
    }

    /// Removes the instance's network rules and cgroup directories. Call it on shutdown, after
    /// every sandbox has been stopped; dropping the runtime does the same.
    pub async fn close(&self) -> anyhow::Result<()> {
        // A few milliseconds of blocking (one iptables-restore), once, at shutdown.
        self.close_blocking()
    }

    fn close_blocking(&self) -> anyhow::Result<()> {
        let Some((instance, watchdog)) = self.instance.lock().unwrap().take() else {
            return Ok(());
        };
        watchdog.stop();
        let spares = self.spares.stop();
        self.cgroups.remove_instance_dirs();
        self.network.close()?;
        instance.remove();
        spares.context("removing the spare layers")
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Err(e) = self.close_blocking() {
            eprintln!("sandboxd: closing the runtime: {e:#}");
        }
    }
}

/// A running (or frozen) sandbox. Call [`Sandbox::stop`] to end it; dropping a sandbox that was
/// not stopped stops it in the background and keeps its layer.
pub struct Sandbox {
    id: String,
    layer: LayerPaths,
    trash: PathBuf,
    cgroup: SandboxCgroup,
    network: Arc<Network>,
    sampler: Arc<metrics::Sampler>,
    /// `None` once stopped.
    running: Mutex<Option<Running>>,
    /// envd's output and the runtime's start-up lines, bounded.
    log: envd_log::EnvdLog,
}

struct Running {
    agent: NetnsAgent,
    init: Child,
    uplink: Option<Uplink>,
    /// Released when the teardown that consumes this is done.
    _active: ActiveId,
}

/// Marks a sandbox ID as in use by this runtime (running, starting or stopping), so that a
/// second start of the same ID cannot replace a layer that is mounted.
struct ActiveId {
    set: ActiveSet,
    id: String,
}

/// Sandbox IDs in use, each with the lower layers it mounts (so that the layer GC spares them).
type ActiveSet = Arc<Mutex<HashMap<String, Vec<PathBuf>>>>;

impl ActiveId {
    fn claim(set: &ActiveSet, id: &str, lowers: Vec<PathBuf>) -> anyhow::Result<ActiveId> {
        match set.lock().unwrap().entry(id.to_string()) {
            std::collections::hash_map::Entry::Occupied(_) => {
                bail!("sandbox {id} is already running")
            }
            std::collections::hash_map::Entry::Vacant(entry) => entry.insert(lowers),
        };
        Ok(ActiveId {
            set: set.clone(),
            id: id.to_string(),
        })
    }
}

impl Drop for ActiveId {
    fn drop(&mut self) {
        self.set.lock().unwrap().remove(&self.id);
    }
}

impl Sandbox {
    pub fn sandbox_id(&self) -> &str {
        &self.id
    }

    /// The last lines envd wrote to its stdout and stderr in this run, with the runtime's own
    /// start-up lines; at most 2,000 lines or 256 KiB, oldest first.
    pub fn logs(&self) -> Vec<LogLine> {
        self.log.lines()
    }

    /// Host PID of the sandbox's PID 1 (envd), e.g. for `nsenter`; `None` once stopped.
    pub fn host_pid(&self) -> Option<u32> {
        self.running.lock().unwrap().as_ref().map(|r| r.init.id())
    }

    /// The sandbox's address on its link to the host; `None` without internet access.
    pub fn ip_address(&self) -> Option<std::net::Ipv4Addr> {
        let running = self.running.lock().unwrap();
        running.as_ref()?.uplink.as_ref().map(|u| u.sandbox_ip)
    }

    /// A TCP connection to `127.0.0.1:<port>` inside the sandbox's network namespace: envd on
    /// [`ENVD_PORT`], or any service a process in the sandbox listens on (loopback included).
    pub async fn connect(&self, port: u16) -> std::io::Result<TcpStream> {
        let reply = {
            let running = self.running.lock().unwrap();
            running
                .as_ref()
                .ok_or_else(agent::gone)?
                .agent
                .request_tcp_socket()?
        };
        let socket = reply.await.map_err(|_| agent::gone())??;
        let socket = TcpSocket::from_std_stream(std::net::TcpStream::from(socket));
        socket
            .connect((std::net::Ipv4Addr::LOCALHOST, port).into())
            .await
    }

    /// Replaces the egress rules of a running (or frozen) sandbox at once. A sandbox started
    /// without a link can only be given rules that reach nothing.
    pub fn update_egress(&self, rules: &EgressRules) -> anyhow::Result<()> {
        let running = self.running.lock().unwrap();
        let running = running.as_ref().ok_or_else(agent::gone)?;
        match &running.uplink {
            // One iptables-restore of a few milliseconds, held under the lock so that a stop
            // cannot delete the chain half-way.
            Some(uplink) => self.network.update_egress(uplink, rules),
            None if rules.allows_anything() => bail!(
                "sandbox {} was started without internet access; sandboxd cannot link a \
                 running sandbox to the network",
                self.id
            ),
            None => Ok(()),
        }
    }

    /// Freezes every process (cgroup freezer); connections stay open but get no answers.
    pub async fn freeze(&self) -> anyhow::Result<()> {
        self.ensure_running()?;
        let cgroup = self.cgroup.clone();
        tokio::task::spawn_blocking(move || cgroup.freeze()).await?
    }

    pub async fn thaw(&self) -> anyhow::Result<()> {
        self.ensure_running()?;
        let cgroup = self.cgroup.clone();
        tokio::task::spawn_blocking(move || cgroup.thaw()).await?
    }

    /// Kills every process and removes mounts, cgroup and network namespace. The writable layer
    /// stays on disk when `keep_layer` (filesystem-only pause), else it is deleted. Stopping a
    /// stopped sandbox does nothing.
    pub async fn stop(&self, keep_layer: bool) -> anyhow::Result<()> {
        let Some(running) = self.running.lock().unwrap().take() else {
            return Ok(());
        };
        let teardown = self.teardown(running, keep_layer);
        tokio::task::spawn_blocking(teardown).await?
    }

    /// Whether envd (the sandbox's PID 1) is still alive; `false` once stopped or if it died.
    pub fn is_alive(&self) -> bool {
        let mut running = self.running.lock().unwrap();
        running
            .as_mut()
            .is_some_and(|r| matches!(r.init.try_wait(), Ok(None)))
    }

    pub async fn metrics(&self) -> anyhow::Result<Metrics> {
        self.ensure_running()?;
        let sampler = self.sampler.clone();
        tokio::task::spawn_blocking(move || sampler.sample()).await?
    }

    /// A command that runs `program` inside the sandbox as root, like a process envd starts:
    /// in its namespaces and cgroup, with its capability bounding set, with only `PATH` set.
    /// For tests and debugging; it needs `nsenter` and `setpriv` (util-linux).
    pub fn command(&self, program: &str) -> anyhow::Result<Command> {
        let pid = self.host_pid().context("the sandbox has been stopped")?;
        boot::enter_command(pid, &self.cgroup, program)
    }

    /// Starts `script` (`bash -l -c`) through envd as `user`, in the background (envd keeps
    /// it running); returns its pid. `access_token`: the sandbox's envd token, if it has one.
    pub async fn spawn_shell(
        &self,
        user: &str,
        script: &str,
        access_token: Option<&str>,
    ) -> anyhow::Result<u32> {
        let command = envd_client::Command::shell(user, script, access_token);
        envd_client::spawn(self.connect(ENVD_PORT).await?, command).await
    }

    /// Runs `script` like [`Sandbox::spawn_shell`] to its end; its exit code (output dropped).
    pub async fn run_shell(
        &self,
        user: &str,
        script: &str,
        access_token: Option<&str>,
    ) -> anyhow::Result<i32> {
        let command = envd_client::Command::shell(user, script, access_token);
        envd_client::run(self.connect(ENVD_PORT).await?, command, |_| {}).await
    }

    /// Sends envd `/init`: at start, and again with a new configuration when a warm-pool
    /// sandbox is handed to a create; `current_token` is envd's token now, if it has one,
    /// which it requires for the change.
    pub async fn init_envd(
        &self,
        init: &EnvdInit,
        current_token: Option<&str>,
    ) -> anyhow::Result<()> {
        let stream = self
            .connect(ENVD_PORT)
            .await
            .context("connecting to envd")?;
        envd_client::init(stream, init, current_token)
            .await
            .context("initialising envd")
    }

    /// How often the OOM killer ended a process inside this sandbox.
    pub fn oom_kills(&self) -> anyhow::Result<u64> {
        self.cgroup.oom_kills()
    }

    fn ensure_running(&self) -> anyhow::Result<()> {
        if self.running.lock().unwrap().is_none() {
            bail!("sandbox {} has been stopped", self.id);
        }
        Ok(())
    }

    /// Waits for envd's `/health` and sends `/init`. envd's socket listens before envd runs, so
    /// the first request simply waits for envd to accept it; a retry only follows a failure.
    async fn wait_ready(&self, init: &EnvdInit) -> anyhow::Result<()> {
        let ready = async {
            loop {
                let stream = self
                    .connect(ENVD_PORT)
                    .await
                    .context("connecting to envd")?;
                if envd_client::healthy(stream).await.unwrap_or(false) {
                    break;
                }
                if !self.is_alive() {
                    bail!("envd exited during start");
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            self.init_envd(init, None).await
        };
        tokio::time::timeout(READY_TIMEOUT, ready)
            .await
            .map_err(|_| anyhow::anyhow!("envd was not ready within {READY_TIMEOUT:?}"))?
    }

    /// The blocking part of a stop, as a closure that owns what it needs.
    fn teardown(
        &self,
        running: Running,
        keep_layer: bool,
    ) -> impl FnOnce() -> anyhow::Result<()> + Send + 'static {
        let (cgroup, network, layer, trash) = (
            self.cgroup.clone(),
            self.network.clone(),
            self.layer.clone(),
            self.trash.clone(),
        );
        move || {
            let Running {
                agent,
                mut init,
                uplink,
                _active,
            } = running;
            // Killing PID 1 ends the whole PID namespace; the cgroup kill covers the rest and
            // thaws frozen processes so that they can die.
            let _ = init.kill();
            cgroup.kill_all()?;
            init.wait()?;
            agent.shutdown();
            if let Some(uplink) = uplink {
                network.detach(uplink);
            }
            cgroup.destroy()?;
            disk::unmount(&layer.fs())?;
            if !keep_layer {
                cleanup::delete_layer(&layer, &trash)?;
            }
            Ok(())
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(running) = self.running.get_mut().unwrap().take() {
            let teardown = self.teardown(running, true);
            std::thread::spawn(teardown);
        }
    }
}

/// sandboxd should be the last thing the kernel's OOM killer picks on a full host; its
/// sandboxes reset this for themselves (see `sandbox_init`).
fn protect_from_oom_killer() {
    let _ = std::fs::write("/proc/self/oom_score_adj", "-500");
}
