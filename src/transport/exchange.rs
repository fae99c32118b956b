//! The one asynchronous driver every call runs on.
//!
//! A call is a chain of steps. Each step is plain synchronous code that looks at what the
//! previous one produced and says what to do next ([`Next`]): fetch something, wait for a
//! promise, or finish with a value. [`run`] does the fetching (through `exchange` in
//! promises.js, which also reads the body) and chains each next step on the promise it waits
//! for: one JS callback per step, no future or executor task, so a small call costs little
//! more than its `fetch`. A method costs only its request building and response decoding.
//!
//! Adding a call: build a [`Request`], and decode its [`Exchanged`] in a [`Step`]
//! (`connect::unary_request` and `envd::Envd::unary` do this for RPCs, `Envd::is_running` for
//! `/health`). Only a long-lived read loop (a server stream) needs a future of its own
//! ([`Next::Future`]).

use core::future::Future;
use core::pin::Pin;

use js_sys::{Array, Object, Promise};
use wasm_bindgen::prelude::*;
use web_sys::{AbortSignal, Response};

use super::signal::CallSignal;
use super::task;
use crate::error::Result;
use crate::prelude::*;

/// How much of the response to read before the next step runs (`exchange` in promises.js
/// takes it by index).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// The body as a string (`/health`).
    Text,
    /// The body as a `Uint8Array` (unary RPCs).
    Bytes,
    /// Nothing: the step takes over `response.body` (server streams).
    Headers,
}

/// One HTTP request to make.
pub struct Request {
    pub method: &'static str,
    pub url: String,
    pub headers: Object,
    /// `undefined` for no body, else the encoded message (a `Uint8Array`).
    pub body: JsValue,
    /// Aborts the request (and the body read); its timers start when it is created.
    pub signal: CallSignal,
    pub read: Read,
}

/// A response whose headers (and, unless [`Read::Headers`], body) arrived.
pub struct Reply {
    pub response: Response,
    /// A string ([`Read::Text`]), a `Uint8Array` ([`Read::Bytes`]) or `undefined`.
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

#[wasm_bindgen(module = "/pkg-templates/promises.js")]
extern "C" {
    /// `fetch(url, init)` with the body read as `read` says (the index of a [`Read`]);
    /// resolves with `[response, body]`, or with `[null, failure]` when either failed.
    fn exchange(
        url: &str,
        method: &str,
        headers: &Object,
        signal: &AbortSignal,
        body: &JsValue,
        read: u32,
    ) -> Promise;
}

/// A request whose `fetch` has been called.
pub struct InFlight {
    exchange: Promise,
    read: Read,
    signal: CallSignal,
}

/// Calls `fetch`: the runtime takes the request (and a copy of a buffer body) now. The request
/// init is built and the body read by JS: object keys and a promise hop per call are cheaper
/// there than through the wasm boundary.
fn start(request: Request) -> InFlight {
    let Request {
        method,
        url,
        headers,
        body,
        signal,
        read,
    } = request;
    let exchange = exchange(&url, method, &headers, &signal.signal(), &body, read as u32);
    InFlight {
        exchange,
        read,
        signal,
    }
}

/// What a call's exchange came to, as `exchange` resolved.
fn exchanged(outcome: JsValue, read: Read, mut signal: CallSignal) -> Exchanged {
    let outcome = Array::from(&outcome);
    let (response, body) = (outcome.get(0), outcome.get(1));
    let reply = if response.is_null() {
        Err(body)
    } else {
        if read != Read::Headers {
            signal.body_read();
        }
        Ok(Reply {
            response: response.unchecked_into(),
            body,
        })
    };
    Exchanged { reply, signal }
}

/// Takes a call as far as it goes now: its value, or the promise of it (each step chained on
/// the promise it waits for, one callback per step: no future, no task, no extra microtasks).
fn settle(next: Result<Next>) -> core::result::Result<JsValue, JsValue> {
    let (promise, then) = match next? {
        Next::Done(value) => return Ok(value),
        Next::Fetch(in_flight, step) => {
            let InFlight {
                exchange,
                read,
                signal,
            } = in_flight;
            let then: Then = Box::new(move |outcome| step(exchanged(outcome, read, signal)));
            (exchange, then)
        }
        Next::Wait(promise, then) => (promise, then),
        Next::Future(future) => return Ok(spawn(future).into()),
    };
    // A rejection passes through to the call's promise, as `promise.then(step)` would.
    let k = move |value: JsValue, ok: bool| if ok { settle(then(value)) } else { Err(value) };
    Ok(task::on_settle(&promise, Box::new(k)).into())
}

/// Runs a call to its end as a promise that rejects with the official error object.
pub fn run(first: Result<Next>) -> Promise {
    match settle(first) {
        Ok(value) => Promise::resolve(&value),
        Err(e) => Promise::reject(&e),
    }
}

/// Runs a future (a stream's event loop) and the call it continues with as a promise.
pub fn spawn(future: LocalFuture) -> Promise {
    task::spawn(Box::pin(async move { settle(future.await) }))
}
