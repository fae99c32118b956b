//! Connect errors on the wire: the unary error body and the end-of-stream message.

use crate::prelude::*;
use core::fmt;

use crate::code::Code;
use crate::json::{self, Value, Writer};

/// A Connect error: a code and a human-readable message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectError {
    pub code: Code,
    pub message: String,
}

impl ConnectError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ConnectError {
            code,
            message: message.into(),
        }
    }

    /// The unary error body: `{"code":"<code>","message":"<text>"}` (message omitted if empty).
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(48 + self.message.len());
        Writer::object(&mut out, |w| self.write_fields(w));
        out
    }

    fn write_fields(&self, w: &mut Writer<'_>) {
        w.field_str("code", self.code.as_str());
        if !self.message.is_empty() {
            w.field_str("message", &self.message);
        }
    }

    /// Reads the error of a failed unary call the way connect-es does: when the body is a JSON
    /// object (`body_is_json` = the response's content type is JSON) a valid string `code` wins,
    /// otherwise the code comes from the HTTP `status` ([`Code::from_http_status`]); a string
    /// `message` is kept, else the message is `HTTP <status>`.
    pub fn from_unary_response(status: u16, body_is_json: bool, body: &[u8]) -> ConnectError {
        let parsed = if body_is_json {
            json::parse(body).ok()
        } else {
            None
        };
        let code = parsed
            .as_ref()
            .and_then(|v| v.get("code"))
            .and_then(Value::as_str)
            .and_then(Code::from_name)
            .unwrap_or_else(|| Code::from_http_status(status));
        let message = match parsed
            .as_ref()
            .and_then(|v| v.get("message"))
            .and_then(Value::as_str)
        {
            Some(m) => m.to_owned(),
            None => {
                let mut m = b"HTTP ".to_vec();
                json::write_uint(&mut m, status.into());
                String::from_utf8(m).unwrap_or_default()
            }
        };
        ConnectError { code, message }
    }

    fn from_value(v: &Value) -> Option<ConnectError> {
        let code = Code::from_name(v.get("code")?.as_str()?)?;
        let message = v
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Some(ConnectError { code, message })
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.code, self.message)
    }
}

impl core::error::Error for ConnectError {}

/// The end-of-stream message (last frame of a server stream, flag 0x02, JSON in both codecs):
/// `{}` on success, `{"error":{"code","message"},"metadata":{"k":["v"]}}` otherwise.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndStream {
    pub error: Option<ConnectError>,
    /// Trailers; each name may carry several values.
    pub metadata: Vec<(String, Vec<String>)>,
}

impl EndStream {
    /// A successful end with no trailers (`{}`).
    pub fn ok() -> Self {
        EndStream::default()
    }

    pub fn error(err: ConnectError) -> Self {
        EndStream {
            error: Some(err),
            metadata: Vec::new(),
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::new();
        Writer::object(&mut out, |w| {
            if let Some(err) = &self.error {
                w.field_object("error", |w| err.write_fields(w));
            }
            if !self.metadata.is_empty() {
                w.field_object("metadata", |w| {
                    for (name, values) in &self.metadata {
                        let out = w.key(name);
                        out.push(b'[');
                        for (i, v) in values.iter().enumerate() {
                            if i > 0 {
                                out.push(b',');
                            }
                            json::write_str(out, v);
                        }
                        out.push(b']');
                    }
                });
            }
        });
        out
    }

    /// Parses an end-of-stream payload. An `error` without a valid code, or a payload that is
    /// not a JSON object, is itself reported as an `internal` error.
    pub fn from_json(payload: &[u8]) -> Result<EndStream, ConnectError> {
        let invalid = |why: &str| {
            ConnectError::new(
                Code::Internal,
                format!("invalid end-of-stream message: {why}"),
            )
        };
        let v = json::parse(payload).map_err(|e| invalid(&e.to_string()))?;
        if v.as_object().is_none() {
            return Err(invalid("not an object"));
        }
        let error = match v.get("error") {
            None | Some(Value::Null) => None,
            Some(e) => Some(
                ConnectError::from_value(e).ok_or_else(|| invalid("error without a valid code"))?,
            ),
        };
        let mut metadata = Vec::new();
        if let Some(Value::Object(members)) = v.get("metadata") {
            for (name, values) in members {
                let Value::Array(values) = values else {
                    return Err(invalid("metadata values must be arrays"));
                };
                let values = values
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>();
                metadata.push((
                    name.clone(),
                    values.ok_or_else(|| invalid("metadata values must be strings"))?,
                ));
            }
        }
        Ok(EndStream { error, metadata })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unary_error_body_matches_envd() {
        let e = ConnectError::new(Code::NotFound, "process with pid 999999 not found");
        assert_eq!(
            e.to_json(),
            br#"{"code":"not_found","message":"process with pid 999999 not found"}"#
        );
        assert_eq!(
            ConnectError::from_unary_response(404, true, &e.to_json()),
            e
        );
    }

    #[test]
    fn unary_error_falls_back_to_status_like_connect_es() {
        // envd's token check: plain JSON with an integer code.
        let body = br#"{"code":401,"message":"unauthorized access"}"#;
        assert_eq!(
            ConnectError::from_unary_response(401, true, body),
            ConnectError::new(Code::Unauthenticated, "unauthorized access")
        );
        // A proxy's 502 JSON: unavailable.
        let e = ConnectError::from_unary_response(
            502,
            true,
            br#"{"code":502,"message":"The sandbox was not found"}"#,
        );
        assert_eq!(e.code, Code::Unavailable);
        // Text body: status and "HTTP <status>".
        assert_eq!(
            ConnectError::from_unary_response(404, false, b"404 page not found"),
            ConnectError::new(Code::Unimplemented, "HTTP 404")
        );
        assert_eq!(
            ConnectError::from_unary_response(400, true, b"{bad"),
            ConnectError::new(Code::Internal, "HTTP 400")
        );
    }

    #[test]
    fn end_stream_encodings() {
        assert_eq!(EndStream::ok().to_json(), b"{}");
        let e = EndStream::error(ConnectError::new(
            Code::InvalidArgument,
            "cwd '/does/not/exist' does not exist",
        ));
        assert_eq!(
            e.to_json(),
            br#"{"error":{"code":"invalid_argument","message":"cwd '/does/not/exist' does not exist"}}"#
        );
        let with_trailers = EndStream {
            error: None,
            metadata: vec![("k".into(), vec!["a".into(), "b".into()])],
        };
        assert_eq!(with_trailers.to_json(), br#"{"metadata":{"k":["a","b"]}}"#);
        for m in [EndStream::ok(), e, with_trailers] {
            assert_eq!(EndStream::from_json(&m.to_json()).unwrap(), m);
        }
    }

    #[test]
    fn end_stream_errors_are_reported() {
        for bad in [
            &b"[]"[..],
            b"{",
            br#"{"error":{"code":"nope"}}"#,
            br#"{"error":{}}"#,
            br#"{"metadata":{"k":"v"}}"#,
        ] {
            assert_eq!(EndStream::from_json(bad).unwrap_err().code, Code::Internal);
        }
        let e =
            EndStream::from_json(br#"{"error":{"code":"deadline_exceeded","details":[]},"x":1}"#)
                .unwrap();
        assert_eq!(
            e.error.unwrap(),
            ConnectError::new(Code::DeadlineExceeded, "")
        );
    }
}
