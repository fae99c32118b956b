//! The caller's `logger` (`{ debug?, info?, warn?, error? }`, `console` qualifies).

use js_sys::{Array, Function};
use wasm_bindgen::{JsCast, JsValue};

use crate::js_object::get;

#[derive(Clone, Default)]
pub struct Logger(Option<JsValue>);

impl Logger {
    pub fn new(value: JsValue) -> Logger {
        Logger(Some(value).filter(|v| v.is_object()))
    }

    /// Calls `logger[level](...args)` when the logger has that method; a throwing logger must
    /// not fail the call it logs.
    pub fn log(&self, level: &str, args: &[JsValue]) {
        let Some(logger) = &self.0 else { return };
        if let Ok(f) = get(logger, level).dyn_into::<Function>() {
            let _ = f.apply(logger, &args.iter().collect::<Array>());
        }
    }

    pub fn enabled(&self) -> bool {
        self.0.is_some()
    }
}
