//! The HTTP API the code-interpreter SDKs call on port 49999: routing, CORS (any origin, as
//! E2B's server allows), JSON bodies, and `POST /execute`'s streamed answer.
//!
//! Access: `POST /execute` (the one route that runs code or shows output) needs the sandbox's
//! `X-Access-Token` when it has one, checked by envd ([`super::envd_link`]); the context routes
//! do not, as neither E2B's server nor the pinned SDK (which sends the token only with
//! `runCode`) does — docs/code-interpreter.md, "Access".

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;

use super::Server;
use super::contexts::{Context, CreateError};
use super::envd_link::{self, Envs};
use super::languages::normalize_language;
use super::output::Line;

pub type Body = UnsyncBoxBody<Bytes, Infallible>;

/// Bodies are code and a few names; more than this is not a request the SDKs make.
const MAX_BODY: usize = 16 << 20;
/// How much of an oversized body is read (and dropped) before the 413: answering while the
/// client still sends makes the proxy in front see a reset instead of the answer (a 502).
/// Past this the connection is simply closed.
const MAX_DRAINED: usize = 4 * MAX_BODY;

/// Unknown fields are ignored, as E2B's server does, so newer SDKs' additions do not fail.
#[derive(Deserialize)]
struct ExecuteBody {
    code: String,
    context_id: Option<String>,
    language: Option<String>,
    env_vars: Option<HashMap<String, String>>,
}

#[derive(Deserialize)]
struct CreateContextBody {
    language: Option<String>,
    cwd: Option<String>,
}

pub async fn handle(
    server: Arc<Server>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let mut resp = if req.method() == Method::OPTIONS {
        let mut resp = text(StatusCode::OK, "OK");
        let h = resp.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"),
        );
        let requested = req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            requested.cloned().unwrap_or(HeaderValue::from_static("*")),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        resp
    } else {
        route(server, req).await
    };
    resp.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(resp)
}

async fn route(server: Arc<Server>, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (segments.as_slice(), method) {
        (["health"], Method::GET | Method::HEAD) => json_response(StatusCode::OK, &json!("OK")),
        (["execute"], Method::POST) => execute(server, req).await,
        (["contexts"], Method::POST) => create_context(server, req).await,
        (["contexts"], Method::GET) => {
            let contexts: Vec<_> = server
                .contexts
                .list()
                .iter()
                .map(|c| context_json(c))
                .collect();
            json_response(StatusCode::OK, &json!(contexts))
        }
        (["contexts", id], Method::DELETE) => {
            if server.contexts.remove(id) {
                no_content()
            } else {
                context_not_found(id)
            }
        }
        (["contexts", id, "restart"], Method::POST) => match server.contexts.get(id) {
            None => context_not_found(id),
            Some(context) => match server.contexts.restart(&context).await {
                Ok(()) => no_content(),
                Err(e) => text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("Failed to restart context {id}: {e:#}"),
                ),
            },
        },
        (["health" | "execute"] | ["contexts", ..], _) => json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({"detail": "Method Not Allowed"}),
        ),
        _ => json_response(StatusCode::NOT_FOUND, &json!({"detail": "Not Found"})),
    }
}

async fn execute(server: Arc<Server>, req: Request<Incoming>) -> Response<Body> {
    // The token is checked before the body is read: a refused request runs nothing.
    let token = req
        .headers()
        .get(envd_protocol::HEADER_ACCESS_TOKEN)
        .map(|v| v.as_bytes().to_vec());
    let sandbox_envs = match envd_link::sandbox_envs(server.envd, token.as_deref()).await {
        Ok(Envs::Allowed(envs)) => envs,
        Ok(Envs::Unauthorized) => return text(StatusCode::UNAUTHORIZED, "Unauthorized"),
        Err(e) => {
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("Authentication unavailable: envd: {e:#}"),
            );
        }
    };
    let body: ExecuteBody = match read_json(req).await {
        Ok(body) => body,
        Err(resp) => return resp,
    };
    if body.context_id.is_some() && body.language.is_some() {
        return text(
            StatusCode::BAD_REQUEST,
            "Only one of context_id or language can be provided",
        );
    }
    let env_vars = body.env_vars.unwrap_or_default();
    if let Some(bad) = env_vars
        .keys()
        .find(|k| k.is_empty() || k.contains(['=', '\0']))
    {
        return text(
            StatusCode::BAD_REQUEST,
            &format!("env var name {bad:?} is not valid"),
        );
    }
    let context: Arc<Context> = match &body.context_id {
        Some(id) => match server.contexts.get(id) {
            Some(context) => context,
            None => return context_not_found(id),
        },
        None => {
            let language = normalize_language(body.language.as_deref());
            match server.contexts.default_for(&language).await {
                Ok(context) => context,
                Err(e) => return create_error(e),
            }
        }
    };
    let (tx, rx) = mpsc::channel::<Line>(64);
    tokio::spawn(async move { context.execute(body.code, env_vars, sandbox_envs, tx).await });
    let lines = stream::unfold(rx, |mut rx| async move {
        let line = rx.recv().await?;
        Some((Ok(Frame::data(Bytes::from(line.to_json_line()))), rx))
    });
    let mut resp = Response::new(BodyExt::boxed_unsync(StreamBody::new(lines)));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    resp
}

async fn create_context(server: Arc<Server>, req: Request<Incoming>) -> Response<Body> {
    let body: CreateContextBody = match read_json(req).await {
        Ok(body) => body,
        Err(resp) => return resp,
    };
    let language = normalize_language(body.language.as_deref());
    match server.contexts.create(&language, body.cwd.as_deref()).await {
        Ok(context) => json_response(StatusCode::OK, &context_json(&context)),
        Err(e) => create_error(e),
    }
}

fn create_error(e: CreateError) -> Response<Body> {
    match e {
        CreateError::BadRequest(message) => text(StatusCode::BAD_REQUEST, &message),
        CreateError::Failed(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("Failed to create context: {e:#}"),
        ),
    }
}

fn context_json(context: &Context) -> serde_json::Value {
    json!({"id": context.id, "language": context.language, "cwd": context.cwd})
}

fn context_not_found(id: &str) -> Response<Body> {
    text(StatusCode::NOT_FOUND, &format!("Context {id} not found"))
}

async fn read_json<T: serde::de::DeserializeOwned>(
    req: Request<Incoming>,
) -> Result<T, Response<Body>> {
    let mut body = req.into_body();
    let mut bytes = Vec::new();
    let mut read = 0;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map(|f| f.into_data().unwrap_or_default()) else {
            return Err(unreadable_body());
        };
        read += data.len();
        if read > MAX_DRAINED {
            break;
        }
        if read <= MAX_BODY {
            bytes.extend_from_slice(&data);
        }
    }
    if read > MAX_BODY {
        return Err(unreadable_body());
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| text(StatusCode::BAD_REQUEST, &format!("invalid JSON body: {e}")))
}

fn unreadable_body() -> Response<Body> {
    text(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("the body is unreadable or over {MAX_BODY} bytes"),
    )
}

fn full(data: impl Into<Bytes>) -> Body {
    Full::new(data.into()).boxed_unsync()
}

fn text(status: StatusCode, message: &str) -> Response<Body> {
    let mut resp = Response::new(full(message.to_owned()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

fn json_response(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    let mut resp = Response::new(full(value.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn no_content() -> Response<Body> {
    let mut resp = Response::new(full(Bytes::new()));
    *resp.status_mut() = StatusCode::NO_CONTENT;
    resp
}
