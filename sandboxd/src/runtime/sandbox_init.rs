//! The sandbox's first process (`sandboxd sandbox-init`), before it becomes envd.
//!
//! It is started by the runtime already inside the sandbox's new PID namespace (as PID 1), its
//! network namespace and its cgroup, still as the host's root, with the sandbox's user namespace
//! as descriptor [`USERNS_FD`]. It reads an [`InitConfig`] from stdin and then:
//! 1. enters new mount, UTS and IPC namespaces (owned by the host's user namespace, so nothing
//!    inside can ever change its mounts);
//! 2. builds the root: the template's layers as idmapped mounts (their files show with their
//!    own owners inside), overlays with the sandbox's writable layer, `/dev`, `/proc`, `/sys`,
//!    `/run`;
//! 3. pivots into it and detaches the host's root;
//! 4. enters the sandbox's user namespace as its root ([`super::idmap`]): from here on it is
//!    the sandbox's uid 0, a host id of the sandbox's own range, with capabilities only there;
//! 5. writes the per-boot files (`/etc/hostname`, `/etc/hosts`, `/run/e2b`) as that root, inside
//!    the new root — a link the sandbox planted in its layer resolves inside it, never on the host;
//! 6. drops dangerous capabilities from the bounding set and executes the sandboxd binary from a
//!    descriptor opened before the pivot as `sandboxd envd ...` — so envd is PID 1 and the host
//!    binary is not visible inside.
//!
//! Every mount is made in the sandbox's own mount namespace: the host never sees one, and they
//! all disappear with the sandbox's last process.

use std::ffi::CString;
use std::fs;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use anyhow::Context;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, unshare};
use nix::sys::stat::{Mode, SFlag, makedev, mknod, umask};
use serde::{Deserialize, Serialize};

use super::idmap::IdRange;
use super::layout::LayerPaths;

/// Descriptor of the sandbox's user namespace in the init process.
pub(crate) const USERNS_FD: i32 = 4;

/// What the host tells the init process (JSON on its stdin).
#[derive(Serialize, Deserialize, Debug)]
pub(crate) struct InitConfig {
    pub hostname: String,
    /// First host id of the sandbox's range (its uid and gid 0).
    pub ids_base: u32,
    /// The template's layers, lower layers of `/`, uppermost first.
    pub lowers: Vec<PathBuf>,
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
    // SAFETY: the runtime hands the namespace over as this descriptor; nothing else owns it.
    let userns = unsafe { OwnedFd::from_raw_fd(USERNS_FD) };
    let ids = IdRange {
        base: config.ids_base,
    };
    // While still the host's root: /proc/self is the host's until the user namespace changes.
    fs::write("/proc/self/oom_score_adj", "0").context("resetting oom_score_adj")?;
    umask(Mode::empty());
    build_root(&config, ids, &userns)?;
    enter_root(
        &LayerPaths {
            dir: config.layer.clone(),
        }
        .merged(),
    )?;
    become_sandbox_root(&userns)?;
    drop(userns);
    umask(Mode::from_bits_truncate(0o022));
    write_boot_files(&config);
    drop_capabilities()?;
    redirect_stdin_to_null()?;
    super::seccomp::install()?;
    exec_fd(&exe, &config.envd_args, &config.envd_env)
}

fn build_root(config: &InitConfig, ids: IdRange, userns: &OwnedFd) -> anyhow::Result<()> {
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
    // The template's layers as the sandbox's ids see them: host root's files are its root's.
    let mut idmapped = Vec::new();
    for (i, lower) in config.lowers.iter().enumerate() {
        let target = layer.lowers().join(i.to_string());
        fs::create_dir_all(&target)?;
        mount_idmapped(lower, &target, userns)
            .with_context(|| format!("idmapping {}", lower.display()))?;
        idmapped.push(target);
    }
    if idmapped.is_empty() {
        anyhow::bail!("no template layer");
    }
    let lowers: Vec<String> = idmapped.iter().map(|p| p.display().to_string()).collect();
    let root_opts = format!(
        "lowerdir={},upperdir={},workdir={}",
        lowers.join(":"),
        layer.upper().display(),
        layer.work().display()
    );
    mount_at(
        Some("overlay"),
        &root,
        Some("overlay"),
        MsFlags::empty(),
        Some(&root_opts),
    )?;

    build_dev(&root.join("dev"), ids)?;
    build_proc(&root, &layer.boot_id())?;
    let (nosuid, nodev, noexec) = (MsFlags::MS_NOSUID, MsFlags::MS_NODEV, MsFlags::MS_NOEXEC);
    mount_at(
        Some("sysfs"),
        &root.join("sys"),
        Some("sysfs"),
        MsFlags::MS_RDONLY | nosuid | nodev | noexec,
        None,
    )?;

    mount_at(
        Some("tmpfs"),
        &root.join("run"),
        Some("tmpfs"),
        nosuid | nodev,
        Some(&format!("mode=755,{}", owner_opts(ids))),
    )?;
    Ok(())
}

