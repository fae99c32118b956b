//! `/files`: download (`GET`) and upload (`POST`, multipart or octet-stream) as a user, with
//! access-token or signed-URL authorisation. What both handlers share lives here: who the
//! request acts as, where its path points, and the one error shape they answer with.

mod auth;
mod download;
mod upload;
mod upload_body;

use std::collections::HashMap;
use std::path::PathBuf;

use envd_protocol::ConnectError;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

use super::http::{Body, json_error};
use super::paths::resolve;
use super::state::Envd;
use super::users::User;
use crate::url_query;

pub use download::download;
pub use upload::upload;

/// Prefix of the hidden names uploads are staged under before they replace their target.
pub const STAGING_PREFIX: &[u8] = b".envd-upload-";

/// Whether a directory entry is one of envd's upload staging files (watchers skip those).
pub fn is_staging_name(name: &[u8]) -> bool {
    name.starts_with(STAGING_PREFIX)
}

/// A `/files` failure as the client sees it: a status and the message of the JSON body
/// (`{"code": <status>, "message": …}`).
#[derive(Debug, PartialEq)]
pub struct FilesError {
    pub status: StatusCode,
    pub message: String,
}

impl FilesError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> FilesError {
        FilesError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> FilesError {
        FilesError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn response(&self) -> Response<Body> {
        json_error(self.status, &self.message)
    }
}

/// A filesystem failure keeps its message and takes the status of its Connect code, the same
/// mapping the Connect services answer with.
impl From<ConnectError> for FilesError {
    fn from(e: ConnectError) -> FilesError {
        let status =
            StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        FilesError::new(status, e.message)
    }
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Authorises the request and finds its user (`username` query parameter or the default);
/// returns the user and the decoded query.
fn authorise(
    envd: &Envd,
    req: &Request<Incoming>,
    operation: &str,
) -> Result<(User, HashMap<String, String>), FilesError> {
    let params = url_query::decode(req.uri().query());
    let config = envd.config();
    auth::check(
        config.access_token.as_deref(),
        req.headers(),
        &params,
        operation,
        now_unix(),
    )
    .map_err(|reason| FilesError::new(StatusCode::UNAUTHORIZED, reason))?;
    let name = params
        .get("username")
        .filter(|u| !u.is_empty())
        .cloned()
        .unwrap_or(config.default_user);
    let user = envd
        .users
        .lookup(&name)
        .map_err(|e| FilesError::new(StatusCode::UNAUTHORIZED, e.message))?;
    Ok((user, params))
}

/// The absolute path a request's `path` (or a part's file name) names for `user`.
fn target_path(envd: &Envd, user: &User, raw: &str) -> Result<PathBuf, FilesError> {
    resolve(raw, user, envd.config().default_workdir.as_deref())
        .map_err(|e| FilesError::bad_request(e.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_names_are_recognised() {
        assert!(is_staging_name(b".envd-upload-0a1b"));
        assert!(!is_staging_name(b"envd-upload"));
    }

    #[test]
    fn filesystem_errors_keep_their_message_and_code_status() {
        let e = ConnectError::new(envd_protocol::Code::PermissionDenied, "open '/x': denied");
        assert_eq!(
            FilesError::from(e),
            FilesError::new(StatusCode::FORBIDDEN, "open '/x': denied")
        );
    }
}
