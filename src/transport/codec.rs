//! The one place that knows which Connect codec the SDK speaks. envd accepts both; binary
//! protobuf is the default (smaller frames, no base64 of output bytes, no JSON code in the
//! wasm); the `json-codec` feature switches to the official SDKs' JSON.

use envd_protocol::{Code, Codec, ConnectError, ContentType, Message};

use crate::prelude::*;

#[cfg(not(feature = "json-codec"))]
pub const CODEC: Codec = Codec::Proto;
#[cfg(feature = "json-codec")]
pub const CODEC: Codec = Codec::Json;

pub fn content_type(streaming: bool) -> ContentType {
    ContentType {
        streaming,
        codec: CODEC,
    }
}

pub fn encode<M: Message>(message: &M) -> Vec<u8> {
    #[cfg(feature = "json-codec")]
    return message.to_json();
    #[cfg(not(feature = "json-codec"))]
    message.to_proto()
}

pub fn decode<M: Message>(bytes: &[u8]) -> Result<M, ConnectError> {
    #[cfg(feature = "json-codec")]
    let decoded = M::decode_json(bytes);
    #[cfg(not(feature = "json-codec"))]
    let decoded = M::decode_proto(bytes);
    decoded.map_err(|_| ConnectError::new(Code::Internal, "protocol error: invalid message"))
}

/// Checks a successful response's content type the way connect-es does: a mismatch of codec
/// or of unary/stream is `internal`, an unparsable type `unknown`.
pub fn check_content_type(header: Option<&str>, expected: ContentType) -> Result<(), ConnectError> {
    let parsed = header.and_then(ContentType::parse);
    if parsed == Some(expected) {
        return Ok(());
    }
    let code = if parsed.is_some() {
        Code::Internal
    } else {
        Code::Unknown
    };
    let message = ["unsupported content type ", header.unwrap_or("null")].concat();
    Err(ConnectError::new(code, message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use envd_protocol::process::{ProcessConfig, StartRequest};

    #[test]
    fn messages_round_trip_through_the_codec() {
        let req = StartRequest {
            process: Some(ProcessConfig {
                cmd: "/bin/bash".into(),
                args: vec!["-l".into(), "-c".into(), "echo hi".into()],
                ..Default::default()
            }),
            stdin: Some(false),
            ..Default::default()
        };
        let back: StartRequest = decode(&encode(&req)).unwrap();
        assert_eq!(back, req);
        let err = decode::<StartRequest>(&[0xff, 0xff, 0xff]).unwrap_err();
        assert_eq!(err.code, Code::Internal);
    }

    #[test]
    fn content_types_are_checked_like_connect_es() {
        assert!(check_content_type(Some(content_type(true).as_str()), content_type(true)).is_ok());
        assert_eq!(
            check_content_type(Some(content_type(false).as_str()), content_type(true))
                .unwrap_err()
                .code,
            Code::Internal
        );
        let err = check_content_type(Some("text/html"), content_type(false)).unwrap_err();
        assert_eq!(
            (err.code, err.message.as_str()),
            (Code::Unknown, "unsupported content type text/html")
        );
        assert_eq!(
            check_content_type(None, content_type(false))
                .unwrap_err()
                .code,
            Code::Unknown
        );
    }
}
