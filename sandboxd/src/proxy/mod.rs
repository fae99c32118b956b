//! Sandbox traffic routing: `E2b-Sandbox-Id`/`E2b-Sandbox-Port` headers or
//! `<port>-<sandboxID>.<domain>` hosts, forwarded into the sandbox's network namespace. It sits
//! in front of the REST API on the same listener; whatever is not sandbox traffic goes on to it.

mod forward;
mod responses;
mod server;
mod signature;
mod target;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use envd_protocol::{ENVD_PORT, HEADER_SANDBOX_ID, HEADER_SANDBOX_PORT};

use crate::api::{Controller, RouteError};
use crate::url_query;
pub use server::serve;
use signature::SignedRequest;
use target::{Destination, RequestFacts};

/// Puts sandbox routing in front of `api`: every request passes [`dispatch`] first.
pub fn with_sandbox_routing(api: Router, controller: Arc<Controller>) -> Router {
    Router::new()
        .fallback_service(api)
        .layer(middleware::from_fn_with_state(controller, dispatch))
}

async fn dispatch(State(ctl): State<Arc<Controller>>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let header_str = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let host = header_str("host")
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    let query = url_query::decode(req.uri().query());
    let destination = target::classify(&RequestFacts {
        method: req.method().as_str(),
        path: req.uri().path(),
        host: host.as_deref(),
        sandbox_id_header: header_str(HEADER_SANDBOX_ID),
        sandbox_port_header: header_str(HEADER_SANDBOX_PORT),
        is_preflight: req.method() == axum::http::Method::OPTIONS
            && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD),
        is_signed: query.contains_key("signature"),
    });
    match destination {
        Destination::Api => next.run(req).await,
        Destination::Preflight => responses::preflight(req.headers()),
        Destination::BadRequest(message) => responses::bad_request(message),
        Destination::Sandbox { sandbox_id, port } => to_sandbox(&ctl, sandbox_id, port, req).await,
        Destination::SignedFiles => match signed_files_target(&ctl, &req, &query) {
            Some(sandbox_id) => to_sandbox(&ctl, sandbox_id, ENVD_PORT, req).await,
            None => responses::signature_matches_no_sandbox(req.headers()),
        },
        Destination::UnaddressedFiles => responses::bad_request(responses::UNADDRESSED_FILES),
    }
}

async fn to_sandbox(
    ctl: &Arc<Controller>,
    sandbox_id: String,
    port: u16,
    mut req: Request,
) -> Response {
    if target::is_internal_envd_path(port, req.uri().path()) {
        return responses::internal_path(req.headers(), req.uri().path());
    }
    let route = match ctl.route(&sandbox_id).await {
        Ok(route) => route,
        Err(RouteError::NotFound) => {
            return responses::sandbox_not_found(req.headers(), &sandbox_id);
        }
        Err(RouteError::Transitioning) => {
            return responses::transitioning(req.headers(), &sandbox_id);
        }
    };
    if port != ENVD_PORT
        && let Some(token) = &route.traffic_access_token
        && !presents_traffic_token(req.headers(), token)
    {
        return responses::traffic_token_required(req.headers(), &sandbox_id);
    }
    if port != ENVD_PORT
        && let Some(mask) = &route.mask_request_host
    {
        mask_host(&mut req, mask, port);
    }
    forward::forward(route, &sandbox_id, port, req).await
}

/// `network.maskRequestHost`: the sandbox's server sees the mask, `${PORT}` replaced by the
/// port, as its `Host` (validated at create, so always a valid header value).
fn mask_host(req: &mut Request, mask: &str, port: u16) {
    let host = mask.replace("${PORT}", &port.to_string());
    if let Ok(value) = header::HeaderValue::from_str(&host) {
        req.headers_mut().insert(header::HOST, value);
    }
}

fn presents_traffic_token(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get("e2b-traffic-access-token")
        .is_some_and(|v| crate::crypto::constant_time_eq(v.as_bytes(), token.as_bytes()))
}

/// The running sandbox whose envd access token reproduces the v1 signature of a presigned
/// `/files` URL that names no sandbox; `None` when no token does.
fn signed_files_target(
    ctl: &Controller,
    req: &Request,
    query: &HashMap<String, String>,
) -> Option<String> {
    let param = |name: &str| query.get(name).map(String::as_str);
    let signed = SignedRequest {
        path: param("path").unwrap_or(""),
        operation: if req.method() == axum::http::Method::GET {
            "read"
        } else {
            "write"
        },
        username: param("username").unwrap_or(""),
        expiration: param("signature_expiration"),
        signature: param("signature")?,
    };
    ctl.running_with_token(|t| signed.is_signed_with(t)).pop()
}
