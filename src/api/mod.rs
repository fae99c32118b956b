//! The control plane (E2B REST API): lifecycle, info, metrics and listing of sandboxes, with
//! the official SDK's per-call handling of 404/409 and its result shapes.

pub mod query;

use js_sys::{Array, Date, Object};
use wasm_bindgen::JsValue;

use crate::config::timeout_to_seconds;
use crate::error::{ErrorClass, Result, SdkError, api_error, error};
use crate::transport::fetch::{get, set};
use crate::transport::rest::{self, ApiFailure, Outcome, RestContext};
use crate::util::version_at_least;
use query::sandbox_path;

/// What the API says about how to reach a sandbox (create/connect response).
#[derive(Clone, Debug, Default)]
pub struct SandboxAccess {
    pub sandbox_id: String,
    pub sandbox_domain: Option<String>,
    pub envd_version: String,
    pub envd_access_token: Option<String>,
    pub traffic_access_token: Option<String>,
}

fn str_field(v: &JsValue, key: &str) -> Option<String> {
    get(v, key).as_string().filter(|s| !s.is_empty())
}

impl SandboxAccess {
    fn from_json(v: &JsValue) -> SandboxAccess {
        SandboxAccess {
            sandbox_id: str_field(v, "sandboxID").unwrap_or_default(),
            sandbox_domain: str_field(v, "domain"),
            envd_version: str_field(v, "envdVersion").unwrap_or_default(),
            envd_access_token: str_field(v, "envdAccessToken"),
            traffic_access_token: str_field(v, "trafficAccessToken"),
        }
    }
}

fn failure(f: ApiFailure) -> SdkError {
    api_error(f.status, &f.content)
}

fn not_found(sandbox_id: &str) -> SdkError {
    SdkError::new(
        ErrorClass::SandboxNotFound,
        format!("Sandbox {sandbox_id} not found"),
    )
}

/// A call whose only special answer is a 404 body meaning "no such sandbox".
async fn call(
    ctx: &RestContext<'_>,
    method: &str,
    path: &str,
    body: Option<&str>,
    sandbox_id: &str,
) -> Result<JsValue> {
    match rest::request(ctx, method, path, body).await? {
        Outcome::Ok(r) => Ok(r.body),
        Outcome::Failed(f) if f.body_code == Some(404) => Err(not_found(sandbox_id).into()),
        Outcome::Failed(f) => Err(failure(f).into()),
    }
}

/// `POST /v2/sandboxes`; a sandbox whose envd predates 0.1.0 is killed and refused.
pub async fn create(ctx: &RestContext<'_>, body: &str) -> Result<SandboxAccess> {
    let response = match rest::request(ctx, "POST", "/v2/sandboxes", Some(body)).await? {
        Outcome::Ok(r) => r.body,
        Outcome::Failed(f) => return Err(failure(f).into()),
    };
    let access = SandboxAccess::from_json(&response);
    if !version_at_least(&access.envd_version, "0.1.0") {
        kill(ctx, &access.sandbox_id).await?;
        return Err(error(
            ErrorClass::Template,
            "You need to update the template to use the new SDK.",
        ));
    }
    Ok(access)
}

/// `POST /v2/sandboxes/{id}/connect`: resumes a paused sandbox, extends a running one's TTL.
pub async fn connect(
    ctx: &RestContext<'_>,
    sandbox_id: &str,
    timeout_ms: Option<f64>,
) -> Result<SandboxAccess> {
    let body = timeout_ms.map_or_else(
        || "{}".to_string(),
        |ms| format!("{{\"timeout\":{}}}", timeout_to_seconds(ms)),
    );
    let path = ["/v2", &sandbox_path(sandbox_id, "/connect")].concat();
    match rest::request(ctx, "POST", &path, Some(&body)).await? {
        Outcome::Ok(r) => Ok(SandboxAccess::from_json(&r.body)),
        Outcome::Failed(f) if f.body_code == Some(404) => Err(SdkError::new(
            ErrorClass::SandboxNotFound,
            format!("Paused sandbox {sandbox_id} not found"),
        )
        .into()),
        Outcome::Failed(f) => Err(failure(f).into()),
    }
}

/// `DELETE /sandboxes/{id}`: `false` when there was no such sandbox.
pub async fn kill(ctx: &RestContext<'_>, sandbox_id: &str) -> Result<bool> {
    match rest::request(ctx, "DELETE", &sandbox_path(sandbox_id, ""), None).await? {
        Outcome::Ok(_) => Ok(true),
        Outcome::Failed(f) if f.body_code == Some(404) => Ok(false),
        Outcome::Failed(f) => Err(failure(f).into()),
    }
}

