//! envd, the daemon inside a sandbox: where it is, the headers every request carries, version
//! gates, its HTTP endpoints (`/health`), signed file URLs, and (in `process`) the Process RPCs.

pub mod output;
pub mod process;
pub mod signature;

use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortSignal;

use crate::config::{ConnectionConfig, DEFAULT_USERNAME, ENVD_PORT, HEALTH_CHECK_TIMEOUT_MS};
use crate::error::{
    Error, ErrorClass, NotFoundAs, Result, SdkError, envd_http_error, error, is_connection_dropped,
    killed_in_flight,
};
use crate::transport::fetch::{self, Body, get, headers_object};
use crate::transport::log::Logger;
use crate::transport::signal::{CallSignal, TIMEOUT_REASON};
use crate::util::{encode_uri_component, version_at_least};
use envd_protocol::base64::encode as base64;

/// How to reach one sandbox's envd.
pub struct Envd {
    /// Base URL for RPC, `/health` and `/files`.
    pub url: String,
    /// Base URL for presigned links (never the shared host).
    pub direct_url: String,
    pub version: String,
    pub access_token: Option<String>,
    /// Sent on every envd request: routing headers, User-Agent, access token.
    pub headers: Vec<(String, String)>,
    pub config: ConnectionConfig,
    pub logger: Logger,
}

impl Envd {
    pub fn new(
        config: ConnectionConfig,
        logger: Logger,
        sandbox_id: &str,
        sandbox_domain: Option<&str>,
        version: String,
        access_token: Option<String>,
    ) -> Envd {
        let user_agent = config
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let mut headers = vec![
            ("User-Agent".to_string(), user_agent),
            ("E2b-Sandbox-Id".to_string(), sandbox_id.to_string()),
            ("E2b-Sandbox-Port".to_string(), ENVD_PORT.to_string()),
        ];
        if let Some(token) = &access_token {
            headers.push(("X-Access-Token".to_string(), token.clone()));
        }
        Envd {
            url: config.envd_url(sandbox_id, sandbox_domain, fetch::is_browser()),
            direct_url: config.envd_direct_url(sandbox_id, sandbox_domain),
            version,
            access_token,
            headers,
            config,
            logger,
        }
    }

    pub fn supports(&self, min_version: &str) -> bool {
        version_at_least(&self.version, min_version)
    }

