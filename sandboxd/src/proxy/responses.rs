//! Answers the proxy gives itself: the edge's error bodies (JSON for programs, a small page for
//! a navigating browser, docs/wire.md, "Routing at the sandbox edge") and CORS preflights.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

pub fn sandbox_not_found(headers: &HeaderMap, sandbox_id: &str) -> Response {
    let body = serde_json::json!({
        "sandboxId": sandbox_id, "message": "The sandbox was not found", "code": 502,
    });
    error(headers, StatusCode::BAD_GATEWAY, body)
}

pub fn port_not_open(headers: &HeaderMap, sandbox_id: &str, port: u16) -> Response {
    let body = serde_json::json!({
        "sandboxId": sandbox_id, "message": "The sandbox is running but port is not open",
        "port": port, "code": 502,
    });
    error(headers, StatusCode::BAD_GATEWAY, body)
}

pub fn transitioning(headers: &HeaderMap, sandbox_id: &str) -> Response {
    let body = serde_json::json!({
        "sandboxId": sandbox_id, "message": "The sandbox is being paused or resumed", "code": 409,
    });
    error(headers, StatusCode::CONFLICT, body)
}

pub fn traffic_token_required(headers: &HeaderMap, sandbox_id: &str) -> Response {
    let body = serde_json::json!({
        "sandboxId": sandbox_id,
        "message": "Sandbox is secured with traffic access token. Send it in the e2b-traffic-access-token header.",
        "code": 403,
    });
    error(headers, StatusCode::FORBIDDEN, body)
}

pub fn internal_path(headers: &HeaderMap, path: &str) -> Response {
    let body = serde_json::json!({
        "message": format!("{path} is not reachable through the sandbox proxy"), "code": 404,
    });
    error(headers, StatusCode::NOT_FOUND, body)
}

pub fn upstream_failed(headers: &HeaderMap, sandbox_id: &str, reason: &str) -> Response {
    let body = serde_json::json!({
        "sandboxId": sandbox_id, "message": format!("The sandbox did not answer: {reason}"), "code": 502,
    });
    error(headers, StatusCode::BAD_GATEWAY, body)
}

/// The signature of a presigned `/files` URL that names no sandbox matches no running one.
pub fn signature_matches_no_sandbox(headers: &HeaderMap) -> Response {
    let body = serde_json::json!({
        "message": "The signature matches no running sandbox: it is wrong for this path, user or \
                    operation, or its sandbox is not running",
        "code": 401,
    });
    error(headers, StatusCode::UNAUTHORIZED, body)
}

/// Why `/files` without routing headers, sandbox host or signature is refused, and what works.
pub const UNADDRESSED_FILES: &str = "/files names no sandbox: send the E2b-Sandbox-Id and \
    E2b-Sandbox-Port headers, use the host <port>-<sandboxID>.<domain>, or use a signed URL \
    (uploadUrl/downloadUrl of a secure sandbox)";

/// The edge's 400s are plain text.
pub fn bad_request(message: &'static str) -> Response {
    Response::builder()
        .status(StatusCode::BAD_REQUEST)
        .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::from(message))
        .expect("static response")
}

/// Preflights for traffic that carries no sandbox host: any origin, any requested header
/// (the SDKs send routing, Connect and auth headers), no credentials.
pub fn preflight(headers: &HeaderMap) -> Response {
    let requested = headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("*"));
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")
        .header(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS",
        )
        .header(header::ACCESS_CONTROL_ALLOW_HEADERS, requested)
        .header(header::ACCESS_CONTROL_MAX_AGE, "7200")
        .body(Body::empty())
        .expect("static response")
}

fn error(headers: &HeaderMap, status: StatusCode, body: serde_json::Value) -> Response {
    let builder = Response::builder()
        .status(status)
        .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*");
    if is_navigating_browser(headers) {
        let message = body["message"].as_str().unwrap_or_default();
        let page = format!(
            "<!doctype html><title>{status}</title><h1>{status}</h1><p>{}</p>",
            html_escape(message)
        );
        return builder
            .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
            .body(Body::from(page))
            .expect("static response");
    }
    builder
        .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
        .body(Body::from(body.to_string()))
        .expect("static response")
}

/// A browser loading a page (not a script's fetch, which sets `Sec-Fetch-Mode` to cors etc.).
fn is_navigating_browser(headers: &HeaderMap) -> bool {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    get("user-agent").starts_with("Mozilla/")
        && !get("accept").contains("application/json")
        && !matches!(
            get("sec-fetch-mode"),
            "cors" | "no-cors" | "same-origin" | "websocket"
        )
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_get_json_and_navigating_browsers_get_a_page() {
        let mut headers = HeaderMap::new();
        let json = sandbox_not_found(&headers, "iabc");
        assert_eq!(json.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(
            json.headers()[header::CONTENT_TYPE],
            "application/json; charset=utf-8"
        );
        headers.insert("user-agent", HeaderValue::from_static("Mozilla/5.0 (X11)"));
        headers.insert("accept", HeaderValue::from_static("text/html"));
        let page = sandbox_not_found(&headers, "iabc");
        assert_eq!(
            page.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        headers.insert("sec-fetch-mode", HeaderValue::from_static("cors"));
        let fetch = sandbox_not_found(&headers, "iabc");
        assert_eq!(
            fetch.headers()[header::CONTENT_TYPE],
            "application/json; charset=utf-8"
        );
    }
}
