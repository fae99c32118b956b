//! The sandbox's first process (`sandboxd sandbox-init`), before it becomes envd.
//!
//! It is started by the runtime already inside the sandbox's new PID namespace (as PID 1), its
//! network namespace and its cgroup. It reads an [`InitConfig`] from stdin, enters new mount,
//! UTS and IPC namespaces, builds the root (overlays, `/dev`, `/proc`, `/sys`, `/run`), pivots
//! into it, drops dangerous capabilities from the bounding set, and executes the sandboxd binary
//! from a descriptor opened before the pivot as `sandboxd envd ...` — so envd is PID 1 and the
//! host binary is not visible inside.
//!
//! Every mount is made in the sandbox's own mount namespace: the host never sees one, and they
//! all disappear with the sandbox's last process.

use std::ffi::CString;
use std::fs;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use anyhow::Context;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, unshare};
use nix::sys::stat::{Mode, SFlag, makedev, mknod, umask};
use serde::{Deserialize, Serialize};

use super::layout::LayerPaths;

/// What the host tells the init process (JSON on its stdin).
#[derive(Serialize, Deserialize, Debug)]
pub(crate) struct InitConfig {
    pub hostname: String,
    pub root_lower: PathBuf,
    /// Lower layers of `/usr`, uppermost first.
    pub usr_lowers: Vec<PathBuf>,
    pub layer: PathBuf,
    /// `/etc/hosts` of this boot.
    pub hosts: String,
    /// Files created in the sandbox's `/run` (E2B's markers), path relative to `/run`.
    pub run_files: Vec<(String, String)>,
    pub envd_args: Vec<String>,
    /// envd's whole environment (nothing of the host's leaks through).
    pub envd_env: Vec<(String, String)>,
}

/// Capabilities uid 0 keeps inside a sandbox: what Docker grants by default minus `MKNOD`
/// (no device cgroup guards the host's disks here). Enough for sudo, chown, ping and binding
/// low ports; no mounts, modules, raw I/O, ptrace, clock or network administration.
pub(crate) const KEPT_CAPABILITIES: &[(u32, &str)] = &[
    (0, "chown"),
    (1, "dac_override"),
    (3, "fowner"),
    (4, "fsetid"),
    (5, "kill"),
    (6, "setgid"),
    (7, "setuid"),
    (8, "setpcap"),
    (10, "net_bind_service"),
    (13, "net_raw"),
    (18, "sys_chroot"),
    (29, "audit_write"),
    (31, "setfcap"),
];

/// `/proc` entries made read-only, and ones hidden behind `/dev/null` (host-wide knobs or
/// kernel memory that uid 0 could otherwise reach without any capability).
const PROC_READ_ONLY: &[&str] = &["sys", "sysrq-trigger", "irq", "bus"];
const PROC_MASKED: &[&str] = &["kcore", "keys", "timer_list"];

const DEVICES: &[(&str, u64, u64)] = &[
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

/// Entry point of `sandboxd sandbox-init`; returns only on failure (the host reads the error
/// from the sandbox's envd log).
pub fn sandbox_init() -> anyhow::Result<()> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("reading the init config")?;
    let config: InitConfig = serde_json::from_str(&input).context("parsing the init config")?;
    let exe = open_path("/proc/self/exe")?;
    umask(Mode::empty());
    build_root(&config)?;
    enter_root(
        &LayerPaths {
            dir: config.layer.clone(),
        }
        .merged(),
    )?;
    drop_capabilities()?;
    fs::write("/proc/self/oom_score_adj", "0").context("resetting oom_score_adj")?;
    umask(Mode::from_bits_truncate(0o022));
    redirect_stdin_to_null()?;
    super::seccomp::install()?;
    exec_fd(&exe, &config.envd_args, &config.envd_env)
}