/// tmpfs options that make the sandbox's root the owner of a new tmpfs.
fn owner_opts(ids: IdRange) -> String {
    format!("uid={0},gid={0}", ids.base)
}

/// Mounts `source` at `target` as a read-only bind whose owners are shifted into the sandbox's
/// range (an idmapped mount): host id `n` shows as `n` inside and is `base + n` on disk for
/// whatever is copied up into the writable layer.
fn mount_idmapped(source: &Path, target: &Path, userns: &OwnedFd) -> anyhow::Result<()> {
    let source = CString::new(source.as_os_str().as_encoded_bytes())?;
    let target = CString::new(target.as_os_str().as_encoded_bytes())?;
    // SAFETY: system calls on NUL-terminated paths and descriptors we own; the tree descriptor
    // is closed on every path.
    unsafe {
        let tree = libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            source.as_ptr(),
            libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC | libc::AT_RECURSIVE as u32,
        );
        if tree < 0 {
            return Err(std::io::Error::last_os_error()).context("open_tree");
        }
        let tree = OwnedFd::from_raw_fd(tree as i32);
        let attr = libc::mount_attr {
            attr_set: libc::MOUNT_ATTR_IDMAP | libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR_NODEV,
            attr_clr: 0,
            propagation: 0,
            userns_fd: userns.as_raw_fd() as u64,
        };
        if libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_RECURSIVE,
            &raw const attr,
            std::mem::size_of::<libc::mount_attr>(),
        ) != 0
        {
            return Err(std::io::Error::last_os_error()).context("mount_setattr (idmap)");
        }
        if libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            libc::MOVE_MOUNT_F_EMPTY_PATH,
        ) != 0
        {
            return Err(std::io::Error::last_os_error()).context("move_mount");
        }
    }
    Ok(())
}

/// Joins the sandbox's user namespace as its root (uid and gid 0 there, no supplementary
/// groups). Capabilities now apply only to what that namespace owns.
fn become_sandbox_root(userns: &OwnedFd) -> anyhow::Result<()> {
    nix::sched::setns(userns, CloneFlags::CLONE_NEWUSER).context("entering the user namespace")?;
    // SAFETY: plain system calls on integers; the process is single-threaded.
    let ok = unsafe {
        libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) == 0
            && libc::syscall(libc::SYS_setresgid, 0, 0, 0) == 0
            && libc::syscall(libc::SYS_setresuid, 0, 0, 0) == 0
            // A change of ids clears the parent-death signal: set it again, so the sandbox
            // still dies with sandboxd.
            && libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == 0
    };
    if !ok {
        return Err(std::io::Error::last_os_error()).context("becoming the sandbox's root");
    }
    Ok(())
}

/// Per-boot identity and E2B's markers, written as the sandbox's root inside its root, like any
/// other change. A sandbox that broke its own `/etc` or `/run` still boots: a failure here is
/// logged, not fatal.
fn write_boot_files(config: &InitConfig) {
    let mut files = vec![
        (
            PathBuf::from("/etc/hostname"),
            format!("{}\n", config.hostname),
        ),
        (PathBuf::from("/etc/hosts"), config.hosts.clone()),
    ];
    files.extend(
        config
            .run_files
            .iter()
            .map(|(rel, contents)| (Path::new("/run").join(rel), contents.clone())),
    );
    let written = make_dir(Path::new("/run/lock"), 0o1777).and_then(|()| {
        for (path, contents) in &files {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)?;
            }
            write_file(path, contents, 0o644)?;
        }
        Ok(())
    });
    if let Err(e) = written {
        eprintln!("sandbox-init: writing the per-boot files: {e:#}");
    }
}

fn build_dev(dev: &Path, ids: IdRange) -> anyhow::Result<()> {
    mount_at(
        Some("tmpfs"),
        dev,
        Some("tmpfs"),
        MsFlags::MS_NOSUID,
        Some(&format!("mode=755,size=65536k,{}", owner_opts(ids))),
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
    // gid 5 is `tty` inside, as on the host.
    mount_at(
        Some("devpts"),
        &dev.join("pts"),
        Some("devpts"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some(&format!(
            "newinstance,ptmxmode=0666,mode=0620,gid={}",
            ids.host(5)
        )),
    )?;
    symlink("pts/ptmx", dev.join("ptmx"))?;
    make_dir(&dev.join("shm"), 0o1777)?;
    mount_at(
        Some("shm"),
        &dev.join("shm"),
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(&format!("mode=1777,{}", owner_opts(ids))),
    )?;
    for (name, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        symlink(target, dev.join(name))?;
    }
    // Made by the host's root: hand them to the sandbox's.
    for entry in fs::read_dir(dev)? {
        let path = entry?.path();
        if path != dev.join("pts") && path != dev.join("shm") {
            std::os::unix::fs::lchown(&path, Some(ids.base), Some(ids.base))?;
        }
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
        &format!("{}\n", crate::random::uuid_v4()),
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
