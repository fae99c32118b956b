//! `filesystem.Filesystem` (being built).

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, Response};

use super::http::Body;
use super::state::Envd;

#[derive(Default)]
pub struct Watchers {}

/// Serves `/filesystem.Filesystem/*`; hands the request back for other paths.
pub async fn dispatch(
    _envd: Arc<Envd>,
    _path: &str,
    req: Request<Incoming>,
) -> Result<Response<Body>, Request<Incoming>> {
    Err(req)
}
