//! Reading option bags passed from JavaScript. `undefined` and `null` mean "not given", as the
//! official SDK's `??` does; wrongly typed values are ignored rather than trusted.

use js_sys::{Array, Function, Object};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::AbortSignal;

use crate::config::{ConnectionConfig, ConnectionOpts};
use crate::transport::fetch::{env_var, get};
use crate::transport::log::Logger;
use crate::transport::rest::RestContext;

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

/// A `Record<string, string>` as ordered pairs.
pub fn record(v: &JsValue, key: &str) -> Option<Vec<(String, String)>> {
    let obj: Object = given(v, key)?.dyn_into().ok()?;
    Some(
        Object::entries(&obj)
            .iter()
            .map(|entry| {
                let pair = Array::from(&entry);
                (
                    pair.get(0).as_string().unwrap_or_default(),
                    pair.get(1).as_string().unwrap_or_default(),
                )
            })
            .collect(),
    )
}

/// `ConnectionOpts` plus the parts that stay JavaScript values.
#[derive(Clone, Default)]
pub struct CallOpts {
    pub conn: ConnectionOpts,
    pub signal: Option<AbortSignal>,
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
        },
        signal: given(v, "signal").and_then(|s| s.dyn_into().ok()),
        logger: given(v, "logger").map(Logger::new),
    }
}

pub fn env(name: &str) -> Option<String> {
    env_var(name)
}

/// A fully resolved configuration with the call's signal and logger.
pub struct Resolved {
    pub config: ConnectionConfig,
    pub signal: Option<AbortSignal>,
    pub logger: Logger,
}

impl Resolved {
    pub fn new(opts: &CallOpts) -> Resolved {
        Resolved {
            config: ConnectionConfig::resolve(&opts.conn, &env),
            signal: opts.signal.clone(),
            logger: opts.logger.clone().unwrap_or_default(),
        }
    }

    pub fn rest(&self) -> RestContext<'_> {
        RestContext {
            config: &self.config,
            logger: &self.logger,
            signal: self.signal.clone(),
            request_timeout_ms: None,
        }
    }
}
