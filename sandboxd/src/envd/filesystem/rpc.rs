//! The filesystem RPC handlers.

use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use envd_protocol::filesystem::{
    CreateWatcherRequest, CreateWatcherResponse, EntryInfo, EntryResponse, GetWatcherEventsRequest,
    GetWatcherEventsResponse, ListDirRequest, ListDirResponse, MakeDirRequest, MoveRequest,
    RemoveRequest, RemoveResponse, RemoveWatcherRequest, RemoveWatcherResponse, StatRequest,
    WatchDirRequest, WatchDirResponse, WatchEvent,
};
use envd_protocol::{Code, ConnectError};

use super::entry::{entry_from_metadata, entry_info};
use super::io_error;
use super::watch::{Watch, WatchOptions, spawn_stream};
use crate::envd::connect::{Ctx, StreamWriter, client_gone, pump};
use crate::envd::creds::as_user;
use crate::envd::paths::{base_name, resolve};
use crate::envd::users::{Accounts, User};

/// The user, their accounts view and the resolved path of a request.
fn target(ctx: &Ctx, path: &str) -> Result<(User, Arc<Accounts>, PathBuf), ConnectError> {
    let user = ctx.user()?;
    let path = resolve(path, &user, ctx.envd.config().default_workdir.as_deref())?;
    Ok((user, ctx.envd.users.accounts(), path))
}

fn entry_of(path: &Path, accounts: &Accounts) -> Result<EntryInfo, ConnectError> {
    entry_info(path, path, base_name(path), accounts).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => ConnectError::new(
            Code::NotFound,
            format!("file not found: {}: {e}", path.display()),
        ),
        _ => io_error(format!("stat '{}'", path.display()), e),
    })
}

pub async fn stat(ctx: Ctx, req: StatRequest) -> Result<EntryResponse, ConnectError> {
    let (user, accounts, path) = target(&ctx, &req.path)?;
    as_user(&user, move || {
        Ok(EntryResponse {
            entry: Some(entry_of(&path, &accounts)?),
        })
    })
    .await
}

/// Creates every missing directory of `path` (0755 minus umask, owned by the calling user).
fn create_dirs(path: &Path) -> Result<(), ConnectError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(path)
        .map_err(|e| io_error(format!("creating directory '{}'", path.display()), e))
}

pub async fn make_dir(ctx: Ctx, req: MakeDirRequest) -> Result<EntryResponse, ConnectError> {
    let (user, accounts, path) = target(&ctx, &req.path)?;
    as_user(&user, move || {
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => {
                return Err(ConnectError::new(
                    Code::AlreadyExists,
                    format!("directory already exists: {}", path.display()),
                ));
            }
            Ok(_) => {
                return Err(ConnectError::new(
                    Code::InvalidArgument,
                    format!(
                        "path already exists but is not a directory: {}",
                        path.display()
                    ),
                ));
            }
            Err(_) => create_dirs(&path)?,
        }
        Ok(EntryResponse {
            entry: Some(entry_of(&path, &accounts)?),
        })
    })
    .await
}

pub async fn move_entry(ctx: Ctx, req: MoveRequest) -> Result<EntryResponse, ConnectError> {
    let (user, accounts, source) = target(&ctx, &req.source)?;
    let destination = resolve(
        &req.destination,
        &user,
        ctx.envd.config().default_workdir.as_deref(),
    )?;
    as_user(&user, move || {
        if let Err(e) = std::fs::symlink_metadata(&source) {
            return Err(match e.kind() {
                io::ErrorKind::NotFound => ConnectError::new(
                    Code::NotFound,
                    format!("source file not found: {}: {e}", source.display()),
                ),
                _ => io_error(format!("stat '{}'", source.display()), e),
            });
        }
        if let Some(parent) = destination.parent() {
            create_dirs(parent)?;
        }
        std::fs::rename(&source, &destination).map_err(|e| {
            let context = format!(
                "moving '{}' to '{}'",
                source.display(),
                destination.display()
            );
            match e.raw_os_error() {
                Some(libc::EACCES | libc::EPERM) => io_error(context, e),
                _ => ConnectError::new(Code::Internal, format!("{context}: {e}")),
            }
        })?;
        Ok(EntryResponse {
            entry: Some(entry_of(&destination, &accounts)?),
        })
    })
    .await
}

pub async fn remove(ctx: Ctx, req: RemoveRequest) -> Result<RemoveResponse, ConnectError> {
    let (user, _, path) = target(&ctx, &req.path)?;
    as_user(&user, move || {
        let result = match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Default::default()),
            Err(e) => Err(e),
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(&path),
            Ok(_) => std::fs::remove_file(&path),
        };
        match result {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                let e = io_error(format!("removing '{}'", path.display()), e);
                // Only permission problems keep their own code; the rest is `internal`.
                Err(if e.code == Code::PermissionDenied {
                    e
                } else {
                    ConnectError::new(Code::Internal, e.message)
                })
            }
            _ => Ok(Default::default()),
        }
    })
    .await
}

