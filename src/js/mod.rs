//! The wasm-bindgen export layer: option parsing, JS result objects, error objects, callbacks.

pub mod commands;
pub mod errors;
pub mod handle;
pub mod opts;
pub mod paginator;
pub mod sandbox;

use std::future::Future;
use std::pin::Pin;

use js_sys::Promise;
use wasm_bindgen::JsValue;

use crate::error::Result;

/// Runs a call as a JS promise, rejecting with the official error object on failure. Every
/// call goes through one boxed `future_to_promise`, so its executor glue exists once in the wasm.
pub fn promise(f: impl Future<Output = Result<JsValue>> + 'static) -> Promise {
    spawn(Box::pin(async move { f.await.map_err(JsValue::from) }))
}

pub fn spawn(f: Pin<Box<dyn Future<Output = core::result::Result<JsValue, JsValue>>>>) -> Promise {
    wasm_bindgen_futures::future_to_promise(f)
}
