//! Bindings to the runtime's globals. `clearTimeout` (and, in promises.js, `fetch` and
//! `setTimeout`) are looked up on the global object, never on `window`, which Node, Workers and
//! Web Workers do not have.

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use web_sys::{AbortController, AbortSignal};

use crate::js_object::get;
use crate::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = clearTimeout)]
    pub fn clear_timeout(id: &JsValue);
    /// JavaScript's `String(value)`.
    #[wasm_bindgen(js_name = String)]
    pub fn js_string(value: &JsValue) -> String;
}

#[wasm_bindgen(module = "/pkg-templates/promises.js")]
extern "C" {
    /// Marks a promise whose outcome nobody needs as handled, so a rejection (e.g. cancelling
    /// an already failed body) is not reported as unhandled.
    #[wasm_bindgen(js_name = ignoreOutcome)]
    pub fn ignore_outcome(promise: &Promise);
    /// Aborts `controller` with `signal`'s reason when `signal` aborts, until the function it
    /// returns is called.
    #[wasm_bindgen(js_name = linkAbort)]
    pub fn link_abort(signal: &AbortSignal, controller: &AbortController) -> Function;
    /// Starts a timer that aborts `controller` after `ms` as a request timeout (`kind` 0), a
    /// stream's handshake timeout (1) or its deadline (2); returns the timer's id.
    #[wasm_bindgen(js_name = abortAfter)]
    pub fn abort_after(controller: &AbortController, ms: f64, kind: u32) -> JsValue;

}

/// Whether the runtime is a browser (decides the envd host form, like the official SDK).
pub fn is_browser() -> bool {
    runtime_name() == "browser"
}

/// The official SDK's `sdk_runtime` value for the current runtime.
pub fn runtime_name() -> &'static str {
    let global = js_sys::global();
    let has = |k: &str| !get(&global, k).is_undefined();
    let is = |v: JsValue, expected: &str| v.as_string().as_deref() == Some(expected);
    if has("Bun") {
        "bun"
    } else if has("Deno") {
        "deno"
    } else if get(&global, "EdgeRuntime").is_string() {
        "vercel-edge"
    } else if is(
        get(&get(&global, "navigator"), "userAgent"),
        "Cloudflare-Workers",
    ) {
        "cloudflare-worker"
    } else if is(
        get(&get(&get(&global, "process"), "release"), "name"),
        "node",
    ) {
        "node"
    } else if has("window") {
        "browser"
    } else {
        "unknown"
    }
}

/// Reads an environment variable where the runtime exposes `process.env` (Node, Bun, Workers
/// with `nodejs_compat`); elsewhere every variable is unset. Never imports a Node module.
pub fn env_var(name: &str) -> Option<String> {
    let process = get(&js_sys::global(), "process");
    if process.is_undefined() || process.is_null() {
        return None;
    }
    get(&get(&process, "env"), name).as_string()
}
