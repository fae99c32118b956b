//! The built-in `base` template, assembled offline from this machine's OS.
//!
//! A sandbox's `/` is an overlay whose lower layer is `root/` here: a small tree of its own
//! (generated `/etc`, `/home/user`, empty `/root`, `/code`, `/tmp`, the `/.e2b` file, the usr-merge
//! symlinks and empty mount points). Its `/usr` is a second overlay whose lower layers are
//! `usr-mask/` on top of the host's `/usr`: the mask holds an opaque, world-writable `local/`,
//! so host-only software under `/usr/local` (Go, ...) stays invisible. Only Debian-style
//! merged-`/usr` hosts are supported: `/bin`, `/lib*` and `/sbin` must be symlinks into `/usr`.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// E2B's public ID of `base`, so code that compares template IDs behaves as against the cloud.
pub(crate) const BASE_TEMPLATE_ID: &str = "rki5dems9wqfm4r03t7g";
pub(crate) const BASE_ALIAS: &str = "base";
/// Bump when the tree built here changes, so existing data dirs rebuild it on open.
const FORMAT: &str = "base-3";

const USER_UID: u32 = 1000;
const USER_GID: u32 = 1000;

/// Host `/etc` entries the sandbox needs for the tools in `/usr` to work (dynamic linker cache,
/// alternatives symlinks, PAM for sudo, CA certificates for curl, shell profiles, ...). Identity
/// and host-specific files (passwd, hosts, ssh, ...) are generated or left out.
const HOST_ETC: &[&str] = &[
    "alternatives",
    "bash.bashrc",
    "bindresvport.blacklist",
    "ca-certificates",
    "ca-certificates.conf",
    "debian_version",
    "environment",
    "ethertypes",
    "gai.conf",
    "host.conf",
    "inputrc",
    "issue",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "locale.alias",
    "localtime",
    "login.defs",
    "magic",
    "mime.types",
    "netconfig",
    "networks",
    "os-release",
    "pam.conf",
    "pam.d",
    "perl",
    "profile",
    "profile.d",
    "protocols",
    "python3",
    "python3.11",
    "rpc",
    "security",
    "services",
    "shells",
    "skel",
    "ssl",
    "sudo.conf",
    "terminfo",
    "timezone",
    "vim",
    "xattr.conf",
];
/// Never copied even inside an allowed directory.
const HOST_ETC_EXCLUDED: &[&str] = &["ssl/private"];

pub(crate) struct Template {
    pub template_id: String,
    pub aliases: Vec<String>,
    pub dir: PathBuf,
}

impl Template {
    /// Lower layer of the sandbox's `/`.
    pub fn root(&self) -> PathBuf {
        self.dir.join("root")
    }
    /// Lower layers of the sandbox's `/usr`, uppermost first.
    pub fn usr_lowers(&self) -> Vec<PathBuf> {
        vec![self.dir.join("usr-mask"), PathBuf::from("/usr")]
    }
}

/// Returns the `base` template under `templates`, building it when missing or outdated.
pub(crate) fn ensure_base(templates: &Path) -> anyhow::Result<Template> {
    let dir = templates.join(BASE_ALIAS);
    let template = Template {
        template_id: BASE_TEMPLATE_ID.to_string(),
        aliases: vec![BASE_ALIAS.to_string()],
        dir: dir.clone(),
    };
    if fs::read_to_string(dir.join("FORMAT")).is_ok_and(|f| f == FORMAT) {
        return Ok(template);
    }
    check_merged_usr()?;
    let building = templates.join(format!(".build-{}", crate::random::name(8)));
    build(&building)
        .with_context(|| format!("building the base template in {}", building.display()))?;
    if dir.exists() {
        let old = templates.join(format!(".old-{}", crate::random::name(8)));
        fs::rename(&dir, &old)?;
        remove_tree(&old)?;
    }
    fs::rename(&building, &dir)?;
    Ok(template)
}

/// Removes half-built or replaced templates left by an interrupted run.
pub(crate) fn remove_leftovers(templates: &Path) -> anyhow::Result<()> {
    for entry in fs::read_dir(templates)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(".build-") || name.starts_with(".old-") {
            remove_tree(&entry.path())?;
        }
    }
    Ok(())
}

