//! envd, the daemon inside a sandbox: where it is, the headers every request carries, version
//! gates, its HTTP endpoints (`/health`), signed file URLs, the unary RPC path with the official
//! error mapping (and the `/health` probe for connections dropped mid-call), and the services:
//! `process` (Process RPCs, PTYs included) and `filesystem` (the WatchDir stream). `/files` and
//! the Filesystem service's unary RPCs are JavaScript (pkg-templates/files.js), which takes its
//! failures' mapping from here.
//!
//! Adding an RPC (the pattern `process` follows): build the request message, call
//! [`Envd::unary`] with a closure that turns the decoded answer into the JS value
//! ([`Envd::unary_flag`] for a yes/no answer), or [`Envd::open_started`] for a server stream
//! that begins with a start event.

pub mod filesystem;
pub mod process;
pub mod versions;

use alloc::rc::Rc;

use envd_protocol::{
    Code, ConnectError, HEADER_ACCESS_TOKEN, HEADER_AUTHORIZATION, HEADER_KEEPALIVE_INTERVAL,
    HEADER_SANDBOX_ID, HEADER_SANDBOX_PORT, HEADER_USER_AGENT, Message, signature,
};
use js_sys::{Object, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::AbortSignal;

use crate::config::{
    DEFAULT_USERNAME, ENVD_PORT, HEALTH_CHECK_TIMEOUT_MS, KEEPALIVE_PING_INTERVAL,
    STREAM_TIMEOUT_MS,
};
use crate::error::{
    Error, ErrorClass, NotFoundAs, Result, envd_http_error, error, is_connection_dropped,
    killed_in_flight, needs_health_probe, rpc_error,
};
use crate::js_object::{get, headers_copy, headers_object};
use crate::prelude::*;
use crate::transport::codec;
use crate::transport::connect::{self, CallOptions, Endpoint, ServerStream};
use crate::transport::exchange::{Exchanged, Next, Read, Request, run};
use crate::transport::log::Logger;
use crate::transport::signal::CallSignal;
use crate::transport::task::wait;
use crate::util::{decimal, encode_uri_component, version_at_least};
use envd_protocol::base64::encode as base64;

/// `requestTimeoutMs` and `signal` of one call.
#[derive(Clone, Default)]
pub struct RequestOpts {
    pub signal: Option<AbortSignal>,
    pub request_timeout_ms: Option<f64>,
}

/// How to reach one sandbox's envd.
pub struct Envd {
    /// Base URL for RPC, `/health` and `/files`.
    pub url: String,
    /// Base URL for presigned links (never the shared host).
    pub direct_url: String,
    pub version: String,
    pub access_token: Option<String>,
    /// What every envd request carries (routing headers, User-Agent, access token) and what
    /// each kind of request adds, built once.
    pub request_headers: RequestHeaders,
    /// The configured `requestTimeoutMs` (0: none).
    pub request_timeout_ms: f64,
    pub logger: Logger,
}

/// The headers of each kind of envd request, built once per sandbox: a request sends a copy
/// (and adds its own), one call into JS instead of three per header.
pub struct RequestHeaders {
    /// The envd headers alone (`/health`, and the calls made in JavaScript: `envdHeaders`).
    pub own: Object,
    pub unary: Object,
    pub stream: Object,
}

impl RequestHeaders {
    fn new(own: &[(String, String)]) -> RequestHeaders {
        RequestHeaders {
            own: headers_object(own.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            unary: connect::call_headers(own, false),
            stream: connect::call_headers(own, true),
        }
    }
}

/// Continues a unary call with its encoded answer or its Connect error.
pub type OnUnary = Box<dyn FnOnce(core::result::Result<Vec<u8>, ConnectError>) -> Result<Next>>;
/// Continues once a stream's response headers arrived.
pub type OnStream = Box<dyn FnOnce(ServerStream) -> Result<Next>>;
/// Decodes a stream's first message: the pid its start event carries, `None` if it is not one.
pub type StartDecoder = fn(&[u8]) -> core::result::Result<Option<u32>, ConnectError>;
/// Continues with a started (or reconnected) stream and its start event's pid.
pub type OnStarted = Box<dyn FnOnce(u32, ServerStream) -> Result<Next>>;

/// Where a sandbox's envd is and what its requests carry, as the facade resolved them from the
/// sandbox's `ConnectionConfig` (the URLs, `User-Agent` and request timeout).
pub struct EnvdAccess {
    pub sandbox_id: String,
    /// Base URL for RPC, `/health` and `/files` (`envdApiUrl`).
    pub url: String,
    /// Base URL for presigned links, never the shared host (`envdDirectUrl`).
    pub direct_url: String,
    pub version: String,
    pub access_token: Option<String>,
    pub user_agent: String,
    /// The configured `requestTimeoutMs` (0: none).
    pub request_timeout_ms: f64,
}

impl Envd {
    pub fn new(access: EnvdAccess, logger: Logger) -> Envd {
        let mut headers = vec![
            (HEADER_USER_AGENT.to_string(), access.user_agent),
            (HEADER_SANDBOX_ID.to_string(), access.sandbox_id),
            (HEADER_SANDBOX_PORT.to_string(), decimal(ENVD_PORT.into())),
        ];
        if let Some(token) = &access.access_token {
            headers.push((HEADER_ACCESS_TOKEN.to_string(), token.clone()));
        }
        Envd {
            url: access.url,
            direct_url: access.direct_url,
            version: access.version,
            access_token: access.access_token,
            request_headers: RequestHeaders::new(&headers),
            request_timeout_ms: access.request_timeout_ms,
            logger,
        }
    }

    /// The `requestTimeoutMs` of one call: its own value over the configured one; 0 = none.
    pub fn request_timeout(&self, call: Option<f64>) -> Option<f64> {
        Some(call.unwrap_or(self.request_timeout_ms)).filter(|ms| *ms > 0.0)
    }

    pub fn supports(&self, min_version: &str) -> bool {
        version_at_least(&self.version, min_version)
    }

    /// The user to name on a request: the caller's, else `user` for envd older than 0.4.0
    /// (newer envd picks the sandbox's default user itself).
    pub fn effective_user<'a>(&self, user: Option<&'a str>) -> Option<&'a str> {
        user.or_else(|| (!self.supports(versions::DEFAULT_USER)).then_some(DEFAULT_USERNAME))
    }

    /// `Authorization: Basic base64("<user>:")` for RPCs acting as a user.
    pub fn auth_header(&self, user: Option<&str>) -> Option<(String, String)> {
        let user = self.effective_user(user)?;
        let credentials = base64([user, ":"].concat().as_bytes());
        Some((
            HEADER_AUTHORIZATION.into(),
            ["Basic ", &credentials].concat(),
        ))
    }

    fn endpoint(&self) -> Endpoint<'_> {
        Endpoint {
            base_url: &self.url,
            unary_headers: &self.request_headers.unary,
            stream_headers: &self.request_headers.stream,
            logger: &self.logger,
        }
    }

    /// The `requestTimeoutMs` and `signal` of a call, resolved against the configuration.
    pub fn call_options(&self, opts: &RequestOpts) -> CallOptions {
        CallOptions {
            signal: opts.signal.clone(),
            request_timeout_ms: self.request_timeout(opts.request_timeout_ms),
            ..Default::default()
        }
    }

    fn health_request(&self, signal: CallSignal) -> Request {
        Request {
            method: "GET",
            url: [self.url.trim_end_matches('/'), "/health"].concat(),
            headers: headers_copy(&self.request_headers.own),
            body: JsValue::UNDEFINED,
            signal,
            read: Read::Text,
        }
    }

    /// `sandbox.isRunning()`: 502 = not running, other failures per the envd HTTP table.
    pub fn is_running(&self, opts: &RequestOpts) -> Result<Next> {
        let timeout = self.request_timeout(opts.request_timeout_ms);
        let signal = CallSignal::for_request(opts.signal.clone(), timeout);
        let step = |exchanged: Exchanged| {
            let reply = exchanged.reply.map_err(Error::Js)?;
            let response = reply.response;
            match response.status() {
                502 => Next::done(false),
                _ if response.ok() => Next::done(true),
                _ => {
                    let text = reply.body.as_string().unwrap_or_default();
                    let (status, status_text) = (response.status(), response.status_text());
                    Err(http_failure(
                        status,
                        status_text,
                        &text,
                        NotFoundAs::Generic,
                    ))
                }
            }
        };
        Ok(Next::fetch(self.health_request(signal), Box::new(step)))
    }

    /// The official `handleRpcErrorWithHealthCheck`: a connection dropped mid-call is probed
    /// with `/health`, and a 502 there means the sandbox died under the call (`TimeoutError`);
    /// everything else maps by code.
    pub fn rpc_failure(&self, err: ConnectError, not_found: NotFoundAs) -> Result<Next> {
        let mapped = rpc_error(&err, not_found).into();
        if !needs_health_probe(&err) {
            return Err(mapped);
        }
        self.probe_health(crate::error::connect_message(&err), mapped)
    }

    /// A failed envd HTTP `fetch` (the official `handleEnvdApiFetchError`): the runtime's own
    /// error, unless the connection dropped and `/health` says the sandbox is gone.
    pub fn fetch_failure(&self, failure: JsValue) -> Result<Next> {
        match get(&failure, "message").as_string() {
            Some(message) if is_connection_dropped(&message) => {
                self.probe_health(message, Error::Js(failure))
            }
            _ => Err(Error::Js(failure)),
        }
    }

    /// Asks `/health` whether the sandbox died under a call whose connection dropped: a 502
    /// fails the call with a `TimeoutError` naming `message`, anything else with `otherwise`.
    fn probe_health(&self, message: String, otherwise: Error) -> Result<Next> {
        let signal = CallSignal::for_request(None, Some(HEALTH_CHECK_TIMEOUT_MS));
        let step = move |exchanged: Exchanged| {
            let gone = exchanged
                .reply
                .is_ok_and(|reply| reply.response.status() == 502);
            Err(if gone {
                killed_in_flight(&message).into()
            } else {
                otherwise
            })
        };
        Ok(Next::fetch(self.health_request(signal), Box::new(step)))
    }

    /// A unary RPC with an already encoded request; `then` sees the raw outcome.
    pub fn unary_raw(
        &self,
        path: &str,
        message: Vec<u8>,
        opts: &RequestOpts,
        then: OnUnary,
    ) -> Result<Next> {
        let request =
            connect::unary_request(&self.endpoint(), path, message, self.call_options(opts));
        let step = move |exchanged| then(connect::unary_result(exchanged));
        Ok(Next::fetch(request, Box::new(step)))
    }

    /// A unary RPC: `then` turns the decoded answer into the call's result; failures (decoding
    /// included) map to the official error classes.
    pub fn unary<Res: Message + 'static>(
        self: &Rc<Self>,
        path: &str,
        request: &impl Message,
        opts: &RequestOpts,
        not_found: NotFoundAs,
        then: impl FnOnce(Res) -> Result<Next> + 'static,
    ) -> Result<Next> {
        let envd = self.clone();
        let on_unary = move |outcome: core::result::Result<Vec<u8>, ConnectError>| match outcome
            .and_then(|bytes| codec::decode::<Res>(&bytes))
        {
            Ok(answer) => then(answer),
            Err(e) => envd.rpc_failure(e, not_found),
        };
        self.unary_raw(path, codec::encode(request), opts, Box::new(on_unary))
    }

    /// A unary RPC that answers `true`, or `false` when it fails with `false_on` (`kill` of an
    /// unknown pid, `exists` of a missing path, `makeDir` of an existing directory).
    pub fn unary_flag(
        self: &Rc<Self>,
        path: &str,
        request: &impl Message,
        opts: &RequestOpts,
        false_on: Code,
        not_found: NotFoundAs,
    ) -> Result<Next> {
        let envd = self.clone();
        let on_unary = move |outcome: core::result::Result<Vec<u8>, ConnectError>| match outcome {
            Ok(_) => Next::done(true),
            Err(e) if e.code == false_on => Next::done(false),
            Err(e) => envd.rpc_failure(e, not_found),
        };
        self.unary_raw(path, codec::encode(request), opts, Box::new(on_unary))
    }

    /// The options of a server stream acting as `user`: keepalives, and `timeoutMs` (default
    /// 60 s, 0 = none) as the deadline.
    pub fn stream_options(
        &self,
        opts: &RequestOpts,
        timeout_ms: Option<f64>,
        user: Option<&str>,
    ) -> CallOptions {
        let mut headers = vec![(
            HEADER_KEEPALIVE_INTERVAL.to_string(),
            KEEPALIVE_PING_INTERVAL.to_string(),
        )];
        headers.extend(self.auth_header(user));
        CallOptions {
            headers,
            timeout_ms: Some(timeout_ms.unwrap_or(STREAM_TIMEOUT_MS)).filter(|ms| *ms > 0.0),
            ..self.call_options(opts)
        }
    }

    /// Opens a server stream and reads its first message, which must be the start event:
    /// `start` decodes it (`Ok(None)`: not a start event, a plain `Error`) into what `then`
    /// needs, the pid of a process (0 for streams whose start carries nothing). Failing to open
    /// maps like the official start handlers (`unavailable` = no sandbox).
    pub fn open_started(
        self: &Rc<Self>,
        path: &str,
        request: &impl Message,
        call: CallOptions,
        not_found: NotFoundAs,
        start: StartDecoder,
        then: OnStarted,
    ) -> Result<Next> {
        let (envd, on_error_envd) = (self.clone(), self.clone());
        let on_error = move |e| on_error_envd.start_failure(e, not_found);
        let on_stream = move |mut stream: ServerStream| {
            let first = async move {
                let mut pid = None;
                let mut read = |bytes: &[u8]| {
                    pid = start(bytes)?;
                    Ok(())
                };
                let read = stream.next_message(&mut read).await;
                match (read, pid) {
                    (Ok(_), Some(pid)) => then(pid, stream),
                    (Ok(_), None) => Err(error(ErrorClass::Plain, "Expected start event")),
                    (Err(e), _) => envd.start_failure(e, not_found),
                }
            };
            Ok(Next::Future(Box::pin(first)))
        };
        self.open_stream(path, request, call, Box::new(on_error), Box::new(on_stream))
    }

    fn start_failure(&self, e: ConnectError, not_found: NotFoundAs) -> Result<Next> {
        if e.code == Code::Unavailable {
            let message = "Sandbox is probably not running anymore";
            return Err(error(ErrorClass::SandboxNotFound, message));
        }
        self.rpc_failure(e, not_found)
    }

    /// Opens a server stream; `then` takes it over once the response headers arrived.
    /// `on_error` maps a failure to open it.
    pub fn open_stream(
        &self,
        path: &str,
        request: &impl Message,
        opts: CallOptions,
        on_error: Box<dyn FnOnce(ConnectError) -> Result<Next>>,
        then: OnStream,
    ) -> Result<Next> {
        let message = codec::encode(request);
        let request = connect::stream_request(&self.endpoint(), path, &message, opts);
        let step = move |exchanged| match ServerStream::open(exchanged) {
            Ok(stream) => then(stream),
            Err(e) => on_error(e),
        };
        Ok(Next::fetch(request, Box::new(step)))
    }

    /// `uploadUrl` / `downloadUrl`: the direct `/files` URL, signed when the sandbox is secured.
    pub fn file_url(
        &self,
        path: &str,
        operation: &str,
        user: Option<&str>,
        expiration_s: Option<f64>,
    ) -> Result<Next> {
        if self.access_token.is_none() && expiration_s.is_some() {
            return Err(error(
                ErrorClass::InvalidArgument,
                "Signature expiration can be used only when sandbox is created as secured.",
            ));
        }
        let user = self.effective_user(user);
        let mut params: Vec<(&'static str, String)> = Vec::new();
        if let Some(u) = user.filter(|u| !u.is_empty()) {
            params.push(("username", u.to_string()));
        }
        if !path.is_empty() {
            params.push(("path", path.to_string()));
        }
        let base = self.direct_url.clone();
        let Some(token) = &self.access_token else {
            return Next::done(files_url(&base, &params));
        };
        sign(
            path,
            operation,
            user,
            token,
            expiration_s,
            move |signature, expiration| {
                params.push(("signature", signature));
                if let Some(exp) = expiration.filter(|e| *e != 0) {
                    params.push(("signature_expiration", decimal(exp)));
                }
                Next::done(files_url(&base, &params))
            },
        )
    }
}

