//! `filesystem.Filesystem`: Stat, MakeDir, Move, ListDir, Remove and directory watches. Every
//! operation runs with the user's filesystem credentials, so permissions apply and new entries
//! belong to the user.

pub mod entry;
mod rpc;
mod watch;

use std::sync::Arc;

use envd_protocol::filesystem::path;
use envd_protocol::{Code, ConnectError};
use hyper::body::Incoming;
use hyper::{Request, Response};

pub use watch::Watchers;

use super::connect::{server_stream, unary};
use super::http::Body;
use super::state::Envd;

/// Maps an OS error to a Connect error, keeping the OS message: missing → `not_found`,
/// EACCES/EPERM → `permission_denied`, anything else → `internal`.
pub fn io_error(context: impl std::fmt::Display, e: std::io::Error) -> ConnectError {
    let code = match e.raw_os_error() {
        Some(libc::ENOENT) => Code::NotFound,
        Some(libc::EACCES | libc::EPERM) => Code::PermissionDenied,
        _ => Code::Internal,
    };
    ConnectError::new(code, format!("{context}: {e}"))
}

/// Serves `/filesystem.Filesystem/*`; hands the request back for other paths.
pub async fn dispatch(
    envd: Arc<Envd>,
    path: &str,
    req: Request<Incoming>,
) -> Result<Response<Body>, Request<Incoming>> {
    Ok(match path {
        path::STAT => unary(envd, req, rpc::stat).await,
        path::MAKE_DIR => unary(envd, req, rpc::make_dir).await,
        path::MOVE => unary(envd, req, rpc::move_entry).await,
        path::LIST_DIR => unary(envd, req, rpc::list_dir).await,
        path::REMOVE => unary(envd, req, rpc::remove).await,
        path::WATCH_DIR => server_stream(envd, req, rpc::watch_dir).await,
        path::CREATE_WATCHER => unary(envd, req, rpc::create_watcher).await,
        path::GET_WATCHER_EVENTS => unary(envd, req, rpc::get_watcher_events).await,
        path::REMOVE_WATCHER => unary(envd, req, rpc::remove_watcher).await,
        _ => return Err(req),
    })
}
