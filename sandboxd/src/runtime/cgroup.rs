//! Per-sandbox cgroups, v1 (one directory per controller hierarchy) or v2 (one unified
//! directory), detected at open. Every sandbox cgroup lives under `sandboxd-<instance>/` at the
//! top of each hierarchy, so crash cleanup finds exactly this instance's cgroups and sandboxd
//! itself is never inside one.

use std::fs;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::Limits;

/// v1 controllers a sandbox joins (cpuset is left alone: it needs cpus/mems set before use).
const V1_CONTROLLERS: &[&str] = &["memory", "cpu", "cpuacct", "pids", "freezer"];
const V2_CONTROLLERS: &str = "+memory +pids +cpu";
const CPU_PERIOD_US: u64 = 100_000;

#[derive(Clone, Debug)]
enum Hierarchy {
    /// Mount point of each needed controller (co-mounted controllers share one).
    V1(Vec<(&'static str, PathBuf)>),
    V2(PathBuf),
}

/// This instance's place in the cgroup hierarchy.
#[derive(Clone, Debug)]
pub(crate) struct Cgroups {
    hierarchy: Hierarchy,
    instance_dir: String,
    /// `pids.max` of the instance directory: all sandboxes of this instance together.
    instance_pids_max: u64,
}

/// One sandbox's cgroup.
#[derive(Clone, Debug)]
pub(crate) struct SandboxCgroup {
    v2: bool,
    /// v1: one directory per distinct hierarchy; v2: exactly one.
    dirs: Vec<PathBuf>,
    memory: PathBuf,
    cpu_acct: PathBuf,
    freezer: PathBuf,
}

impl Cgroups {
    pub fn detect(instance: &str, instance_pids_max: u64) -> anyhow::Result<Cgroups> {
        let mountinfo = fs::read_to_string("/proc/self/mountinfo")?;
        let hierarchy = parse_hierarchy(&mountinfo)?;
        Ok(Cgroups {
            hierarchy,
            instance_dir: format!("sandboxd-{instance}"),
            instance_pids_max,
        })
    }

    /// The same hierarchy, seen as another instance's (to clean up after a dead one).
    pub fn for_instance(&self, instance: &str) -> Cgroups {
        Cgroups {
            hierarchy: self.hierarchy.clone(),
            instance_dir: format!("sandboxd-{instance}"),
            instance_pids_max: self.instance_pids_max,
        }
    }

    pub fn version(&self) -> u8 {
        match self.hierarchy {
            Hierarchy::V1(_) => 1,
            Hierarchy::V2(_) => 2,
        }
    }

    fn instance_dirs(&self) -> Vec<PathBuf> {
        match &self.hierarchy {
            Hierarchy::V1(mounts) => {
                let mut dirs: Vec<PathBuf> = mounts
                    .iter()
                    .map(|(_, m)| m.join(&self.instance_dir))
                    .collect();
                dirs.dedup();
                dirs
            }
            Hierarchy::V2(root) => vec![root.join(&self.instance_dir)],
        }
    }

    fn sandbox_cgroup(&self, sandbox_id: &str) -> SandboxCgroup {
        match &self.hierarchy {
            Hierarchy::V1(mounts) => {
                let dir_of = |ctrl: &str| {
                    let mount = &mounts.iter().find(|(c, _)| *c == ctrl).expect("detected").1;
                    mount.join(&self.instance_dir).join(sandbox_id)
                };
                let mut dirs: Vec<PathBuf> = mounts.iter().map(|(c, _)| dir_of(c)).collect();
                dirs.dedup();
                SandboxCgroup {
                    v2: false,
                    dirs,
                    memory: dir_of("memory"),
                    cpu_acct: dir_of("cpuacct"),
                    freezer: dir_of("freezer"),
                }
            }
            Hierarchy::V2(root) => {
                let dir = root.join(&self.instance_dir).join(sandbox_id);
                SandboxCgroup {
                    v2: true,
                    dirs: vec![dir.clone()],
                    memory: dir.clone(),
                    cpu_acct: dir.clone(),
                    freezer: dir,
                }
            }
        }
    }

    /// Creates the sandbox's cgroup with its limits applied (a stale one of the same name is
    /// emptied and removed first).
    pub fn create(&self, sandbox_id: &str, limits: &Limits) -> anyhow::Result<SandboxCgroup> {
        if let Hierarchy::V2(root) = &self.hierarchy {
            enable_v2_controllers(root)?;
        }
        for dir in self.instance_dirs() {
            ensure_dir(&dir)?;
            if let Hierarchy::V2(_) = self.hierarchy {
                enable_v2_controllers(&dir)?;
            }
            // Re-applied each time: the directory may just have been (re)created.
            write_if_present(&dir.join("pids.max"), &self.instance_pids_max.to_string())?;
        }
        let cg = self.sandbox_cgroup(sandbox_id);
        if cg.dirs.iter().any(|d| d.exists()) {
            cg.destroy()?;
        }
        for dir in &cg.dirs {
            fs::create_dir(dir).with_context(|| format!("creating cgroup {}", dir.display()))?;
        }
        if let Err(e) = cg.apply(limits) {
            let _ = cg.destroy();
            return Err(e);
        }
        Ok(cg)
    }

    /// Sandbox cgroups of this instance still present (after a crash).
    pub fn leftovers(&self) -> Vec<SandboxCgroup> {
        let mut ids: Vec<String> = Vec::new();
        for dir in self.instance_dirs() {
            for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if !ids.contains(&name) {
                        ids.push(name);
                    }
                }
            }
        }
        ids.iter().map(|id| self.sandbox_cgroup(id)).collect()
    }

