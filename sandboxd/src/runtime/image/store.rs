//! The layer store: unpacked layers and config blobs cached by digest, so a second pull of an
//! image (or of another image sharing layers) downloads nothing it already has.
//!
//! ```text
//! <store>/                      0700 root: a layer holds setuid files owned by host root
//!   layers/sha256/<hex>/        an unpacked layer, never modified once in place
//!   layers/local/<name>/        a layer built here (debian:* without a registry)
//!   blobs/sha256/<hex>          a verified config blob
//!   tmp/<random>/               downloads and unpacks in progress
//! ```
//!
//! Everything is made under `tmp/` and renamed into place, so a layer directory either does not
//! exist or is complete; two pulls of the same digest at once both unpack it and the second
//! rename finds the first one's layer there and discards its own. Scratch a crashed pull left is
//! removed by the next pull, a day later.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::ImageError;
use crate::host_files;

/// Scratch older than this belongs to no pull any more.
const STALE_SCRATCH: Duration = Duration::from_secs(24 * 3600);

pub(super) struct Store {
    root: PathBuf,
}

impl Store {
    pub fn open(root: &Path) -> Result<Store, ImageError> {
        let store = Store {
            root: root.to_path_buf(),
        };
        for dir in [
            root.to_path_buf(),
            store.root.join("layers/sha256"),
            store.root.join("layers/local"),
            store.root.join("blobs/sha256"),
            store.tmp(),
        ] {
            host_files::create_private_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
        }
        store.remove_stale_scratch();
        Ok(store)
    }

    /// Scratch directories a crashed pull left. A live pull's directory is younger: its
    /// download and unpack write into it all along, and a local build takes minutes.
    fn remove_stale_scratch(&self) {
        let Ok(entries) = fs::read_dir(self.tmp()) else {
            return;
        };
        for entry in entries.flatten() {
            let age = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok());
            if age.is_some_and(|age| age > STALE_SCRATCH) {
                let _ = crate::runtime::template::remove_tree(&entry.path());
            }
        }
    }

    /// Where the layer with blob digest `digest` (`sha256:<hex>`) is unpacked.
    pub fn layer(&self, digest: &str) -> Result<PathBuf, ImageError> {
        Ok(self.root.join("layers/sha256").join(sha256_hex(digest)?))
    }

    /// Where a layer built here under `name` lives.
    pub fn local_layer(&self, name: &str) -> PathBuf {
        self.root.join("layers/local").join(name)
    }

    /// Where the blob `digest` (a config) is kept.
    pub fn blob(&self, digest: &str) -> Result<PathBuf, ImageError> {
        Ok(self.root.join("blobs/sha256").join(sha256_hex(digest)?))
    }

    /// The store's directory (local builds lock it).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A new private scratch directory, removed when the guard drops.
    pub fn scratch(&self) -> Result<Scratch, ImageError> {
        let path = self.tmp().join(crate::random::name(12));
        host_files::create_private_dir(&path).map_err(|e| io_error(&path, e))?;
        Ok(Scratch { path })
    }

    fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }
}

/// A directory under `tmp/`; whatever is still in it when it drops is removed.
pub(super) struct Scratch {
    pub path: PathBuf,
}

impl Scratch {
    /// Moves `self.path/<name>` to `dest` atomically. When another pull put `dest` in place
    /// first, that one is kept (same digest, same content) and this copy is dropped.
    pub fn install(&self, name: &str, dest: &Path) -> Result<(), ImageError> {
        match fs::rename(self.path.join(name), dest) {
            Ok(()) => Ok(()),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::AlreadyExists | ErrorKind::DirectoryNotEmpty
                ) || (e.raw_os_error() == Some(libc::ENOTEMPTY)) =>
            {
                Ok(())
            }
            Err(e) => Err(io_error(dest, e)),
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = crate::runtime::template::remove_tree(&self.path) {
            eprintln!("sandboxd: {e:#}");
        }
    }
}

/// The hex of a `sha256:<64 hex>` digest; anything else is refused (it becomes a path).
fn sha256_hex(digest: &str) -> Result<&str, ImageError> {
    match digest.strip_prefix("sha256:") {
        Some(hex)
            if hex.len() == 64
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) =>
        {
            Ok(hex)
        }
        _ => Err(ImageError::Registry(format!(
            "unsupported digest {digest:?} (sandboxd takes sha256 digests)"
        ))),
    }
}

fn io_error(path: &Path, e: std::io::Error) -> ImageError {
    ImageError::Io(format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sha256_digests_become_paths() {
        let hex = "a".repeat(64);
        assert_eq!(sha256_hex(&format!("sha256:{hex}")).unwrap(), hex);
        for bad in [
            "sha512:00",
            "sha256:../../etc",
            &format!("sha256:{}", "A".repeat(64)),
            &format!("sha256:{hex}/x"),
        ] {
            assert!(sha256_hex(bad).is_err(), "{bad}");
        }
    }
}
