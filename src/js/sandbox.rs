//! `SandboxCore`: the wasm side of `Sandbox`. The exported `Sandbox` class is a thin JS facade
//! (`pkg-templates/sandbox.js`) so that static factories can return instances of subclasses.

use alloc::rc::Rc;

use js_sys::{Object, Promise};
use wasm_bindgen::prelude::*;

use super::commands::Commands;
use super::filesystem::Filesystem;
use super::opts::{self, boolean, given, number, request_opts, string};
use super::pty::Pty;
use crate::api::lifecycle::OnTimeout;
use crate::api::{self, SandboxAccess, SandboxSpec, query};
use crate::config::{DEBUG_SANDBOX_ID, ENVD_DEBUG_VERSION};
use crate::envd::{self, Envd};
use crate::error::{ErrorClass, Result, error};
use crate::js_object::set;
use crate::prelude::*;
use crate::transport::exchange::{Next, run};
use crate::transport::rest::RestContext;

/// One connected sandbox; shared with its `Commands` and handles.
pub struct SandboxState {
    pub access: SandboxAccess,
    pub envd: Rc<Envd>,
}

#[wasm_bindgen]
pub struct SandboxCore {
    state: Rc<SandboxState>,
}

/// What `create`/`connect` resolve with: the fields the `Sandbox` constructor takes (with the
/// connection options), as the official SDK passes them to `new this(...)`.
fn access_fields(access: SandboxAccess) -> JsValue {
    let fields = Object::new();
    let optional = |s: Option<String>| s.map_or(JsValue::UNDEFINED, JsValue::from);
    set(&fields, "sandboxId", &JsValue::from(access.sandbox_id));
    set(&fields, "sandboxDomain", &optional(access.sandbox_domain));
    set(&fields, "envdVersion", &JsValue::from(access.envd_version));
    set(
        &fields,
        "envdAccessToken",
        &optional(access.envd_access_token),
    );
    set(
        &fields,
        "trafficAccessToken",
        &optional(access.traffic_access_token),
    );
    fields.into()
}

/// In debug mode there is no API: the sandbox is envd at the configured address.
fn debug_sandbox(sandbox_id: &str) -> Result<Next> {
    Next::done(access_fields(SandboxAccess {
        sandbox_id: sandbox_id.into(),
        envd_version: ENVD_DEBUG_VERSION.into(),
        ..Default::default()
    }))
}

/// `SandboxOpts` as `api` takes them (it writes the body).
fn sandbox_spec(template: String, v: &JsValue) -> SandboxSpec {
    let lifecycle = given(v, "lifecycle").unwrap_or(JsValue::UNDEFINED);
    let on_timeout = given(&lifecycle, "onTimeout");
    let on_timeout_object_form = on_timeout.as_ref().is_some_and(|o| o.is_object());
    let on_timeout = on_timeout.map(|o| match o.as_string() {
        Some(action) => OnTimeout {
            action,
            keep_memory: None,
        },
        None => OnTimeout {
            action: string(&o, "action").unwrap_or_default(),
            keep_memory: has_key(&o, "keepMemory")
                .then(|| boolean(&o, "keepMemory").unwrap_or(true)),
        },
    });
    SandboxSpec {
        template,
        metadata: given(v, "metadata"),
        mcp: given(v, "mcp"),
        envs: given(v, "envs"),
        network: given(v, "network"),
        iam: given(v, "iam"),
        timeout_ms: number(v, "timeoutMs"),
        allow_internet_access: boolean(v, "allowInternetAccess"),
        on_timeout,
        on_timeout_object_form,
        auto_resume: boolean(&lifecycle, "autoResume"),
        volume_mounts: opts::entries(v, "volumeMounts"),
    }
}

/// `onResume: 'reboot'` (the facade has checked the value).
fn reboots(v: &JsValue) -> bool {
    string(v, "onResume").is_some_and(|r| r == "reboot")
}

fn has_key(v: &JsValue, key: &str) -> bool {
    js_sys::Reflect::has(v, &JsValue::from_str(key)).unwrap_or(false)
}

fn static_kill(ctx: &RestContext, sandbox_id: &str) -> Result<Next> {
    if ctx.config.debug {
        return Next::done(true);
    }
    api::kill(ctx, sandbox_id)
}

fn static_metrics(ctx: &RestContext, sandbox_id: &str, v: &JsValue) -> Result<Next> {
    if ctx.config.debug {
        return Next::done(js_sys::Array::new());
    }
    let seconds = |key: &str| {
        given(v, key)
            .and_then(|d| d.dyn_into::<js_sys::Date>().ok())
            .map(|d| (d.get_time() / 1000.0 + 0.5) as i64 as f64)
    };
    let path = query::metrics_path(sandbox_id, seconds("start"), seconds("end"));
    api::get_metrics(ctx, &path, sandbox_id)
}

