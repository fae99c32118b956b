//! `SandboxCore`: the wasm side of `Sandbox`. The exported `Sandbox` class is a thin JS facade
//! (`pkg-templates/sandbox.js`) so that static factories can return instances of subclasses.

use std::rc::Rc;

use js_sys::{Object, Promise};
use wasm_bindgen::prelude::*;

use super::commands::Commands;
use super::opts::{self, CallOpts, Resolved, boolean, given, number, string};
use super::paginator::SandboxPaginator;
use crate::api::{self, SandboxAccess, query};
use crate::config::{DEBUG_SANDBOX_ID, DEFAULT_TEMPLATE, ENVD_DEBUG_VERSION, timeout_to_seconds};
use crate::envd::Envd;
use crate::error::{Error, Result};
use crate::transport::fetch::set;

/// One connected sandbox; shared with its `Commands` and handles.
pub struct SandboxState {
    pub access: SandboxAccess,
    pub envd: Envd,
    /// The options the sandbox was created or connected with (merged under per-call ones).
    pub opts: CallOpts,
}

#[wasm_bindgen]
pub struct SandboxCore {
    state: Rc<SandboxState>,
}

use super::promise;

impl SandboxCore {
    fn new(access: SandboxAccess, opts: CallOpts) -> SandboxCore {
        let r = Resolved::new(&opts);
        let envd = Envd::new(
            r.config,
            r.logger,
            &access.sandbox_id,
            access.sandbox_domain.as_deref(),
            access.envd_version.clone(),
            access.envd_access_token.clone(),
        );
        SandboxCore {
            state: Rc::new(SandboxState { access, envd, opts }),
        }
    }

    fn debug(access_id: &str, opts: CallOpts) -> SandboxCore {
        let access = SandboxAccess {
            sandbox_id: access_id.into(),
            envd_version: ENVD_DEBUG_VERSION.into(),
            ..Default::default()
        };
        SandboxCore::new(access, opts)
    }

    /// The sandbox's options with this call's laid over them (`resolveApiOpts`).
    fn merged(&self, v: &JsValue) -> CallOpts {
        merge(&self.state.opts, &opts::call_opts(v))
    }
}

pub fn merge(base: &CallOpts, call: &CallOpts) -> CallOpts {
    let (b, c) = (&base.conn, &call.conn);
    CallOpts {
        conn: crate::config::ConnectionOpts {
            api_key: c.api_key.clone().or_else(|| b.api_key.clone()),
            domain: c.domain.clone().or_else(|| b.domain.clone()),
            api_url: c.api_url.clone().or_else(|| b.api_url.clone()),
            sandbox_url: c.sandbox_url.clone().or_else(|| b.sandbox_url.clone()),
            debug: c.debug.or(b.debug),
            request_timeout_ms: c.request_timeout_ms.or(b.request_timeout_ms),
            headers: c.headers.clone().or_else(|| b.headers.clone()),
            api_headers: c.api_headers.clone().or_else(|| b.api_headers.clone()),
        },
        signal: call.signal.clone(),
        logger: call.logger.clone().or_else(|| base.logger.clone()),
    }
}

