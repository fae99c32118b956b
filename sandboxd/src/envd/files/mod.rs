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
