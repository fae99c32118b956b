//! Turns crate errors into instances of the official error classes (`pkg-templates/errors.js`).

use wasm_bindgen::prelude::*;

use crate::error::{Error, ErrorClass, SdkError};

#[wasm_bindgen(module = "/pkg-templates/errors.js")]
extern "C" {
    #[wasm_bindgen(js_name = makeError)]
    fn make_error(kind: &str, message: &str) -> JsValue;
    #[wasm_bindgen(js_name = makeCommandExitError)]
    pub fn make_command_exit_error(result: &JsValue) -> JsValue;
}

fn kind(class: ErrorClass) -> &'static str {
    match class {
        ErrorClass::Plain => "Plain",
        ErrorClass::Sandbox => "Sandbox",
        ErrorClass::Timeout => "Timeout",
        ErrorClass::InvalidArgument => "InvalidArgument",
        ErrorClass::NotEnoughSpace => "NotEnoughSpace",
        ErrorClass::NotFound => "NotFound",
        ErrorClass::FileNotFound => "FileNotFound",
        ErrorClass::SandboxNotFound => "SandboxNotFound",
        ErrorClass::Authentication => "Authentication",
        ErrorClass::Template => "Template",
        ErrorClass::RateLimit => "RateLimit",
    }
}

pub fn sdk_error_to_js(e: &SdkError) -> JsValue {
    make_error(kind(e.class), &e.message)
}

impl From<Error> for JsValue {
    fn from(e: Error) -> JsValue {
        match e {
            Error::Sdk(e) => sdk_error_to_js(&e),
            Error::Js(v) => v,
        }
    }
}
