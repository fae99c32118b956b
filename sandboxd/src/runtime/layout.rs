//! Where the runtime keeps things in the data dir, the per-data-dir instance id that names
//! every host resource it creates, and the lock that keeps two sandboxd off one data dir.
//!
//! ```text
//! <data_dir>/runtime/
//!   lock                 flock held while a Runtime is open
//!   instance             6 chars [a-z0-9]: names cgroups, veths and iptables rules
//!   templates/base/      root/ (lower of /), usr-mask/ (upper lower of /usr), FORMAT
//!   layers/<sandbox_id>/ upper/ work/ usr-upper/ usr-work/ merged/ boot_id envd.log
//!   layers/.new-*        a layer being created (removed by open)
//!   layers/.trash-*      a layer being deleted (removed by open)
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

pub(crate) struct Layout {
    root: PathBuf,
}

impl Layout {
    pub fn new(data_dir: &Path) -> Layout {
        Layout {
            root: data_dir.join("runtime"),
        }
    }

    pub fn templates(&self) -> PathBuf {
        self.root.join("templates")
    }

    pub fn layers(&self) -> PathBuf {
        self.root.join("layers")
    }

    pub fn layer(&self, sandbox_id: &str) -> LayerPaths {
        LayerPaths {
            dir: self.layers().join(sandbox_id),
        }
    }

    /// Creates the directories and takes the data-dir lock (held until the returned file drops).
    pub fn lock(&self) -> anyhow::Result<File> {
        fs::create_dir_all(self.layers())
            .with_context(|| format!("creating {}", self.layers().display()))?;
        fs::create_dir_all(self.templates())?;
        let path = self.root.join("lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        // SAFETY: flock on an fd we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            bail!(
                "data dir {} is in use by another sandboxd (pid {})",
                self.root.display(),
                holder.trim()
            );
        }
        file.set_len(0)?;
        write!(file, "{}", std::process::id())?;
        Ok(file)
    }

    /// The instance id of this data dir, created on first use.
    pub fn instance_id(&self) -> anyhow::Result<String> {
        let path = self.root.join("instance");
        match fs::read_to_string(&path) {
            Ok(id) if is_instance_id(id.trim()) => return Ok(id.trim().to_string()),
            Ok(_) | Err(_) => {}
        }
        let id = random_name(6);
        let tmp = self.root.join("instance.tmp");
        fs::write(&tmp, &id)?;
        fs::rename(&tmp, &path)?;
        Ok(id)
    }
}

fn is_instance_id(id: &str) -> bool {
    id.len() == 6
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// The files of one sandbox's writable layer and per-boot state.
#[derive(Clone, Debug)]
pub(crate) struct LayerPaths {
    pub dir: PathBuf,
}

impl LayerPaths {
    pub fn upper(&self) -> PathBuf {
        self.dir.join("upper")
    }
    pub fn work(&self) -> PathBuf {
        self.dir.join("work")
    }
    pub fn usr_upper(&self) -> PathBuf {
        self.dir.join("usr-upper")
    }
    pub fn usr_work(&self) -> PathBuf {
        self.dir.join("usr-work")
    }
    /// Mount point of the root overlay; only ever mounted inside the sandbox's mount namespace.
    pub fn merged(&self) -> PathBuf {
        self.dir.join("merged")
    }
    pub fn boot_id(&self) -> PathBuf {
        self.dir.join("boot_id")
    }
    pub fn envd_log(&self) -> PathBuf {
        self.dir.join("envd.log")
    }
    /// The directories whose contents are the sandbox's own files (what `disk_used` counts).
    pub fn writable_dirs(&self) -> [PathBuf; 2] {
        [self.upper(), self.usr_upper()]
    }
}

/// Sandbox IDs become directory, cgroup and file names: allow only a safe alphabet.
pub(crate) fn check_sandbox_id(id: &str) -> anyhow::Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && !id.starts_with(['.', '-'])
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        bail!("invalid sandbox id {id:?}: use 1-64 characters of [A-Za-z0-9_-]");
    }
    Ok(())
}

/// `len` random characters of `[a-z0-9]` from the kernel's random source.
pub(crate) fn random_name(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = vec![0u8; len];
    fill_random(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

pub(crate) fn fill_random(buf: &mut [u8]) {
    let mut filled = 0;
    while filled < buf.len() {
        // SAFETY: writes at most the remaining length into our buffer.
        let n =
            unsafe { libc::getrandom(buf[filled..].as_mut_ptr().cast(), buf.len() - filled, 0) };
        if n > 0 {
            filled += n as usize;
        }
    }
}

/// A random UUID v4 in its usual text form (for `/proc/sys/kernel/random/boot_id`).
pub(crate) fn random_uuid() -> String {
    let mut b = [0u8; 16];
    fill_random(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_ids_are_restricted_to_a_safe_alphabet() {
        assert!(check_sandbox_id("i1a2b3c4d5e6f7g8h9j0k").is_ok());
        for bad in ["", "..", "a/b", ".hidden", "-x", "a b", &"x".repeat(65)] {
            assert!(check_sandbox_id(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn uuids_have_version_and_variant_bits() {
        let u = random_uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(u, random_uuid());
    }

    #[test]
    fn a_second_lock_on_the_same_data_dir_is_refused() {
        let dir = std::env::temp_dir().join(format!("sbx-layout-{}", random_name(8)));
        let layout = Layout::new(&dir);
        let held = layout.lock().unwrap();
        let err = layout.lock().unwrap_err().to_string();
        assert!(err.contains("in use by another sandboxd"), "{err}");
        drop(held);
        assert!(layout.lock().is_ok());
        let id = layout.instance_id().unwrap();
        assert!(is_instance_id(&id));
        assert_eq!(layout.instance_id().unwrap(), id);
        fs::remove_dir_all(dir).unwrap();
    }
}
