//! `diskSizeMB` enforced: each sandbox's writable layer lives on a filesystem of its own, an
//! ext4 image of that size in the layer directory, loop-mounted `nosuid,nodev` on the host
//! while the sandbox runs.
//!
//! Why images and not project quotas on one shared filesystem: this kernel has neither XFS
//! quota support nor `CONFIG_QUOTA` (ext4 quotas), so no quota can be set. An image of its own
//! gives the sandbox `ENOSPC` at its size (envd answers 507 on an upload past it), `df` inside
//! shows that size (overlayfs reports its upper filesystem), the disk metric is one `statvfs`,
//! and a full sandbox cannot touch the host's free space beyond its own size. The image is
//! sparse: the host stores only what the sandbox wrote plus a few MiB of ext4 metadata.
//!
//! Formatting costs ~20 ms (an `mkfs.ext4` process), too much for every create: each size is
//! formatted once into `runtime/disk-images/<mb>.img` and new layers get a copy of its data
//! extents (holes stay holes). `noinit_itable` keeps the kernel from zeroing the inode tables of
//! every image in the background: a new image's tables are holes, which read as zeros anyway.
//!
//! Even so, copying and mounting an image costs tens of milliseconds on a busy host, which would
//! more than double a create. [`Spares`] keeps a few empty layers of the size last asked for
//! ready (copied and mounted) as `layers/.spare-<mb>-*`, refilled by a thread in
//! the background; a create renames one into place (the mount moves with its directory).

use std::fs::{self, File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use anyhow::{Context, bail};
use nix::mount::{MntFlags, umount2};

use super::layout::{LayerPaths, disk_images_of};

const MIB: u64 = 1024 * 1024;
/// Smallest size a sandbox may ask for (ext4 metadata alone takes a few MiB).
pub(crate) const MIN_DISK_MB: u64 = 64;
const MOUNT_OPTIONS: &str = "loop,nosuid,nodev,noinit_itable";
/// Empty layers kept ready.
const SPARES: usize = 2;

/// Ready-made empty layers (see the module documentation).
pub(crate) struct Spares {
    layers_dir: PathBuf,
    /// Size of the spares to make; 0 until the first create says.
    wanted_mb: Arc<AtomicU64>,
    wake: Mutex<Option<Sender<()>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl Spares {
    pub fn start(layers_dir: &Path) -> anyhow::Result<Spares> {
        let (wake, woken) = channel::<()>();
        let wanted_mb = Arc::new(AtomicU64::new(0));
        let (dir, wanted) = (layers_dir.to_path_buf(), wanted_mb.clone());
        let worker = std::thread::Builder::new()
            .name("layer-spares".into())
            .spawn(move || {
                // Refills must not compete with the starts they are for: lowest CPU priority
                // for this thread and the `mount` processes it runs (nice is per thread).
                // SAFETY: setpriority(2) on the calling thread (who 0).
                unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 19) };
                // Each wake-up tops the pool up; the loop ends when `stop` drops the sender.
                while woken.recv().is_ok() {
                    let size_mb = wanted.load(Ordering::Relaxed);
                    while size_mb > 0 && spares_of(&dir, size_mb).len() < SPARES {
                        if let Err(e) = make_spare(&dir, size_mb) {
                            eprintln!("sandboxd: preparing an empty layer: {e:#}");
                            break;
                        }
                    }
                }
            })?;
        Ok(Spares {
            layers_dir: layers_dir.to_path_buf(),
            wanted_mb,
            wake: Mutex::new(Some(wake)),
            worker: Mutex::new(Some(worker)),
        })
    }

    /// Moves a ready layer of `size_mb` to `layer` (which must not exist) and asks for more of
    /// that size; `false` if none was ready.
    pub fn take(&self, size_mb: u64, layer: &Path) -> bool {
        self.wanted_mb.store(size_mb, Ordering::Relaxed);
        // A concurrent start may take the same spare first: then try the next.
        let taken = spares_of(&self.layers_dir, size_mb)
            .iter()
            .any(|spare| fs::rename(spare, layer).is_ok());
        if let Some(wake) = &*self.wake.lock().unwrap() {
            let _ = wake.send(());
        }
        taken
    }

    /// Stops the refills and removes the spares (called at close, so nothing stays mounted).
    pub fn stop(&self) -> anyhow::Result<()> {
        drop(self.wake.lock().unwrap().take());
        if let Some(worker) = self.worker.lock().unwrap().take() {
            let _ = worker.join();
        }
        for entry in fs::read_dir(&self.layers_dir)?.flatten() {
            if entry.file_name().to_string_lossy().starts_with(".spare-") {
                let spare = LayerPaths { dir: entry.path() };
                unmount(&spare.fs())?;
                fs::remove_dir_all(&spare.dir)?;
            }
        }
        Ok(())
    }
}

