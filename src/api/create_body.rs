//! The `POST /v2/sandboxes` body: what `Sandbox.create` asks for, in the API's field names and
//! order, unset fields left out (as the official SDK sends it). `js` reads the options into a
//! [`SandboxSpec`]; the wire is written here.

use js_sys::{Array, Object};
use wasm_bindgen::JsValue;

use super::lifecycle::{OnTimeout, lifecycle_fields};
use crate::config::timeout_to_seconds;
use crate::error::Result;
use crate::js_object::{get, set};
use crate::prelude::*;

/// `Sandbox.create`'s options as given. The JS values are passed through unchanged.
#[derive(Default)]
pub struct SandboxSpec {
    pub template: String,
    pub metadata: Option<JsValue>,
    pub mcp: Option<JsValue>,
    pub envs: Option<JsValue>,
    pub network: Option<JsValue>,
    pub iam: Option<JsValue>,
    pub timeout_ms: Option<f64>,
    pub allow_internet_access: Option<bool>,
    pub on_timeout: Option<OnTimeout>,
    /// `onTimeout` was an object (`{ action, keepMemory? }`): error messages name `action`.
    pub on_timeout_object_form: bool,
    pub auto_resume: Option<bool>,
    /// `volumeMounts` as (mount path, volume) pairs: the volume is its name or a `Volume`.
    pub volume_mounts: Option<Vec<(String, JsValue)>>,
}

/// The JSON body; fails with `InvalidArgument` when the lifecycle options contradict each other.
pub fn create_body(spec: &SandboxSpec) -> Result<String> {
    let body = Object::new();
    set(&body, "templateID", &JsValue::from_str(&spec.template));
    for (key, value) in [
        ("metadata", &spec.metadata),
        ("mcp", &spec.mcp),
        ("envVars", &spec.envs),
        ("network", &spec.network),
        ("iam", &spec.iam),
    ] {
        if let Some(value) = value {
            set(&body, key, value);
        }
    }
    if let Some(ms) = spec.timeout_ms {
        let seconds = timeout_to_seconds(ms) as f64;
        set(&body, "timeout", &JsValue::from(seconds));
    }
    if let Some(allow) = spec.allow_internet_access {
        set(&body, "allow_internet_access", &JsValue::from(allow));
    }
    let fields = lifecycle_fields(
        spec.on_timeout.as_ref(),
        spec.auto_resume,
        spec.on_timeout_object_form,
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
    if let Some(mounts) = &spec.volume_mounts {
        let list: Array = mounts
            .iter()
            .map(|(path, volume)| {
                let name = volume
                    .as_string()
                    .map_or_else(|| get(volume, "name"), JsValue::from);
                let mount = Object::new();
                set(&mount, "name", &name);
                set(&mount, "path", &JsValue::from_str(path));
                JsValue::from(mount)
            })
            .collect();
        set(&body, "volumeMounts", &list);
    }
    Ok(js_sys::JSON::stringify(&body)?.into())
}
