//! The Connect protocol on the server side: request validation, decoding in the codec the
//! client chose, unary answers, and server streams (envelopes, keepalives, deadline,
//! end-of-stream). Handlers only see typed messages and return `ConnectError`s.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use envd_protocol::envelope::{self, Decoder, FLAG_END_STREAM};
use envd_protocol::{Code, Codec, ConnectError, ContentType, EndStream, Message};
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::{Request, Response, StatusCode};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::http::{Body, empty_body, full_body};
use super::state::Envd;
use super::users::User;

/// Largest request message accepted (envd's messages are small; input chunks are the biggest).
pub const MAX_MESSAGE_SIZE: usize = 4 * 1024 * 1024;
/// Keepalive interval when the client does not ask for one.
const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(90);

/// What a handler knows about the call besides its message.
pub struct Ctx {
    pub envd: Arc<Envd>,
    /// User named in `Authorization: Basic`, if any.
    basic_user: Option<Result<String, ConnectError>>,
    /// From `Connect-Timeout-Ms`.
    pub deadline: Option<Instant>,
    /// From `Keepalive-Ping-Interval` (seconds).
    pub keepalive: Duration,
}

impl Ctx {
    /// The user the call runs as: the Basic user, else the default user.
    pub fn user(&self) -> Result<User, ConnectError> {
        let name = match &self.basic_user {
            Some(name) => name.clone()?,
            None => self.envd.config().default_user,
        };
        self.envd.users.lookup(&name)
    }
}

/// Reads the user name from `Authorization: Basic base64(name:password)`.
fn basic_user(headers: &HeaderMap) -> Option<Result<String, ConnectError>> {
    let value = headers.get(hyper::header::AUTHORIZATION)?;
    let invalid = || {
        ConnectError::new(
            Code::Unauthenticated,
            "invalid Authorization header (want Basic)",
        )
    };
    let parsed = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .and_then(|b64| envd_protocol::base64::decode(b64.trim()))
        .and_then(|raw| String::from_utf8(raw).ok())
        .map(|pair| {
            pair.split_once(':')
                .map_or(pair.as_str(), |(name, _)| name)
                .to_owned()
        })
        .ok_or_else(invalid);
    Some(parsed)
}

/// Header checks shared by unary and streaming calls. `Err` is an HTTP response to send as is
/// (wrong content type) or a Connect error.
fn prepare(
    envd: Arc<Envd>,
    req: &Request<Incoming>,
    streaming: bool,
) -> Result<(Ctx, Codec), Prepared> {
    let ct = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(ContentType::parse)
        .filter(|ct| ct.streaming == streaming);
    let Some(ct) = ct else {
        return Err(Prepared::Http(Box::new(unsupported_media_type(streaming))));
    };
    let fail = |e| Err(Prepared::Connect(ct.codec, e));
    let headers = req.headers();
    if let Some(v) = headers.get(envd_protocol::HEADER_PROTOCOL_VERSION) {
        if v != "1" {
            return fail(ConnectError::new(
                Code::InvalidArgument,
                "connect-protocol-version must be \"1\"",
            ));
        }
    }
    let timeout = match headers.get(envd_protocol::HEADER_TIMEOUT_MS) {
        None => None,
        Some(v) => match v.to_str().ok().and_then(envd_protocol::parse_timeout_ms) {
            Some(0) => None,
            Some(ms) => Some(Duration::from_millis(ms)),
            None => {
                return fail(ConnectError::new(
                    Code::InvalidArgument,
                    "invalid connect-timeout-ms header",
                ));
            }
        },
    };
    let keepalive = headers
        .get(envd_protocol::HEADER_KEEPALIVE_INTERVAL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&s| s > 0)
        .map_or(DEFAULT_KEEPALIVE, Duration::from_secs);
    let ctx = Ctx {
        envd,
        basic_user: basic_user(headers),
        deadline: timeout.map(|t| Instant::now() + t),
        keepalive,
    };
    Ok((ctx, ct.codec))
}

enum Prepared {
    Http(Box<Response<Body>>),
    Connect(Codec, ConnectError),
}

