//! `POST /files`: each file is written aside and then put in place, so a failed upload never
//! leaves a truncated or half-written target.
//!
//! As E2B's envd, an upload is done with envd's own (root) credentials and handed to the user:
//! missing parent directories are created and given to the user, and so is the file, even where
//! the user could not write (sandbox users have passwordless sudo, so refusing guards nothing,
//! and E2B's own tests upload as `user` to `/0/...`).
//!
//! Scheme: the data goes into a hidden `.envd-upload-<random>` file in the target's directory,
//! given to the user and the request's metadata. Only when every
//! byte is written is it renamed over the target (atomic for new and existing files alike; the
//! mode of a replaced file is kept). Watchers never report `.envd-upload-*` names, so they see
//! the rename as CREATE of the real name; a final `fchown` and same-size `ftruncate` on the
//! placed file add CHMOD and WRITE: CREATE, CHMOD, WRITE, the three events E2B's in-place write
//! produces for a new file. (`O_TMPFILE` is not used: writes to it are reported to directory
//! watchers under a kernel-made `#<inode>` name.) A failed upload unlinks its staging file.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use hyper::StatusCode;
use hyper::header::HeaderMap;
use tokio::io::AsyncWriteExt;

use super::STAGING_PREFIX;
use crate::envd::filesystem::entry::{METADATA_XATTR_PREFIX, read_metadata};
use crate::envd::filesystem::io_error;
use crate::envd::users::User;

/// An HTTP error for `/files`: status and message.
pub type HttpError = (StatusCode, String);

const MAX_KEY: usize = 246;
const MAX_TOTAL: usize = 4096;

/// The `X-Metadata-<key>` headers as metadata (key lower-cased, first value wins), validated:
/// printable ASCII keys and values, keys ≤ 246 bytes, Σ(9 + key + value) ≤ 4096.
pub fn metadata_from_headers(headers: &HeaderMap) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let printable = |b: &[u8]| b.iter().all(|c| (0x20..=0x7e).contains(c));
    for name in headers.keys() {
        let Some(key) = name.as_str().strip_prefix("x-metadata-") else {
            continue;
        };
        let Some(value) = headers.get(name) else {
            continue;
        };
        if key.is_empty() || key.len() > MAX_KEY || !printable(key.as_bytes()) {
            return Err(format!(
                "invalid metadata key '{key}': 1 to {MAX_KEY} printable ASCII characters"
            ));
        }
        if !printable(value.as_bytes()) {
            return Err(format!(
                "invalid metadata value for '{key}': printable ASCII only"
            ));
        }
        out.entry(key.to_owned())
            .or_insert_with(|| String::from_utf8_lossy(value.as_bytes()).into_owned());
    }
    let total: usize = out
        .iter()
        .map(|(k, v)| METADATA_XATTR_PREFIX.len() + k.len() + v.len())
        .sum();
    if total > MAX_TOTAL {
        return Err(format!(
            "metadata too large: {total} bytes (limit {MAX_TOTAL})"
        ));
    }
    Ok(out)
}

fn is_no_space(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
}

fn write_error(path: &Path, e: io::Error) -> HttpError {
    if is_no_space(&e) {
        return (
            StatusCode::INSUFFICIENT_STORAGE,
            "not enough disk space available".into(),
        );
    }
    super::from_connect_error(io_error(format!("writing '{}'", path.display()), e))
}

fn staging_name(dir: &Path) -> PathBuf {
    let mut name = String::from_utf8_lossy(STAGING_PREFIX).into_owned();
    name.push_str(&crate::random::hex(8));
    dir.join(name)
}

/// A staged file not yet in place; dropping it discards the data.
pub struct Staged {
    file: File,
    target: PathBuf,
    staging: Option<PathBuf>,
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(name) = self.staging.take() {
            let _ = std::fs::remove_file(name);
        }
    }
}

/// Creates every missing directory of `dir` (0755 minus umask) and gives each new one to `user`.
fn create_dirs_for(dir: &Path, user: &User) -> io::Result<()> {
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|d| std::fs::metadata(d).is_err())
        .collect();
    for d in missing.into_iter().rev() {
        match std::fs::DirBuilder::new().mode(0o755).create(d) {
            Ok(()) => std::os::unix::fs::chown(d, Some(user.uid), Some(user.gid))?,
            // Made meanwhile by a concurrent upload, or a dangling symlink (open reports that).
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Where the bytes for `target` go: parent directories created for `user`, target checked not
/// to be a directory (a symlink is followed to the file it names), staging file given to `user`.
pub fn stage(target: &Path, user: &User) -> Result<Staged, HttpError> {
    let mut target = target.to_path_buf();
    if std::fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_symlink()) {
        if let Ok(real) = std::fs::canonicalize(&target) {
            target = real;
        }
    }
    let parent = target
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    create_dirs_for(&parent, user).map_err(|e| {
        let context = format!("creating directory '{}'", parent.display());
        super::from_connect_error(io_error(context, e))
    })?;
    if std::fs::metadata(&target).is_ok_and(|m| m.is_dir()) {
        return Err((
            StatusCode::BAD_REQUEST,
            format!("path '{}' is a directory", target.display()),
        ));
    }
    let staging = staging_name(&parent);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&staging)
        .map_err(|e| write_error(&target, e))?;
    // SAFETY: fchown on the descriptor just opened. Fails only when envd is not root, and then
    // envd's own user is the only user there is.
    unsafe { libc::fchown(file.as_raw_fd(), user.uid, user.gid) };
    Ok(Staged {
        file,
        target,
        staging: Some(staging),
    })
}

