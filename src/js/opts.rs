//! Reading option bags passed from JavaScript. `undefined` and `null` mean "not given", as the
//! official SDK's `??` does; wrongly typed values are ignored rather than trusted.

use js_sys::{Array, Function, Object};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::AbortSignal;

use crate::config::{ConnectionConfig, ConnectionOpts, valid_retries};
use crate::envd::RequestOpts;
use crate::error::{ErrorClass, Result, error};
use crate::js_object::get;
use crate::prelude::*;
use crate::transport::fetch::{env_var, js_string};
use crate::transport::log::Logger;

pub fn given(v: &JsValue, key: &str) -> Option<JsValue> {
    let value = get(v, key);
    (!value.is_undefined() && !value.is_null()).then_some(value)
}

pub fn string(v: &JsValue, key: &str) -> Option<String> {
    given(v, key)?.as_string()
}

pub fn number(v: &JsValue, key: &str) -> Option<f64> {
    given(v, key)?.as_f64()
}

pub fn boolean(v: &JsValue, key: &str) -> Option<bool> {
    given(v, key)?.as_bool()
}

pub fn function(v: &JsValue, key: &str) -> Option<Function> {
    given(v, key)?.dyn_into().ok()
}

pub fn signal(v: &JsValue) -> Option<AbortSignal> {
    given(v, "signal")?.dyn_into().ok()
}

/// The entries of a plain object.
pub fn entries(v: &JsValue, key: &str) -> Option<Vec<(String, JsValue)>> {
    let obj: Object = given(v, key)?.dyn_into().ok()?;
    let pairs = Object::entries(&obj);
    let pairs = pairs.iter().map(|entry| {
        let pair = Array::from(&entry);
        (pair.get(0).as_string().unwrap_or_default(), pair.get(1))
    });
    Some(pairs.collect())
}

/// A `Record<string, string>` as ordered pairs.
pub fn record(v: &JsValue, key: &str) -> Option<Vec<(String, String)>> {
    let pairs = entries(v, key)?.into_iter();
    Some(
        pairs
            .map(|(k, v)| (k, v.as_string().unwrap_or_default()))
            .collect(),
    )
}

/// `requestTimeoutMs` and `signal` of an envd call.
pub fn request_opts(v: &JsValue) -> RequestOpts {
    RequestOpts {
        signal: signal(v),
        request_timeout_ms: number(v, "requestTimeoutMs"),
        ..Default::default()
    }
}

/// `ConnectionOpts` plus the caller's logger.
pub struct CallOpts {
    pub conn: ConnectionOpts,
    pub logger: Option<Logger>,
}

pub fn call_opts(v: &JsValue) -> CallOpts {
    CallOpts {
        conn: ConnectionOpts {
            api_key: string(v, "apiKey"),
            domain: string(v, "domain"),
            api_url: string(v, "apiUrl"),
            sandbox_url: string(v, "sandboxUrl"),
            debug: boolean(v, "debug"),
            request_timeout_ms: number(v, "requestTimeoutMs"),
            headers: record(v, "headers"),
            api_headers: record(v, "apiHeaders"),
            retries: given(v, "retries").map(|r| r.as_f64().unwrap_or(f64::NAN)),
        },
        logger: given(v, "logger").map(Logger::new),
    }
}

/// The configuration resolved as the official `ConnectionConfig` constructor does (which
/// refuses an invalid `retries`).
pub fn config(opts: &CallOpts) -> Result<ConnectionConfig> {
    if let Some(retries) = opts.conn.retries.filter(|r| valid_retries(*r).is_none()) {
        let shown = js_string(&JsValue::from(retries));
        let message = [
            "Invalid retries=",
            &shown,
            ": expected a non-negative integer.",
        ]
        .concat();
        return Err(error(ErrorClass::InvalidArgument, message));
    }
    Ok(ConnectionConfig::resolve(&opts.conn, &env_var))
}
