//! Transport tests in a real JS runtime (Node, via wasm-bindgen-test): Connect envelopes read
//! from `ReadableStream` bodies however the chunks fall, error mapping of real `Response`s,
//! abort, request-timeout and deadline behaviour, and release of abandoned streams.
#![cfg(target_arch = "wasm32")]

use e2b_wasm::transport::connect::{ServerStream, unary_result};
use e2b_wasm::transport::exchange::{Exchanged, Next, Reply, run};
use e2b_wasm::transport::signal::CallSignal;
use envd_protocol::envelope;
use envd_protocol::process::{DataEvent, EndEvent, Event, Output, StartEvent, StartResponse};
use envd_protocol::{Code, Message};
use js_sys::{Array, Object, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::{AbortController, Response};

#[wasm_bindgen(inline_js = r#"
export function chunkedResponse(chunks, contentType, status, state) {
  let i = 0;
  const body = new ReadableStream({
    pull(c) { if (i < chunks.length) c.enqueue(chunks[i++]); else c.close(); },
    cancel() { state.cancelled = true; },
  });
  return new Response(body, { status, headers: { 'content-type': contentType } });
}
// A body that never ends and fails when `signal` aborts, as a fetch body does.
export function endlessResponse(contentType, signal, state) {
  const body = new ReadableStream({
    pull() {
      if (signal.aborted) return Promise.reject(signal.reason);
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    },
    cancel() { state.cancelled = true; },
  });
  return new Response(body, { status: 200, headers: { 'content-type': contentType } });
}
export function bytesResponse(bytes, contentType, status) {
  return new Response(bytes, { status, headers: { 'content-type': contentType } });
}
export function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }
export function abortLater(controller, ms, message) { setTimeout(() => controller.abort(new Error(message)), ms); }
"#)]
extern "C" {
    #[wasm_bindgen(js_name = chunkedResponse)]
    fn chunked_response(
        chunks: &Array,
        content_type: &str,
        status: u16,
        state: &Object,
    ) -> Response;
    #[wasm_bindgen(js_name = endlessResponse)]
    fn endless_response(
        content_type: &str,
        signal: &web_sys::AbortSignal,
        state: &Object,
    ) -> Response;
    #[wasm_bindgen(js_name = bytesResponse)]
    fn bytes_response(bytes: &Uint8Array, content_type: &str, status: u16) -> Response;
    fn sleep(ms: u32) -> Promise;
    #[wasm_bindgen(js_name = abortLater)]
    fn abort_later(controller: &AbortController, ms: u32, message: &str);
}

const STREAM: &str = "application/connect+proto";

fn frames(events: &[Event], end: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        envelope::encode(0, &StartResponse::new(e.clone()).to_proto(), &mut out);
    }
    envelope::encode(envelope::FLAG_END_STREAM, end.as_bytes(), &mut out);
    out
}

fn sample_events() -> Vec<Event> {
    vec![
        Event::Start(StartEvent { pid: 42 }),
        Event::Data(DataEvent {
            output: Some(Output::Stdout(b"hello \xe2\x82".to_vec())),
        }),
        Event::Data(DataEvent {
            output: Some(Output::Stderr(vec![0xac; 70_000])),
        }),
        Event::End(EndEvent {
            exit_code: 3,
            exited: true,
            status: "exit status 3".into(),
            error: Some("exit status 3".into()),
        }),
    ]
}

fn chunks_of(bytes: &[u8], cuts: &[usize]) -> Array {
    let mut parts = Array::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&bytes.len())) {
        parts.push(&Uint8Array::from(&bytes[start..cut]));
        start = cut;
    }
    parts = parts.filter(&mut |v, _, _| Uint8Array::from(v).length() > 0);
    parts
}

fn call() -> CallSignal {
    CallSignal::for_request(None, None)
}

/// What the driver hands a stream's step: the response with its body unread.
fn headers_only(response: &Response, signal: CallSignal) -> Exchanged {
    let reply = Reply {
        response: Clone::clone(response),
        body: JsValue::UNDEFINED,
    };
    Exchanged {
        reply: Ok(reply),
        signal,
    }
}

