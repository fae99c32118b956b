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

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
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