    /// Removes the instance directories once no sandbox cgroup is left in them.
    pub fn remove_instance_dirs(&self) {
        for dir in self.instance_dirs() {
            let _ = fs::remove_dir(dir);
        }
    }
}

impl SandboxCgroup {
    fn apply(&self, limits: &Limits) -> anyhow::Result<()> {
        let memory = limits.memory_mb * 1024 * 1024;
        let quota = u64::from(limits.cpu_count.max(1)) * CPU_PERIOD_US;
        if self.v2 {
            let dir = &self.dirs[0];
            write(&dir.join("memory.max"), &memory.to_string())?;
            write_if_present(&dir.join("memory.swap.max"), "0")?;
            write(&dir.join("pids.max"), &limits.pids_max.to_string())?;
            write(&dir.join("cpu.max"), &format!("{quota} {CPU_PERIOD_US}"))?;
        } else {
            write(
                &self.memory.join("memory.limit_in_bytes"),
                &memory.to_string(),
            )?;
            // Swap off: memory+swap capped at the memory limit (only with swap accounting).
            write_if_present(
                &self.memory.join("memory.memsw.limit_in_bytes"),
                &memory.to_string(),
            )?;
            write_if_present(&self.memory.join("memory.swappiness"), "0")?;
            let pids = self.dir_with("pids.max")?;
            write(&pids.join("pids.max"), &limits.pids_max.to_string())?;
            let cpu = self.dir_with("cpu.cfs_quota_us")?;
            write(&cpu.join("cpu.cfs_period_us"), &CPU_PERIOD_US.to_string())?;
            write(&cpu.join("cpu.cfs_quota_us"), &quota.to_string())?;
        }
        Ok(())
    }

    fn dir_with(&self, file: &str) -> anyhow::Result<&PathBuf> {
        self.dirs
            .iter()
            .find(|d| d.join(file).exists())
            .with_context(|| format!("no cgroup directory has {file}"))
    }

    /// `cgroup.procs` of every directory, opened for writing: a child writes "0" to each before
    /// exec to join the cgroup, so not even its first instruction runs outside it.
    pub fn open_procs_files(&self) -> anyhow::Result<Vec<OwnedFd>> {
        self.dirs
            .iter()
            .map(|d| {
                let f = fs::OpenOptions::new()
                    .write(true)
                    .open(d.join("cgroup.procs"))
                    .with_context(|| format!("opening {}/cgroup.procs", d.display()))?;
                Ok(OwnedFd::from(f))
            })
            .collect()
    }