/// The `POST /v2/sandboxes` body from `SandboxOpts` (unset fields left out, as officially).
fn create_body(template: &str, v: &JsValue) -> Result<String> {
    let body = Object::new();
    set(&body, "templateID", &JsValue::from_str(template));
    for (from, to) in [
        ("metadata", "metadata"),
        ("mcp", "mcp"),
        ("envs", "envVars"),
        ("network", "network"),
        ("volumeMounts", ""),
    ] {
        if let Some(value) = given(v, from).filter(|_| !to.is_empty()) {
            set(&body, to, &value);
        }
    }
    if let Some(ms) = number(v, "timeoutMs") {
        set(
            &body,
            "timeout",
            &JsValue::from(timeout_to_seconds(ms) as f64),
        );
    }
    if let Some(allow) = boolean(v, "allowInternetAccess") {
        set(&body, "allow_internet_access", &JsValue::from(allow));
    }
    let lifecycle = given(v, "lifecycle").unwrap_or(JsValue::UNDEFINED);
    let on_timeout_value = given(&lifecycle, "onTimeout");
    let object_form = on_timeout_value.as_ref().is_some_and(|o| o.is_object());
    let on_timeout = on_timeout_value.map(|o| match o.as_string() {
        Some(action) => query::OnTimeout {
            action,
            keep_memory: None,
        },
        None => query::OnTimeout {
            action: string(&o, "action").unwrap_or_default(),
            keep_memory: has_key(&o, "keepMemory")
                .then(|| boolean(&o, "keepMemory").unwrap_or(true)),
        },
    });
    let fields = query::lifecycle_fields(
        on_timeout.as_ref(),
        boolean(&lifecycle, "autoResume"),
        object_form,
    )?;
    if let Some(p) = fields.auto_pause {
        set(&body, "autoPause", &JsValue::from(p));
    }
    if let Some(m) = fields.auto_pause_memory {
        set(&body, "autoPauseMemory", &JsValue::from(m));
    }
    if let Some(r) = fields.auto_resume {
        let enabled = Object::new();
        set(&enabled, "enabled", &JsValue::from(r));
        set(&body, "autoResume", &enabled);
    }
    if let Some(mounts) = record_of_values(v, "volumeMounts") {
        let list: js_sys::Array = mounts
            .into_iter()
            .map(|(path, vol)| {
                let m = Object::new();
                set(
                    &m,
                    "name",
                    &vol.as_string()
                        .map_or_else(|| crate::transport::fetch::get(&vol, "name"), JsValue::from),
                );
                set(&m, "path", &JsValue::from(path));
                JsValue::from(m)
            })
            .collect();
        set(&body, "volumeMounts", &list);
    }
    Ok(js_sys::JSON::stringify(&body).map_err(Error::Js)?.into())
}

fn has_key(v: &JsValue, key: &str) -> bool {
    js_sys::Reflect::has(v, &JsValue::from_str(key)).unwrap_or(false)
}

fn record_of_values(v: &JsValue, key: &str) -> Option<Vec<(String, JsValue)>> {
    let obj: Object = given(v, key)?.dyn_into().ok()?;
    Some(
        Object::entries(&obj)
            .iter()
            .map(|e| {
                let p = js_sys::Array::from(&e);
                (p.get(0).as_string().unwrap_or_default(), p.get(1))
            })
            .collect(),
    )
}

#[wasm_bindgen]
impl SandboxCore {
    /// `Sandbox.create(opts?)` / `Sandbox.create(template, opts?)`; `default_template` is the
    /// calling class's `defaultTemplate`.
    pub fn create(
        template_or_opts: JsValue,
        maybe_opts: JsValue,
        default_template: Option<String>,
    ) -> Promise {
        promise(async move {
            let (template, v) = match template_or_opts.as_string() {
                Some(t) => (t, maybe_opts),
                None => {
                    let t = string(&template_or_opts, "template").unwrap_or_else(|| {
                        default_template.unwrap_or_else(|| DEFAULT_TEMPLATE.into())
                    });
                    (t, template_or_opts)
                }
            };
            let opts = opts::call_opts(&v);
            let r = Resolved::new(&opts);
            if r.config.debug {
                return Ok(SandboxCore::debug(DEBUG_SANDBOX_ID, opts).into());
            }
            let access = api::create(&r.rest(), &create_body(&template, &v)?).await?;
            Ok(SandboxCore::new(access, opts).into())
        })
    }

    /// `Sandbox.connect(sandboxId, opts?)`.
    pub fn connect(sandbox_id: String, v: JsValue) -> Promise {
        promise(async move {
            let opts = opts::call_opts(&v);
            let r = Resolved::new(&opts);
            if r.config.debug {
                return Ok(SandboxCore::debug(&sandbox_id, opts).into());
            }
            let mut access = api::connect(&r.rest(), &sandbox_id, number(&v, "timeoutMs")).await?;
            access.sandbox_id = sandbox_id;
            Ok(SandboxCore::new(access, opts).into())
        })
    }

