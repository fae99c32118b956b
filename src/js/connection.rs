//! `ConnectionConfig` (value export). The class itself is declared in the facade
//! (`pkg-templates/sandbox.js`) so that its fields are plain own properties, as officially;
//! these functions do the work: resolving the options and the envd URL, which may be the
//! shared host depending on the runtime.

use js_sys::Object;
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
    let c = opts::config(&opts::call_opts(&v))?;
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

/// `getSandboxUrl` of `{ sandboxDomain, envdPort }`: the shared host where the runtime may use it
/// (`getSandboxDirectUrl` and `getHost` are the facade's: they need no runtime detection).
#[wasm_bindgen(js_name = connectionSandboxUrl)]
pub fn connection_sandbox_url(fields: JsValue, sandbox_id: &str, v: JsValue) -> String {
    let config = from_fields(&fields);
    let port = number(&v, "envdPort").map_or(ENVD_PORT, |p| p as u16);
    let domain = string(&v, "sandboxDomain");
    config.envd_url(sandbox_id, domain.as_deref(), port, is_browser())
}
