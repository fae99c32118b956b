//! `SandboxCore`: the wasm side of `Sandbox`. The exported `Sandbox` class is a thin JS facade
//! (`pkg-templates/sandbox.js`) so that static factories can return instances of subclasses.

use alloc::rc::Rc;

use js_sys::{Object, Promise};
use wasm_bindgen::prelude::*;

use super::commands::Commands;
use super::filesystem::Filesystem;
use super::opts::{given, number, request_opts, string};
use super::pty::Pty;
use crate::config::REQUEST_TIMEOUT_MS;
use crate::envd::{self, Envd, EnvdAccess, http_failure};
use crate::error::{ErrorClass, NotFoundAs, error};
use crate::js_object::{headers_copy, set};
use crate::prelude::*;
use crate::transport::exchange::{Next, run};
use crate::transport::log::Logger;

/// One connected sandbox: its envd, shared with its `Commands`, `Filesystem`, `Pty` and handles.
#[wasm_bindgen]
pub struct SandboxCore {
    envd: Rc<Envd>,
}

#[wasm_bindgen]
impl SandboxCore {
    /// The sandbox the facade's constructor describes: `sandboxId`, `envdVersion`,
    /// `envdAccessToken`, and what its `ConnectionConfig` resolved (`envdApiUrl`,
    /// `envdDirectUrl`, `userAgent`, `requestTimeoutMs`, `logger`).
    #[wasm_bindgen(constructor)]
    pub fn new(v: JsValue) -> SandboxCore {
        let access = EnvdAccess {
            sandbox_id: string(&v, "sandboxId").unwrap_or_default(),
            url: string(&v, "envdApiUrl").unwrap_or_default(),
            direct_url: string(&v, "envdDirectUrl").unwrap_or_default(),
            version: string(&v, "envdVersion").unwrap_or_default(),
            access_token: string(&v, "envdAccessToken"),
            user_agent: string(&v, "userAgent").unwrap_or_default(),
            request_timeout_ms: number(&v, "requestTimeoutMs").unwrap_or(REQUEST_TIMEOUT_MS),
        };
        let logger = given(&v, "logger").map(Logger::new).unwrap_or_default();
        SandboxCore {
            envd: Rc::new(Envd::new(access, logger)),
        }
    }

    pub fn commands(&self) -> Commands {
        Commands::new(self.envd.clone())
    }

    pub fn files(&self) -> Filesystem {
        Filesystem::new(self.envd.clone())
    }

    pub fn pty(&self) -> Pty {
        Pty::new(self.envd.clone())
    }

    #[wasm_bindgen(js_name = isRunning)]
    pub fn is_running(&self, v: JsValue) -> Promise {
        run(self.envd.is_running(&request_opts(&v)))
    }

    /// The headers every envd request carries (for the `/files` calls made in JavaScript).
    #[wasm_bindgen(js_name = envdHeaders)]
    pub fn envd_headers(&self) -> Object {
        headers_copy(&self.envd.request_headers.own)
    }

    /// The user to name when the caller names none (`user` for envd older than 0.4.0).
    #[wasm_bindgen(js_name = defaultUser)]
    pub fn default_user(&self) -> Option<String> {
        self.envd.effective_user(None).map(String::from)
    }

    /// The error of a failed `/files` answer (envd's HTTP table, `FileNotFoundError` for 404).
    #[wasm_bindgen(js_name = filesFailure)]
    pub fn files_failure(&self, status: u16, status_text: String, text: &str) -> JsValue {
        http_failure(status, status_text, text, NotFoundAs::File).into()
    }

    /// Rejects as a `/files` request whose `fetch` failed with `failure` should: with it, or
    /// with a `TimeoutError` when the connection dropped and `/health` says the sandbox is gone.
    #[wasm_bindgen(js_name = fetchFailure)]
    pub fn fetch_failure(&self, failure: JsValue) -> Promise {
        run(self.envd.fetch_failure(failure))
    }

    #[wasm_bindgen(js_name = uploadUrl)]
    pub fn upload_url(&self, path: Option<String>, v: JsValue) -> Promise {
        self.file_url(&path.unwrap_or_default(), "write", &v)
    }

    #[wasm_bindgen(js_name = downloadUrl)]
    pub fn download_url(&self, path: String, v: JsValue) -> Promise {
        self.file_url(&path, "read", &v)
    }

    fn file_url(&self, path: &str, operation: &str, v: &JsValue) -> Promise {
        let user = string(v, "user");
        let expiration = number(v, "useSignatureExpiration");
        let envd = &self.envd;
        run(envd.file_url(path, operation, user.as_deref(), expiration))
    }
}

/// `getSignature(opts)` (value export).
#[wasm_bindgen(js_name = getSignature)]
pub fn get_signature(v: JsValue) -> Promise {
    let Some(token) = string(&v, "envdAccessToken") else {
        let message = "Access token is not set and signature cannot be generated!";
        return run(Err(error(ErrorClass::Plain, message)));
    };
    let path = string(&v, "path").unwrap_or_default();
    let operation = string(&v, "operation").unwrap_or_default();
    let user = string(&v, "user");
    let expiration = number(&v, "expirationInSeconds");
    run(envd::sign(
        &path,
        &operation,
        user.as_deref(),
        &token,
        expiration,
        |signature, expiration| {
            let out = Object::new();
            set(&out, "signature", &JsValue::from(signature));
            let expiration = expiration.map_or(JsValue::NULL, |e| JsValue::from(e as f64));
            set(&out, "expiration", &expiration);
            Next::done(out)
        },
    ))
}
