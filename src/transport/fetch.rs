//! Bindings to the runtime's globals. `fetch`, `setTimeout` and `clearTimeout` are looked up on
//! the global object, never on `window`, which Node, Workers and Web Workers do not have.

use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Response};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(url: &str, init: &Object) -> Promise;
    #[wasm_bindgen(js_name = setTimeout)]
    pub fn set_timeout(handler: &Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    pub fn clear_timeout(id: &JsValue);
    /// JavaScript's `String(value)`.
    #[wasm_bindgen(js_name = String)]
    pub fn js_string(value: &JsValue) -> String;
}

thread_local! {
    static IGNORE: Closure<dyn FnMut(JsValue)> = Closure::new(|_| {});
}

/// Marks a promise whose outcome nobody needs as handled, so a rejection (e.g. cancelling an
/// already failed body) is not reported as unhandled.
pub fn ignore_outcome(promise: &Promise) {
    IGNORE.with(|f| {
        let _ = promise.catch(f);
    });
}

/// Sets `key` on a plain object; setting a property on a fresh object cannot fail.
pub fn set(target: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

pub fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

pub fn headers_object<'a>(headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> Object {
    let obj = Object::new();
    for (k, v) in headers {
        set(&obj, k, &JsValue::from_str(v));
    }
    obj
}

/// Body of a request.
pub enum Body<'a> {
    None,
    Text(&'a str),
    Bytes(&'a [u8]),
}

/// Sends one request; rejects with whatever `fetch` rejects with.
pub async fn fetch(
    method: &str,
    url: &str,
    headers: &Object,
    body: Body<'_>,
    signal: &AbortSignal,
) -> Result<Response, JsValue> {
    let init = Object::new();
    set(&init, "method", &JsValue::from_str(method));
    set(&init, "headers", headers);
    set(&init, "signal", signal);
    // Edge runtimes reject `redirect: 'error'`; the official SDK follows redirects too.
    set(&init, "redirect", &JsValue::from_str("follow"));
    match body {
        Body::None => {}
        Body::Text(s) => set(&init, "body", &JsValue::from_str(s)),
        Body::Bytes(b) => set(&init, "body", &Uint8Array::from(b)),
    }
    JsFuture::from(global_fetch(url, &init)).await?.dyn_into()
}

/// The body of a response as bytes.
pub async fn bytes(response: &Response) -> Result<Vec<u8>, JsValue> {
    let buf = JsFuture::from(response.array_buffer()?).await?;
    Ok(Uint8Array::new(&buf).to_vec())
}

pub async fn text(response: &Response) -> Result<String, JsValue> {
    Ok(JsFuture::from(response.text()?)
        .await?
        .as_string()
        .unwrap_or_default())
}

/// Whether the runtime is a browser (decides the envd host form, like the official SDK).
pub fn is_browser() -> bool {
    let global = js_sys::global();
    runtime_name(&global) == "browser"
}

/// The official SDK's `sdk_runtime` value for the current runtime.
pub fn runtime_name(global: &Object) -> &'static str {
    let has = |k: &str| !get(global, k).is_undefined();
    if has("Bun") {
        "bun"
    } else if has("Deno") {
        "deno"
    } else if get(global, "EdgeRuntime").is_string() {
        "vercel-edge"
    } else if get(&get(global, "navigator"), "userAgent")
        .as_string()
        .as_deref()
        == Some("Cloudflare-Workers")
    {
        "cloudflare-worker"
    } else if get(&get(&get(global, "process"), "release"), "name")
        .as_string()
        .as_deref()
        == Some("node")
    {
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
