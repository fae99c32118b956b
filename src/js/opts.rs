//! Reading option bags passed from JavaScript. `undefined` and `null` mean "not given", as the
//! official SDK's `??` does; wrongly typed values are ignored rather than trusted.

use js_sys::{Array, Function, Object};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::AbortSignal;

use crate::envd::RequestOpts;
use crate::js_object::get;
use crate::prelude::*;

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
    }
}
