//! Runtime: real isolation for sandboxes on one Linux machine.
//!
//! Each sandbox gets mount, pid, uts, ipc and net namespaces, an overlay root (read-only template
//! under a per-sandbox writable layer in the data dir), a cgroup (memory, pids, cpu, freezer; v1
//! and v2), and runs `sandboxd envd` as its first process. The control plane (`api`) drives it
//! only through the types below; it never touches namespaces, mounts or cgroups itself.
//!
//! This file is the contract between `api`/`proxy` and the runtime. Bodies marked `todo!` are
//! being built; the signatures are what callers program against.

#![allow(dead_code)] // contract ahead of its callers; removed once `api` uses every item

use std::collections::BTreeMap;
use std::path::PathBuf;

use tokio::net::TcpStream;

/// Version string envd reports; the SDKs gate features on it (≥ 0.6.4 enables everything).
pub const ENVD_VERSION: &str = "0.6.13";
/// Port envd listens on inside every sandbox.
pub const ENVD_PORT: u16 = 49983;

pub struct RuntimeConfig {
    /// Root of everything the runtime keeps on disk (templates, layers, bookkeeping).
    pub data_dir: PathBuf,
}

/// Resource limits applied through the sandbox's cgroup.
#[derive(Clone, Debug)]
pub struct Limits {
    pub cpu_count: u32,
    pub memory_mb: u64,
    pub disk_mb: u64,
    pub pids_max: u64,
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
    /// `i` + 20 chars of `[a-z0-9]`; also the hostname inside.
    pub sandbox_id: String,
    /// Resolved template ID (see [`Runtime::template`]).
    pub template_id: String,
    pub allow_internet_access: bool,
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

#[derive(Clone, Debug)]
pub struct TemplateInfo {
    pub template_id: String,
    pub aliases: Vec<String>,
}

/// One sample, computed from the sandbox's own cgroup and writable layer (not the host's).
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    pub cpu_count: u32,
    pub cpu_used_pct: f64,
    pub mem_used: u64,
    pub mem_total: u64,
    pub mem_cache: u64,
    pub disk_used: u64,
    pub disk_total: u64,
}

pub struct Runtime {
    config: RuntimeConfig,
}

impl Runtime {
    /// Prepares the data dir and the built-in `base` template (offline), and removes whatever an
    /// earlier run left behind (processes, mounts, cgroups, network namespaces) after a crash.
    /// Returns the IDs whose writable layers are still on disk, so the control plane can decide
    /// what to keep (e.g. as paused sandboxes) and what to [`Runtime::remove_layer`].
    pub async fn open(config: RuntimeConfig) -> anyhow::Result<(Runtime, Vec<String>)> {
        let _ = config;
        todo!("runtime: open")
    }

    /// Looks a template up by ID or alias (`base`); `None` when unknown.
    pub fn template(&self, id_or_alias: &str) -> Option<TemplateInfo> {
        let _ = id_or_alias;
        todo!("runtime: template")
    }

    /// Starts a sandbox and returns once envd inside answers and has been initialised with
    /// `spec.envd`.
    pub async fn start(&self, spec: &SandboxSpec, layer: Layer) -> anyhow::Result<Sandbox> {
        let _ = (spec, layer);
        todo!("runtime: start")
    }

    /// Deletes a stopped sandbox's writable layer.
    pub async fn remove_layer(&self, sandbox_id: &str) -> anyhow::Result<()> {
        let _ = sandbox_id;
        todo!("runtime: remove_layer")
    }
}

/// A running (or frozen) sandbox. Dropping it does not stop it; call [`Sandbox::stop`].
pub struct Sandbox {}

impl Sandbox {
    /// A TCP connection to `127.0.0.1:<port>` inside the sandbox's network namespace: envd on
    /// [`ENVD_PORT`], or any service a process in the sandbox listens on (loopback included).
    pub async fn connect(&self, port: u16) -> std::io::Result<TcpStream> {
        let _ = port;
        todo!("runtime: connect")
    }

    /// Freezes every process (cgroup freezer); connections stay open but get no answers.
    pub async fn freeze(&self) -> anyhow::Result<()> {
        todo!("runtime: freeze")
    }

    pub async fn thaw(&self) -> anyhow::Result<()> {
        todo!("runtime: thaw")
    }

    /// Kills every process and removes mounts, cgroup and network namespace. The writable layer
    /// stays on disk when `keep_layer` (filesystem-only pause), else it is deleted.
    pub async fn stop(self, keep_layer: bool) -> anyhow::Result<()> {
        let _ = keep_layer;
        todo!("runtime: stop")
    }

    pub async fn metrics(&self) -> anyhow::Result<Metrics> {
        todo!("runtime: metrics")
    }
}
