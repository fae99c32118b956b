//! Builds the `base` template's root filesystem: a Debian root made by `mmdebstrap` from the
//! host's archive, with what E2B's base template offers, then shaped for E2B (the `user`
//! account with passwordless sudo, `/code`, `/.e2b`, a writable `/usr/local`, pip usable
//! without `--break-system-packages`).

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use super::sources::Source;
use crate::runtime::template::{BASE_TEMPLATE_ID, hosts_file};

/// The Debian release the base template is.
pub(crate) const SUITE: &str = "bookworm";

/// What E2B's base template offers, plus `strace` (used inside by the seccomp tests and by
/// anyone debugging a sandbox), on top of mmdebstrap's `minbase` variant: Debian's `required`
/// packages and apt, what Docker's `debian` images hold (`mount`, `hostname`, `passwd`, ...).
pub(crate) const PACKAGES: &[&str] = &[
    "bash",
    "coreutils",
    "ca-certificates",
    "curl",
    "git",
    "procps",
    "iproute2",
    "sudo",
    "python3",
    "python-is-python3",
    "python3-pip",
    "python3-venv",
    "nodejs",
    "npm",
    "strace",
];

const USER: &str = "user";
const USER_ID: u32 = 1000;

/// Makes the root at `root` (a directory that must not exist yet). `build_id` goes into
/// `/.e2b`.
pub(crate) fn build_root(root: &Path, sources: &[Source], build_id: &str) -> anyhow::Result<()> {
    mmdebstrap(root, SUITE, PACKAGES, sources)?;
    shape_for_e2b(root, build_id)
}

/// Runs mmdebstrap (variant `minbase`, plus `include`) for `suite` from `sources` into `root`,
/// a directory that must not exist yet. Images built without a registry (`debian:*`) are this
/// alone.
pub(crate) fn mmdebstrap(
    root: &Path,
    suite: &str,
    include: &[&str],
    sources: &[Source],
) -> anyhow::Result<()> {
    fs::create_dir(root).with_context(|| format!("creating {}", root.display()))?;
    let mut command = Command::new("mmdebstrap");
    command.args(["--variant=minbase", "--mode=root", "--format=directory"]);
    if !include.is_empty() {
        command.arg(format!("--include={}", include.join(",")));
    }
    command
        .arg(suite)
        .arg(root)
        .args(sources.iter().map(Source::line))
        .stdin(Stdio::null())
        // Progress lines go to sandboxd's stderr, where the operator sees the build advance.
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        );
    let status = match command.status() {
        Ok(status) => status,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!(
                "mmdebstrap is not installed: run scripts/setup.sh (or apt-get install mmdebstrap)"
            )
        }
        Err(e) => return Err(e).context("running mmdebstrap"),
    };
    if !status.success() {
        bail!("mmdebstrap failed ({status}); its output is above");
    }
    Ok(())
}

fn shape_for_e2b(root: &Path, build_id: &str) -> anyhow::Result<()> {
    // Debian's own account tools, so /etc/passwd, group, shadow and gshadow stay consistent.
    let uid = USER_ID.to_string();
    run_in(
        root,
        &["useradd", "--create-home", "--uid", &uid, "--user-group"],
        &["--groups", "sudo,users", "--shell", "/bin/bash", USER],
    )?;
    mkdir_p(&root.join("etc/sudoers.d"), 0o755)?;
    write(
        &root.join("etc/sudoers.d/user"),
        "# E2B's `user` runs sudo without a password.\nuser\tALL=(ALL:ALL) NOPASSWD: ALL\n",
        0o440,
    )?;
    mkdir_p(&root.join("code"), 0o777)?;
    write(
        &root.join(".e2b"),
        &format!(
            "ENV_ID={BASE_TEMPLATE_ID}\nTEMPLATE_ID={BASE_TEMPLATE_ID}\nBUILD_ID={build_id}\n"
        ),
        0o644,
    )?;
    // Anyone may install into /usr/local (as in E2B's base, where `user` runs `npm i -g`).
    let local = root.join("usr/local");
    fs::set_permissions(&local, fs::Permissions::from_mode(0o777))?;
    for entry in fs::read_dir(&local)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            fs::set_permissions(entry.path(), fs::Permissions::from_mode(0o777))?;
        }
    }
    // `pip install` works as in E2B's base (PEP 668's marker would refuse it outside a venv).
    for entry in fs::read_dir(root.join("usr/lib"))? {
        let entry = entry?;
        let marker = entry.path().join("EXTERNALLY-MANAGED");
        if entry.file_name().to_string_lossy().starts_with("python3") && marker.exists() {
            fs::remove_file(&marker)?;
        }
    }
    // Per-boot values (hostname and its hosts line) are written by each sandbox's init; these
    // are the defaults a tool sees before that.
    write(&root.join("etc/hostname"), "sandbox\n", 0o644)?;
    write(&root.join("etc/hosts"), &hosts_file("sandbox"), 0o644)?;
    let host_resolv = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    replace_with_file(&root.join("etc/resolv.conf"), &resolv_conf(&host_resolv))?;
    if root.join("etc/mtab").symlink_metadata().is_err() {
        symlink("../proc/self/mounts", root.join("etc/mtab"))?;
    }
    Ok(())
}

/// Runs a command of the new root chrooted into it (no network, no host files needed).
fn run_in(root: &Path, argv: &[&str], more: &[&str]) -> anyhow::Result<()> {
    let output = Command::new("chroot")
        .arg(root)
        .args(argv)
        .args(more)
        .stdin(Stdio::null())
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .output()
        .context("running chroot")?;
    if !output.status.success() {
        bail!(
            "{} in the new root failed: {}",
            argv[0],
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// The host's resolvers, minus loopback ones (unreachable from a sandbox's network namespace).
fn resolv_conf(host: &str) -> String {
    host.lines()
        .filter(|line| {
            let mut words = line.split_whitespace();
            match (words.next(), words.next()) {
                (Some("nameserver"), Some(addr)) => {
                    !(addr.starts_with("127.") || addr == "::1" || addr == "0.0.0.0")
                }
                (Some("search" | "domain" | "options"), _) => true,
                _ => false,
            }
        })
        .map(|line| format!("{line}\n"))
        .collect()
}

fn mkdir_p(path: &Path, mode: u32) -> anyhow::Result<()> {
    fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))?;
    // Explicit chmod: create_dir is subject to the umask.
    fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    Ok(())
}

fn write(path: &Path, contents: &str, mode: u32) -> anyhow::Result<()> {
    fs::write(path, contents).with_context(|| format!("writing {}", path.display()))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// Writes a plain file where the build may have left a symlink (mmdebstrap's resolv.conf).
fn replace_with_file(path: &Path, contents: &str) -> anyhow::Result<()> {
    if path.symlink_metadata().is_ok() {
        fs::remove_file(path).with_context(|| format!("removing {}", path.display()))?;
    }
    write(path, contents, 0o644)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_drops_loopback_resolvers() {
        let host =
            "# generated\nnameserver 127.0.0.53\nnameserver 10.1.2.3\nsearch lan\nnameserver ::1\n";
        assert_eq!(resolv_conf(host), "nameserver 10.1.2.3\nsearch lan\n");
    }
}
