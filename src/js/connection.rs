//! `ConnectionConfig` (value export). The class itself is declared in the facade
//! (`pkg-templates/sandbox.js`) so that its fields are plain own properties, as officially;
//! these functions do the work: resolving the options and deriving URLs from the fields.

use js_sys::{Array, Object};
use wasm_bindgen::prelude::*;

use super::opts::{self, boolean, given, number, string};
use crate::config::{ConnectionConfig, ConnectionOpts, ENVD_PORT};
use crate::js_object::{get, headers_object, set};
use crate::prelude::*;
use crate::transport::fetch::is_browser;

/// The fields of `new ConnectionConfig(opts)`; throws `InvalidArgumentError` for an invalid
/// `retries`, as the official constructor does.
#[wasm_bindgen(js_name = resolveConnectionConfig)]
pub fn resolve_connection_config(v: JsValue) -> Result<Object, JsValue> {
    let c = opts::context(&opts::call_opts(&v))?.config;
    let fields = Object::new();
    let optional = |s: Option<String>| s.map_or(JsValue::UNDEFINED, JsValue::from);
    set(&fields, "debug", &JsValue::from(c.debug));
    set(&fields, "domain", &JsValue::from(c.domain));
    set(&fields, "apiUrl", &JsValue::from(c.api_url));
    set(&fields, "sandboxUrl", &optional(c.sandbox_url));
    set(&fields, "logger", &given(&v, "logger").unwrap_or_default());
    set(
        &fields,
        "requestTimeoutMs",
        &JsValue::from(c.request_timeout_ms),
    );
    set(&fields, "retries", &JsValue::from(c.retries));
    set(&fields, "apiKey", &optional(c.api_key));
    set(&fields, "validateApiKey", &get(&v, "validateApiKey"));
    let headers = c.headers.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    set(&fields, "headers", &headers_object(headers));
    set(&fields, "proxy", &get(&v, "proxy"));
    Ok(fields)
}

/// The configuration a `ConnectionConfig`'s fields describe (for its URL methods).
fn from_fields(fields: &JsValue) -> ConnectionConfig {
    let opts = ConnectionOpts {
        domain: string(fields, "domain"),
        api_url: string(fields, "apiUrl"),
        sandbox_url: string(fields, "sandboxUrl"),
        debug: boolean(fields, "debug"),
        ..Default::default()
    };
    ConnectionConfig::resolve(&opts, &|_| None)
}

/// `getSandboxUrl` (`direct` false) and `getSandboxDirectUrl` of `{ sandboxDomain, envdPort }`.
#[wasm_bindgen(js_name = connectionSandboxUrl)]
pub fn connection_sandbox_url(
    fields: JsValue,
    sandbox_id: &str,
    v: JsValue,
    direct: bool,
) -> String {
    let config = from_fields(&fields);
    let port = number(&v, "envdPort").map_or(ENVD_PORT, |p| p as u16);
    let domain = string(&v, "sandboxDomain");
    if direct {
        return config.envd_direct_url(sandbox_id, domain.as_deref(), port);
    }
    config.envd_url(sandbox_id, domain.as_deref(), port, is_browser())
}

/// `getHost(sandboxId, port, sandboxDomain)`.
#[wasm_bindgen(js_name = connectionHost)]
pub fn connection_host(
    fields: JsValue,
    sandbox_id: &str,
    port: u16,
    domain: Option<String>,
) -> String {
    from_fields(&fields).host(sandbox_id, port, domain.as_deref())
}

/// `getSignal(requestTimeoutMs?, signal?)`: `AbortSignal.timeout` of a non-zero timeout,
/// combined with `signal` by `AbortSignal.any` when both are given.
#[wasm_bindgen(js_name = connectionSignal)]
pub fn connection_signal(request_timeout_ms: Option<f64>, signal: JsValue) -> JsValue {
    let abort_signal = get(&js_sys::global(), "AbortSignal");
    let call = |name: &str, arg: &JsValue| {
        let f: js_sys::Function = get(&abort_signal, name).unchecked_into();
        f.call1(&abort_signal, arg).unwrap_or_default()
    };
    let signal = (!signal.is_undefined() && !signal.is_null()).then_some(signal);
    let timeout = request_timeout_ms
        .filter(|ms| *ms > 0.0)
        .map(|ms| call("timeout", &JsValue::from(ms)));
    match (timeout, signal) {
        (Some(t), Some(s)) => call("any", &Array::of2(&t, &s)),
        (Some(t), None) => t,
        (None, Some(s)) => s,
        (None, None) => JsValue::UNDEFINED,
    }
}