fn check_merged_usr() -> anyhow::Result<()> {
    for name in ["bin", "sbin", "lib"] {
        let path = Path::new("/").join(name);
        if !path
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            bail!("the base template needs a merged-/usr host: /{name} is not a symlink into /usr");
        }
    }
    Ok(())
}

fn build(root_dir: &Path) -> anyhow::Result<()> {
    // Private on the host; what matters inside is `root/` and below.
    mkdir(root_dir, 0o700)?;
    let root = root_dir.join("root");
    mkdir(&root, 0o755)?;
    // Mount points and the usual top-level tree.
    for (name, mode) in [
        ("usr", 0o755),
        ("dev", 0o755),
        ("proc", 0o555),
        ("sys", 0o555),
        ("run", 0o755),
        ("etc", 0o755),
        ("home", 0o755),
        ("root", 0o700),
        ("code", 0o777),
        ("tmp", 0o1777),
        ("opt", 0o755),
        ("srv", 0o755),
        ("mnt", 0o755),
        ("media", 0o755),
        ("var", 0o755),
        ("var/tmp", 0o1777),
        ("var/log", 0o755),
        ("var/lib", 0o755),
        ("var/cache", 0o755),
        ("var/mail", 0o2775),
        ("var/spool", 0o755),
    ] {
        mkdir(&root.join(name), mode)?;
    }
    symlink("../run", root.join("var/run"))?;
    symlink("../run/lock", root.join("var/lock"))?;
    // Same usr-merge symlinks as the host (lib64 etc. only where the host has them).
    for name in ["bin", "sbin", "lib", "lib32", "lib64", "libx32"] {
        if let Ok(target) = fs::read_link(Path::new("/").join(name)) {
            symlink(target, root.join(name))?;
        }
    }
    write_etc(&root.join("etc"))?;
    write_home(&root.join("home/user"))?;
    write_file(
        &root.join(".e2b"),
        &format!("ENV_ID={BASE_TEMPLATE_ID}\nTEMPLATE_ID={BASE_TEMPLATE_ID}\nBUILD_ID={FORMAT}\n"),
        0o644,
    )?;

    // /usr/local of the sandbox: empty, opaque (hides the host's), writable by everyone.
    let local = root_dir.join("usr-mask/local");
    mkdir(&root_dir.join("usr-mask"), 0o755)?;
    mkdir(&local, 0o777)?;
    set_opaque(&local)?;
    for sub in [
        "bin", "etc", "games", "include", "lib", "sbin", "share", "src",
    ] {
        mkdir(&local.join(sub), 0o777)?;
    }
    write_file(&root_dir.join("FORMAT"), FORMAT, 0o644)
}

fn write_etc(etc: &Path) -> anyhow::Result<()> {
    for name in HOST_ETC {
        let src = Path::new("/etc").join(name);
        if src.symlink_metadata().is_ok() {
            copy_tree(&src, &etc.join(name), name)?;
        }
    }
    symlink("../proc/self/mounts", etc.join("mtab"))?;
    write_file(
        &etc.join("passwd"),
        "root:x:0:0:root:/root:/bin/bash\n\
         daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
         bin:x:2:2:bin:/bin:/usr/sbin/nologin\n\
         sys:x:3:3:sys:/dev:/usr/sbin/nologin\n\
         nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\
         user:x:1000:1000::/home/user:/bin/bash\n",
        0o644,
    )?;
    write_file(
        &etc.join("group"),
        "root:x:0:\ndaemon:x:1:\nbin:x:2:\nsys:x:3:\nadm:x:4:\ntty:x:5:\ndisk:x:6:\n\
         mail:x:8:\nstaff:x:50:\nsudo:x:27:user\nusers:x:100:user\nnogroup:x:65534:\n\
         user:x:1000:\n",
        0o644,
    )?;
    write_file(
        &etc.join("shadow"),
        "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nbin:*:19000:0:99999:7:::\n\
         sys:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\nuser:*:19000:0:99999:7:::\n",
        0o640,
    )?;
    write_file(
        &etc.join("gshadow"),
        "root:*::\ntty:*::\nsudo:*::user\nusers:*::user\nuser:!::\n",
        0o640,
    )?;
    write_file(
        &etc.join("sudoers"),
        "Defaults\tenv_reset\n\
         Defaults\tsecure_path=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"\n\
         root\tALL=(ALL:ALL) ALL\n\
         %sudo\tALL=(ALL:ALL) NOPASSWD: ALL\n\
         user\tALL=(ALL:ALL) NOPASSWD: ALL\n\
         @includedir /etc/sudoers.d\n",
        0o440,
    )?;
    mkdir(&etc.join("sudoers.d"), 0o755)?;
    write_file(
        &etc.join("nsswitch.conf"),
        "passwd: files\ngroup: files\nshadow: files\ngshadow: files\nhosts: files dns\n\
         networks: files\nprotocols: files\nservices: files\nethers: files\nrpc: files\n",
        0o644,
    )?;
    // Per-boot values (hostname, its hosts line) are written at start; these are defaults.
    write_file(&etc.join("hostname"), "sandbox\n", 0o644)?;
    write_file(&etc.join("hosts"), &hosts_file("sandbox"), 0o644)?;
    let host_resolv = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    write_file(&etc.join("resolv.conf"), &resolv_conf(&host_resolv), 0o644)?;
    write_file(&etc.join("fstab"), "", 0o644)?;
    Ok(())
}