fn build_root(config: &InitConfig) -> anyhow::Result<()> {
    unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWUTS | CloneFlags::CLONE_NEWIPC)
        .context("unsharing mount, uts and ipc namespaces")?;
    mount_at(
        None::<&str>,
        "/",
        None,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None,
    )?;
    nix::unistd::sethostname(&config.hostname).context("setting the hostname")?;

    let layer = LayerPaths {
        dir: config.layer.clone(),
    };
    let root = layer.merged();
    let overlay = |lowers: &[PathBuf], upper: PathBuf, work: PathBuf| {
        let lowers: Vec<String> = lowers.iter().map(|p| p.display().to_string()).collect();
        format!(
            "lowerdir={},upperdir={},workdir={}",
            lowers.join(":"),
            upper.display(),
            work.display()
        )
    };
    let root_opts = overlay(
        std::slice::from_ref(&config.root_lower),
        layer.upper(),
        layer.work(),
    );
    mount_at(
        Some("overlay"),
        &root,
        Some("overlay"),
        MsFlags::empty(),
        Some(&root_opts),
    )?;
    let usr_opts = overlay(&config.usr_lowers, layer.usr_upper(), layer.usr_work());
    mount_at(
        Some("overlay"),
        &root.join("usr"),
        Some("overlay"),
        MsFlags::empty(),
        Some(&usr_opts),
    )?;

    // Per-boot identity, written through the overlay like any other change.
    write_file(
        &root.join("etc/hostname"),
        &format!("{}\n", config.hostname),
        0o644,
    )?;
    write_file(&root.join("etc/hosts"), &config.hosts, 0o644)?;

    build_dev(&root.join("dev"))?;
    build_proc(&root, &layer.boot_id())?;
    let (nosuid, nodev, noexec) = (MsFlags::MS_NOSUID, MsFlags::MS_NODEV, MsFlags::MS_NOEXEC);
    mount_at(
        Some("sysfs"),
        &root.join("sys"),
        Some("sysfs"),
        MsFlags::MS_RDONLY | nosuid | nodev | noexec,
        None,
    )?;

    let run = root.join("run");
    mount_at(
        Some("tmpfs"),
        &run,
        Some("tmpfs"),
        nosuid | nodev,
        Some("mode=755"),
    )?;
    make_dir(&run.join("lock"), 0o1777)?;
    for (rel, contents) in &config.run_files {
        let path = run.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
            fs::set_permissions(parent, fs::Permissions::from_mode(0o755))?;
        }
        write_file(&path, contents, 0o644)?;
    }
    Ok(())
}

fn build_dev(dev: &Path) -> anyhow::Result<()> {
    mount_at(
        Some("tmpfs"),
        dev,
        Some("tmpfs"),
        MsFlags::MS_NOSUID,
        Some("mode=755,size=65536k"),
    )?;
    for (name, major, minor) in DEVICES {
        let path = dev.join(name);
        mknod(
            &path,
            SFlag::S_IFCHR,
            Mode::from_bits_truncate(0o666),
            makedev(*major, *minor),
        )
        .with_context(|| format!("creating {}", path.display()))?;
    }
    make_dir(&dev.join("pts"), 0o755)?;
    mount_at(
        Some("devpts"),
        &dev.join("pts"),
        Some("devpts"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620,gid=5"),
    )?;
    symlink("pts/ptmx", dev.join("ptmx"))?;
    make_dir(&dev.join("shm"), 0o1777)?;
    mount_at(
        Some("shm"),
        &dev.join("shm"),
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=1777"),
    )?;
    for (name, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        symlink(target, dev.join(name))?;
    }
    Ok(())
}

fn build_proc(root: &Path, boot_id_file: &Path) -> anyhow::Result<()> {
    let proc = root.join("proc");
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount_at(Some("proc"), &proc, Some("proc"), flags, None)?;
    // The real boot_id is host-wide; each boot of a sandbox gets its own.
    write_file(
        boot_id_file,
        &format!("{}\n", super::layout::random_uuid()),
        0o444,
    )?;
    bind_read_only(boot_id_file, &proc.join("sys/kernel/random/boot_id"), false)?;
    for name in PROC_READ_ONLY {
        let path = proc.join(name);
        if path.exists() {
            bind_read_only(&path, &path, true)?;
        }
    }
    for name in PROC_MASKED {
        let path = proc.join(name);
        if path.exists() {
            mount_at(
                Some(&root.join("dev/null")),
                &path,
                None,
                MsFlags::MS_BIND,
                None,
            )?;
        }
    }
    Ok(())
}

fn enter_root(root: &Path) -> anyhow::Result<()> {
    nix::unistd::chdir(root).context("entering the new root")?;
    // pivot_root(".", "."): the old root ends up stacked under the new one and is detached.
    nix::unistd::pivot_root(".", ".").context("pivot_root")?;
    umount2(".", MntFlags::MNT_DETACH).context("detaching the host root")?;
    nix::unistd::chdir("/")?;
    Ok(())
}

fn drop_capabilities() -> anyhow::Result<()> {
    let last: u32 = fs::read_to_string("/proc/sys/kernel/cap_last_cap")?
        .trim()
        .parse()?;
    for cap in (0..=last).filter(|c| !KEPT_CAPABILITIES.iter().any(|(k, _)| k == c)) {
        // SAFETY: prctl with integer arguments only.
        if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) } != 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("dropping capability {cap} from the bounding set"));
        }
    }
    // SAFETY: as above.
    unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        )
    };
    Ok(())
}

