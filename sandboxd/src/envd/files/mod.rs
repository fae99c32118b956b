//! `/files` (being built).

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

use super::http::{Body, json_error};
use super::state::Envd;

pub async fn download(_envd: Arc<Envd>, _req: Request<Incoming>) -> Response<Body> {
    json_error(
        StatusCode::NOT_IMPLEMENTED,
        "file download is not built yet",
    )
}

pub async fn upload(_envd: Arc<Envd>, _req: Request<Incoming>) -> Response<Body> {
    json_error(StatusCode::NOT_IMPLEMENTED, "file upload is not built yet")
}

/// Prefix of the hidden names uploads are staged under before they replace their target.
pub const STAGING_PREFIX: &[u8] = b".envd-upload-";

/// Whether a directory entry is one of envd's upload staging files (watchers skip those).
pub fn is_staging_name(name: &[u8]) -> bool {
    name.starts_with(STAGING_PREFIX)
}
