//! The control plane (E2B REST API): lifecycle, info, metrics and listing of sandboxes, with
//! the official SDK's per-call handling of 404/409 and its result shapes. Each call builds its
//! request and decodes the answer synchronously; `transport::exchange` runs it.

pub mod create_body;
pub mod lifecycle;
pub mod query;

use js_sys::Array;
use wasm_bindgen::JsValue;

use crate::config::timeout_to_seconds;
use crate::envd::versions;
use crate::error::{ErrorClass, Result, SdkError, api_error, error};
use crate::js_object::get_string;
use crate::prelude::*;
use crate::transport::exchange::Next;
use crate::transport::rest::{self, ApiFailure, Reply, RestContext};
use crate::util::{decimal, version_at_least};
pub use create_body::SandboxSpec;
use create_body::create_body;
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

/// Turns what `create`/`connect` learnt into the JS object they resolve with.
pub type MakeSandbox = Box<dyn FnOnce(SandboxAccess) -> JsValue>;

impl SandboxAccess {
    fn from_json(v: &JsValue) -> SandboxAccess {
        SandboxAccess {
            sandbox_id: get_string(v, "sandboxID").unwrap_or_default(),
            sandbox_domain: get_string(v, "domain"),
            envd_version: get_string(v, "envdVersion").unwrap_or_default(),
            envd_access_token: get_string(v, "envdAccessToken"),
            traffic_access_token: get_string(v, "trafficAccessToken"),
        }
    }
}

fn failure(f: ApiFailure) -> SdkError {
    api_error(f.status, &f.content)
}

fn not_found(sandbox_id: &str) -> SdkError {
    let message = ["Sandbox ", sandbox_id, " not found"].concat();
    SdkError::new(ErrorClass::SandboxNotFound, message)
}

/// The answer of a call whose only special one is a 404 body meaning "no such sandbox".
fn found(outcome: core::result::Result<Reply, ApiFailure>, sandbox_id: &str) -> Result<JsValue> {
    match outcome {
        Ok(reply) => Ok(reply.body),
        Err(f) if f.body_code == Some(404) => Err(not_found(sandbox_id).into()),
        Err(f) => Err(failure(f).into()),
    }
}

/// A call on one sandbox at `path` whose 404 is `SandboxNotFoundError`; `then` gets the answer.
fn on_sandbox(
    ctx: &RestContext,
    method: &'static str,
    path: &str,
    sandbox_id: &str,
    body: Option<String>,
    then: impl FnOnce(JsValue) -> Result<Next> + 'static,
) -> Result<Next> {
    let id = sandbox_id.to_string();
    let on_reply = move |outcome| then(found(outcome, &id)?);
    rest::call(ctx, method, path, body, Box::new(on_reply))
}

fn timeout_body(timeout_ms: f64) -> String {
    [
        "{\"timeout\":",
        &decimal(timeout_to_seconds(timeout_ms)),
        "}",
    ]
    .concat()
}

const OUTDATED_TEMPLATE: &str = "You need to update the template to use the new SDK.";

/// `POST /v2/sandboxes`; a sandbox whose envd predates 0.1.0 is killed and refused.
pub fn create(ctx: &RestContext, spec: &SandboxSpec, make: MakeSandbox) -> Result<Next> {
    let body = create_body(spec)?;
    let kill_ctx = ctx.clone();
    let on_reply = move |outcome: core::result::Result<Reply, ApiFailure>| {
        let access = SandboxAccess::from_json(&outcome.map_err(failure)?.body);
        if version_at_least(&access.envd_version, versions::SUPPORTED) {
            return Next::done(make(access));
        }
        let path = sandbox_path(&access.sandbox_id, "");
        rest::call(
            &kill_ctx,
            "DELETE",
            &path,
            None,
            Box::new(|outcome| match outcome {
                Err(f) if f.body_code != Some(404) => Err(failure(f).into()),
                _ => Err(error(ErrorClass::Template, OUTDATED_TEMPLATE)),
            }),
        )
    };
    rest::call(ctx, "POST", "/v2/sandboxes", Some(body), Box::new(on_reply))
}

