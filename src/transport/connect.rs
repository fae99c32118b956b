//! Connect RPC over `fetch`: unary calls and server streams. Requests are built here and run by
//! the [`exchange`](super::exchange) driver; a stream's body is read incrementally from
//! `response.body` and cut into envelopes by the protocol crate's decoder, whatever the
//! chunking. A dropped stream cancels its reader and aborts its request, so the connection is
//! released. Error bodies and end-of-stream messages are JSON in both codecs; the runtime's
//! `JSON.parse` reads them, which keeps a JSON parser out of the wasm.

use envd_protocol::envelope::{self, Decoder};
use envd_protocol::{
    Code, ConnectError, HEADER_CONTENT_TYPE, HEADER_PROTOCOL_VERSION, HEADER_TIMEOUT_MS,
};
use js_sys::{JSON, Object, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{AbortController, AbortSignal, ReadableStreamDefaultReader, Response};

use super::codec::{check_content_type, content_type};
use super::exchange::{Exchanged, Read, Request};
use super::fetch::ignore_outcome;
use super::log::Logger;
use super::signal::{CallSignal, reason_message};
use super::task::wait;
use crate::js_object::{get, get_string, headers_copy, headers_object, set};
use crate::prelude::*;
use crate::util::decimal;

/// Where a call goes and what every call there carries.
pub struct Endpoint<'a> {
    pub base_url: &'a str,
    /// [`call_headers`] of unary calls and of streams: each call sends a copy.
    pub unary_headers: &'a Object,
    pub stream_headers: &'a Object,
    pub logger: &'a Logger,
}

/// The headers every unary call (or stream) to an endpoint carries: `own` and the Connect ones.
/// Built once per endpoint: each header set from wasm costs three calls into JS.
pub fn call_headers(own: &[(String, String)], streaming: bool) -> Object {
    let own = own.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let connect = [
        (HEADER_CONTENT_TYPE, content_type(streaming).as_str()),
        (HEADER_PROTOCOL_VERSION, "1"),
    ];
    headers_object(own.chain(connect))
}

/// Per-call options.
#[derive(Default)]
pub struct CallOptions {
    pub headers: Vec<(String, String)>,
    pub signal: Option<AbortSignal>,
    /// Unary: the whole call; streams: until the response headers arrived.
    pub request_timeout_ms: Option<f64>,
    /// Streams only: `Connect-Timeout-Ms` and the client-side deadline.
    pub timeout_ms: Option<f64>,
}

fn request(
    endpoint: &Endpoint<'_>,
    path: &str,
    body: Vec<u8>,
    opts: CallOptions,
    streaming: bool,
) -> Request {
    let url = [endpoint.base_url.trim_end_matches('/'), path].concat();
    if endpoint.logger.enabled() {
        let line = JsValue::from(["Request: POST ", &url].concat());
        endpoint.logger.log("info", &[line]);
    }
    let headers = headers_copy(if streaming {
        endpoint.stream_headers
    } else {
        endpoint.unary_headers
    });
    if let Some(ms) = opts.timeout_ms {
        set(&headers, HEADER_TIMEOUT_MS, &decimal(ms as i64).into());
    }
    for (k, v) in &opts.headers {
        set(&headers, k, &JsValue::from_str(v));
    }
    let signal = if streaming {
        CallSignal::for_stream(opts.signal, opts.request_timeout_ms, opts.timeout_ms)
    } else {
        CallSignal::for_request(opts.signal, opts.request_timeout_ms)
    };
    Request {
        method: "POST",
        url,
        headers,
        body: Uint8Array::from(body.as_slice()).into(),
        signal,
        read: if streaming {
            Read::Headers
        } else {
            Read::Bytes
        },
    }
}

/// A unary call carrying the encoded request message.
pub fn unary_request(
    endpoint: &Endpoint<'_>,
    path: &str,
    message: Vec<u8>,
    opts: CallOptions,
) -> Request {
    request(endpoint, path, message, opts, false)
}

/// A server-streaming call carrying the encoded request message (sent as one envelope).
pub fn stream_request(
    endpoint: &Endpoint<'_>,
    path: &str,
    message: &[u8],
    opts: CallOptions,
) -> Request {
    let mut body = Vec::with_capacity(message.len() + envelope::HEADER_LEN);
    envelope::encode(0, message, &mut body);
    request(endpoint, path, body, opts, true)
}

/// The encoded response message of a unary call, or the Connect error it amounts to.
pub fn unary_result(exchanged: Exchanged) -> Result<Vec<u8>, ConnectError> {
    let reply = exchanged
        .reply
        .map_err(|e| exchanged.signal.connect_error(&e))?;
    let response = reply.response;
    let bytes = Uint8Array::from(reply.body).to_vec();
    let answer_type = content_type_of(&response);
    let status = response.status();
    if status != 200 {
        return Err(unary_error(status, answer_type.as_deref(), &bytes));
    }
    check_content_type(answer_type.as_deref(), content_type(false))?;
    Ok(bytes)
}

