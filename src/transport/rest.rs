//! Control-plane requests: headers, API key check, request timeout, logging, and the error
//! body every failure carries (`{code, message}`).

use js_sys::JSON;
use wasm_bindgen::JsValue;
use web_sys::{AbortSignal, Response};

use super::fetch::{self, Body, get, headers_object, js_string, runtime_name};
use super::log::Logger;
use super::signal::{CallSignal, TIMEOUT_REASON};
use crate::config::ConnectionConfig;
use crate::error::{API_KEY_REQUIRED, Error, ErrorClass, Result, error};

/// What one REST call needs besides its path and body.
pub struct RestContext<'a> {
    pub config: &'a ConnectionConfig,
    pub logger: &'a Logger,
    pub signal: Option<AbortSignal>,
    /// This call's `requestTimeoutMs`, over the configured one.
    pub request_timeout_ms: Option<f64>,
}

/// A non-2xx answer: its status, the body's numeric `code` (which the official SDK reads for
/// 404/409) and the text it reports (`message`, else the raw body, else the status text).
pub struct ApiFailure {
    pub status: u16,
    pub body_code: Option<u16>,
    pub content: String,
}

/// A 2xx answer, its body read while the call's signal was still alive (dropping the signal
/// aborts the request, body included).
pub struct Reply {
    /// The parsed JSON body; `undefined` when the body is empty.
    pub body: JsValue,
    /// The `x-next-token` header of list pages, `None` when absent or empty.
    pub next_token: Option<String>,
}

pub enum Outcome {
    Ok(Reply),
    Failed(ApiFailure),
}

fn telemetry_headers() -> [(&'static str, &'static str); 6] {
    let runtime = runtime_name(&js_sys::global());
    [
        ("lang", "js"),
        ("lang_version", "unknown"),
        ("package_version", env!("CARGO_PKG_VERSION")),
        ("publisher", "e2b"),
        ("sdk_runtime", runtime),
        ("system", "unknown"),
    ]
}

pub async fn request(
    ctx: &RestContext<'_>,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Result<Outcome> {
    let config = ctx.config;
    let Some(api_key) = config.api_key.as_deref() else {
        return Err(error(ErrorClass::Authentication, API_KEY_REQUIRED));
    };
    let mut headers: Vec<(&str, &str)> = telemetry_headers().to_vec();
    headers.push(("X-API-KEY", api_key));
    headers.extend(config.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if body.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    let url = [config.api_url.trim_end_matches('/'), path].concat();
    let signal = CallSignal::new(
        ctx.signal.clone(),
        config.request_timeout(ctx.request_timeout_ms),
        TIMEOUT_REASON,
        None,
    );
    ctx.logger.log(
        "info",
        &[JsValue::from_str(&format!("Request {method} {url}"))],
    );
    let body = body.map_or(Body::None, Body::Text);
    // Network failures and aborts reach the caller as the runtime's own error, as officially.
    let response = fetch::fetch(
        method,
        &url,
        &headers_object(headers),
        body,
        &signal.signal(),
    )
    .await
    .map_err(Error::Js)?;
    let status = response.status();
    let level = if status >= 400 { "error" } else { "info" };
    ctx.logger.log(
        level,
        &[
            JsValue::from_str("Response:"),
            JsValue::from(status),
            JsValue::from_str(&response.status_text()),
        ],
    );
    let text = fetch::text(&response).await.map_err(Error::Js)?;
    let parsed = JSON::parse(&text).unwrap_or(JsValue::UNDEFINED);
    if response.ok() {
        let next_token = header(&response, "x-next-token");
        return Ok(Outcome::Ok(Reply {
            body: parsed,
            next_token,
        }));
    }
    let body_code = get(&parsed, "code").as_f64().map(|c| c as u16);
    let message = get(&parsed, "message");
    let content = if message.is_string() || (!message.is_undefined() && !message.is_null()) {
        js_string(&message)
    } else if !text.is_empty() {
        text
    } else {
        response.status_text()
    };
    Ok(Outcome::Failed(ApiFailure {
        status,
        body_code,
        content,
    }))
}

/// The response header `name`, `None` when absent or empty.
fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .ok()
        .flatten()
        .filter(|v| !v.is_empty())
}