impl Staged {
    /// Writes the body into the staged file. Errors (ENOSPC → 507) leave the target untouched.
    pub async fn write_all<S, E>(&mut self, mut chunks: S) -> Result<(), HttpError>
    where
        S: futures_util::Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        use futures_util::StreamExt;
        let std_file = self
            .file
            .try_clone()
            .map_err(|e| write_error(&self.target, e))?;
        let mut file = tokio::fs::File::from_std(std_file);
        while let Some(chunk) = chunks.next().await {
            let chunk =
                chunk.map_err(|e| (StatusCode::BAD_REQUEST, format!("reading the upload: {e}")))?;
            file.write_all(&chunk)
                .await
                .map_err(|e| write_error(&self.target, e))?;
        }
        // tokio writes in the background: flush to learn about ENOSPC before committing.
        file.flush()
            .await
            .map_err(|e| write_error(&self.target, e))?;
        Ok(())
    }

    /// Applies metadata and renames the file into place. Returns the final path.
    pub fn commit(
        mut self,
        metadata: &BTreeMap<String, String>,
        user: &User,
    ) -> Result<PathBuf, HttpError> {
        let target = self.target.clone();
        let fd = self.file.as_raw_fd();
        for (k, v) in metadata {
            let name = CString::new(format!("{METADATA_XATTR_PREFIX}{k}"))
                .map_err(|_| (StatusCode::BAD_REQUEST, "invalid metadata key".to_string()))?;
            // SAFETY: valid descriptor, name and value buffer.
            if unsafe { libc::fsetxattr(fd, name.as_ptr(), v.as_ptr().cast(), v.len(), 0) } != 0 {
                let e = io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::ENOTSUP) => break, // no xattrs here: metadata is dropped
                    _ => return Err(write_error(&target, e)),
                }
            }
        }
        if let Ok(existing) = std::fs::metadata(&target) {
            // Keep the mode of the file being replaced (an uploaded script stays executable).
            // SAFETY: fchmod on our descriptor.
            unsafe { libc::fchmod(fd, existing.mode() & 0o7777) };
        }
        let staging = self.staging.clone().unwrap_or_default();
        std::fs::rename(&staging, &target).map_err(|e| write_error(&target, e))?;
        self.staging = None;
        // What a watcher of the target sees next: CHMOD, then WRITE (content unchanged).
        // SAFETY: plain calls on our descriptor.
        unsafe {
            libc::fchown(fd, user.uid, user.gid);
            libc::ftruncate(fd, self.file.metadata().map_or(0, |m| m.len() as i64));
        }
        Ok(target)
    }
}

/// Writes one file end to end: stage, stream the data, commit; the result belongs to `user`.
pub async fn write_file<S, E>(
    user: &User,
    target: PathBuf,
    body: S,
    metadata: &BTreeMap<String, String>,
) -> Result<super::Written, HttpError>
where
    S: futures_util::Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let task_failed = |e: tokio::task::JoinError| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("upload task failed: {e}"),
        )
    };
    let staged_user = user.clone();
    let mut staged = tokio::task::spawn_blocking(move || stage(&target, &staged_user))
        .await
        .map_err(task_failed)??;
    staged.write_all(body).await?;
    let (commit_user, metadata) = (user.clone(), metadata.clone());
    tokio::task::spawn_blocking(move || {
        staged.commit(&metadata, &commit_user).map(|path| {
            let metadata = read_metadata(&path);
            super::Written { path, metadata }
        })
    })
    .await
    .map_err(task_failed)?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                hyper::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn metadata_headers_are_validated() {
        let m = metadata_from_headers(&headers(&[
            ("X-Metadata-Owner", "me"),
            ("x-metadata-owner", "second"),
            ("other", "x"),
        ]))
        .unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m["owner"], "me");
        assert!(metadata_from_headers(&headers(&[("x-metadata-k", "caf\u{e9}")])).is_err());
        let long_key = format!("x-metadata-{}", "k".repeat(247));
        assert!(metadata_from_headers(&headers(&[(&long_key, "v")])).is_err());
        let big: Vec<(String, String)> = (0..10)
            .map(|i| (format!("x-metadata-k{i}"), "v".repeat(400)))
            .collect();
        let pairs: Vec<(&str, &str)> = big.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert!(
            metadata_from_headers(&headers(&pairs))
                .unwrap_err()
                .contains("too large")
        );
        assert!(metadata_from_headers(&headers(&[])).unwrap().is_empty());
    }
}
