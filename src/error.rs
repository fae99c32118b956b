//! The crate's error type and the tables that turn wire failures into the official SDK's error
//! classes and messages. Pure; the JS objects are made in `js::errors`.

use wasm_bindgen::JsValue;

use crate::prelude::*;
use crate::transport::{Code, ConnectError};
use crate::util::decimal;

/// The official error classes (docs/js-surface.md, "Error classes"); `Plain` is JavaScript's
/// own `Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    Plain,
    Sandbox,
    Timeout,
    InvalidArgument,
    NotEnoughSpace,
    NotFound,
    FileNotFound,
    SandboxNotFound,
    Authentication,
    Template,
    RateLimit,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SdkError {
    pub class: ErrorClass,
    pub message: String,
}

impl SdkError {
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        SdkError {
            class,
            message: message.into(),
        }
    }
}

/// Everything a call can fail with: one of ours, or a JavaScript value passed through unchanged
/// (an abort reason, a fetch failure of a REST call, an exception of a user callback).
#[derive(Debug)]
pub enum Error {
    Sdk(SdkError),
    Js(JsValue),
}

impl From<JsValue> for Error {
    fn from(e: JsValue) -> Self {
        Error::Js(e)
    }
}

impl From<SdkError> for Error {
    fn from(e: SdkError) -> Self {
        Error::Sdk(e)
    }
}

pub type Result<T> = core::result::Result<T, Error>;

pub fn error(class: ErrorClass, message: impl Into<String>) -> Error {
    Error::Sdk(SdkError::new(class, message))
}

const SANDBOX_TIMEOUT_HINT: &str = ": This error is likely due to sandbox timeout. You can modify the sandbox timeout by passing 'timeoutMs' when starting the sandbox or calling '.setTimeout' on the sandbox with the desired timeout.";
const KILLED_IN_FLIGHT: &str =
    ": The sandbox was killed or reached its end of life while the request was in flight.";

fn sandbox_timeout(message: &str) -> SdkError {
    SdkError::new(
        ErrorClass::Timeout,
        [message, SANDBOX_TIMEOUT_HINT].concat(),
    )
}

/// Which not-found class an envd call reports (filesystem calls say `FileNotFoundError`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotFoundAs {
    Generic,
    File,
}

/// envd HTTP failure (`/health`, `/files`): `message` is the body's `message`, else the raw
/// body, else the status text.
pub fn envd_http_error(status: u16, message: &str, not_found: NotFoundAs) -> SdkError {
    let class = match status {
        400 => ErrorClass::InvalidArgument,
        401 => ErrorClass::Authentication,
        404 if not_found == NotFoundAs::File => ErrorClass::FileNotFound,
        404 => ErrorClass::NotFound,
        429 => {
            return SdkError::new(
                ErrorClass::RateLimit,
                [message, ": The requests are being rate limited."].concat(),
            );
        }
        502 => return sandbox_timeout(message),
        507 => ErrorClass::NotEnoughSpace,
        _ => {
            let message = [&decimal(status.into()), ": ", message].concat();
            return SdkError::new(ErrorClass::Sandbox, message);
        }
    };
    SdkError::new(class, message)
}

/// envd RPC failure (official `handleRpcError`), with the message connect-es would show.
pub fn rpc_error(err: &ConnectError, not_found: NotFoundAs) -> SdkError {
    let message = connect_message(err);
    let (class, hint) = match err.code {
        Code::InvalidArgument => (ErrorClass::InvalidArgument, ""),
        Code::Unauthenticated => (ErrorClass::Authentication, ""),
        Code::NotFound if not_found == NotFoundAs::File => (ErrorClass::FileNotFound, ""),
        Code::NotFound => (ErrorClass::NotFound, ""),
        Code::ResourceExhausted => (
            ErrorClass::RateLimit,
            ": Rate limit exceeded, please try again later.",
        ),
        Code::Unavailable => return sandbox_timeout(&message),
        Code::Canceled => (
            ErrorClass::Timeout,
            ": This error is likely due to exceeding 'requestTimeoutMs'. You can pass the request timeout value as an option when making the request.",
        ),
        Code::DeadlineExceeded => (
            ErrorClass::Timeout,
            ": This error is likely due to exceeding 'timeoutMs' — the total time a long running request (like command execution or directory watch) can be active. It can be modified by passing 'timeoutMs' when making the request. Use '0' to disable the timeout.",
        ),
        code => {
            let message = [&decimal(code.number().into()), ": ", &message].concat();
            return SdkError::new(ErrorClass::Sandbox, message);
        }
    };
    SdkError::new(class, [message.as_str(), hint].concat())
}

