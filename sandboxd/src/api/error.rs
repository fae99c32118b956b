//! E2B's error body: `{"code": <status>, "message": "..."}`. The JS SDK reads `code` from the
//! body (not the status line) to recognise 404 and 409, so both always agree.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }

    /// A 500 for `what` (e.g. "pausing <id>"). `detail` goes to sandboxd's log only: runtime
    /// errors name host paths (data dir, mounts, cgroups) that clients must not learn.
    pub fn internal(what: &str, detail: impl std::fmt::Display) -> ApiError {
        eprintln!("sandboxd: {what} failed: {detail:#}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{what} failed; sandboxd's log has the details"),
        )
    }

    /// The real API's wording for unknown, killed or inaccessible sandboxes.
    pub fn sandbox_not_found(sandbox_id: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("Sandbox \"{sandbox_id}\" doesn't exist or you don't have access to it"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "code": self.status.as_u16(), "message": self.message });
        (self.status, axum::Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_keep_their_detail_out_of_the_body() {
        let detail = anyhow::anyhow!("mounting /var/lib/sandboxd/runtime/layers/iabc/upper")
            .context("starting sandbox iabc");
        let error = ApiError::internal("starting the sandbox", detail);
        assert_eq!(error.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            error.message,
            "starting the sandbox failed; sandboxd's log has the details"
        );
    }
}