pub async fn set_timeout(ctx: &RestContext<'_>, sandbox_id: &str, timeout_ms: f64) -> Result<()> {
    let body = format!("{{\"timeout\":{}}}", timeout_to_seconds(timeout_ms));
    call(
        ctx,
        "POST",
        &sandbox_path(sandbox_id, "/timeout"),
        Some(&body),
        sandbox_id,
    )
    .await?;
    Ok(())
}

/// `POST /sandboxes/{id}/pause`: `false` when it was already paused (409).
pub async fn pause(
    ctx: &RestContext<'_>,
    sandbox_id: &str,
    keep_memory: Option<bool>,
) -> Result<bool> {
    let body = keep_memory.map_or_else(|| "{}".to_string(), |m| format!("{{\"memory\":{m}}}"));
    match rest::request(
        ctx,
        "POST",
        &sandbox_path(sandbox_id, "/pause"),
        Some(&body),
    )
    .await?
    {
        Outcome::Ok(_) => Ok(true),
        Outcome::Failed(f) if f.body_code == Some(404) => Err(not_found(sandbox_id).into()),
        Outcome::Failed(f) if f.body_code == Some(409) => Ok(false),
        Outcome::Failed(f) => Err(failure(f).into()),
    }
}

/// `GET /sandboxes/{id}` as the official `SandboxInfo`.
pub async fn get_info(ctx: &RestContext<'_>, sandbox_id: &str) -> Result<Object> {
    let v = call(ctx, "GET", &sandbox_path(sandbox_id, ""), None, sandbox_id).await?;
    let info = sandbox_info(&v);
    // `null` in the API's JSON becomes `undefined`, as the official `?? undefined` does.
    for key in ["allowInternetAccess", "network", "lifecycle"] {
        let value = get(&v, key);
        set(
            &info,
            key,
            &if value.is_null() {
                JsValue::UNDEFINED
            } else {
                value
            },
        );
    }
    set(
        &info,
        "sandboxDomain",
        &str_field(&v, "domain").map_or(JsValue::UNDEFINED, JsValue::from),
    );
    Ok(info)
}

/// The fields `getInfo` and `list` share.
fn sandbox_info(v: &JsValue) -> Object {
    let info = Object::new();
    set(&info, "sandboxId", &get(v, "sandboxID"));
    set(&info, "templateId", &get(v, "templateID"));
    if let Some(alias) = str_field(v, "alias") {
        set(&info, "name", &JsValue::from(alias));
    }
    let or_default = |key: &str, default: JsValue| {
        let value = get(v, key);
        if value.is_undefined() || value.is_null() {
            default
        } else {
            value
        }
    };
    set(
        &info,
        "metadata",
        &or_default("metadata", Object::new().into()),
    );
    set(&info, "envdVersion", &get(v, "envdVersion"));
    set(&info, "startedAt", &Date::new(&get(v, "startedAt")));
    set(&info, "endAt", &Date::new(&get(v, "endAt")));
    set(&info, "state", &get(v, "state"));
    set(&info, "cpuCount", &get(v, "cpuCount"));
    set(&info, "memoryMB", &get(v, "memoryMB"));
    set(
        &info,
        "volumeMounts",
        &or_default("volumeMounts", Array::new().into()),
    );
    info
}

/// One page of `GET /v2/sandboxes`, with the `x-next-token` header.
pub async fn list_page(ctx: &RestContext<'_>, path: &str) -> Result<(Array, Option<String>)> {
    let reply = match rest::request(ctx, "GET", path, None).await? {
        Outcome::Ok(r) => r,
        Outcome::Failed(f) => return Err(failure(f).into()),
    };
    let next = reply.next_token;
    let items: Array = Array::from(&reply.body)
        .iter()
        .map(|v| JsValue::from(sandbox_info(&v)))
        .collect();
    Ok((items, next))
}

/// `GET /sandboxes/{id}/metrics` as `SandboxMetrics[]`.
pub async fn get_metrics(ctx: &RestContext<'_>, path: &str, sandbox_id: &str) -> Result<Array> {
    let metrics = Array::from(&call(ctx, "GET", path, None, sandbox_id).await?);
    Ok(metrics
        .iter()
        .map(|m| {
            let out = Object::new();
            set(&out, "timestamp", &Date::new(&get(&m, "timestamp")));
            for key in [
                "cpuUsedPct",
                "cpuCount",
                "memUsed",
                "memTotal",
                "memCache",
                "diskUsed",
                "diskTotal",
            ] {
                set(&out, key, &get(&m, key));
            }
            JsValue::from(out)
        })
        .collect())
}
