//! `SandboxCore`: the wasm side of `Sandbox`. The exported `Sandbox` class is a thin JS facade
//! (`pkg-templates/sandbox.js`) so that static factories can return instances of subclasses.

use alloc::rc::Rc;

use js_sys::{Object, Promise};
use wasm_bindgen::prelude::*;

use super::commands::Commands;
use super::filesystem::Filesystem;
use super::opts::{self, number, request_opts, string};
use super::pty::Pty;
use crate::envd::{self, Envd};
use crate::error::{ErrorClass, error};
use crate::js_object::set;
use crate::prelude::*;
use crate::transport::exchange::{Next, run};
use crate::transport::fetch::runtime_name;

/// One connected sandbox; shared with its `Commands` and handles.
pub struct SandboxState {
    pub envd: Rc<Envd>,
}

#[wasm_bindgen]
pub struct SandboxCore {
    state: Rc<SandboxState>,
}

#[wasm_bindgen]
impl SandboxCore {
    /// The sandbox the public constructor's options describe: `sandboxId`, `sandboxDomain`,
    /// `envdVersion`, the access tokens and the connection options its calls start from.
    #[wasm_bindgen(constructor)]
    pub fn new(v: JsValue) -> core::result::Result<SandboxCore, JsValue> {
        let opts = opts::call_opts(&v);
        let config = opts::config(&opts)?;
        let envd = Envd::new(
            config,
            opts.logger.unwrap_or_default(),
            &string(&v, "sandboxId").unwrap_or_default(),
            string(&v, "sandboxDomain").as_deref(),
            string(&v, "envdVersion").unwrap_or_default(),
            string(&v, "envdAccessToken"),
        );
        let state = SandboxState {
            envd: Rc::new(envd),
        };
        Ok(SandboxCore {
            state: Rc::new(state),
        })
    }

    pub fn commands(&self) -> Commands {
        Commands::new(self.state.clone())
    }

    pub fn files(&self) -> Filesystem {
        Filesystem::new(self.state.clone())
    }

    pub fn pty(&self) -> Pty {
        Pty::new(self.state.clone())
    }

    #[wasm_bindgen(js_name = isRunning)]
    pub fn is_running(&self, v: JsValue) -> Promise {
        run(self.state.envd.is_running(&request_opts(&v)))
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
        let envd = &self.state.envd;
        run(envd.file_url(path, operation, user.as_deref(), expiration))
    }
}

/// The official SDK's `sdk_runtime` of this runtime (the control plane's telemetry header).
#[wasm_bindgen(js_name = runtimeName)]
pub fn runtime_name_export() -> String {
    runtime_name().into()
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
