//! Reading and writing plain JavaScript objects (options in, results out, header maps): used by
//! every layer of the SDK, so it is a module of its own rather than a part of `transport`.

use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

use crate::prelude::*;

/// Sets `key` on a plain object; setting a property on a fresh object cannot fail.
pub fn set(target: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// `target[key]`; `undefined` where reading it throws. An absent option bag (`undefined`, `null`)
/// is answered here: `Reflect.get` would throw, and a caught exception costs more than the call.
pub fn get(target: &JsValue, key: &str) -> JsValue {
    if target.is_undefined() || target.is_null() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// `target[key]` when it is a non-empty string.
pub fn get_string(target: &JsValue, key: &str) -> Option<String> {
    get(target, key).as_string().filter(|s| !s.is_empty())
}

/// A plain object of header names and values, as `fetch` takes it.
pub fn headers_object<'a>(headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> Object {
    let obj = Object::new();
    for (k, v) in headers {
        set(&obj, k, &JsValue::from_str(v));
    }
    obj
}

/// A copy of a header map built once, for one request: each `fetch` gets an object of its own.
pub fn headers_copy(headers: &Object) -> Object {
    Object::assign(&Object::new(), headers)
}
