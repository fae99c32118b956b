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

use std::sync::Arc;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Request, Response, StatusCode};
use tokio::io::AsyncWriteExt;

use super::upload_body::{ByteStream, body_stream, decoded_body, part_filename};
use super::{FilesError, STAGING_PREFIX, authorise, target_path};
use crate::envd::filesystem::entry::{METADATA_XATTR_PREFIX, read_metadata};
use crate::envd::filesystem::io_error;
use crate::envd::http::{Body, full_body};
use crate::envd::paths::base_name;
use crate::envd::state::Envd;
use crate::envd::users::User;

/// `POST /files`: writes the body's file (octet-stream, to `path`) or its `file` parts
/// (multipart, each to `path` or its own file name) and lists what was written.
pub async fn upload(envd: Arc<Envd>, req: Request<Incoming>) -> Response<Body> {
    let (user, params) = match authorise(&envd, &req, "write") {
        Ok(v) => v,
        Err(e) => {
            // Dropping the stream leaves the reader discarding the rest of the body.
            drop(body_stream(req.into_body()));
            return e.response();
        }
    };
    let (parts, body) = req.into_parts();
    let query_path = params.get("path").filter(|p| !p.is_empty()).cloned();
    match write_body(&envd, &user, &parts.headers, query_path, body_stream(body)).await {
        Ok(files) => written_json(&files),
        Err(e) => e.response(),
    }
}

/// A file an upload wrote.
pub struct Written {
    path: PathBuf,
    metadata: BTreeMap<String, String>,
}

/// Writes what the body carries, as its Content-Type says; metadata and encoding are checked
/// before anything is written.
async fn write_body(
    envd: &Envd,
    user: &User,
    headers: &HeaderMap,
    query_path: Option<String>,
    body: ByteStream,
) -> Result<Vec<Written>, FilesError> {
    let metadata = metadata_from_headers(headers)
        .map_err(|e| FilesError::bad_request(format!("invalid metadata: {e}")))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let body = decoded_body(headers, body)?;
    match media.as_str() {
        "application/octet-stream" => {
            let raw = query_path.ok_or_else(|| {
                FilesError::bad_request(
                    "the path query parameter is required for application/octet-stream uploads",
                )
            })?;
            let target = target_path(envd, user, &raw)?;
            Ok(vec![write_file(user, target, body, &metadata).await?])
        }
        m if m.starts_with("multipart/") => {
            let boundary = multer::parse_boundary(content_type)
                .map_err(|_| FilesError::bad_request("multipart upload without a boundary"))?;
            let multipart = multer::Multipart::new(body, boundary);
            write_parts(envd, user, multipart, query_path, &metadata).await
        }
        _ => Err(FilesError::bad_request(format!(
            "unsupported content type '{content_type}'"
        ))),
    }
}

/// Writes every `file` part in order; a second part for the same target is refused (the
/// parts before it stay written).
async fn write_parts(
    envd: &Envd,
    user: &User,
    mut multipart: multer::Multipart<'static>,
    query_path: Option<String>,
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<Written>, FilesError> {
    let mut written: Vec<Written> = Vec::new();
    let mut targets = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(written),
            Err(e) => {
                return Err(FilesError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("malformed multipart body: {e}"),
                ));
            }
        };
        if field.name() != Some("file") {
            continue;
        }
        let disposition = field
            .headers()
            .get(header::CONTENT_DISPOSITION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let Some(raw) = query_path.clone().or_else(|| part_filename(disposition)) else {
            return Err(FilesError::bad_request(
                "a file part has neither a path query parameter nor a filename",
            ));
        };
        let target = target_path(envd, user, &raw)?;
        if targets.contains(&target) {
            return Err(FilesError::bad_request(
                "cannot upload multiple files to the same path",
            ));
        }
        targets.push(target.clone());
        written.push(write_file(user, target, Box::pin(field), metadata).await?);
    }
}