/// What the driver hands a unary call's step: the response with its body read as bytes.
async fn with_bytes(response: &Response) -> Exchanged {
    let buffer = JsFuture::from(response.array_buffer().unwrap())
        .await
        .unwrap();
    let reply = Reply {
        response: Clone::clone(response),
        body: Uint8Array::new(&buffer).into(),
    };
    Exchanged {
        reply: Ok(reply),
        signal: call(),
    }
}

fn open(
    response: &Response,
    signal: CallSignal,
) -> Result<ServerStream, envd_protocol::ConnectError> {
    ServerStream::open(headers_only(response, signal))
}

async fn next_event(
    stream: &mut ServerStream,
) -> Result<Option<Event>, envd_protocol::ConnectError> {
    let mut message = None;
    let read = &mut |bytes: &[u8]| {
        message = Some(StartResponse::decode_proto(bytes).expect("a valid message"));
        Ok(())
    };
    if !stream.next_message(read).await? {
        return Ok(None);
    }
    let message = message.expect("a message read");
    Ok(Some(
        message
            .event
            .and_then(|e| e.event)
            .expect("every sample message has an event"),
    ))
}

async fn read_all(response: &Response) -> Result<Vec<Event>, envd_protocol::ConnectError> {
    let mut stream = open(response, call())?;
    let mut out = Vec::new();
    while let Some(event) = next_event(&mut stream).await? {
        out.push(event);
    }
    Ok(out)
}

#[wasm_bindgen_test]
async fn envelopes_split_or_merged_across_chunks_decode_the_same() {
    let bytes = frames(&sample_events(), "{}");
    let mut layouts: Vec<Vec<usize>> = vec![
        vec![],
        (1..bytes.len()).step_by(997).collect(),
        vec![1, 2, 3, 4, 5, 6],
    ];
    // Cut at every byte of the frame headers, where a split is most likely to go wrong.
    layouts.extend((1..60).map(|i| vec![i]));
    layouts.push((1..bytes.len()).collect()); // one byte per chunk
    for cuts in layouts {
        let state = Object::new();
        let response = chunked_response(&chunks_of(&bytes, &cuts), STREAM, 200, &state);
        assert_eq!(
            read_all(&response).await.unwrap(),
            sample_events(),
            "cuts {:?}",
            &cuts[..cuts.len().min(8)]
        );
    }
}

#[wasm_bindgen_test]
async fn end_of_stream_errors_and_missing_ends_are_connect_errors() {
    let state = Object::new();
    let eos = r#"{"error":{"code":"not_found","message":"process with pid 9 not found"}}"#;
    let err = read_all(&chunked_response(
        &chunks_of(&frames(&[], eos), &[]),
        STREAM,
        200,
        &state,
    ))
    .await
    .unwrap_err();
    assert_eq!(
        (err.code, err.message.as_str()),
        (Code::NotFound, "process with pid 9 not found")
    );

    let mut truncated = frames(&sample_events()[..1], "{}");
    truncated.truncate(truncated.len() - 7); // drop the end-of-stream frame
    let err = read_all(&chunked_response(
        &chunks_of(&truncated, &[]),
        STREAM,
        200,
        &state,
    ))
    .await
    .unwrap_err();
    assert_eq!(
        (err.code, err.message.as_str()),
        (Code::Unknown, "missing EndStreamResponse")
    );
}

#[wasm_bindgen_test]
async fn http_failures_of_streams_map_like_connect_es() {
    let state = Object::new();
    let gateway = chunked_response(&Array::new(), "application/json", 502, &state);
    let err = open(&gateway, call()).err().unwrap();
    assert_eq!(
        (err.code, err.message.as_str()),
        (Code::Unavailable, "HTTP 502")
    );
    let unauthorized = chunked_response(&Array::new(), "application/json", 401, &state);
    assert_eq!(
        open(&unauthorized, call()).err().unwrap().code,
        Code::Unauthenticated
    );
    let html = chunked_response(&Array::new(), "text/html", 200, &state);
    assert_eq!(open(&html, call()).err().unwrap().code, Code::Unknown);
}

