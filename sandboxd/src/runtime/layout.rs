//! Where the runtime keeps things in the data dir, the per-data-dir instance id that names
//! every host resource it creates, and the lock that keeps two sandboxd off one data dir.
//!
//! ```text
//! <data_dir>/runtime/
//!   lock                 flock held while a Runtime is open
//!   instance             6 chars [a-z0-9]: names cgroups, veths and iptables rules
//!
//! /run/sandboxd/instance-<id>.lock   held by the live runtime of each instance
//!   templates/           reserved for templates built per data dir (`base` is machine-wide,
//!                        see `base`)
//!   template-layers/<key>/root   a built template step's files, never modified (see
//!                        `template_step`); .build-* ones are being made (removed by open)
//!   layers/<sandbox_id>/ disk.img (the layer's filesystem, see `disk`), fs/ (where it is
//!                        mounted while the sandbox runs: upper/ work/),
//!                        merged/ lowers/ boot_id idmap
//!   disk-images/<mb>.img an empty formatted filesystem of each size, copied for new layers
//!   images/              pulled image layers by digest (`fromImage`, see `image::store`)
//!   layers/.new-*        a layer being created (removed by open)
//!   layers/.trash-*      a layer being deleted (removed by open)
//! ```

use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::host_files;

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

    pub fn template_layers(&self) -> PathBuf {
        self.root.join("template-layers")
    }

    pub fn images(&self) -> PathBuf {
        self.root.join("images")
    }

    pub fn disk_images(&self) -> PathBuf {
        disk_images_of(&self.layers())
    }

    pub fn layer(&self, sandbox_id: &str) -> LayerPaths {
        LayerPaths {
            dir: self.layers().join(sandbox_id),
        }
    }

    /// Creates `runtime/`, `templates/` and `layers/` 0700 and tightens what an older sandboxd
    /// left open: each template and layer directory, and each layer's disk image. What is inside
    /// a template's root or a layer's upper dirs keeps its modes: the sandbox sees them.
    fn make_private(&self) -> std::io::Result<()> {
        host_files::create_private_dir_all(&self.layers())?;
        host_files::create_private_dir_all(&self.templates())?;
        host_files::create_private_dir_all(&self.template_layers())?;
        host_files::make_private_with_entries(&self.root)?;
        host_files::make_private_with_entries(&self.templates())?;
        host_files::make_private_with_entries(&self.layers())?;
        for entry in fs::read_dir(self.layers())? {
            let layer = LayerPaths { dir: entry?.path() };
            host_files::make_private(&layer.image())?;
        }
        Ok(())
    }

    /// Creates the directories and takes the data-dir lock (held until the returned file drops).
    pub fn lock(&self) -> anyhow::Result<File> {
        self.make_private()
            .with_context(|| format!("preparing {}", self.root.display()))?;
        let path = self.root.join("lock");
        let mut file = host_files::open_private_file(&path)
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

    /// Claims this data dir's instance id machine-wide (created on first use). If a live
    /// process already holds the id, the data dir is a copy of another one: it gets a new id.
    pub fn claim_instance(&self) -> anyhow::Result<InstanceLock> {
        let path = self.root.join("instance");
        let mut id = match fs::read_to_string(&path) {
            Ok(id) if is_instance_id(id.trim()) => id.trim().to_string(),
            Ok(_) | Err(_) => String::new(),
        };
        loop {
            if !id.is_empty() {
                // Someone cleaning up after this id's last crash holds the lock only briefly.
                if let Some(lock) = InstanceLock::acquire(&id, Duration::from_secs(2))? {
                    return Ok(lock);
                }
            }
            id = crate::random::name(6);
            host_files::write_private_atomic(&path, id.as_bytes())?;
        }
    }
}

/// Machine-wide directory of the lock files that sandboxd instances share.
pub(crate) const HOST_LOCK_DIR: &str = "/run/sandboxd";

/// `/run/sandboxd/instance-<id>.lock`, held by the live runtime of instance `id`. A lock file
/// that nobody holds belongs to an instance that died; see [`InstanceLock::dead`].
pub(crate) struct InstanceLock {
    pub id: String,
    path: PathBuf,
    _file: File,
}