    pub fn pids(&self) -> Vec<i32> {
        fs::read_to_string(self.freezer.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    pub fn freeze(&self) -> anyhow::Result<()> {
        self.set_frozen(true)
    }

    pub fn thaw(&self) -> anyhow::Result<()> {
        self.set_frozen(false)
    }

    fn set_frozen(&self, frozen: bool) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        if self.v2 {
            write(
                &self.freezer.join("cgroup.freeze"),
                if frozen { "1" } else { "0" },
            )?;
            let want = if frozen { "frozen 1" } else { "frozen 0" };
            while !read(&self.freezer.join("cgroup.events"))?
                .lines()
                .any(|l| l == want)
            {
                if Instant::now() > deadline {
                    bail!("cgroup {} did not reach '{want}'", self.freezer.display());
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        } else {
            let want = if frozen { "FROZEN" } else { "THAWED" };
            let state = self.freezer.join("freezer.state");
            loop {
                // v1 may stay FREEZING while a task is busy in the kernel; writing again retries.
                write(&state, want)?;
                if read(&state)?.trim() == want {
                    break;
                }
                if Instant::now() > deadline {
                    bail!("cgroup {} did not reach {want}", self.freezer.display());
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        Ok(())
    }

    /// SIGKILLs every process in the cgroup and waits until it is empty. Frozen processes are
    /// thawed so that they can die.
    pub fn kill_all(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.v2 {
                write_if_present(&self.freezer.join("cgroup.kill"), "1")?;
            }
            let pids = self.pids();
            if pids.is_empty() {
                return Ok(());
            }
            for pid in pids {
                // SAFETY: plain kill(2); a pid that already exited gives ESRCH, which is fine.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            let _ = self.thaw();
            if Instant::now() > deadline {
                bail!(
                    "processes in cgroup {} survive SIGKILL",
                    self.freezer.display()
                );
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Kills what is left and removes the cgroup directories.
    pub fn destroy(&self) -> anyhow::Result<()> {
        self.kill_all()?;
        for dir in &self.dirs {
            remove_cgroup_dir(dir)?;
        }
        Ok(())
    }

    /// Total CPU time used by the sandbox, in nanoseconds.
    pub fn cpu_usage_ns(&self) -> anyhow::Result<u64> {
        if self.v2 {
            let usec = stat_value(&read(&self.cpu_acct.join("cpu.stat"))?, "usage_usec")?;
            Ok(usec * 1000)
        } else {
            Ok(read(&self.cpu_acct.join("cpuacct.usage"))?.trim().parse()?)
        }
    }

    /// (bytes charged including page cache, page cache bytes).
    pub fn memory_usage(&self) -> anyhow::Result<(u64, u64)> {
        if self.v2 {
            let current = read(&self.memory.join("memory.current"))?.trim().parse()?;
            let cache = stat_value(&read(&self.memory.join("memory.stat"))?, "file")?;
            Ok((current, cache))
        } else {
            let usage = read(&self.memory.join("memory.usage_in_bytes"))?
                .trim()
                .parse()?;
            let stat = read(&self.memory.join("memory.stat"))?;
            let cache = stat_value(&stat, "total_cache").or_else(|_| stat_value(&stat, "cache"))?;
            Ok((usage, cache))
        }
    }

    /// How many times the sandbox hit its memory limit and the OOM killer ran inside it.
    pub fn oom_kills(&self) -> anyhow::Result<u64> {
        if self.v2 {
            stat_value(&read(&self.memory.join("memory.events"))?, "oom_kill")
        } else {
            stat_value(&read(&self.memory.join("memory.oom_control"))?, "oom_kill")
        }
    }
}

/// Default cap on the processes (and threads) of all sandboxes of one instance together: half
/// of what the host's kernel allows, so that sandboxes can never take the last PIDs from the
/// host's own processes.
pub(crate) fn default_instance_pids_max() -> u64 {
    let limit = |path: &str| {
        fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
    };
    let host = [
        limit("/proc/sys/kernel/pid_max"),
        limit("/proc/sys/kernel/threads-max"),
    ]
    .into_iter()
    .flatten()
    .min()
    .unwrap_or(32_768);
    (host / 2).max(64)
}

/// Moves the calling process into the cgroup whose `cgroup.procs` descriptors are given (from
/// [`SandboxCgroup::open_procs_files`]). Only write(2): safe between fork and exec.
pub(crate) fn join_in_child(procs: &[std::os::fd::RawFd]) -> std::io::Result<()> {
    for fd in procs {
        // "0" means the writing process itself.
        // SAFETY: write(2) of a static one-byte buffer.
        if unsafe { libc::write(*fd, b"0".as_ptr().cast(), 1) } != 1 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

fn parse_hierarchy(mountinfo: &str) -> anyhow::Result<Hierarchy> {
    let mut v1: Vec<(&'static str, PathBuf)> = Vec::new();
    let mut v2: Option<PathBuf> = None;
    for line in mountinfo.lines() {
        // "<id> <parent> <maj:min> <root> <mount point> <opts> [optional...] - <fstype> <src> <super opts>"
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mount_point = left.split(' ').nth(4).unwrap_or_default();
        let mut right = right.split(' ');
        let (fstype, super_opts) = (right.next(), right.nth(1).unwrap_or_default());
        match fstype {
            Some("cgroup2") if Path::new(mount_point).join("cgroup.controllers").exists() => {
                let controllers =
                    fs::read_to_string(Path::new(mount_point).join("cgroup.controllers"))
                        .unwrap_or_default();
                if controllers.split_whitespace().any(|c| c == "memory") {
                    v2.get_or_insert(PathBuf::from(mount_point));
                }
            }
            Some("cgroup") => {
                for ctrl in V1_CONTROLLERS {
                    if super_opts.split(',').any(|o| o == *ctrl)
                        && !v1.iter().any(|(c, _)| c == ctrl)
                    {
                        v1.push((ctrl, PathBuf::from(mount_point)));
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(root) = v2 {
        return Ok(Hierarchy::V2(root));
    }
    let missing: Vec<&str> = V1_CONTROLLERS
        .iter()
        .filter(|c| !v1.iter().any(|(m, _)| m == *c))
        .copied()
        .collect();
    if !missing.is_empty() {
        bail!(
            "cgroups: no cgroup v2 hierarchy with the memory controller, and cgroup v1 lacks {}",
            missing.join(", ")
        );
    }
    v1.sort_by_key(|(c, _)| V1_CONTROLLERS.iter().position(|x| x == c));
    Ok(Hierarchy::V1(v1))
}

fn enable_v2_controllers(dir: &Path) -> anyhow::Result<()> {
    let enabled = read(&dir.join("cgroup.subtree_control"))?;
    if ["memory", "pids", "cpu"]
        .iter()
        .all(|c| enabled.split_whitespace().any(|e| e == *c))
    {
        return Ok(());
    }
    write(&dir.join("cgroup.subtree_control"), V2_CONTROLLERS)
        .context("enabling memory, pids and cpu for sandbox cgroups")
}

fn ensure_dir(dir: &Path) -> anyhow::Result<()> {
    match fs::create_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).with_context(|| format!("creating cgroup {}", dir.display())),
    }
}

/// rmdir of an emptied cgroup can briefly fail with EBUSY while exiting tasks are released.
fn remove_cgroup_dir(dir: &Path) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if Instant::now() > deadline => {
                return Err(e).with_context(|| format!("removing cgroup {}", dir.display()));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(2)),
        }
    }
}

fn stat_value(stat: &str, key: &str) -> anyhow::Result<u64> {
    stat.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
        .with_context(|| format!("no {key} in cgroup stat"))
}

fn read(path: &Path) -> anyhow::Result<String> {
    fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn write(path: &Path, value: &str) -> anyhow::Result<()> {
    fs::write(path, value).with_context(|| format!("writing {value:?} to {}", path.display()))
}

fn write_if_present(path: &Path, value: &str) -> anyhow::Result<()> {
    if path.exists() {
        write(path, value)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_mounts_are_found_by_super_options() {
        let mountinfo = "\
30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct\n\
31 25 0:27 / /sys/fs/cgroup/memory rw,relatime shared:10 - cgroup cgroup rw,memory\n\
32 25 0:28 / /sys/fs/cgroup/pids rw,relatime shared:11 - cgroup cgroup rw,pids\n\
33 25 0:29 / /sys/fs/cgroup/freezer rw,relatime shared:12 - cgroup cgroup rw,freezer\n";
        let Hierarchy::V1(mounts) = parse_hierarchy(mountinfo).unwrap() else {
            panic!("v2")
        };
        let find = |c: &str| mounts.iter().find(|(m, _)| *m == c).unwrap().1.clone();
        assert_eq!(find("cpu"), PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(find("cpuacct"), PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(find("freezer"), PathBuf::from("/sys/fs/cgroup/freezer"));
    }

    #[test]
    fn missing_v1_controllers_are_named() {
        let mountinfo = "31 25 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        let err = parse_hierarchy(mountinfo).unwrap_err().to_string();
        assert!(err.contains("cpu, cpuacct, pids, freezer"), "{err}");
    }

    #[test]
    fn stat_values_match_whole_keys() {
        let stat = "cache 10\ntotal_cache 20\nfile_mapped 3\nfile 7\n";
        assert_eq!(stat_value(stat, "cache").unwrap(), 10);
        assert_eq!(stat_value(stat, "total_cache").unwrap(), 20);
        assert_eq!(stat_value(stat, "file").unwrap(), 7);
        assert!(stat_value(stat, "missing").is_err());
    }

    /// The v2 freeze, kill and removal paths on whatever cgroup2 hierarchy this machine has
    /// (they need no controllers; on a v1-only machine there is nothing to test).
    #[test]
    fn v2_freeze_kill_and_removal_work_on_a_real_hierarchy() {
        use std::os::unix::process::CommandExt;

        let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap();
        let Some(root) = mountinfo.lines().find_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let mount_point = left.split(' ').nth(4)?;
            right
                .starts_with("cgroup2 ")
                .then(|| PathBuf::from(mount_point))
        }) else {
            return;
        };
        let dir = root.join(format!("sandboxd-unit-{}", crate::random::name(8)));
        fs::create_dir(&dir).unwrap();
        let cg = SandboxCgroup {
            v2: true,
            dirs: vec![dir.clone()],
            memory: dir.clone(),
            cpu_acct: dir.clone(),
            freezer: dir.clone(),
        };
        let procs = cg.open_procs_files().unwrap();
        let fds: Vec<_> = procs.iter().map(std::os::fd::AsRawFd::as_raw_fd).collect();
        let mut sleeper = std::process::Command::new("sleep");
        sleeper.arg("1000");
        // SAFETY: only write(2) between fork and exec.
        unsafe { sleeper.pre_exec(move || join_in_child(&fds)) };
        let mut sleeper = sleeper.spawn().unwrap();
        assert_eq!(cg.pids(), vec![sleeper.id() as i32]);
        cg.freeze().unwrap();
        assert!(
            read(&dir.join("cgroup.events"))
                .unwrap()
                .contains("frozen 1")
        );
        cg.thaw().unwrap();
        cg.freeze().unwrap();
        // Destroying a frozen cgroup kills its processes and removes it.
        cg.destroy().unwrap();
        assert!(
            sleeper.wait().unwrap().code().is_none(),
            "sleep was not killed"
        );
        assert!(!dir.exists());
    }
}