fn write_home(home: &Path) -> anyhow::Result<()> {
    mkdir(home, 0o755)?;
    if let Ok(entries) = fs::read_dir("/etc/skel") {
        for entry in entries.flatten() {
            if entry.file_type()?.is_file() {
                let dst = home.join(entry.file_name());
                fs::copy(entry.path(), &dst)?;
                chown(&dst, USER_UID, USER_GID)?;
            }
        }
    }
    chown(home, USER_UID, USER_GID)
}

/// `/etc/hosts` for a sandbox whose hostname is `hostname` (sudo resolves its own host name).
pub(crate) fn hosts_file(hostname: &str) -> String {
    format!(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
         ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n127.0.1.1\t{hostname}\n"
    )
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

fn copy_tree(src: &Path, dst: &Path, rel: &str) -> anyhow::Result<()> {
    if HOST_ETC_EXCLUDED.contains(&rel) {
        return Ok(());
    }
    let meta = src
        .symlink_metadata()
        .with_context(|| format!("reading {}", src.display()))?;
    let kind = meta.file_type();
    if kind.is_symlink() {
        symlink(fs::read_link(src)?, dst)?;
    } else if kind.is_dir() {
        mkdir(dst, meta.permissions().mode() & 0o7777)?;
        for entry in fs::read_dir(src)? {
            let entry = entry?;
            let name = entry.file_name();
            let child_rel = format!("{rel}/{}", name.to_string_lossy());
            copy_tree(&entry.path(), &dst.join(&name), &child_rel)?;
        }
    } else if kind.is_file() {
        fs::copy(src, dst).with_context(|| format!("copying {}", src.display()))?;
        fs::set_permissions(dst, meta.permissions())?;
    }
    Ok(())
}

fn mkdir(path: &Path, mode: u32) -> anyhow::Result<()> {
    fs::create_dir(path).with_context(|| format!("creating {}", path.display()))?;
    // Explicit chmod: create_dir is subject to the umask, and modes like 1777 matter here.
    fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    Ok(())
}

fn write_file(path: &Path, contents: &str, mode: u32) -> anyhow::Result<()> {
    fs::write(path, contents).with_context(|| format!("writing {}", path.display()))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    Ok(())
}

fn chown(path: &Path, uid: u32, gid: u32) -> anyhow::Result<()> {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))
        .with_context(|| format!("chown {}", path.display()))
}

/// Marks an overlay lower directory opaque: nothing below it in lower layers shows through.
fn set_opaque(dir: &Path) -> anyhow::Result<()> {
    let path = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes())?;
    // SAFETY: valid NUL-terminated strings and a one-byte value.
    let rc = unsafe {
        libc::setxattr(
            path.as_ptr(),
            c"trusted.overlay.opaque".as_ptr(),
            b"y".as_ptr().cast(),
            1,
            0,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("setting trusted.overlay.opaque on {}", dir.display()));
    }
    Ok(())
}

/// `rm -rf` that also works on trees with read-only directories (none here are immutable).
pub(crate) fn remove_tree(path: &Path) -> anyhow::Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing {}", path.display())),
    }
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

    #[test]
    fn hosts_file_resolves_the_hostname() {
        assert!(hosts_file("i123").contains("127.0.1.1\ti123\n"));
    }
}