fn spares_of(layers_dir: &Path, size_mb: u64) -> Vec<PathBuf> {
    let prefix = format!(".spare-{size_mb}-");
    fs::read_dir(layers_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect()
}

/// Builds an empty, mounted layer as `.new-*` and renames it to `.spare-<mb>-*` once complete
/// (a crash in between leaves a `.new-*` directory, which the next open removes).
fn make_spare(layers_dir: &Path, size_mb: u64) -> anyhow::Result<()> {
    let suffix = crate::random::name(6);
    let new = LayerPaths {
        dir: layers_dir.join(format!(".new-spare-{suffix}")),
    };
    let built = build_layer(layers_dir, &new, size_mb).and_then(|()| {
        let spare = layers_dir.join(format!(".spare-{size_mb}-{suffix}"));
        Ok(fs::rename(&new.dir, spare)?)
    });
    if built.is_err() && new.dir.exists() {
        let _ = unmount(&new.fs());
        let _ = fs::remove_dir_all(&new.dir);
    }
    built
}

/// Creates the directory `layer` with a fresh image of `size_mb`, mounted.
pub(crate) fn build_layer(
    layers_dir: &Path,
    layer: &LayerPaths,
    size_mb: u64,
) -> anyhow::Result<()> {
    crate::host_files::create_private_dir(&layer.dir)?;
    create_image(&disk_images_of(layers_dir), &layer.image(), size_mb)?;
    fs::create_dir(layer.fs())?;
    fs::create_dir(layer.merged())?;
    mount(&layer.image(), &layer.fs())
}

/// Creates `image`, an empty ext4 filesystem of `size_mb`, as a sparse copy of the formatted
/// image of that size in `cache_dir` (formatted on first use).
fn create_image(cache_dir: &Path, image: &Path, size_mb: u64) -> anyhow::Result<()> {
    let formatted = formatted_image(cache_dir, size_mb)?;
    copy_sparse(&formatted, image)
        .with_context(|| format!("creating the disk image {}", image.display()))
}

/// Mounts `image` at `at` (a directory) unless something is mounted there already.
pub(crate) fn mount(image: &Path, at: &Path) -> anyhow::Result<()> {
    if is_mount_point(at)? {
        return Ok(());
    }
    let output = Command::new("mount")
        .args(["-t", "ext4", "-o", MOUNT_OPTIONS])
        .arg(image)
        .arg(at)
        .output()
        .context("running mount")?;
    if !output.status.success() {
        bail!(
            "mounting {} at {}: {}",
            image.display(),
            at.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Unmounts what is mounted at `at`, if anything. Detached: a sandbox's mount namespace that
/// is still being torn down may hold a reference for a moment; the loop device goes with the
/// last one.
pub(crate) fn unmount(at: &Path) -> anyhow::Result<()> {
    if !at.exists() || !is_mount_point(at)? {
        return Ok(());
    }
    umount2(at, MntFlags::MNT_DETACH).with_context(|| format!("unmounting {}", at.display()))
}

/// (bytes used, bytes in total) of the filesystem mounted at `at`.
pub(crate) fn usage(at: &Path) -> anyhow::Result<(u64, u64)> {
    let stat =
        nix::sys::statvfs::statvfs(at).with_context(|| format!("statvfs of {}", at.display()))?;
    let block = stat.fragment_size();
    let total = stat.blocks() * block;
    Ok((total.saturating_sub(stat.blocks_free() * block), total))
}

/// Removes half-written formatted images a crash left (`.<mb>-<random>` files).
pub(crate) fn remove_leftovers(cache_dir: &Path) -> anyhow::Result<()> {
    for entry in fs::read_dir(cache_dir).into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().starts_with('.') {
            fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

fn is_mount_point(dir: &Path) -> anyhow::Result<bool> {
    let here = fs::metadata(dir).with_context(|| format!("reading {}", dir.display()))?;
    let parent = fs::metadata(dir.join(".."))?;
    Ok(here.dev() != parent.dev())
}

fn formatted_image(cache_dir: &Path, size_mb: u64) -> anyhow::Result<PathBuf> {
    let path = cache_dir.join(format!("{size_mb}.img"));
    if path.exists() {
        return Ok(path);
    }
    crate::host_files::create_private_dir_all(cache_dir)?;
    let tmp = cache_dir.join(format!(".{size_mb}-{}", crate::random::name(6)));
    crate::host_files::create_private_file(&tmp)?.set_len(size_mb * MIB)?;
    let output = Command::new("mkfs.ext4")
        .args(["-q", "-F", "-m", "0"])
        .args([
            "-E",
            "lazy_itable_init=1,lazy_journal_init=1,nodiscard,root_owner=0:0",
        ])
        .arg(&tmp)
        .output()
        .context("running mkfs.ext4 (e2fsprogs)")?;
    if !output.status.success() {
        let _ = fs::remove_file(&tmp);
        bail!(
            "formatting a {size_mb} MiB disk image: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    // Concurrent starts may both format; either result is the same.
    fs::rename(&tmp, &path)?;
    Ok(path)
}

/// Copies the data extents of `from` into a new file `to` of the same size.
fn copy_sparse(from: &Path, to: &Path) -> anyhow::Result<()> {
    let source = File::open(from)?;
    let len = source.metadata()?.len();
    let target = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(to)?;
    target.set_len(len)?;
    let mut offset: i64 = 0;
    while (offset as u64) < len {
        // SAFETY: lseek on a descriptor we own.
        let data = unsafe { libc::lseek(source.as_raw_fd(), offset, libc::SEEK_DATA) };
        if data < 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::ENXIO) {
                break; // only a hole is left
            }
            return Err(err.into());
        }
        // SAFETY: as above.
        let hole = unsafe { libc::lseek(source.as_raw_fd(), data, libc::SEEK_HOLE) };
        if hole < 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        let (mut from_off, mut to_off) = (data, data);
        while from_off < hole {
            // SAFETY: copy_file_range between descriptors we own, with offsets we own.
            let copied = unsafe {
                libc::copy_file_range(
                    source.as_raw_fd(),
                    &mut from_off,
                    target.as_raw_fd(),
                    &mut to_off,
                    (hole - from_off) as usize,
                    0,
                )
            };
            if copied <= 0 {
                return Err(std::io::Error::last_os_error().into());
            }
        }
        offset = hole;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sparse_copy_keeps_data_and_holes() {
        let dir = std::env::temp_dir().join(format!("sbx-disk-{}", crate::random::name(8)));
        fs::create_dir_all(&dir).unwrap();
        let (from, to) = (dir.join("from"), dir.join("to"));
        let file = File::create(&from).unwrap();
        file.set_len(64 * MIB).unwrap();
        use std::os::unix::fs::FileExt;
        file.write_at(b"start", 0).unwrap();
        file.write_at(&vec![7u8; 1 << 20], 32 * MIB).unwrap();
        drop(file);
        copy_sparse(&from, &to).unwrap();
        assert_eq!(fs::read(&from).unwrap(), fs::read(&to).unwrap());
        let allocated = fs::metadata(&to).unwrap().blocks() * 512;
        assert!(allocated < 4 * MIB, "{allocated} bytes allocated");
        fs::remove_dir_all(dir).unwrap();
    }
}
