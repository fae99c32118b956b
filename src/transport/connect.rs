//! Connect RPC over `fetch`: unary calls and server streams. A stream's body is read
//! incrementally from `response.body` and cut into envelopes by the protocol crate's decoder,
//! whatever the chunking. A dropped stream cancels its reader and aborts its request, so the
//! connection is released.

use envd_protocol::envelope::{self, Decoder, FrameError};
use envd_protocol::{Code, ConnectError, EndStream, Message};
use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, AbortSignal, ReadableStreamDefaultReader, Response};

use super::codec::{self, check_content_type, content_type};
use super::fetch::{self, Body, get, headers_object};
use super::log::Logger;
use super::signal::{CallSignal, TIMEOUT_REASON};

/// Where a call goes and what every call there carries.
pub struct Endpoint<'a> {
    pub base_url: &'a str,
    pub headers: &'a [(String, String)],
    pub logger: &'a Logger,
}

/// Per-call options.
#[derive(Default)]
pub struct CallOptions {
    pub headers: Vec<(String, String)>,
    pub signal: Option<AbortSignal>,
    /// Unary: the whole call; streams: until the first message.
    pub request_timeout_ms: Option<f64>,
    /// Streams only: `Connect-Timeout-Ms` and the client-side deadline.
    pub timeout_ms: Option<f64>,
}

fn request_headers(endpoint: &Endpoint<'_>, opts: &CallOptions, streaming: bool) -> js_sys::Object {
    let ct = content_type(streaming).as_str();
    let timeout = opts.timeout_ms.map(|ms| (ms as u64).to_string());
    let mut headers: Vec<(&str, &str)> = endpoint
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    headers.push(("Content-Type", ct));
    headers.push(("Connect-Protocol-Version", "1"));
    if let Some(t) = &timeout {
        headers.push(("Connect-Timeout-Ms", t));
    }
    headers.extend(opts.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    headers_object(headers)
}

fn url(endpoint: &Endpoint<'_>, path: &str) -> String {
    [endpoint.base_url.trim_end_matches('/'), path].concat()
}

fn content_type_of(response: &Response) -> Option<String> {
    response.headers().get("content-type").ok().flatten()
}

/// A unary call.
pub async fn unary<Req: Message, Res: Message>(
    endpoint: &Endpoint<'_>,
    path: &str,
    request: &Req,
    opts: CallOptions,
) -> Result<Res, ConnectError> {
    let call = CallSignal::new(
        opts.signal.clone(),
        opts.request_timeout_ms,
        TIMEOUT_REASON,
        None,
    );
    let url = url(endpoint, path);
    endpoint.logger.log(
        "info",
        &[JsValue::from_str(&format!("Request: POST {url}"))],
    );
    let body = codec::encode(request);
    let response = fetch::fetch(
        "POST",
        &url,
        &request_headers(endpoint, &opts, false),
        Body::Bytes(&body),
        &call.signal(),
    )
    .await
    .map_err(|e| call.connect_error(&e))?;
    unary_response(&response, &call).await
}

/// Reads a unary call's response: the message, or the Connect error it carries.
pub async fn unary_response<Res: Message>(
    response: &Response,
    call: &CallSignal,
) -> Result<Res, ConnectError> {
    let ct = content_type_of(response);
    let bytes = fetch::bytes(response)
        .await
        .map_err(|e| call.connect_error(&e))?;
    if response.status() != 200 {
        let is_json = ct
            .as_deref()
            .and_then(envd_protocol::ContentType::parse)
            .is_some_and(|t| t.codec == envd_protocol::Codec::Json);
        return Err(ConnectError::from_unary_response(
            response.status(),
            is_json,
            &bytes,
        ));
    }
    check_content_type(ct.as_deref(), false)?;
    codec::decode(&bytes)
}

/// An open server stream, positioned after the response headers.
pub struct ServerStream {
    call: CallSignal,
    reader: ReadableStreamDefaultReader,
    decoder: Decoder,
    ended: bool,
}

/// Opens a server stream: sends the one request envelope, checks status and content type.
pub async fn server_stream<Req: Message>(
    endpoint: &Endpoint<'_>,
    path: &str,
    request: &Req,
    opts: CallOptions,
) -> Result<ServerStream, ConnectError> {
    let handshake = opts.request_timeout_ms.map(|ms| {
        [
            "Request handshake timed out after ",
            &(ms as u64).to_string(),
            "ms",
        ]
        .concat()
    });
    let call = CallSignal::new(
        opts.signal.clone(),
        opts.request_timeout_ms,
        handshake.as_deref().unwrap_or(""),
        opts.timeout_ms,
    );
    let url = url(endpoint, path);
    endpoint.logger.log(
        "info",
        &[JsValue::from_str(&format!("Request: POST {url}"))],
    );
    let mut body = Vec::new();
    envelope::encode(0, &codec::encode(request), &mut body);
    let response = fetch::fetch(
        "POST",
        &url,
        &request_headers(endpoint, &opts, true),
        Body::Bytes(&body),
        &call.signal(),
    )
    .await
    .map_err(|e| call.connect_error(&e))?;
    ServerStream::open(&response, call)
}

fn frame_error(e: FrameError) -> ConnectError {
    ConnectError::new(Code::Internal, format!("protocol error: {e}"))
}

impl ServerStream {
    /// Takes over a stream's response once its headers arrived; `call` is the call's signal.
    pub fn open(response: &Response, call: CallSignal) -> Result<ServerStream, ConnectError> {
        let status = response.status();
        if status != 200 {
            let message = ["HTTP ", &status.to_string()].concat();
            return Err(ConnectError::new(Code::from_http_status(status), message));
        }
        check_content_type(content_type_of(response).as_deref(), true)?;
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

    /// The first message arrived: the request timeout no longer applies.
    pub fn end_handshake(&mut self) {
        self.call.end_request_timeout();
    }

    /// A handle that tears the stream down from elsewhere (`disconnect()`).
    pub fn abort_handle(&self) -> AbortController {
        self.call.controller()
    }

    /// The next message; `Ok(None)` after a successful end of stream. A stream that ends
    /// without its end-of-stream message is an error, as in connect-es.
    pub async fn next<M: Message>(&mut self) -> Result<Option<M>, ConnectError> {
        loop {
            if self.ended {
                return Ok(None);
            }
            if let Some(frame) = self.decoder.next().map_err(frame_error)? {
                if !frame.is_end_stream() {
                    return codec::decode(&frame.payload).map(Some);
                }
                let end = EndStream::from_json(&frame.payload)?;
                self.finish();
                return match end.error {
                    Some(err) => Err(err),
                    None => Ok(None),
                };
            }
            let chunk = JsFuture::from(self.reader.read())
                .await
                .map_err(|e| self.fail(&e))?;
            if get(&chunk, "done").as_bool() == Some(true) {
                self.finish();
                self.decoder.finish().map_err(frame_error)?;
                return Err(ConnectError::new(
                    Code::Unknown,
                    "missing EndStreamResponse",
                ));
            }
            let bytes: Uint8Array = get(&chunk, "value").unchecked_into();
            self.decoder.push(&bytes.to_vec());
        }
    }

    fn fail(&mut self, e: &JsValue) -> ConnectError {
        self.finish();
        self.call.connect_error(e)
    }

    fn finish(&mut self) {
        self.ended = true;
    }
}

impl Drop for ServerStream {
    fn drop(&mut self) {
        // Stop reading; dropping `call` then aborts the request, releasing the connection.
        fetch::ignore_outcome(&self.reader.cancel());
    }
}
