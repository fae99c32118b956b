//! The one asynchronous driver every call runs on.
//!
//! A call is a chain of steps. Each step is plain synchronous code that looks at what the
//! previous one produced and says what to do next ([`Next`]): fetch something, wait for a
//! promise, or finish with a value. [`run`] does the fetching and waiting. Keeping every
//! `await` here means the wasm holds one async state machine for all the exported methods
//! instead of one per method; a method costs only its request building and response decoding.
//!
//! Adding a call: build a [`Request`], and decode its [`Exchanged`] in a [`Step`]
//! (`rest::call`, `connect::unary_request` and `envd::Envd::unary` do this for the three kinds of
//! request). Only a long-lived read loop (a server stream) needs a future of its own
//! ([`Next::Future`]).

use core::future::Future;
use core::pin::Pin;

use js_sys::{Object, Promise, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{ReadableStream, Response};

use super::fetch::global_fetch;
use super::signal::CallSignal;
use crate::error::Result;
use crate::js_object::set;
use crate::prelude::*;

/// How much of the response to read before the next step runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// The body as a string (REST, `/health`).
    Text,
    /// The body as a `Uint8Array` (unary RPCs, file downloads).
    Bytes,
    /// The body as a `Blob` (file downloads).
    Blob,
    /// Nothing: the step takes over `response.body` (server streams).
    Headers,
}

/// One HTTP request to make.
pub struct Request {
    pub method: &'static str,
    pub url: String,
    pub headers: Object,
    /// `undefined` for no body; otherwise anything `fetch` takes (string, `Uint8Array`, `Blob`,
    /// `FormData`, `ReadableStream`).
    pub body: JsValue,
    /// Aborts the request (and the body read); its timers start when it is created.
    pub signal: CallSignal,
    pub read: Read,
}

/// A response whose headers (and, unless [`Read::Headers`], body) arrived.
pub struct Reply {
    pub response: Response,
    /// A string ([`Read::Text`]), a `Uint8Array` ([`Read::Bytes`]), a `Blob` ([`Read::Blob`])
    /// or `undefined`.
    pub body: JsValue,
}

/// What a request came to. The signal comes back with it: it knows whether a failure was the
/// caller's abort, a timeout or the network, and dropping it releases the connection.
pub struct Exchanged {
    pub reply: core::result::Result<Reply, JsValue>,
    pub signal: CallSignal,
}

pub type Step = Box<dyn FnOnce(Exchanged) -> Result<Next>>;
/// Continues with the value a promise fulfilled with.
pub type Then = Box<dyn FnOnce(JsValue) -> Result<Next>>;
pub type LocalFuture = Pin<Box<dyn Future<Output = Result<Next>>>>;

pub enum Next {
    /// The call's result.
    Done(JsValue),
    /// A request in flight (made by [`Next::fetch`]) and the step that takes its outcome.
    Fetch(InFlight, Step),
    /// Waits for a promise; a rejection fails the call with the rejection value.
    Wait(Promise, Then),
    /// A future of its own (reading a server stream).
    Future(LocalFuture),
}

impl Next {
    pub fn done(value: impl Into<JsValue>) -> Result<Next> {
        Ok(Next::Done(value.into()))
    }

    /// Calls `fetch` now, as a direct `fetch` would: for a call's first request that is within
    /// the caller's call, so the runtime has taken (copied) a buffer body before the caller's
    /// next statement could change it.
    pub fn fetch(request: Request, step: Step) -> Next {
        Next::Fetch(start(request), step)
    }
}

/// A request whose `fetch` has been called.
pub struct InFlight {
    fetch: Promise,
    read: Read,
    signal: CallSignal,
}

/// Calls `fetch`: the runtime takes the request (and a copy of a buffer body) now.
fn start(request: Request) -> InFlight {
    let Request {
        method,
        url,
        headers,
        body,
        signal,
        read,
    } = request;
    let init = Object::new();
    set(&init, "method", &JsValue::from_str(method));
    set(&init, "headers", &headers);
    set(&init, "signal", &signal.signal());
    // Edge runtimes reject `redirect: 'error'`; the official SDK follows redirects too.
    set(&init, "redirect", &JsValue::from_str("follow"));
    if !body.is_undefined() {
        // A stream body is sent as it is read; fetch requires saying so.
        if body.is_instance_of::<ReadableStream>() {
            set(&init, "duplex", &JsValue::from_str("half"));
        }
        set(&init, "body", &body);
    }
    InFlight {
        // A call rejects, never throws, even when `fetch` does.
        fetch: global_fetch(&url, &init).unwrap_or_else(|e| Promise::reject(&e)),
        read,
        signal,
    }
}

async fn finish(in_flight: InFlight) -> Exchanged {
    let InFlight {
        fetch,
        read,
        mut signal,
    } = in_flight;
    let reply: core::result::Result<Reply, JsValue> = async {
        let response: Response = JsFuture::from(fetch).await?.unchecked_into();
        let body = match read {
            Read::Headers => JsValue::UNDEFINED,
            Read::Text => JsFuture::from(response.text()?).await?,
            Read::Bytes => Uint8Array::new(&JsFuture::from(response.array_buffer()?).await?).into(),
            Read::Blob => JsFuture::from(response.blob()?).await?,
        };
        Ok(Reply { response, body })
    }
    .await;
    if read != Read::Headers && reply.is_ok() {
        signal.body_read();
    }
    Exchanged { reply, signal }
}

async fn drive(mut next: Next) -> Result<JsValue> {
    loop {
        next = match next {
            Next::Done(value) => return Ok(value),
            Next::Fetch(in_flight, step) => step(finish(in_flight).await)?,
            Next::Wait(promise, then) => then(JsFuture::from(promise).await?)?,
            Next::Future(future) => future.await?,
        };
    }
}

/// Runs a call to its end as a promise that rejects with the official error object.
pub fn run(first: Result<Next>) -> Promise {
    wasm_bindgen_futures::future_to_promise(async move {
        match first {
            Ok(next) => drive(next).await.map_err(JsValue::from),
            Err(e) => Err(e.into()),
        }
    })
}

/// Runs a future to its end as a promise (a stream's event loop).
pub fn spawn(future: LocalFuture) -> Promise {
    run(Ok(Next::Future(future)))
}