/// `POST /v2/sandboxes/{id}/connect`: resumes a paused sandbox, extends a running one's TTL.
/// `reboot` (`onResume: 'reboot'`) asks for a resume without the memory snapshot.
pub fn connect(
    ctx: &RestContext,
    sandbox_id: &str,
    timeout_ms: Option<f64>,
    reboot: bool,
    make: MakeSandbox,
) -> Result<Next> {
    let mut fields = Vec::new();
    if let Some(ms) = timeout_ms {
        fields.push(["\"timeout\":", &decimal(timeout_to_seconds(ms))].concat());
    }
    if reboot {
        fields.push("\"memory\":false".into());
    }
    let body = ["{", &fields.join(","), "}"].concat();
    let path = ["/v2", &sandbox_path(sandbox_id, "/connect")].concat();
    let id = sandbox_id.to_string();
    let on_reply = move |outcome: core::result::Result<Reply, ApiFailure>| match outcome {
        Ok(reply) => {
            let mut access = SandboxAccess::from_json(&reply.body);
            access.sandbox_id = id;
            Next::done(make(access))
        }
        Err(f) if f.body_code == Some(404) => {
            let message = ["Paused sandbox ", &id, " not found"].concat();
            Err(SdkError::new(ErrorClass::SandboxNotFound, message).into())
        }
        Err(f) => Err(failure(f).into()),
    };
    rest::call(ctx, "POST", &path, Some(body), Box::new(on_reply))
}

/// `DELETE /sandboxes/{id}`: `false` when there was no such sandbox.
pub fn kill(ctx: &RestContext, sandbox_id: &str) -> Result<Next> {
    let path = sandbox_path(sandbox_id, "");
    rest::call(
        ctx,
        "DELETE",
        &path,
        None,
        Box::new(|outcome| match outcome {
            Ok(_) => Next::done(true),
            Err(f) if f.body_code == Some(404) => Next::done(false),
            Err(f) => Err(failure(f).into()),
        }),
    )
}

pub fn set_timeout(ctx: &RestContext, sandbox_id: &str, timeout_ms: f64) -> Result<Next> {
    let path = sandbox_path(sandbox_id, "/timeout");
    let body = Some(timeout_body(timeout_ms));
    on_sandbox(ctx, "POST", &path, sandbox_id, body, |_| {
        Next::done(JsValue::UNDEFINED)
    })
}

/// `POST /sandboxes/{id}/pause`: `false` when it was already paused (409).
pub fn pause(ctx: &RestContext, sandbox_id: &str, keep_memory: Option<bool>) -> Result<Next> {
    let body = match keep_memory {
        None => "{}",
        Some(true) => "{\"memory\":true}",
        Some(false) => "{\"memory\":false}",
    };
    let path = sandbox_path(sandbox_id, "/pause");
    let id = sandbox_id.to_string();
    rest::call(
        ctx,
        "POST",
        &path,
        Some(body.into()),
        Box::new(move |outcome| match outcome {
            Err(f) if f.body_code == Some(409) => Next::done(false),
            outcome => {
                found(outcome, &id)?;
                Next::done(true)
            }
        }),
    )
}

/// `PUT /sandboxes/{id}/network` with the body the facade built (`updateNetwork`).
pub fn update_network(ctx: &RestContext, sandbox_id: &str, body: String) -> Result<Next> {
    let path = sandbox_path(sandbox_id, "/network");
    on_sandbox(ctx, "PUT", &path, sandbox_id, Some(body), |_| {
        Next::done(JsValue::UNDEFINED)
    })
}

/// `GET /sandboxes/{id}`: the API's sandbox JSON (the facade shapes it as `SandboxInfo`).
pub fn get_info(ctx: &RestContext, sandbox_id: &str) -> Result<Next> {
    let path = sandbox_path(sandbox_id, "");
    on_sandbox(ctx, "GET", &path, sandbox_id, None, Next::done)
}

/// One page of `GET /v2/sandboxes` at `path` (the facade's `SandboxPaginator` builds it):
/// `[items, nextToken]`, the API's JSON and the `x-next-token` header (`undefined` when empty).
pub fn list_page(ctx: &RestContext, path: &str) -> Result<Next> {
    rest::call(
        ctx,
        "GET",
        path,
        None,
        Box::new(|outcome| {
            let reply = outcome.map_err(failure)?;
            let token = reply.next_token.filter(|t| !t.is_empty());
            let token = token.map_or(JsValue::UNDEFINED, JsValue::from);
            Next::done(Array::of2(&reply.body, &token))
        }),
    )
}

/// `GET /sandboxes/{id}/metrics`: the API's JSON (the facade shapes it as `SandboxMetrics[]`).
pub fn get_metrics(ctx: &RestContext, path: &str, sandbox_id: &str) -> Result<Next> {
    on_sandbox(ctx, "GET", path, sandbox_id, None, Next::done)
}