/// The Connect error of a unary answer with a non-200 `status`, as connect-es reads it: a JSON
/// error object's code (else the status's) and message (`""` when it has none); `unknown` with
/// the parser's message when a JSON body does not parse; what the status stands for when the
/// body is not JSON, or no such object, or its message no string.
pub fn unary_error(status: u16, content_type: Option<&str>, body: &[u8]) -> ConnectError {
    let fallback =
        || ConnectError::new(Code::from_http_status(status), http_status_message(status));
    let is_json = content_type
        .and_then(envd_protocol::ContentType::parse)
        .is_some_and(|t| t.codec == envd_protocol::Codec::Json);
    if !is_json {
        return fallback();
    }
    // Not UTF-8: what the runtime's decoder would make of its first bad byte, which no JSON starts with.
    let body = match JSON::parse(core::str::from_utf8(body).unwrap_or("\u{FFFD}")) {
        Ok(body) => body,
        Err(e) => return ConnectError::new(Code::Unknown, reason_message(&e)),
    };
    if !body.is_object() || js_sys::Array::is_array(&body) {
        return fallback();
    }
    let message = get(&body, "message");
    let message = match message.as_string() {
        Some(message) => message,
        None if message.is_undefined() || message.is_null() => String::new(),
        None => return fallback(),
    };
    let code = get_string(&body, "code")
        .and_then(|c| Code::from_name(&c))
        .unwrap_or_else(|| Code::from_http_status(status));
    ConnectError::new(code, message)
}

fn http_status_message(status: u16) -> String {
    ["HTTP ", &decimal(status.into())].concat()
}

fn parse_json(bytes: &[u8]) -> JsValue {
    core::str::from_utf8(bytes)
        .ok()
        .and_then(|text| JSON::parse(text).ok())
        .unwrap_or(JsValue::UNDEFINED)
}

fn content_type_of(response: &Response) -> Option<String> {
    response.headers().get(HEADER_CONTENT_TYPE).ok().flatten()
}

/// The error an end-of-stream message carries, `None` for a successful end. A payload that is
/// not a JSON object, or an `error` without a valid code, is itself an `internal` error.
pub fn end_of_stream(payload: &[u8]) -> Option<ConnectError> {
    let invalid = |why: &str| {
        let message = ["invalid end-of-stream message: ", why].concat();
        Some(ConnectError::new(Code::Internal, message))
    };
    let end = parse_json(payload);
    if !end.is_object() || js_sys::Array::is_array(&end) {
        return invalid("not an object");
    }
    let error = get(&end, "error");
    if error.is_undefined() || error.is_null() {
        return None;
    }
    match get_string(&error, "code").and_then(|c| Code::from_name(&c)) {
        Some(code) => {
            let message = get(&error, "message").as_string().unwrap_or_default();
            Some(ConnectError::new(code, message))
        }
        None => invalid("error without a valid code"),
    }
}

/// An open server stream, positioned after the response headers.
pub struct ServerStream {
    call: CallSignal,
    reader: ReadableStreamDefaultReader,
    decoder: Decoder,
    ended: bool,
}

impl ServerStream {
    /// Takes over a stream's response once its headers arrived; `call` is the call's signal.
    /// The request timeout still applies until the first message, as in the official SDK.
    pub fn open(exchanged: Exchanged) -> Result<ServerStream, ConnectError> {
        let Exchanged {
            reply,
            signal: call,
        } = exchanged;
        let response = reply.map_err(|e| call.connect_error(&e))?.response;
        let status = response.status();
        if status != 200 {
            let code = Code::from_http_status(status);
            return Err(ConnectError::new(code, http_status_message(status)));
        }
        check_content_type(content_type_of(&response).as_deref(), content_type(true))?;
        let reader = response
            .body()
            .ok_or_else(|| ConnectError::new(Code::Unknown, "missing response body"))?
            .get_reader()
            .unchecked_into::<ReadableStreamDefaultReader>();
        Ok(ServerStream {
            call,
            reader,
            decoder: Decoder::default(),
            ended: false,
        })
    }

    /// A handle that tears the stream down from elsewhere (`disconnect()`).
    pub fn abort_handle(&self) -> AbortController {
        self.call.controller()
    }

    /// Waits for the next message and hands its encoded payload to `read`, still in the
    /// stream's buffer (decode it there: output is copied once on its way to a string);
    /// `Ok(false)` after a successful end of stream. A stream that ends without its
    /// end-of-stream message is an error, as in connect-es.
    pub async fn next_message(
        &mut self,
        read: &mut dyn FnMut(&[u8]) -> Result<(), ConnectError>,
    ) -> Result<bool, ConnectError> {
        loop {
            if self.ended {
                return Ok(false);
            }
            if let Some(frame) = self.decoder.next().map_err(|_| frame_error())? {
                self.call.end_request_timeout();
                if !frame.is_end_stream() {
                    read(frame.payload)?;
                    return Ok(true);
                }
                self.ended = true;
                return match end_of_stream(frame.payload) {
                    Some(err) => Err(err),
                    None => Ok(false),
                };
            }
            let chunk = match wait(self.reader.read()).await {
                Ok(chunk) => chunk,
                Err(e) => {
                    self.ended = true;
                    return Err(self.call.connect_error(&e));
                }
            };
            if get(&chunk, "done").as_bool() == Some(true) {
                self.ended = true;
                self.decoder.finish().map_err(|_| frame_error())?;
                return Err(ConnectError::new(
                    Code::Unknown,
                    "missing EndStreamResponse",
                ));
            }
            let bytes: Uint8Array = get(&chunk, "value").unchecked_into();
            let fill = |room: &mut [_]| {
                bytes.copy_to_uninit(room);
            };
            // SAFETY: `copy_to_uninit` initialises all of the room (or panics).
            unsafe { self.decoder.push_with(bytes.length() as usize, fill) };
        }
    }
}

fn frame_error() -> ConnectError {
    ConnectError::new(Code::Internal, "protocol error: invalid envelope")
}

impl Drop for ServerStream {
    fn drop(&mut self) {
        // Stop reading; dropping `call` then aborts the request, releasing the connection.
        ignore_outcome(&self.reader.cancel());
    }
}