fn unsupported_media_type(streaming: bool) -> Response<Body> {
    let accept = if streaming {
        "application/connect+json, application/connect+proto"
    } else {
        "application/json, application/proto"
    };
    let mut resp = Response::new(empty_body());
    *resp.status_mut() = StatusCode::UNSUPPORTED_MEDIA_TYPE;
    resp.headers_mut()
        .insert("accept-post", HeaderValue::from_static(accept));
    resp
}

/// Reads a whole request body, refusing more than `limit` bytes.
async fn read_body(body: Incoming, limit: usize) -> Result<Vec<u8>, ConnectError> {
    let mut body = body;
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|e| ConnectError::new(Code::Canceled, format!("reading request: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > limit {
                return Err(ConnectError::new(
                    Code::ResourceExhausted,
                    format!("request larger than the {limit}-byte limit"),
                ));
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

fn decode<M: Message>(codec: Codec, bytes: &[u8]) -> Result<M, ConnectError> {
    M::decode(codec, bytes)
        .map_err(|e| ConnectError::new(Code::InvalidArgument, format!("unmarshal message: {e}")))
}

/// The response to a failed unary call.
pub fn unary_error(err: &ConnectError) -> Response<Body> {
    let mut resp = Response::new(full_body(err.to_json()));
    *resp.status_mut() =
        StatusCode::from_u16(err.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

fn content_type(streaming: bool, codec: Codec) -> HeaderValue {
    HeaderValue::from_static(ContentType { streaming, codec }.as_str())
}

/// Serves a unary call: decode `Req`, run `handler` (bounded by the deadline), encode `Resp`.
pub async fn unary<Req, Resp, F, Fut>(
    envd: Arc<Envd>,
    req: Request<Incoming>,
    handler: F,
) -> Response<Body>
where
    Req: Message,
    Resp: Message,
    F: FnOnce(Ctx, Req) -> Fut,
    Fut: Future<Output = Result<Resp, ConnectError>>,
{
    let (ctx, codec) = match prepare(envd, &req, false) {
        Ok(p) => p,
        Err(Prepared::Http(resp)) => return *resp,
        Err(Prepared::Connect(_, e)) => return unary_error(&e),
    };
    let deadline = ctx.deadline;
    let work = async {
        let body = read_body(req.into_body(), MAX_MESSAGE_SIZE).await?;
        let msg = decode::<Req>(codec, &body)?;
        handler(ctx, msg).await
    };
    let result = match deadline {
        Some(d) => tokio::time::timeout_at(d, work)
            .await
            .unwrap_or_else(|_| Err(deadline_exceeded())),
        None => work.await,
    };
    match result {
        Ok(msg) => {
            let mut out = Vec::new();
            msg.encode(codec, &mut out);
            let mut resp = Response::new(full_body(out));
            resp.headers_mut()
                .insert(CONTENT_TYPE, content_type(false, codec));
            resp
        }
        Err(e) => unary_error(&e),
    }
}

pub fn deadline_exceeded() -> ConnectError {
    ConnectError::new(
        Code::DeadlineExceeded,
        "the operation timed out (connect-timeout-ms reached)",
    )
}

/// Sends enveloped messages of a server stream. Each message is one HTTP body frame, so
/// HTTP/1.1 chunked responses flush per message.
pub struct StreamWriter {
    codec: Codec,
    tx: mpsc::Sender<Result<Frame<Bytes>, std::io::Error>>,
}

/// The client went away; the stream is over.
#[derive(Debug)]
pub struct Disconnected;

impl StreamWriter {
    /// Encodes `msg` now and sends it; the future does not borrow the message.
    pub fn send<M: Message>(
        &self,
        msg: &M,
    ) -> impl Future<Output = Result<(), Disconnected>> + Send + '_ {
        let mut out = vec![0; envelope::HEADER_LEN];
        msg.encode(self.codec, &mut out);
        let header = envelope::header(0, out.len() - envelope::HEADER_LEN);
        out[..envelope::HEADER_LEN].copy_from_slice(&header);
        let frame = Frame::data(Bytes::from(out));
        async move { self.tx.send(Ok(frame)).await.map_err(|_| Disconnected) }
    }

    /// Resolves when the client has gone away.
    pub async fn closed(&self) {
        self.tx.closed().await
    }

    async fn end(self, result: Result<(), ConnectError>) {
        let end = match result {
            Ok(()) => EndStream::ok(),
            Err(e) => EndStream::error(e),
        };
        let mut out = Vec::new();
        envelope::encode(FLAG_END_STREAM, &end.to_json(), &mut out);
        let _ = self.tx.send(Ok(Frame::data(Bytes::from(out)))).await;
    }
}

/// Serves a server-streaming call: the request is one envelope; `handler` sends messages and
/// returns how the stream ends. Errors, even before the first message, go in the
/// end-of-stream message of a 200 response.
pub async fn server_stream<Req, F, Fut>(
    envd: Arc<Envd>,
    req: Request<Incoming>,
    handler: F,
) -> Response<Body>
where
    Req: Message + Send + 'static,
    F: FnOnce(Ctx, Req, StreamWriter) -> Fut + Send + 'static,
    Fut: Future<Output = (StreamWriter, Result<(), ConnectError>)> + Send + 'static,
{
    let OpenStream(prepared, writer, rx) = match open_stream(envd, &req) {
        Ok(opened) => opened,
        Err(resp) => return *resp,
    };
    let codec = writer.codec;
    // Read the request before answering, as connect-go (E2B's envd) does: Python's connectrpc
    // client (over pyqwest) sends the body after the headers and loses it, sending an empty
    // body instead, when the response headers arrive first.
    let request = async {
        let ctx = prepared?;
        let bytes = read_body(req.into_body(), MAX_MESSAGE_SIZE + envelope::HEADER_LEN).await?;
        Ok::<_, ConnectError>((ctx, single_envelope::<Req>(codec, &bytes)?))
    }
    .await;
    tokio::spawn(async move {
        let (writer, result) = match request {
            Ok((ctx, msg)) => handler(ctx, msg, writer).await,
            Err(e) => (writer, Err(e)),
        };
        writer.end(result).await;
    });
    streaming_response(rx, codec)
}

/// Frames a [`StreamWriter`] sends, on their way to the response body.
type FrameReceiver = mpsc::Receiver<Result<Frame<Bytes>, std::io::Error>>;

/// A streaming call, started: its context (or the Connect error its stream ends with), the
/// writer for its messages and what [`streaming_response`] reads them from.
struct OpenStream(Result<Ctx, ConnectError>, StreamWriter, FrameReceiver);

/// Starts a streaming call; `Err` is a plain HTTP refusal.
fn open_stream(
    envd: Arc<Envd>,
    req: &Request<Incoming>,
) -> Result<OpenStream, Box<Response<Body>>> {
    let (prepared, codec) = match prepare(envd, req, true) {
        Ok((ctx, codec)) => (Ok(ctx), codec),
        Err(Prepared::Http(resp)) => return Err(resp),
        Err(Prepared::Connect(codec, e)) => (Err(e), codec),
    };
    // One buffered message is enough: a slow client back-pressures the producer.
    let (tx, rx) = mpsc::channel(1);
    Ok(OpenStream(prepared, StreamWriter { codec, tx }, rx))
}

/// The `200` of a streaming call, its body the frames a [`StreamWriter`] sends into `rx`.
fn streaming_response(rx: FrameReceiver, codec: Codec) -> Response<Body> {
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut resp = Response::new(http_body_util::StreamBody::new(stream).boxed());
    resp.headers_mut()
        .insert(CONTENT_TYPE, content_type(true, codec));
    resp
}

/// Decodes a streaming request body that must hold exactly one message envelope.
fn single_envelope<M: Message>(codec: Codec, bytes: &[u8]) -> Result<M, ConnectError> {
    let invalid = |why: String| ConnectError::new(Code::InvalidArgument, why);
    let mut d = Decoder::new(MAX_MESSAGE_SIZE);
    d.push(bytes);
    let frame = d
        .next()
        .map_err(|e| invalid(format!("request envelope: {e}")))?;
    let Some(frame) = frame else {
        return Err(invalid(match d.finish() {
            Err(e) => format!("request envelope: {e}"),
            Ok(()) => "request has no message".to_owned(),
        }));
    };
    if frame.is_end_stream() {
        return Err(invalid(
            "request message is flagged end-of-stream".to_owned(),
        ));
    }
    if bytes.len() > envelope::HEADER_LEN + frame.payload.len() {
        return Err(invalid(
            "server-streaming request carries more than one message".to_owned(),
        ));
    }
    decode(codec, frame.payload)
}

/// Serves a client-streaming call: `handler` receives the envelopes as they arrive through
/// a [`MessageReader`] and returns the single response message.
pub async fn client_stream<Req, Resp, F, Fut>(
    envd: Arc<Envd>,
    req: Request<Incoming>,
    handler: F,
) -> Response<Body>
where
    Req: Message + Send + 'static,
    Resp: Message + Send + 'static,
    F: FnOnce(Ctx, MessageReader<Req>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Resp, ConnectError>> + Send + 'static,
{
    let OpenStream(prepared, writer, rx) = match open_stream(envd, &req) {
        Ok(opened) => opened,
        Err(resp) => return *resp,
    };
    let codec = writer.codec;
    let body = req.into_body();
    tokio::spawn(async move {
        let result = match prepared {
            Err(e) => Err(e),
            Ok(ctx) => {
                let deadline = ctx.deadline;
                let reader = MessageReader {
                    codec,
                    body,
                    decoder: Decoder::new(MAX_MESSAGE_SIZE),
                    _m: Default::default(),
                };
                let work = handler(ctx, reader);
                match deadline {
                    Some(d) => tokio::time::timeout_at(d, work)
                        .await
                        .unwrap_or_else(|_| Err(deadline_exceeded())),
                    None => work.await,
                }
            }
        };
        let result = match result {
            Ok(resp) => writer
                .send(&resp)
                .await
                .map_err(|_| ConnectError::new(Code::Canceled, "client went away")),
            Err(e) => Err(e),
        };
        writer.end(result).await;
    });
    streaming_response(rx, codec)
}

/// The messages of a client stream, decoded as their envelopes complete.
pub struct MessageReader<M> {
    codec: Codec,
    body: Incoming,
    decoder: Decoder,
    _m: std::marker::PhantomData<M>,
}

impl<M: Message> MessageReader<M> {
    /// The next message; `Ok(None)` when the client finished its stream.
    pub async fn next(&mut self) -> Result<Option<M>, ConnectError> {
        let invalid = |e: envelope::FrameError| {
            ConnectError::new(Code::InvalidArgument, format!("request envelope: {e}"))
        };
        loop {
            if let Some(frame) = self.decoder.next().map_err(invalid)? {
                if frame.is_end_stream() {
                    return Err(ConnectError::new(
                        Code::InvalidArgument,
                        "request message is flagged end-of-stream",
                    ));
                }
                return decode(self.codec, frame.payload).map(Some);
            }
            match self.body.frame().await {
                None => {
                    self.decoder.finish().map_err(invalid)?;
                    return Ok(None);
                }
                Some(Err(e)) => {
                    return Err(ConnectError::new(
                        Code::Canceled,
                        format!("reading request: {e}"),
                    ));
                }
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.decoder.push(&data);
                    }
                }
            }
        }
    }
}

/// Drives a server stream from an event channel: forwards each event (`to_message` may turn
/// it into an error that ends the stream), sends `keepalive()` after every `ctx.keepalive`
/// without traffic, ends with `deadline_exceeded` at the deadline, and stops when the client
/// disconnects. Returns `Ok` when the channel closes.
pub async fn pump<T, M: Message>(
    ctx: &Ctx,
    out: &StreamWriter,
    events: &mut mpsc::Receiver<T>,
    to_message: impl Fn(T) -> Result<M, ConnectError>,
    keepalive: impl Fn() -> M,
) -> Result<(), ConnectError> {
    let far_future = Instant::now() + Duration::from_secs(86_400 * 365);
    let deadline = tokio::time::sleep_until(ctx.deadline.unwrap_or(far_future));
    tokio::pin!(deadline);
    loop {
        let ping = tokio::time::sleep(ctx.keepalive);
        let msg = tokio::select! {
            event = events.recv() => match event {
                None => return Ok(()),
                Some(event) => to_message(event)?,
            },
            () = ping => keepalive(),
            () = &mut deadline => return Err(deadline_exceeded()),
            () = out.closed() => return Err(client_gone()),
        };
        if out.send(&msg).await.is_err() {
            return Err(client_gone());
        }
    }
}

/// The error a stream ends with when its client disconnected (nobody reads it).
pub fn client_gone() -> ConnectError {
    ConnectError::new(Code::Canceled, "client disconnected")
}
