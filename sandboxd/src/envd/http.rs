//! Request routing: CORS, the access-token check, and dispatch to `/files`, the small HTTP
//! endpoints and the Connect services.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::state::Envd;
use super::{endpoints, files, filesystem, process};
use crate::crypto::constant_time_eq;

pub type Body = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

pub fn full_body(data: impl Into<Bytes>) -> Body {
    Full::new(data.into())
        .map_err(|never: Infallible| match never {})
        .boxed()
}

pub fn empty_body() -> Body {
    Empty::new()
        .map_err(|never: Infallible| match never {})
        .boxed()
}

/// `{"code":<status>,"message":"…"}`, the error body of every envd HTTP endpoint.
pub fn json_error(status: StatusCode, message: &str) -> Response<Body> {
    let mut body = Vec::with_capacity(32 + message.len());
    envd_protocol::json::Writer::object(&mut body, |w| {
        w.field_num("code", status.as_u16().into());
        w.field_str("message", message);
    });
    let mut resp = Response::new(full_body(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    resp
}

/// A 200 JSON response.
pub fn json_ok(body: Vec<u8>) -> Response<Body> {
    let mut resp = Response::new(full_body(body));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

pub fn no_content() -> Response<Body> {
    let mut resp = Response::new(empty_body());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    resp
}

const UNAUTHORIZED: &str =
    "unauthorized access, please provide a valid access token or method signing if supported";

/// Whether the request carries the configured access token (always true when none is set).
pub fn has_access_token(envd: &Envd, headers: &HeaderMap) -> bool {
    match envd.config().access_token {
        None => true,
        Some(token) => headers
            .get(envd_protocol::HEADER_ACCESS_TOKEN)
            .is_some_and(|v| constant_time_eq(v.as_bytes(), token.as_bytes())),
    }
}

pub async fn handle(envd: Arc<Envd>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let preflight = req.method() == Method::OPTIONS;
    let requested_headers = req
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned();
    let mut resp = if preflight {
        no_content()
    } else {
        route(envd, req).await
    };
    add_cors(resp.headers_mut(), preflight, requested_headers);
    Ok(resp)
}

/// CORS as envd does it (docs/envd.md, "CORS"): any origin, no credentials.
fn add_cors(h: &mut HeaderMap, preflight: bool, requested_headers: Option<HeaderValue>) {
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    if preflight {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("HEAD, GET, POST, PUT, PATCH, DELETE"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            requested_headers.unwrap_or(HeaderValue::from_static("*")),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("7200"),
        );
    } else {
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(
                "Grpc-Status, Grpc-Message, Grpc-Status-Details-Bin, Location, Cache-Control, X-Content-Type-Options",
            ),
        );
    }
}

fn not_found() -> Response<Body> {
    let mut resp = Response::new(full_body("404 page not found\n"));
    *resp.status_mut() = StatusCode::NOT_FOUND;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut resp = json_error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    resp
}

async fn route(envd: Arc<Envd>, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path();
    let method = req.method().clone();
    match path {
        "/health" => {
            return if method == Method::GET || method == Method::HEAD {
                let mut resp = no_content();
                resp.headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                resp
            } else {
                method_not_allowed("GET")
            };
        }
        "/init" => {
            return if method == Method::POST {
                endpoints::init(envd, req).await
            } else {
                method_not_allowed("POST")
            };
        }
        "/files" => {
            return match method {
                Method::GET | Method::HEAD => files::download(envd, req).await,
                Method::POST => files::upload(envd, req).await,
                _ => method_not_allowed("GET, POST"),
            };
        }
        _ => {}
    }
    if !has_access_token(&envd, req.headers()) {
        return json_error(StatusCode::UNAUTHORIZED, UNAUTHORIZED);
    }
    match path {
        "/envs" if method == Method::GET => endpoints::envs(&envd),
        "/metrics" if method == Method::GET => endpoints::metrics(&envd).await,
        "/envs" | "/metrics" => method_not_allowed("GET"),
        p if p.starts_with("/process.Process/") || p.starts_with("/filesystem.Filesystem/") => {
            if method != Method::POST {
                return method_not_allowed("POST");
            }
            let path = p.to_owned();
            match process::dispatch(envd.clone(), &path, req).await {
                Ok(resp) => resp,
                Err(req) => filesystem::dispatch(envd, &path, req)
                    .await
                    .unwrap_or_else(|_| not_found()),
            }
        }
        _ => not_found(),
    }
}