/// The error of a non-2xx envd HTTP answer whose body read as `text` (the official
/// `handleEnvdApiError`): the JSON body's `message` (or a JSON string), else the raw body,
/// else the status text.
pub fn http_failure(status: u16, status_text: String, text: &str, not_found: NotFoundAs) -> Error {
    let parsed = js_sys::JSON::parse(text).unwrap_or_else(|_| JsValue::from_str(text));
    let message = parsed
        .as_string()
        .or_else(|| get(&parsed, "message").as_string())
        .filter(|m| !m.is_empty())
        .unwrap_or(status_text);
    envd_http_error(status, &message, not_found).into()
}

/// `<origin>/files?…`: presigned URLs resolve `/files` against the origin, like `new URL('/files', base)`.
fn files_url(base: &str, params: &[(&str, String)]) -> String {
    // `scheme:`, ``, `host[:port]`, then the path (if any) in the fourth part.
    let origin: Vec<&str> = base.splitn(4, '/').take(3).collect();
    let mut url = [origin.join("/").as_str(), "/files"].concat();
    for (i, (k, v)) in params.iter().enumerate() {
        url.push(if i == 0 { '?' } else { '&' });
        url.push_str(k);
        url.push('=');
        url.push_str(&encode_uri_component(v));
    }
    url
}

