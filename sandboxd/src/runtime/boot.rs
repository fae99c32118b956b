//! Starting a sandbox: the blocking part of [`super::Runtime::start`] (layer, cgroup, namespace
//! agent, init process, network), and entering a running sandbox from the host.

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use anyhow::Context;

use super::agent::NetnsAgent;
use super::cgroup::{self, Cgroups, SandboxCgroup};
use super::envd_log::EnvdLog;
use super::idmap::{self, IdRange};
use super::layout::LayerPaths;
use super::network::Network;
use super::{
    ActiveId, ENVD_LISTEN_FD, ENVD_PORT, Layer, Running, SANDBOX_PATH, Sandbox, SandboxSpec,
    cleanup, disk, metrics, sandbox_init, template,
};

/// Everything a start needs, moved onto a blocking thread.
pub(super) struct Boot {
    pub active: ActiveId,
    pub spec: SandboxSpec,
    pub layer_mode: Layer,
    pub layer: LayerPaths,
    pub trash: PathBuf,
    pub spares: Arc<disk::Spares>,
    pub exe: PathBuf,
    pub template_layers: Vec<PathBuf>,
    pub cgroups: Cgroups,
    pub network: Arc<Network>,
}

impl Boot {
    pub fn run(self) -> anyhow::Result<Sandbox> {
        let disk_mb = self.spec.limits.disk_mb;
        cleanup::prepare_layer(
            &self.layer,
            &self.trash,
            self.layer_mode,
            disk_mb,
            &self.spares,
        )?;
        let log = EnvdLog::default();
        log.push(&format!(
            "starting sandbox {} from template {} ({:?} layer)",
            self.spec.sandbox_id, self.spec.template_id, self.layer_mode
        ));
        let ids = match idmap::claim(&self.layer) {
            Ok(ids) => ids,
            Err(e) => return Err(self.undo_layer(e.context("claiming the sandbox's host ids"))),
        };
        let cgroup = match self
            .cgroups
            .create(&self.spec.sandbox_id, &self.spec.limits)
        {
            Ok(cgroup) => cgroup,
            Err(e) => return Err(self.undo_layer(e)),
        };
        let (agent, init) = match self.spawn(&cgroup, &log, ids) {
            Ok(spawned) => spawned,
            Err(e) => {
                let _ = cgroup.destroy();
                return Err(self.undo_layer(e));
            }
        };
        let sandbox = Sandbox {
            id: self.spec.sandbox_id.clone(),
            layer: self.layer.clone(),
            trash: self.trash.clone(),
            cgroup: cgroup.clone(),
            network: self.network.clone(),
            sampler: Arc::new(metrics::Sampler::new(
                cgroup,
                self.layer.fs(),
                &self.spec.limits,
            )),
            running: Mutex::new(None),
            log,
        };
        let mut running = Running {
            agent,
            init,
            uplink: None,
            _active: self.active,
        };
        if self.spec.allow_internet_access {
            let attached = running
                .agent
                .inet_socket_blocking()
                .map_err(anyhow::Error::from)
                .and_then(|inside| {
                    let tid = running.agent.tid();
                    self.network
                        .attach_with_egress(tid, &inside, &self.spec.egress)
                });
            match attached {
                Ok(uplink) => running.uplink = Some(uplink),
                Err(e) => {
                    let _ = sandbox.teardown(running, self.layer_mode == Layer::Keep)();
                    return Err(e.context("connecting the sandbox to the network"));
                }
            }
        }
        *sandbox.running.lock().unwrap() = Some(running);
        Ok(sandbox)
    }