/// A Connect error's text as connect-es shows it: `[code] message`, or `[code]` alone.
pub fn connect_message(err: &ConnectError) -> String {
    let code = ["[", err.code.as_str(), "]"].concat();
    if err.message.is_empty() {
        code
    } else {
        [&code, " ", &err.message].concat()
    }
}

/// Message fragments with which JS runtimes report a connection dropped mid-request.
const CONNECTION_DROPPED: [&str; 5] = [
    "terminated",
    "The socket connection was closed unexpectedly",
    "error reading a body from connection",
    "Network connection lost",
    "network error",
];

pub fn is_connection_dropped(message: &str) -> bool {
    // A byte-window search: `str::contains` would bring the two-way searcher into the wasm.
    let message = message.as_bytes();
    CONNECTION_DROPPED
        .iter()
        .any(|f| message.windows(f.len()).any(|w| w == f.as_bytes()))
}

/// An RPC failure that warrants asking `/health` whether the sandbox died under us.
pub fn needs_health_probe(err: &ConnectError) -> bool {
    err.code == Code::Unknown && is_connection_dropped(&err.message)
}

/// The error once `/health` confirmed the sandbox is gone (502).
pub fn killed_in_flight(message: &str) -> SdkError {
    SdkError::new(ErrorClass::Timeout, [message, KILLED_IN_FLIGHT].concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rpc(code: Code, msg: &str) -> SdkError {
        rpc_error(&ConnectError::new(code, msg), NotFoundAs::Generic)
    }

    #[test]
    fn envd_http_statuses_map_like_the_official_table() {
        assert_eq!(
            envd_http_error(404, "no such file", NotFoundAs::File).class,
            ErrorClass::FileNotFound
        );
        assert_eq!(
            envd_http_error(404, "x", NotFoundAs::Generic).class,
            ErrorClass::NotFound
        );
        assert_eq!(
            envd_http_error(507, "full", NotFoundAs::File).class,
            ErrorClass::NotEnoughSpace
        );
        let e = envd_http_error(502, "The sandbox was not found", NotFoundAs::Generic);
        assert_eq!(e.class, ErrorClass::Timeout);
        assert!(e.message.starts_with(
            "The sandbox was not found: This error is likely due to sandbox timeout."
        ));
        assert_eq!(
            envd_http_error(500, "boom", NotFoundAs::Generic).message,
            "500: boom"
        );
    }

    #[test]
    fn connect_codes_map_with_connect_es_messages() {
        let e = rpc(Code::NotFound, "process with pid 7 not found");
        assert_eq!(
            (e.class, e.message.as_str()),
            (
                ErrorClass::NotFound,
                "[not_found] process with pid 7 not found"
            )
        );
        assert_eq!(
            rpc_error(&ConnectError::new(Code::NotFound, "x"), NotFoundAs::File).class,
            ErrorClass::FileNotFound
        );
        assert_eq!(
            rpc(Code::InvalidArgument, "bad").class,
            ErrorClass::InvalidArgument
        );
        assert_eq!(
            rpc(Code::Unauthenticated, "who").class,
            ErrorClass::Authentication
        );
        let e = rpc(Code::DeadlineExceeded, "the operation timed out");
        assert_eq!(e.class, ErrorClass::Timeout);
        assert!(e.message.starts_with("[deadline_exceeded] the operation timed out: This error is likely due to exceeding 'timeoutMs'"));
        let e = rpc(Code::Canceled, "This operation was aborted");
        assert!(e.message.starts_with("[canceled] This operation was aborted: This error is likely due to exceeding 'requestTimeoutMs'"));
        assert_eq!(
            rpc(Code::Unavailable, "HTTP 502").class,
            ErrorClass::Timeout
        );
        assert_eq!(
            rpc(Code::ResourceExhausted, "slow").class,
            ErrorClass::RateLimit
        );
        let e = rpc(Code::Internal, "stdin closed");
        assert_eq!(
            (e.class, e.message.as_str()),
            (ErrorClass::Sandbox, "13: [internal] stdin closed")
        );
        assert_eq!(rpc(Code::Unknown, "").message, "2: [unknown]");
    }

    #[test]
    fn dropped_connections_are_recognised_by_runtime_wording() {
        assert!(needs_health_probe(&ConnectError::new(
            Code::Unknown,
            "terminated"
        )));
        assert!(needs_health_probe(&ConnectError::new(
            Code::Unknown,
            "Network connection lost."
        )));
        assert!(!needs_health_probe(&ConnectError::new(
            Code::Internal,
            "terminated"
        )));
        assert!(!needs_health_probe(&ConnectError::new(
            Code::Unknown,
            "fetch failed"
        )));
        let e = killed_in_flight("[unknown] terminated");
        assert_eq!(e.class, ErrorClass::Timeout);
        assert!(e.message.ends_with("while the request was in flight."));
    }
}