/// `getSignature`: SHA-256 by WebCrypto of the canonical string; `then` gets the signature
/// and its expiration (unix seconds).
pub fn sign(
    path: &str,
    operation: &str,
    user: Option<&str>,
    token: &str,
    expiration_s: Option<f64>,
    then: impl FnOnce(String, Option<i64>) -> Result<Next> + 'static,
) -> Result<Next> {
    let expiration = expiration_s.map(|s| (js_sys::Date::now() / 1000.0) as i64 + s as i64);
    let expiration_text = expiration.map(decimal);
    let raw = signature::canonical(
        path,
        operation,
        user.unwrap_or(""),
        token,
        expiration_text.as_deref(),
    );
    let subtle = get(&get(&js_sys::global(), "crypto"), "subtle");
    let digest_fn: js_sys::Function = get(&subtle, "digest")
        .dyn_into()
        .map_err(|_| error(ErrorClass::Plain, "WebCrypto is not available"))?;
    let data = Uint8Array::from(raw.as_bytes());
    let digest: js_sys::Promise = digest_fn
        .call2(&subtle, &JsValue::from_str("SHA-256"), &data)?
        .unchecked_into();
    let step = move |digest: JsValue| {
        let signature = signature::token_from_digest(&Uint8Array::new(&digest).to_vec());
        then(signature, expiration)
    };
    Ok(Next::Wait(digest, Box::new(step)))
}

/// The error a failed stream ends a handle (or a watch) with, once mapped (the `/health` probe
/// included). Used by event loops, which are futures of their own.
pub async fn stream_failure(envd: &Envd, err: ConnectError, not_found: NotFoundAs) -> JsValue {
    let mapped = run(envd.rpc_failure(err, not_found));
    match wait(mapped).await {
        Ok(value) | Err(value) => value,
    }
}