#[wasm_bindgen_test]
async fn unary_responses_and_their_errors() {
    let ok = StartEvent { pid: 7 }.to_proto();
    let res = bytes_response(&Uint8Array::from(ok.as_slice()), "application/proto", 200);
    let bytes = unary_result(with_bytes(&res).await).unwrap();
    assert_eq!(StartEvent::decode_proto(&bytes).unwrap().pid, 7);

    let body = br#"{"code":"not_found","message":"no such process"}"#;
    let res = bytes_response(&Uint8Array::from(&body[..]), "application/json", 404);
    let err = unary_result(with_bytes(&res).await).unwrap_err();
    assert_eq!(
        (err.code, err.message.as_str()),
        (Code::NotFound, "no such process")
    );

    // envd's token check answers plain JSON without a Connect code: the status decides.
    let body = br#"{"code":401,"message":"unauthorized access"}"#;
    let res = bytes_response(
        &Uint8Array::from(&body[..]),
        "application/json; charset=utf-8",
        401,
    );
    let err = unary_result(with_bytes(&res).await).unwrap_err();
    assert_eq!(
        (err.code, err.message.as_str()),
        (Code::Unauthenticated, "unauthorized access")
    );

    let res = bytes_response(&Uint8Array::from(&b"bad gateway"[..]), "text/plain", 502);
    let err = unary_result(with_bytes(&res).await).unwrap_err();
    assert_eq!(
        (err.code, err.message.as_str()),
        (Code::Unavailable, "HTTP 502")
    );
}

async fn next_error(call: CallSignal) -> (envd_protocol::ConnectError, Object) {
    let state = Object::new();
    let response = endless_response(STREAM, &call.signal(), &state);
    let mut stream = open(&response, call).unwrap();
    (next_event(&mut stream).await.unwrap_err(), state)
}

#[wasm_bindgen_test]
async fn the_deadline_ends_a_stream_with_deadline_exceeded() {
    let (err, _) = next_error(CallSignal::for_stream(None, None, Some(30.0))).await;
    assert_eq!(
        (err.code, err.message.as_str()),
        (Code::DeadlineExceeded, "the operation timed out")
    );
}

#[wasm_bindgen_test]
async fn the_request_timeout_bounds_only_the_handshake() {
    let (err, _) = next_error(CallSignal::for_stream(None, Some(20.0), None)).await;
    assert_eq!(
        (err.code, err.message.as_str()),
        (Code::Canceled, "Request handshake timed out after 20ms")
    );

    let mut call = CallSignal::for_stream(None, Some(20.0), None);
    call.end_request_timeout();
    JsFuture::from(sleep(60)).await.unwrap();
    assert!(
        !call.signal().aborted(),
        "a started stream outlives requestTimeoutMs"
    );
}

#[wasm_bindgen_test]
async fn the_callers_signal_cancels_at_any_time() {
    let user = AbortController::new().unwrap();
    let call = CallSignal::for_stream(Some(user.signal()), None, None);
    let state = Object::new();
    let response = endless_response(STREAM, &call.signal(), &state);
    let mut stream = open(&response, call).unwrap();
    abort_later(&user, 10, "stop it");
    let err = next_event(&mut stream).await.unwrap_err();
    assert_eq!(
        (err.code, err.message.as_str()),
        (Code::Canceled, "stop it")
    );

    let already = AbortController::new().unwrap();
    already.abort();
    let (err, _) = next_error(CallSignal::for_stream(Some(already.signal()), None, None)).await;
    assert_eq!(
        (err.code, err.message.as_str()),
        (Code::Canceled, "This operation was aborted")
    );
}

#[wasm_bindgen_test]
async fn dropping_a_stream_cancels_its_body() {
    let call = call();
    let state = Object::new();
    let response = endless_response(STREAM, &call.signal(), &state);
    let stream = open(&response, call).unwrap();
    drop(stream);
    JsFuture::from(sleep(0)).await.unwrap();
    assert_eq!(
        js_sys::Reflect::get(&state, &"cancelled".into()).unwrap(),
        JsValue::TRUE
    );
}

#[wasm_bindgen_test]
async fn signatures_match_the_wire_spec_vectors() {
    let signed = e2b_wasm::envd::sign(
        "/home/user/a.txt",
        "read",
        None,
        "tok123",
        None,
        |sig, exp| {
            assert_eq!(exp, None);
            Next::done(sig)
        },
    );
    let sig = JsFuture::from(run(signed)).await.unwrap();
    assert_eq!(sig, "v1_byj2OB/vujgbES/1KAKCaR27E+9eOrB6PzeTnIL8L6M");
}
