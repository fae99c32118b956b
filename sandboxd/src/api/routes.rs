//! The REST surface: the v1 and v2 paths of E2B's OpenAPI spec (e2b-dev/E2B) that the SDKs
//! call, behind the API-key check, with CORS headers for browser callers.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::HeaderMap;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::de::DeserializeOwned;

use super::controller::{ApiVersion, Controller};
use super::error::ApiError;
use super::ids::parse_path_sandbox_id;
use super::list::ListQuery;
use super::model::{NewSandbox, PauseBody, TimeoutBody};
use super::network::NetworkUpdate;
use super::template_builds::{BuildStart, NewTemplate};
use super::template_tags::{AssignTags, RemoveTags};

type Ctl = State<Arc<Controller>>;
type ApiResult = Result<Response, ApiError>;

/// Response headers browsers may read (docs/wire.md, "Control-plane REST conventions").
const EXPOSED_HEADERS: &str = "X-Next-Token, X-Total-Running, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After";

pub fn router(controller: Arc<Controller>) -> Router {
    Router::new()
        .route("/sandboxes", post(create_v1).get(list_v1))
        .route("/v2/sandboxes", post(create_v2).get(list_v2))
        .route("/sandboxes/metrics", get(metrics_of_many))
        .route("/sandboxes/{id}", get(get_info).delete(kill))
        .route("/sandboxes/{id}/metrics", get(metrics))
        .route("/sandboxes/{id}/logs", get(super::logs::logs_v1))
        .route("/v2/sandboxes/{id}/logs", get(super::logs::logs_v2))
        .route("/sandboxes/{id}/pause", post(pause))
        .route("/sandboxes/{id}/resume", post(resume))
        .route("/sandboxes/{id}/connect", post(connect))
        .route("/v2/sandboxes/{id}/connect", post(connect))
        .route("/sandboxes/{id}/timeout", post(set_timeout))
        .route("/sandboxes/{id}/refreshes", post(refresh))
        .route("/templates", get(list_templates))
        .route("/templates/aliases/{alias}", get(template_alias))
        .route("/v3/templates", post(request_template_build))
        // Before the `{id}` route, which would take `tags` for a template ID.
        .route(
            "/templates/tags",
            post(assign_template_tags)
                .delete(remove_template_tags)
                .fallback(unsupported),
        )
        .route("/templates/{id}/tags", get(template_tags))
        .route(
            "/templates/{id}",
            get(template_with_builds)
                .delete(delete_template)
                .fallback(unsupported),
        )
        .route("/templates/{id}/files/{hash}", get(template_file_link))
        .route(
            "/v2/templates/{id}/builds/{build}",
            post(start_template_build),
        )
        .route(
            "/templates/{id}/builds/{build}/status",
            get(template_build_status),
        )
        .route("/sandboxes/{id}/network", put(update_network))
        .fallback(unsupported)
        .route_layer(middleware::from_fn_with_state(
            controller.clone(),
            require_api_key,
        ))
        .route("/health", get(|| async { StatusCode::NO_CONTENT }))
        // Authenticated by the signed token of the link instead of the API key.
        .route("/template-files/{id}/{hash}", put(upload_template_file))
        .layer(middleware::from_fn(cors_headers))
        .with_state(controller)
}

async fn require_api_key(State(ctl): Ctl, req: Request, next: Next) -> Response {
    match ctl.credentials().check(req.headers()) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

async fn cors_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    headers.insert(
        "access-control-expose-headers",
        HeaderValue::from_static(EXPOSED_HEADERS),
    );
    response
}

/// Runs a state transition on its own task: a client that disconnects mid-request must not
/// cancel it half-way (a sandbox started but never recorded, or killed but still listed).
async fn detached<T, F>(work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: std::future::Future<Output = Result<T, ApiError>> + Send + 'static,
{
    tokio::spawn(work)
        .await
        .unwrap_or_else(|e| Err(ApiError::internal("the request's task", e)))
}

/// Parses a JSON body; an absent body means the type's defaults unless one is required.
fn json_body<T: DeserializeOwned + Default>(body: &Bytes, required: bool) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return if required {
            Err(ApiError::bad_request("request body is required"))
        } else {
            Ok(T::default())
        };
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))
}

