//! The instance's watchdog: a small process that ends this instance's sandboxes when sandboxd
//! dies without stopping them (`kill -9`, a crash).
//!
//! Running sandboxes die with sandboxd anyway (their init has a parent-death signal), but a
//! frozen one (a memory pause) does not act on SIGKILL until it is thawed, so it would live on
//! until the next start of the same data dir. The watchdog holds the read end of a pipe whose
//! only write end is in sandboxd; when the kernel closes that end, the watchdog thaws and kills
//! every sandbox cgroup of the instance, unmounts the layers' disk images (so that nothing is
//! left mounted even if the data dir is never opened again) and exits. It holds no lock and no
//! other descriptor.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use anyhow::Context;

use super::cgroup::Cgroups;
use super::disk;
use super::layout::LayerPaths;

/// The running watchdog, seen from sandboxd.
pub(crate) struct Watchdog {
    /// The pipe's write end; never written, only closed.
    alive: Option<ChildStdin>,
    child: Child,
}

impl Watchdog {
    /// Starts `sandboxd runtime-watchdog --instance <id> --layers <dir>` in a session of its
    /// own (a terminal's Ctrl-C must not end it before sandboxd).
    pub fn start(exe: &Path, instance: &str, layers_dir: &Path) -> anyhow::Result<Watchdog> {
        let mut command = Command::new(exe);
        command
            .args(["runtime-watchdog", "--instance", instance, "--layers"])
            .arg(layers_dir)
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::null());
        // SAFETY: setsid(2) only, between fork and exec.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command.spawn().context("starting the runtime watchdog")?;
        Ok(Watchdog {
            alive: child.stdin.take(),
            child,
        })
    }

    /// Lets the watchdog run its (then empty-handed) cleanup and waits for it to exit.
    pub fn stop(mut self) {
        drop(self.alive.take());
        let _ = self.child.wait();
    }
}

/// Entry point of `sandboxd runtime-watchdog`: waits until sandboxd's end of the pipe on stdin
/// closes, then kills what is left of the instance's sandboxes and unmounts their layers.
pub fn run(instance: &str, layers_dir: &Path) -> anyhow::Result<()> {
    let mut sink = [0u8; 64];
    let mut stdin = std::io::stdin();
    // Nothing is ever written: a read returns only at EOF (or on an error, which means the
    // same: the pipe is unusable and sandboxd may be gone).
    while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
    // The pids cap is not used by a cleanup.
    let cgroups = Cgroups::detect(instance, 0)?;
    let mut failed = false;
    for cgroup in cgroups.leftovers() {
        if let Err(e) = cgroup.destroy() {
            eprintln!("sandboxd watchdog: {e:#}");
            failed = true;
        }
    }
    cgroups.remove_instance_dirs();
    for entry in std::fs::read_dir(layers_dir)
        .into_iter()
        .flatten()
        .flatten()
    {
        if let Err(e) = disk::unmount(&LayerPaths { dir: entry.path() }.fs()) {
            eprintln!("sandboxd watchdog: {e:#}");
            failed = true;
        }
    }
    if failed {
        anyhow::bail!("some sandboxes of instance {instance} could not be killed");
    }
    Ok(())
}
