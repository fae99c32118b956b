//! Bindings to the runtime's globals. `clearTimeout` (and, in promises.js, `fetch` and
//! `setTimeout`) are looked up on the global object, never on `window`, which Node, Workers and
//! Web Workers do not have.

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use web_sys::{AbortController, AbortSignal};

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