/// The answer to a successful upload: `[{"path","name","type":"file","metadata"?}, …]`.
fn written_json(files: &[Written]) -> Response<Body> {
    let mut out = b"[".to_vec();
    for (i, f) in files.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        envd_protocol::json::Writer::object(&mut out, |w| {
            w.field_str("path", &f.path.to_string_lossy());
            w.field_str("name", &base_name(&f.path));
            w.field_str("type", "file");
            if !f.metadata.is_empty() {
                w.field_object("metadata", |w| {
                    for (k, v) in &f.metadata {
                        w.field_str(k, v);
                    }
                });
            }
        });
    }
    out.push(b']');
    let mut resp = Response::new(full_body(out));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

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

fn write_error(path: &Path, e: io::Error) -> FilesError {
    if is_no_space(&e) {
        return FilesError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "not enough disk space available",
        );
    }
    io_error(format!("writing '{}'", path.display()), e).into()
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
pub fn stage(target: &Path, user: &User) -> Result<Staged, FilesError> {
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
        FilesError::from(io_error(context, e))
    })?;
    if std::fs::metadata(&target).is_ok_and(|m| m.is_dir()) {
        return Err(FilesError::bad_request(format!(
            "path '{}' is a directory",
            target.display()
        )));
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
    pub async fn write_all<S, E>(&mut self, mut chunks: S) -> Result<(), FilesError>
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
                chunk.map_err(|e| FilesError::bad_request(format!("reading the upload: {e}")))?;
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
    ) -> Result<PathBuf, FilesError> {
        let target = self.target.clone();
        let fd = self.file.as_raw_fd();
        for (k, v) in metadata {
            let name = CString::new(format!("{METADATA_XATTR_PREFIX}{k}"))
                .map_err(|_| FilesError::bad_request("invalid metadata key"))?;
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

/// Bodies up to this size are written without leaving the request's task.
const SMALL_UPLOAD: usize = 64 * 1024;

/// Writes one file end to end: stage, stream the data, commit; the result belongs to `user`.
///
/// A body that ends within [`SMALL_UPLOAD`] bytes is staged, written and committed right on the
/// request's task: a dozen metadata calls and one write on the sandbox's own filesystem, where
/// each hop to a blocking thread and back would cost more than the work (and most of a small
/// upload's tail latency on a busy machine). A larger body streams through blocking threads.
pub async fn write_file<S, E>(
    user: &User,
    target: PathBuf,
    mut body: S,
    metadata: &BTreeMap<String, String>,
) -> Result<Written, FilesError>
where
    S: futures_util::Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    use futures_util::StreamExt;
    let read_error = |e: E| FilesError::bad_request(format!("reading the upload: {e}"));
    let mut head: Vec<Bytes> = Vec::new();
    let mut head_len = 0;
    while head_len <= SMALL_UPLOAD {
        let Some(chunk) = body.next().await else {
            let mut staged = stage(&target, user)?;
            for chunk in &head {
                io::Write::write_all(&mut staged.file, chunk)
                    .map_err(|e| write_error(&staged.target, e))?;
            }
            return committed(staged, metadata, user);
        };
        let chunk = chunk.map_err(read_error)?;
        head_len += chunk.len();
        head.push(chunk);
    }
    let task_failed = |e: tokio::task::JoinError| {
        FilesError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("upload task failed: {e}"),
        )
    };
    let staged_user = user.clone();
    let mut staged = tokio::task::spawn_blocking(move || stage(&target, &staged_user))
        .await
        .map_err(task_failed)??;
    let head = futures_util::stream::iter(head.into_iter().map(Ok));
    staged.write_all(head.chain(body)).await?;
    let (commit_user, metadata) = (user.clone(), metadata.clone());
    tokio::task::spawn_blocking(move || committed(staged, &metadata, &commit_user))
        .await
        .map_err(task_failed)?
}

/// Commits a fully written file and describes it as the answer lists it.
fn committed(
    staged: Staged,
    metadata: &BTreeMap<String, String>,
    user: &User,
) -> Result<Written, FilesError> {
    let path = staged.commit(metadata, user)?;
    let metadata = read_metadata(&path);
    Ok(Written { path, metadata })
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