pub async fn list_dir(ctx: Ctx, req: ListDirRequest) -> Result<ListDirResponse, ConnectError> {
    let (user, accounts, path) = target(&ctx, &req.path)?;
    let depth = req.depth.max(1);
    as_user(&user, move || {
        let real = std::fs::canonicalize(&path).map_err(|e| match e.raw_os_error() {
            Some(libc::ENOENT) => ConnectError::new(
                Code::NotFound,
                format!("path not found: {}: {e}", path.display()),
            ),
            Some(libc::ELOOP) => ConnectError::new(
                Code::FailedPrecondition,
                format!("symlink loop at {}: {e}", path.display()),
            ),
            _ => io_error(format!("resolving '{}'", path.display()), e),
        })?;
        if !real.is_dir() {
            return Err(ConnectError::new(
                Code::InvalidArgument,
                format!("path is not a directory: {}", path.display()),
            ));
        }
        let mut entries = Vec::new();
        walk(&real, &path, depth, &accounts, &mut entries, true)?;
        Ok(ListDirResponse { entries })
    })
    .await
}

/// Depth-first, pre-order, name-sorted listing of `real` (reported under `reported`); does not
/// descend into symlinks. Entries that vanish meanwhile are skipped; so are subdirectories the
/// user may not read (the requested directory itself must be readable).
fn walk(
    real: &Path,
    reported: &Path,
    depth: u32,
    accounts: &Accounts,
    out: &mut Vec<EntryInfo>,
    top: bool,
) -> Result<(), ConnectError> {
    let read = match std::fs::read_dir(real) {
        Ok(r) => r,
        Err(e) if !top && matches!(e.raw_os_error(), Some(libc::ENOENT | libc::EACCES)) => {
            return Ok(());
        }
        Err(e) => {
            return Err(io_error(
                format!("reading directory '{}'", reported.display()),
                e,
            ));
        }
    };
    let mut children: Vec<_> = read.filter_map(Result::ok).collect();
    children.sort_by_key(|c| c.file_name());
    for child in children {
        let name = child.file_name();
        let (child_real, child_reported) = (real.join(&name), reported.join(&name));
        let meta = match std::fs::symlink_metadata(&child_real) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(ConnectError::new(
                    Code::Internal,
                    format!("stat '{}': {e}", child_reported.display()),
                ));
            }
        };
        let name = name.to_string_lossy().into_owned();
        let entry = entry_from_metadata(&child_real, &child_reported, name, &meta, accounts)
            .map_err(|e| {
                ConnectError::new(
                    Code::Internal,
                    format!("stat '{}': {e}", child_reported.display()),
                )
            })?;
        out.push(entry);
        if depth > 1 && meta.is_dir() {
            walk(
                &child_real,
                &child_reported,
                depth - 1,
                accounts,
                out,
                false,
            )?;
        }
    }
    Ok(())
}

fn watch_options(req: &WatchDirRequest) -> WatchOptions {
    WatchOptions {
        recursive: req.recursive,
        include_entry: req.include_entry,
        allow_network_mounts: req.allow_network_mounts,
    }
}

async fn arm(ctx: &Ctx, req: &WatchDirRequest) -> Result<Watch, ConnectError> {
    let (user, accounts, path) = target(ctx, &req.path)?;
    let opts = watch_options(req);
    let watcher_user = user.clone();
    as_user(&user, move || {
        Watch::new(&watcher_user, accounts, path, &opts)
    })
    .await
}

pub async fn watch_dir(
    ctx: Ctx,
    req: WatchDirRequest,
    out: StreamWriter,
) -> (StreamWriter, Result<(), ConnectError>) {
    let result = async {
        let watch = arm(&ctx, &req).await?;
        let mut events = spawn_stream(watch);
        out.send(&WatchDirResponse::new(
            WatchEvent::Start(Default::default()),
        ))
        .await
        .map_err(|_| client_gone())?;
        pump(
            &ctx,
            &out,
            &mut events,
            |e| e.map(|e| WatchDirResponse::new(WatchEvent::Filesystem(e))),
            || WatchDirResponse::new(WatchEvent::Keepalive(Default::default())),
        )
        .await
    }
    .await;
    (out, result)
}

pub async fn create_watcher(
    ctx: Ctx,
    req: CreateWatcherRequest,
) -> Result<CreateWatcherResponse, ConnectError> {
    let watch = arm(&ctx, &req).await?;
    Ok(CreateWatcherResponse {
        watcher_id: ctx.envd.watchers.add(watch),
    })
}

pub async fn get_watcher_events(
    ctx: Ctx,
    req: GetWatcherEventsRequest,
) -> Result<GetWatcherEventsResponse, ConnectError> {
    Ok(GetWatcherEventsResponse {
        events: ctx.envd.watchers.take(&req.watcher_id).await?,
    })
}

pub async fn remove_watcher(
    ctx: Ctx,
    req: RemoveWatcherRequest,
) -> Result<RemoveWatcherResponse, ConnectError> {
    ctx.envd.watchers.remove(&req.watcher_id)?;
    Ok(Default::default())
}