/// Runs `call` with the configuration of `v`'s options.
fn with_context(v: &JsValue, call: impl FnOnce(&RestContext) -> Result<Next>) -> Promise {
    run(opts::context(&opts::call_opts(v)).and_then(|ctx| call(&ctx)))
}

#[wasm_bindgen]
impl SandboxCore {
    /// The sandbox the public constructor's options describe: `sandboxId`, `sandboxDomain`,
    /// `envdVersion`, the access tokens and the connection options its calls start from.
    #[wasm_bindgen(constructor)]
    pub fn new(v: JsValue) -> core::result::Result<SandboxCore, JsValue> {
        let opts = opts::call_opts(&v);
        let ctx = opts::context(&opts)?;
        let access = SandboxAccess {
            sandbox_id: string(&v, "sandboxId").unwrap_or_default(),
            sandbox_domain: string(&v, "sandboxDomain"),
            envd_version: string(&v, "envdVersion").unwrap_or_default(),
            envd_access_token: string(&v, "envdAccessToken"),
            traffic_access_token: string(&v, "trafficAccessToken"),
        };
        let envd = Envd::new(
            ctx.config,
            ctx.logger,
            &access.sandbox_id,
            access.sandbox_domain.as_deref(),
            access.envd_version.clone(),
            access.envd_access_token.clone(),
        );
        let state = SandboxState {
            access,
            envd: Rc::new(envd),
        };
        Ok(SandboxCore {
            state: Rc::new(state),
        })
    }

    /// `Sandbox.create`: the facade has picked the template (`template`, or the calling class's
    /// default for plain or MCP sandboxes).
    pub fn create(template: String, v: JsValue) -> Promise {
        let opts = opts::call_opts(&v);
        run(opts::context(&opts).and_then(|ctx| {
            if ctx.config.debug {
                return debug_sandbox(DEBUG_SANDBOX_ID);
            }
            let spec = sandbox_spec(template, &v);
            api::create(&ctx, &spec, Box::new(access_fields))
        }))
    }

    /// `Sandbox.connect(sandboxId, opts?)`.
    pub fn connect(sandbox_id: String, v: JsValue) -> Promise {
        let opts = opts::call_opts(&v);
        run(opts::context(&opts).and_then(|ctx| {
            if ctx.config.debug {
                return debug_sandbox(&sandbox_id);
            }
            let timeout = number(&v, "timeoutMs");
            api::connect(
                &ctx,
                &sandbox_id,
                timeout,
                reboots(&v),
                Box::new(access_fields),
            )
        }))
    }

    pub fn kill(sandbox_id: String, v: JsValue) -> Promise {
        with_context(&v, |ctx| static_kill(ctx, &sandbox_id))
    }

    #[wasm_bindgen(js_name = getInfo)]
    pub fn get_info(sandbox_id: String, v: JsValue) -> Promise {
        with_context(&v, |ctx| api::get_info(ctx, &sandbox_id))
    }

    #[wasm_bindgen(js_name = getMetrics)]
    pub fn get_metrics(sandbox_id: String, v: JsValue) -> Promise {
        with_context(&v, |ctx| static_metrics(ctx, &sandbox_id, &v))
    }

    /// `Sandbox.updateNetwork` with the body the facade built.
    #[wasm_bindgen(js_name = updateNetwork)]
    pub fn update_network(sandbox_id: String, body: String, v: JsValue) -> Promise {
        with_context(&v, |ctx| api::update_network(ctx, &sandbox_id, body))
    }

    #[wasm_bindgen(js_name = setTimeout)]
    pub fn set_timeout(sandbox_id: String, timeout_ms: f64, v: JsValue) -> Promise {
        with_context(&v, |ctx| api::set_timeout(ctx, &sandbox_id, timeout_ms))
    }

    pub fn pause(sandbox_id: String, v: JsValue) -> Promise {
        let keep_memory = boolean(&v, "keepMemory");
        with_context(&v, |ctx| api::pause(ctx, &sandbox_id, keep_memory))
    }

    /// One page of `Sandbox.list` at `path`, with the call's options `v` over `list`'s
    /// (`list_opts`); the facade's `SandboxPaginator` keeps the query and the page token.
    #[wasm_bindgen(js_name = listPage)]
    pub fn list_page(path: String, list_opts: JsValue, v: JsValue) -> Promise {
        let opts = opts::call_opts(&v).over(&opts::call_opts(&list_opts));
        run(opts::context(&opts).and_then(|ctx| api::list_page(&ctx, &path)))
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
