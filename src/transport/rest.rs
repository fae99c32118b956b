//! Control-plane requests: headers, API key check, request timeout, logging, the retry after a
//! 429 carrying `Retry-After`, and the error body every failure carries (`{code, message}`).

use envd_protocol::{HEADER_API_KEY, HEADER_CONTENT_TYPE, HEADER_NEXT_TOKEN};
use js_sys::{JSON, Object};
use wasm_bindgen::JsValue;
use web_sys::{AbortSignal, Response};

use super::exchange::{Exchanged, Next, Read, Request};
use super::fetch::{js_string, runtime_name, sleep};
use super::log::Logger;
use super::signal::CallSignal;
use crate::config::ConnectionConfig;
use crate::error::{API_KEY_REQUIRED, Error, ErrorClass, Result, error};
use crate::js_object::{get, headers_object};
use crate::prelude::*;

/// A call's resolved configuration with the caller's logger and signal: what a REST call
/// needs besides its path and body (and what a sandbox's envd is reached with).
#[derive(Clone)]
pub struct RestContext {
    pub config: ConnectionConfig,
    pub logger: Logger,
    pub signal: Option<AbortSignal>,
}

/// A 2xx answer.
pub struct Reply {
    /// The parsed JSON body; `undefined` when the body is empty.
    pub body: JsValue,
    /// The `x-next-token` header of list pages, `None` when absent or empty.
    pub next_token: Option<String>,
}

/// A non-2xx answer: its status, the body's numeric `code` (which the official SDK reads for
/// 404/409) and the text it reports (`message`, else the raw body, else the status text).
pub struct ApiFailure {
    pub status: u16,
    pub body_code: Option<u16>,
    pub content: String,
}

/// Decodes the answer of a REST call.
pub type OnReply = Box<dyn FnOnce(core::result::Result<Reply, ApiFailure>) -> Result<Next>>;

/// The longest wait for a retry when the call has no request timeout (the official value).
const MAX_RETRY_WAIT_WITHOUT_TIMEOUT_MS: f64 = 60_000.0;
/// The largest `Retry-After` honoured, in seconds (the official value).
const MAX_RETRY_AFTER_SECONDS: u64 = 2_147_483;

fn telemetry_headers() -> [(&'static str, &'static str); 7] {
    [
        ("browser", "unknown"),
        ("lang", "js"),
        ("lang_version", "unknown"),
        ("package_version", env!("CARGO_PKG_VERSION")),
        ("publisher", "e2b"),
        ("sdk_runtime", runtime_name()),
        ("system", "unknown"),
    ]
}

/// Starts a REST call; `then` gets the decoded answer. Network failures and aborts reach the
/// caller as the runtime's own error, as with the official SDK.
pub fn call(
    ctx: &RestContext,
    method: &'static str,
    path: &str,
    body: Option<String>,
    then: OnReply,
) -> Result<Next> {
    let config = &ctx.config;
    let Some(api_key) = config.api_key.as_deref() else {
        return Err(error(ErrorClass::Authentication, API_KEY_REQUIRED));
    };
    let mut headers: Vec<(&str, &str)> = telemetry_headers().to_vec();
    headers.push((HEADER_API_KEY, api_key));
    headers.extend(config.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if body.is_some() {
        headers.push((HEADER_CONTENT_TYPE, "application/json"));
    }
    let url = [config.api_url.trim_end_matches('/'), path].concat();
    let timeout = config.request_timeout(None);
    let signal = CallSignal::for_request(ctx.signal.clone(), timeout);
    let request_line = ["Request ", method, " ", &url].concat();
    ctx.logger.log("info", &[JsValue::from(request_line)]);
    let attempt = Attempt {
        method,
        url,
        headers: headers_object(headers),
        body: body.map_or(JsValue::UNDEFINED, JsValue::from),
        logger: ctx.logger.clone(),
        retries_left: config.retries,
        deadline: js_sys::Date::now() + timeout.unwrap_or(MAX_RETRY_WAIT_WITHOUT_TIMEOUT_MS),
        then,
    };
    Ok(attempt.send(signal))
}

/// One call, across its retries.
struct Attempt {
    method: &'static str,
    url: String,
    headers: Object,
    body: JsValue,
    logger: Logger,
    retries_left: u32,
    /// Time (ms since the epoch) after which no retry starts.
    deadline: f64,
    then: OnReply,
}

impl Attempt {
    fn send(self, signal: CallSignal) -> Next {
        let request = Request {
            method: self.method,
            url: self.url.clone(),
            headers: self.headers.clone(),
            body: self.body.clone(),
            signal,
            read: Read::Json,
        };
        Next::fetch(request, Box::new(move |exchanged| self.receive(exchanged)))
    }

    fn receive(mut self, exchanged: Exchanged) -> Result<Next> {
        let Exchanged { reply, signal } = exchanged;
        let reply = reply.map_err(Error::Js)?;
        let response = reply.response;
        let status = response.status();
        if status == 429 && self.retries_left > 0 {
            let delay = retry_after_ms(header(&response, "Retry-After").as_deref());
            if let Some(delay) = delay.filter(|d| js_sys::Date::now() + d < self.deadline) {
                self.retries_left -= 1;
                let wait = sleep(delay, &signal.signal());
                return Ok(Next::Wait(wait, Box::new(move |_| Ok(self.send(signal)))));
            }
        }
        self.log_response(&response);
        let outcome = if response.ok() {
            Ok(Reply {
                body: reply.body,
                next_token: header(&response, HEADER_NEXT_TOKEN),
            })
        } else {
            let text = reply.body.as_string().unwrap_or_default();
            let parsed = JSON::parse(&text).unwrap_or(JsValue::UNDEFINED);
            Err(failure(&response, text, &parsed))
        };
        (self.then)(outcome)
    }

    fn log_response(&self, response: &Response) {
        let level = if response.status() >= 400 {
            "error"
        } else {
            "info"
        };
        self.logger.log(
            level,
            &[
                JsValue::from_str("Response:"),
                JsValue::from(response.status()),
                JsValue::from(response.status_text()),
            ],
        );
    }
}

fn failure(response: &Response, text: String, parsed: &JsValue) -> ApiFailure {
    let body_code = get(parsed, "code").as_f64().map(|c| c as u16);
    let message = get(parsed, "message");
    let content = if !message.is_undefined() && !message.is_null() {
        js_string(&message)
    } else if !text.is_empty() {
        text
    } else {
        response.status_text()
    };
    ApiFailure {
        status: response.status(),
        body_code,
        content,
    }
}

/// The wait a `Retry-After` header asks for: whole seconds only (an HTTP date is not
/// honoured, as officially), at most [`MAX_RETRY_AFTER_SECONDS`].
pub fn retry_after_ms(value: Option<&str>) -> Option<f64> {
    let digits = value?.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds: u64 = digits.parse().ok()?;
    (seconds <= MAX_RETRY_AFTER_SECONDS).then_some(seconds as f64 * 1000.0)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_whole_seconds_only() {
        assert_eq!(retry_after_ms(Some("2")), Some(2000.0));
        assert_eq!(retry_after_ms(Some(" 0 ")), Some(0.0));
        assert_eq!(retry_after_ms(Some("2147483")), Some(2_147_483_000.0));
        for bad in [
            None,
            Some(""),
            Some("1.5"),
            Some("-1"),
            Some("2147484"),
            Some("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some("99999999999999999999999"),
        ] {
            assert_eq!(retry_after_ms(bad), None, "{bad:?}");
        }
    }
}
