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
use crate::transport::codec::check_content_type;
use crate::transport::connect::unary_error;
use crate::transport::exchange::{Next, run};
use crate::transport::log::Logger;
use crate::transport::signal::fetch_error;
use envd_protocol::{Code, Codec, ConnectError, ContentType};
use web_sys::AbortSignal;

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

    /// Judges the answer of a filesystem RPC made in JavaScript (pkg-templates/files.js) that is
    /// not a plain JSON 200: `null` when it is a JSON answer after all (a content type with
    /// parameters: JavaScript decodes it), `false` when it failed with the Connect code named
    /// `false_on` (`exists` of a missing path, `makeDir` of an existing directory), else a
    /// rejection with the official error.
    #[wasm_bindgen(js_name = rpcAnswer)]
    pub fn rpc_answer(
        &self,
        status: u16,
        content_type: Option<String>,
        text: &str,
        false_on: Option<String>,
    ) -> Promise {
        let content_type = content_type.as_deref();
        let failure = if status == 200 {
            let json = ContentType {
                streaming: false,
                codec: Codec::Json,
            };
            match check_content_type(content_type, json) {
                Ok(()) => return Promise::resolve(&JsValue::NULL),
                Err(e) => e,
            }
        } else {
            unary_error(status, content_type, text.as_bytes())
        };
        if false_on.as_deref() == Some(failure.code.as_str()) {
            return Promise::resolve(&JsValue::FALSE);
        }
        run(self.envd.rpc_failure(failure, NotFoundAs::File))
    }

    /// Rejects with the official error of a filesystem RPC made in JavaScript whose answer failed
    /// with Connect's `code` (a name; `unknown` if it is none) and `message`: one that could not
    /// be decoded.
    #[wasm_bindgen(js_name = rpcError)]
    pub fn rpc_error(&self, code: &str, message: String) -> Promise {
        let code = Code::from_name(code).unwrap_or(Code::Unknown);
        run(self
            .envd
            .rpc_failure(ConnectError::new(code, message), NotFoundAs::File))
    }

    /// Rejects as a filesystem RPC made in JavaScript whose `fetch` or body read failed with
    /// `failure` under `signal` should (the `/health` probe of a dropped connection included).
    #[wasm_bindgen(js_name = rpcFetchFailure)]
    pub fn rpc_fetch_failure(&self, failure: JsValue, signal: &AbortSignal) -> Promise {
        let failure = fetch_error(signal, &failure);
        run(self.envd.rpc_failure(failure, NotFoundAs::File))
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