fn redirect_stdin_to_null() -> anyhow::Result<()> {
    let null = fs::File::open("/dev/null")?;
    nix::unistd::dup2_stdin(&null).context("stdin from /dev/null")?;
    Ok(())
}

fn exec_fd(exe: &OwnedFd, args: &[String], env: &[(String, String)]) -> anyhow::Result<()> {
    let args: Vec<CString> = args
        .iter()
        .map(|a| CString::new(a.as_str()))
        .collect::<Result<_, _>>()?;
    let env: Vec<CString> = env
        .iter()
        .map(|(k, v)| CString::new(format!("{k}={v}")))
        .collect::<Result<_, _>>()?;
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|e| e.as_ptr()).collect();
    envp.push(std::ptr::null());
    // SAFETY: NUL-terminated argv/envp arrays of valid C strings that outlive the call.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            exe.as_raw_fd(),
            c"".as_ptr(),
            argv.as_ptr(),
            envp.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    Err(std::io::Error::last_os_error()).context("executing envd")
}

fn open_path(path: &str) -> anyhow::Result<OwnedFd> {
    let fd = nix::fcntl::open(
        path,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("opening {path}"))?;
    Ok(fd)
}

fn mount_at(
    source: Option<&(impl nix::NixPath + ?Sized)>,
    target: &(impl nix::NixPath + std::fmt::Debug + ?Sized),
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
) -> anyhow::Result<()> {
    mount(source, target, fstype, flags, data)
        .with_context(|| format!("mounting {} on {target:?}", fstype.unwrap_or("bind")))
}

fn bind_read_only(source: &Path, target: &Path, recursive: bool) -> anyhow::Result<()> {
    let rec = if recursive {
        MsFlags::MS_REC
    } else {
        MsFlags::empty()
    };
    mount_at(Some(source), target, None, MsFlags::MS_BIND | rec, None)?;
    let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
    mount_at(
        None::<&str>,
        target,
        None,
        flags | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None,
    )
}

fn make_dir(path: &Path, mode: u32) -> anyhow::Result<()> {
    if !path.is_dir() {
        fs::create_dir(path).with_context(|| format!("creating {}", path.display()))?;
    }
    fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    Ok(())
}

fn write_file(path: &Path, contents: &str, mode: u32) -> anyhow::Result<()> {
    // A file the sandbox replaced by a link or directory is regenerated as a plain file.
    match path.symlink_metadata() {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path)?,
        Ok(m) if !m.is_file() => fs::remove_file(path)?,
        _ => {}
    }
    fs::write(path, contents).with_context(|| format!("writing {}", path.display()))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    Ok(())
}