    /// Starts the namespace agent and, from it, the sandbox's init with envd's socket.
    fn spawn(
        &self,
        cgroup: &SandboxCgroup,
        log: &EnvdLog,
        ids: IdRange,
    ) -> anyhow::Result<(NetnsAgent, Child)> {
        let (log_read, log_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        log.drain(log_read)?;
        let userns = idmap::user_namespace(ids).context("creating the user namespace")?;
        let agent = NetnsAgent::start()?;
        let spawned = agent
            .listener_blocking(ENVD_PORT)
            .context("listening on the envd port")
            .and_then(|listener| {
                spawn_init(
                    &agent,
                    &self.exe,
                    cgroup,
                    &log_write,
                    [listener, userns],
                    &self.init_config(ids),
                )
            });
        match spawned {
            Ok(init) => Ok((agent, init)),
            Err(e) => {
                agent.shutdown();
                Err(e)
            }
        }
    }

    fn undo_layer(&self, error: anyhow::Error) -> anyhow::Error {
        let _ = match self.layer_mode {
            Layer::Fresh => cleanup::delete_layer(&self.layer, &self.trash),
            Layer::Keep => disk::unmount(&self.layer.fs()),
        };
        error
    }

    fn init_config(&self, ids: IdRange) -> sandbox_init::InitConfig {
        let spec = &self.spec;
        sandbox_init::InitConfig {
            hostname: spec.sandbox_id.clone(),
            ids_base: ids.base,
            lowers: self.template_layers.clone(),
            layer: self.layer.dir.clone(),
            hosts: template::hosts_file(&spec.sandbox_id),
            run_files: vec![
                ("e2b/.E2B_SANDBOX".into(), "true".into()),
                ("e2b/.E2B_SANDBOX_ID".into(), spec.sandbox_id.clone()),
                ("e2b/.E2B_TEMPLATE_ID".into(), spec.template_id.clone()),
            ],
            envd_args: [
                "sandboxd",
                "envd",
                "--listen-fd",
                &ENVD_LISTEN_FD.to_string(),
                "--sandbox-id",
                &spec.sandbox_id,
                "--template-id",
                &spec.template_id,
            ]
            .map(String::from)
            .to_vec(),
            envd_env: vec![("PATH".into(), SANDBOX_PATH.into())],
        }
    }
}

/// Spawns `sandboxd sandbox-init` from the agent (so in the sandbox's namespaces), already in
/// the sandbox cgroup, with envd's listening socket as descriptor [`ENVD_LISTEN_FD`] and the
/// sandbox's user namespace as [`sandbox_init::USERNS_FD`], and hands it its config.
fn spawn_init(
    agent: &NetnsAgent,
    exe: &Path,
    cgroup: &SandboxCgroup,
    log: &OwnedFd,
    [listener, userns]: [OwnedFd; 2],
    config: &sandbox_init::InitConfig,
) -> anyhow::Result<Child> {
    let procs: Vec<OwnedFd> = cgroup.open_procs_files()?;
    let mut command = Command::new(exe);
    command
        .arg("sandbox-init")
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(log.try_clone()?)
        .stderr(log.try_clone()?);
    let procs_fds: Vec<RawFd> = procs.iter().map(|f| f.as_raw_fd()).collect();
    let (listener_fd, userns_fd) = (listener.as_raw_fd(), userns.as_raw_fd());
    // SAFETY: only async-signal-safe system calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            // The cgroup first: a `cgroup.procs` descriptor may have the number one of the dup2s
            // below writes over (seen when low numbers were free: the write then hit the
            // namespace descriptor and the start failed with EBADF).
            cgroup::join_in_child(&procs_fds)?;
            // dup2 leaves close-on-exec set when both numbers are equal; clear it explicitly.
            // The namespace goes first: its descriptor may have the listener's target number.
            let moved_userns = libc::fcntl(userns_fd, libc::F_DUPFD_CLOEXEC, 10);
            if moved_userns < 0
                || libc::dup2(listener_fd, ENVD_LISTEN_FD) < 0
                || libc::fcntl(ENVD_LISTEN_FD, libc::F_SETFD, 0) < 0
                || libc::dup2(moved_userns, sandbox_init::USERNS_FD) < 0
                || libc::fcntl(sandbox_init::USERNS_FD, libc::F_SETFD, 0) < 0
            {
                return Err(std::io::Error::last_os_error());
            }
            // Nothing else crosses into the sandbox: whatever sandboxd inherited from whoever
            // started it (a shell's or a service manager's descriptors) would otherwise reach
            // envd and every process in the sandbox (/proc/self/fd). Marked close-on-exec
            // rather than closed, as the spawn's own error pipe must stay open until exec.
            let first_other = (sandbox_init::USERNS_FD + 1) as libc::c_uint;
            if libc::syscall(
                libc::SYS_close_range,
                first_other,
                libc::c_uint::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            ) < 0
            {
                return Err(std::io::Error::last_os_error());
            }
            // Its own session: a terminal's Ctrl-C must not reach sandboxes.
            if libc::setsid() < 0 || libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = agent
        .spawn_blocking(command)
        .context("spawning the sandbox init")?;
    drop(procs);
    let mut stdin = child.stdin.take().expect("piped");
    let written = stdin.write_all(&serde_json::to_vec(config)?);
    drop(stdin);
    if let Err(e) = written {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e).context("sending the init config");
    }
    Ok(child)
}

/// See [`Sandbox::command`]: `nsenter` into envd's namespaces, `setpriv` to the sandbox's
/// capability bounding set, from inside the sandbox's cgroup.
pub(super) fn enter_command(
    envd_pid: u32,
    cgroup: &SandboxCgroup,
    program: &str,
) -> anyhow::Result<Command> {
    let procs = cgroup.open_procs_files()?;
    let procs_fds: Vec<RawFd> = procs.iter().map(|f| f.as_raw_fd()).collect();
    let bounding: Vec<String> = sandbox_init::KEPT_CAPABILITIES
        .iter()
        .map(|(_, name)| format!("+{name}"))
        .collect();
    let mut command = Command::new("nsenter");
    command
        .args(["--target", &envd_pid.to_string()])
        // envd's root and working directory (its cwd is the sandbox's /): a path given here
        // would be opened in the host's mount namespace.
        .args([
            "--mount", "--uts", "--ipc", "--net", "--pid", "--user", "--root", "--wd",
        ])
        .args([
            "--",
            "setpriv",
            "--bounding-set",
            &format!("-all,{}", bounding.join(",")),
        ])
        .args(["--", program])
        .env_clear()
        .env("PATH", SANDBOX_PATH);
    // SAFETY: only async-signal-safe system calls between fork and exec; `procs` (kept alive
    // by the closure) owns the descriptors.
    unsafe {
        command.pre_exec(move || {
            let _ = &procs;
            // Not sandboxd's own OOM protection: sandboxed processes start at 0, like envd.
            let adj = libc::open(c"/proc/self/oom_score_adj".as_ptr(), libc::O_WRONLY);
            if adj < 0 || libc::write(adj, b"0".as_ptr().cast(), 1) != 1 {
                return Err(std::io::Error::last_os_error());
            }
            libc::close(adj);
            cgroup::join_in_child(&procs_fds)
        });
    }
    Ok(command)
}