    pub fn kill(sandbox_id: String, v: JsValue) -> Promise {
        promise(async move {
            static_kill(&sandbox_id, &opts::call_opts(&v))
                .await
                .map(JsValue::from)
        })
    }

    #[wasm_bindgen(js_name = getInfo)]
    pub fn get_info(sandbox_id: String, v: JsValue) -> Promise {
        promise(async move {
            Ok(
                api::get_info(&Resolved::new(&opts::call_opts(&v)).rest(), &sandbox_id)
                    .await?
                    .into(),
            )
        })
    }

    #[wasm_bindgen(js_name = getMetrics)]
    pub fn get_metrics(sandbox_id: String, v: JsValue) -> Promise {
        promise(async move { static_metrics(&sandbox_id, &v, &opts::call_opts(&v)).await })
    }

    #[wasm_bindgen(js_name = setTimeout)]
    pub fn set_timeout(sandbox_id: String, timeout_ms: f64, v: JsValue) -> Promise {
        promise(async move {
            api::set_timeout(
                &Resolved::new(&opts::call_opts(&v)).rest(),
                &sandbox_id,
                timeout_ms,
            )
            .await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    pub fn pause(sandbox_id: String, v: JsValue) -> Promise {
        promise(async move {
            Ok(api::pause(
                &Resolved::new(&opts::call_opts(&v)).rest(),
                &sandbox_id,
                boolean(&v, "keepMemory"),
            )
            .await?
            .into())
        })
    }

    /// `Sandbox.list(opts?)`: no request until `nextItems()`.
    pub fn list(v: JsValue) -> SandboxPaginator {
        SandboxPaginator::new(&v)
    }

    #[wasm_bindgen(getter, js_name = sandboxId)]
    pub fn sandbox_id(&self) -> String {
        self.state.access.sandbox_id.clone()
    }

    #[wasm_bindgen(getter, js_name = sandboxDomain)]
    pub fn sandbox_domain(&self) -> String {
        self.state
            .access
            .sandbox_domain
            .clone()
            .unwrap_or_else(|| self.state.envd.config.domain.clone())
    }

    #[wasm_bindgen(getter, js_name = trafficAccessToken)]
    pub fn traffic_access_token(&self) -> Option<String> {
        self.state.access.traffic_access_token.clone()
    }

    #[wasm_bindgen(getter, js_name = envdAccessToken)]
    pub fn envd_access_token(&self) -> Option<String> {
        self.state.access.envd_access_token.clone()
    }

    pub fn commands(&self) -> Commands {
        Commands::new(self.state.clone())
    }

    #[wasm_bindgen(js_name = connectSelf)]
    pub fn connect_self(&self, v: JsValue) -> Promise {
        let (opts, id) = (self.merged(&v), self.sandbox_id());
        let timeout = number(&v, "timeoutMs");
        promise(async move {
            let r = Resolved::new(&opts);
            if !r.config.debug {
                api::connect(&r.rest(), &id, timeout).await?;
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    #[wasm_bindgen(js_name = killSelf)]
    pub fn kill_self(&self, v: JsValue) -> Promise {
        let (opts, id) = (self.merged(&v), self.sandbox_id());
        promise(async move { static_kill(&id, &opts).await.map(JsValue::from) })
    }

    #[wasm_bindgen(js_name = setTimeoutSelf)]
    pub fn set_timeout_self(&self, timeout_ms: f64, v: JsValue) -> Promise {
        let (opts, id) = (self.merged(&v), self.sandbox_id());
        promise(async move {
            let r = Resolved::new(&opts);
            if !r.config.debug {
                api::set_timeout(&r.rest(), &id, timeout_ms).await?;
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    #[wasm_bindgen(js_name = getInfoSelf)]
    pub fn get_info_self(&self, v: JsValue) -> Promise {
        let (opts, id) = (self.merged(&v), self.sandbox_id());
        promise(async move {
            Ok(api::get_info(&Resolved::new(&opts).rest(), &id)
                .await?
                .into())
        })
    }

    #[wasm_bindgen(js_name = getMetricsSelf)]
    pub fn get_metrics_self(&self, v: JsValue) -> Promise {
        let (opts, id, state) = (self.merged(&v), self.sandbox_id(), self.state.clone());
        promise(async move {
            if !state.access.envd_version.is_empty() && !state.envd.supports("0.1.5") {
                return Err(crate::error::error(
                    crate::error::ErrorClass::Template,
                    "You need to update the template to use the new SDK.",
                ));
            }
            static_metrics(&id, &v, &opts).await
        })
    }

    #[wasm_bindgen(js_name = pauseSelf)]
    pub fn pause_self(&self, v: JsValue) -> Promise {
        let (opts, id) = (self.merged(&v), self.sandbox_id());
        promise(async move {
            Ok(
                api::pause(&Resolved::new(&opts).rest(), &id, boolean(&v, "keepMemory"))
                    .await?
                    .into(),
            )
        })
    }

    #[wasm_bindgen(js_name = isRunning)]
    pub fn is_running(&self, v: JsValue) -> Promise {
        let state = self.state.clone();
        promise(async move {
            let signal = given(&v, "signal").and_then(|s| s.dyn_into().ok());
            Ok(state
                .envd
                .is_running(signal, number(&v, "requestTimeoutMs"))
                .await?
                .into())
        })
    }

    #[wasm_bindgen(js_name = getHost)]
    pub fn get_host(&self, port: u16) -> String {
        let s = &self.state;
        s.envd.config.host(
            &s.access.sandbox_id,
            port,
            s.access.sandbox_domain.as_deref(),
        )
    }

    #[wasm_bindgen(js_name = uploadUrl)]
    pub fn upload_url(&self, path: Option<String>, v: JsValue) -> Promise {
        self.file_url(path.unwrap_or_default(), "write", v)
    }

    #[wasm_bindgen(js_name = downloadUrl)]
    pub fn download_url(&self, path: String, v: JsValue) -> Promise {
        self.file_url(path, "read", v)
    }

    fn file_url(&self, path: String, operation: &'static str, v: JsValue) -> Promise {
        let state = self.state.clone();
        promise(async move {
            let user = string(&v, "user");
            Ok(state
                .envd
                .file_url(
                    &path,
                    operation,
                    user.as_deref(),
                    number(&v, "useSignatureExpiration"),
                )
                .await?
                .into())
        })
    }
}

async fn static_kill(sandbox_id: &str, opts: &CallOpts) -> Result<bool> {
    let r = Resolved::new(opts);
    if r.config.debug {
        return Ok(true);
    }
    api::kill(&r.rest(), sandbox_id).await
}

async fn static_metrics(sandbox_id: &str, v: &JsValue, opts: &CallOpts) -> Result<JsValue> {
    let r = Resolved::new(opts);
    if r.config.debug {
        return Ok(js_sys::Array::new().into());
    }
    let seconds = |key: &str| {
        given(v, key)
            .and_then(|d| d.dyn_into::<js_sys::Date>().ok())
            .map(|d| (d.get_time() / 1000.0).round())
    };
    let path = query::metrics_path(sandbox_id, seconds("start"), seconds("end"));
    Ok(api::get_metrics(&r.rest(), &path, sandbox_id).await?.into())
}

/// `getSignature(opts)` (value export).
#[wasm_bindgen(js_name = getSignature)]
pub fn get_signature(v: JsValue) -> Promise {
    promise(async move {
        let Some(token) = string(&v, "envdAccessToken") else {
            return Err(crate::error::error(
                crate::error::ErrorClass::Plain,
                "Access token is not set and signature cannot be generated!",
            ));
        };
        let path = string(&v, "path").unwrap_or_default();
        let operation = string(&v, "operation").unwrap_or_default();
        let (signature, expiration) = crate::envd::sign(
            &path,
            &operation,
            string(&v, "user").as_deref(),
            &token,
            number(&v, "expirationInSeconds"),
        )
        .await?;
        let out = Object::new();
        set(&out, "signature", &JsValue::from(signature));
        set(
            &out,
            "expiration",
            &expiration.map_or(JsValue::NULL, |e| JsValue::from(e as f64)),
        );
        Ok(out.into())
    })
}