async fn create_v1(State(ctl): Ctl, body: Bytes) -> ApiResult {
    create(ctl, body, ApiVersion::V1).await
}

async fn create_v2(State(ctl): Ctl, body: Bytes) -> ApiResult {
    create(ctl, body, ApiVersion::V2).await
}

async fn create(ctl: Arc<Controller>, body: Bytes, api: ApiVersion) -> ApiResult {
    let req: NewSandbox = json_body(&body, true)?;
    let view = detached(async move { ctl.create(req, api).await }).await?;
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

async fn list_v2(State(ctl): Ctl, RawQuery(query): RawQuery) -> ApiResult {
    let query = ListQuery::parse_v2(query.as_deref())?;
    let (items, next_token, total_running) = ctl.list(&query);
    let mut response = axum::Json(items).into_response();
    let headers = response.headers_mut();
    if let Some(token) = next_token {
        headers.insert(
            envd_protocol::HEADER_NEXT_TOKEN,
            HeaderValue::from_str(&token).expect("base64 is a valid header"),
        );
    }
    if let Some(total) = total_running {
        headers.insert("x-total-running", HeaderValue::from(total));
    }
    Ok(response)
}

async fn list_v1(State(ctl): Ctl, RawQuery(query): RawQuery) -> ApiResult {
    let query = ListQuery::parse_v1(query.as_deref())?;
    Ok(axum::Json(ctl.list(&query).0).into_response())
}

async fn get_info(State(ctl): Ctl, Path(id): Path<String>) -> ApiResult {
    let id = parse_path_sandbox_id(&id)?;
    Ok(axum::Json(ctl.get(&id)?).into_response())
}

async fn kill(State(ctl): Ctl, Path(id): Path<String>) -> ApiResult {
    let id = parse_path_sandbox_id(&id)?;
    detached(async move { ctl.kill(&id).await }).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn pause(State(ctl): Ctl, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let id = parse_path_sandbox_id(&id)?;
    let body: PauseBody = json_body(&body, false)?;
    let memory = body.memory.unwrap_or(true);
    detached(async move { ctl.pause(&id, memory).await }).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn resume(State(ctl): Ctl, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let id = parse_path_sandbox_id(&id)?;
    let body: TimeoutBody = json_body(&body, false)?;
    let view = detached(async move { ctl.resume_paused(&id, body.timeout).await }).await?;
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

async fn connect(State(ctl): Ctl, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let id = parse_path_sandbox_id(&id)?;
    let body: TimeoutBody = json_body(&body, false)?;
    let (status, view) =
        detached(async move { ctl.connect(&id, body.timeout, body.memory).await }).await?;
    Ok((status, axum::Json(view)).into_response())
}

async fn set_timeout(State(ctl): Ctl, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let id = parse_path_sandbox_id(&id)?;
    let body: TimeoutBody = json_body(&body, true)?;
    let timeout = body
        .timeout
        .ok_or_else(|| ApiError::bad_request("timeout is required"))?;
    ctl.set_timeout(&id, timeout)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn refresh(State(ctl): Ctl, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let id = parse_path_sandbox_id(&id)?;
    let body: TimeoutBody = json_body(&body, false)?;
    ctl.refresh(&id, body.duration)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn update_network(State(ctl): Ctl, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let id = parse_path_sandbox_id(&id)?;
    let update = NetworkUpdate::from_body(json_body(&body, true)?)?;
    detached(async move { ctl.update_network(&id, update).await }).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn metrics(State(ctl): Ctl, Path(id): Path<String>, RawQuery(query): RawQuery) -> ApiResult {
    let id = parse_path_sandbox_id(&id)?;
    let mut start = None;
    let mut end = None;
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let parsed = || {
            value
                .parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("invalid {key}: {value}")))
        };
        match key.as_ref() {
            "start" => start = Some(parsed()?),
            "end" => end = Some(parsed()?),
            _ => {}
        }
    }
    Ok(axum::Json(ctl.metrics(&id, start, end)?).into_response())
}

async fn metrics_of_many(State(ctl): Ctl, RawQuery(query): RawQuery) -> ApiResult {
    let ids: Vec<String> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(key, _)| key == "sandbox_ids")
        .flat_map(|(_, value)| value.split(',').map(str::to_string).collect::<Vec<_>>())
        .filter(|id| !id.is_empty())
        .collect();
    if ids.is_empty() {
        return Err(ApiError::bad_request("sandbox_ids is required"));
    }
    if ids.len() > 100 {
        return Err(ApiError::bad_request("at most 100 sandbox_ids"));
    }
    let sandboxes = ctl.latest_metrics(&ids);
    Ok(axum::Json(serde_json::json!({ "sandboxes": sandboxes })).into_response())
}

async fn list_templates(State(ctl): Ctl) -> ApiResult {
    Ok(axum::Json(ctl.templates()).into_response())
}

async fn template_alias(State(ctl): Ctl, Path(alias): Path<String>) -> ApiResult {
    Ok(axum::Json(ctl.template_alias(&alias)?).into_response())
}

/// Everything else (snapshots, fork, volumes, template builds, secrets, ...) is a feature
/// sandboxd does not have. 501, not 404: the SDKs turn a 404 on a sandbox path into
/// `SandboxNotFoundError` for a running sandbox, and any other status into an error that
/// carries this message.
async fn unsupported(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        format!(
            "{} {} is not available on sandboxd, the local E2B-compatible server (not implemented)",
            req.method(),
            req.uri().path()
        ),
    )
}

async fn request_template_build(State(ctl): Ctl, body: Bytes) -> ApiResult {
    let req: NewTemplate = json_body(&body, true)?;
    let view = ctl.request_template_build(req)?;
    Ok((StatusCode::ACCEPTED, axum::Json(view)).into_response())
}

/// The upload link points back at the address the SDK called (its `Host`).
async fn template_file_link(
    State(ctl): Ctl,
    Path((id, hash)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .ok_or_else(|| ApiError::bad_request("the request has no Host header"))?;
    let view = ctl.template_file_link(&id, &hash, &format!("http://{host}"))?;
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

async fn upload_template_file(
    State(ctl): Ctl,
    Path((id, hash)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    body: axum::body::Body,
) -> ApiResult {
    let token = crate::url_query::decode(query.as_deref())
        .remove("token")
        .unwrap_or_default();
    ctl.upload_template_file(&id, &hash, &token, body).await?;
    Ok(StatusCode::OK.into_response())
}

async fn start_template_build(
    State(ctl): Ctl,
    Path((id, build)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let req: BuildStart = json_body(&body, true)?;
    ctl.start_template_build(&id, &build, req)?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn template_build_status(
    State(ctl): Ctl,
    Path((id, build)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let query = crate::url_query::decode(query.as_deref());
    let offset = match query.get("logsOffset") {
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request(format!("invalid logsOffset: {v}")))?,
        None => 0,
    };
    let status =
        ctl.template_build_status(&id, &build, offset, query.get("level").map(String::as_str))?;
    Ok(axum::Json(status).into_response())
}

async fn template_with_builds(State(ctl): Ctl, Path(id): Path<String>) -> ApiResult {
    Ok(axum::Json(ctl.template_with_builds(&id)?).into_response())
}

async fn delete_template(State(ctl): Ctl, Path(id): Path<String>) -> ApiResult {
    ctl.delete_template(&id)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn assign_template_tags(State(ctl): Ctl, body: Bytes) -> ApiResult {
    let req: AssignTags = json_body(&body, true)?;
    let view = ctl.assign_template_tags(req)?;
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

async fn remove_template_tags(State(ctl): Ctl, body: Bytes) -> ApiResult {
    let req: RemoveTags = json_body(&body, true)?;
    ctl.remove_template_tags(req)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn template_tags(State(ctl): Ctl, Path(id): Path<String>) -> ApiResult {
    Ok(axum::Json(ctl.template_tags(&id)?).into_response())
}