impl InstanceLock {
    /// Takes the lock of `id`, waiting up to `wait` for its holder; `None` if it stays held.
    pub fn acquire(id: &str, wait: Duration) -> anyhow::Result<Option<InstanceLock>> {
        host_files::create_private_dir_all(Path::new(HOST_LOCK_DIR))
            .with_context(|| format!("creating {HOST_LOCK_DIR}"))?;
        let path = PathBuf::from(format!("{HOST_LOCK_DIR}/instance-{id}.lock"));
        let deadline = Instant::now() + wait;
        loop {
            let file = host_files::open_private_file(&path)?;
            // SAFETY: flock on an fd we own.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                // The holder we waited for may have removed the file: only a lock on the file
                // that is still at `path` counts.
                let held = file.metadata()?;
                if fs::metadata(&path).is_ok_and(|m| m.ino() == held.ino() && m.dev() == held.dev())
                {
                    return Ok(Some(InstanceLock {
                        id: id.to_string(),
                        path,
                        _file: file,
                    }));
                }
                continue;
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Locks of instances whose process is gone, taken so that only one cleaner works on each.
    pub fn dead() -> Vec<InstanceLock> {
        let Ok(entries) = fs::read_dir(HOST_LOCK_DIR) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let id = name
                    .strip_prefix("instance-")?
                    .strip_suffix(".lock")?
                    .to_string();
                InstanceLock::acquire(&id, Duration::ZERO).ok().flatten()
            })
            .collect()
    }

    /// Deletes the lock file (the instance is gone for good, or has cleaned up after itself).
    pub fn remove(self) {
        let _ = fs::remove_file(&self.path);
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
    /// The sandbox's filesystem image (its size is `diskSizeMB`).
    pub fn image(&self) -> PathBuf {
        self.dir.join("disk.img")
    }
    /// Where the image is mounted on the host while the sandbox runs.
    pub fn fs(&self) -> PathBuf {
        self.dir.join("fs")
    }
    pub fn upper(&self) -> PathBuf {
        self.fs().join("upper")
    }
    pub fn work(&self) -> PathBuf {
        self.fs().join("work")
    }
    /// Mount point of the root overlay; only ever mounted inside the sandbox's mount namespace.
    pub fn merged(&self) -> PathBuf {
        self.dir.join("merged")
    }
    pub fn boot_id(&self) -> PathBuf {
        self.dir.join("boot_id")
    }
    /// The host id range the layer's files belong to ([`super::idmap`]).
    pub fn idmap(&self) -> PathBuf {
        self.dir.join(super::idmap::IDMAP_FILE)
    }
    /// Mount points, inside the sandbox's mount namespace only, of the template's layers as the
    /// sandbox's ids see them (idmapped mounts).
    pub fn lowers(&self) -> PathBuf {
        self.dir.join("lowers")
    }
    /// The roots of the sandbox's own files (overlay upper directories).
    pub fn writable_dirs(&self) -> [PathBuf; 1] {
        [self.upper()]
    }
}

/// `disk-images/` next to the `layers/` directory `layers_dir`.
pub(crate) fn disk_images_of(layers_dir: &Path) -> PathBuf {
    layers_dir.with_file_name("disk-images")
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
    fn a_second_lock_on_the_same_data_dir_is_refused() {
        let dir = std::env::temp_dir().join(format!("sbx-layout-{}", crate::random::name(8)));
        let layout = Layout::new(&dir);
        let held = layout.lock().unwrap();
        let err = layout.lock().unwrap_err().to_string();
        assert!(err.contains("in use by another sandboxd"), "{err}");
        drop(held);
        assert!(layout.lock().is_ok());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_copied_data_dir_gets_its_own_instance_id() {
        let dir = std::env::temp_dir().join(format!("sbx-layout-{}", crate::random::name(8)));
        let layout = Layout::new(&dir);
        let _held = layout.lock().unwrap();
        let first = layout.claim_instance().unwrap();
        assert!(is_instance_id(&first.id));
        // While the first claim is live, the same instance file yields a new id.
        let copy = layout.claim_instance().unwrap();
        assert_ne!(copy.id, first.id);
        let copy_id = copy.id.clone();
        copy.remove();
        // The id now on disk is claimable again once released.
        assert_eq!(layout.claim_instance().unwrap().id, copy_id);
        first.remove();
        fs::remove_dir_all(dir).unwrap();
    }
}