    /// The user to name on a request: the caller's, else `user` for envd older than 0.4.0
    /// (newer envd picks the sandbox's default user itself).
    pub fn effective_user<'a>(&self, user: Option<&'a str>) -> Option<&'a str> {
        user.or_else(|| (!self.supports("0.4.0")).then_some(DEFAULT_USERNAME))
    }

    /// `Authorization: Basic base64("<user>:")` for RPCs acting as a user.
    pub fn auth_header(&self, user: Option<&str>) -> Option<(String, String)> {
        let user = self.effective_user(user)?;
        Some((
            "Authorization".into(),
            ["Basic ", &base64([user, ":"].concat().as_bytes())].concat(),
        ))
    }

    pub fn endpoint(&self, path: &str) -> String {
        [self.url.trim_end_matches('/'), path].concat()
    }

    async fn get_health(
        &self,
        signal: &AbortSignal,
    ) -> std::result::Result<web_sys::Response, JsValue> {
        let headers = headers_object(self.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        fetch::fetch(
            "GET",
            &self.endpoint("/health"),
            &headers,
            Body::None,
            signal,
        )
        .await
    }

    /// `sandbox.isRunning()`: 502 = not running, other failures per the envd HTTP table.
    pub async fn is_running(
        &self,
        signal: Option<AbortSignal>,
        request_timeout_ms: Option<f64>,
    ) -> Result<bool> {
        let call = CallSignal::new(
            signal,
            self.config.request_timeout(request_timeout_ms),
            TIMEOUT_REASON,
            None,
        );
        let response = self.get_health(&call.signal()).await.map_err(Error::Js)?;
        match response.status() {
            502 => Ok(false),
            _ if response.ok() => Ok(true),
            status => {
                let text = fetch::text(&response).await.unwrap_or_default();
                let parsed = js_sys::JSON::parse(&text).unwrap_or(JsValue::UNDEFINED);
                let message = get(&parsed, "message")
                    .as_string()
                    .filter(|m| !m.is_empty())
                    .unwrap_or(if text.is_empty() {
                        response.status_text()
                    } else {
                        text
                    });
                Err(envd_http_error(status, &message, NotFoundAs::Generic).into())
            }
        }
    }

    /// Whether the sandbox is alive: `Some(false)` on 502, `None` when the probe was inconclusive.
    pub async fn check_health(&self) -> Option<bool> {
        let call = CallSignal::new(None, Some(HEALTH_CHECK_TIMEOUT_MS), TIMEOUT_REASON, None);
        let response = self.get_health(&call.signal()).await.ok()?;
        match response.status() {
            502 => Some(false),
            _ if response.ok() => Some(true),
            _ => None,
        }
    }

    /// The official treatment of a request that failed mid-flight: when the connection was
    /// dropped and `/health` then answers 502, the sandbox died under us (`TimeoutError`).
    pub async fn explain_dropped(&self, message: &str) -> Option<SdkError> {
        if is_connection_dropped(message) && self.check_health().await == Some(false) {
            return Some(killed_in_flight(message));
        }
        None
    }

    /// `uploadUrl` / `downloadUrl`: the direct `/files` URL, signed when the sandbox is secured.
    pub async fn file_url(
        &self,
        path: &str,
        operation: &str,
        user: Option<&str>,
        expiration_s: Option<f64>,
    ) -> Result<String> {
        if self.access_token.is_none() && expiration_s.is_some() {
            return Err(error(
                ErrorClass::InvalidArgument,
                "Signature expiration can be used only when sandbox is created as secured.",
            ));
        }
        let user = self.effective_user(user);
        let mut params: Vec<(&str, String)> = Vec::new();
        if let Some(u) = user.filter(|u| !u.is_empty()) {
            params.push(("username", u.to_string()));
        }
        if !path.is_empty() {
            params.push(("path", path.to_string()));
        }
        if let Some(token) = &self.access_token {
            let (signature, expiration) = sign(path, operation, user, token, expiration_s).await?;
            params.push(("signature", signature));
            if let Some(exp) = expiration.filter(|e| *e != 0) {
                params.push(("signature_expiration", exp.to_string()));
            }
        }
        Ok(files_url(&self.direct_url, &params))
    }
}

/// `<origin>/files?…`: presigned URLs resolve `/files` against the origin, like `new URL('/files', base)`.
fn files_url(base: &str, params: &[(&str, String)]) -> String {
    let origin_end = base.find("://").map_or(0, |i| i + 3);
    let origin = match base[origin_end..].find('/') {
        Some(i) => &base[..origin_end + i],
        None => base,
    };
    let mut url = [origin, "/files"].concat();
    for (i, (k, v)) in params.iter().enumerate() {
        url.push(if i == 0 { '?' } else { '&' });
        url.push_str(k);
        url.push('=');
        url.push_str(&encode_uri_component(v));
    }
    url
}

/// `getSignature`: SHA-256 by WebCrypto of the canonical string.
pub async fn sign(
    path: &str,
    operation: &str,
    user: Option<&str>,
    token: &str,
    expiration_s: Option<f64>,
) -> Result<(String, Option<i64>)> {
    let expiration = expiration_s.map(|s| (js_sys::Date::now() / 1000.0).floor() as i64 + s as i64);
    let raw = signature::canonical(path, operation, user.unwrap_or(""), token, expiration);
    let subtle = get(&get(&js_sys::global(), "crypto"), "subtle");
    let digest_fn: js_sys::Function = get(&subtle, "digest")
        .dyn_into()
        .map_err(|_| error(ErrorClass::Plain, "WebCrypto is not available"))?;
    let data = Uint8Array::from(raw.as_bytes());
    let promise: js_sys::Promise = digest_fn
        .call2(&subtle, &JsValue::from_str("SHA-256"), &data)
        .map_err(Error::Js)?
        .unchecked_into();
    let digest = JsFuture::from(promise).await.map_err(Error::Js)?;
    Ok((
        signature::token_from_digest(&Uint8Array::new(&digest).to_vec()),
        expiration,
    ))
}
