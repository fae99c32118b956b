//! `process.Process` (being built).

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, Response};

use super::http::Body;
use super::state::Envd;

#[derive(Default)]
pub struct Table {}

/// Makes envd the reaper of every orphan below it (PID 1 in a sandbox already is).
pub fn become_reaper() {
    // SAFETY: prctl with a constant option and flag.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
}

/// Serves `/process.Process/*`; hands the request back for other paths.
pub async fn dispatch(
    _envd: Arc<Envd>,
    _path: &str,
    req: Request<Incoming>,
) -> Result<Response<Body>, Request<Incoming>> {
    Err(req)
}
