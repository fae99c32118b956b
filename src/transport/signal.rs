//! The abort signal of one call: the caller's `AbortSignal`, a request timeout and, for streams,
//! a deadline, combined into one `AbortController` whose cause is known when a call fails.
//! Dropping it clears its timers, detaches from the caller's signal and, unless the response
//! body was read whole, aborts the controller, which releases the connection of a stream nobody
//! reads any more.

use js_sys::Function;
use wasm_bindgen::prelude::*;
use web_sys::{AbortController, AbortSignal};

use super::fetch::{abort_after, clear_timeout, js_string, link_abort};
use super::{Code, ConnectError};
use crate::js_object::get;
use crate::prelude::*;

/// The timers' kinds, as `abortAfter` (promises.js) takes them: what the abort reason says.
const REQUEST_TIMEOUT: u32 = 0;
const HANDSHAKE_TIMEOUT: u32 = 1;
const DEADLINE: u32 = 2;

/// A `setTimeout` that aborts the call's controller; cleared when dropped. Kept in JS (its
/// callback and its abort reason, made only when it fires): a Rust closure and an eagerly built
/// `DOMException` per call cost more than the rest of a small call's own work.
struct Timer(JsValue);

impl Drop for Timer {
    fn drop(&mut self) {
        clear_timeout(&self.0);
    }
}

pub struct CallSignal {
    controller: AbortController,
    /// Cleared once the response body has been read (nothing left to release) or handed over
    /// by [`release`](CallSignal::release): the response body outlives the call.
    abort_on_drop: bool,
    request_timer: Option<Timer>,
    deadline_timer: Option<Timer>,
    /// The caller's signal, and the function that stops it aborting this call.
    user: Option<(AbortSignal, Function)>,
}

impl CallSignal {
    /// `request_timeout_ms` aborts with a `TimeoutError` (saying what `timeout_kind` says) until
    /// [`end_request_timeout`](Self::end_request_timeout); `deadline_ms` fails the call with
    /// `deadline_exceeded` whenever it elapses.
    fn new(
        user: Option<AbortSignal>,
        request_timeout_ms: Option<f64>,
        timeout_kind: u32,
        deadline_ms: Option<f64>,
    ) -> CallSignal {
        // A global of every supported runtime. Not `expect`: formatting the `JsValue` error
        // would pull `core::fmt` and wasm-bindgen's `debugString` into the bundle.
        let controller = AbortController::new()
            .unwrap_or_else(|_| wasm_bindgen::throw_str("AbortController is not available"));
        let user = user.map(|signal| {
            let unlink = link_abort(&signal, &controller);
            (signal, unlink)
        });
        let timer = |kind, ms| Timer(abort_after(&controller, ms, kind));
        let request_timer = request_timeout_ms.map(|ms| timer(timeout_kind, ms));
        let deadline_timer = deadline_ms.map(|ms| timer(DEADLINE, ms));
        CallSignal {
            controller,
            abort_on_drop: true,
            request_timer,
            deadline_timer,
            user,
        }
    }

    /// The signal of a unary call or plain request: `request_timeout_ms` bounds all of it, and
    /// aborts with the message of `AbortSignal.timeout()`, as officially.
    pub fn for_request(user: Option<AbortSignal>, request_timeout_ms: Option<f64>) -> CallSignal {
        CallSignal::new(user, request_timeout_ms, REQUEST_TIMEOUT, None)
    }

    /// The signal of a streaming call: `request_timeout_ms` bounds only the handshake (until
    /// [`end_request_timeout`](Self::end_request_timeout)), with the official message.
    pub fn for_stream(
        user: Option<AbortSignal>,
        request_timeout_ms: Option<f64>,
        deadline_ms: Option<f64>,
    ) -> CallSignal {
        CallSignal::new(user, request_timeout_ms, HANDSHAKE_TIMEOUT, deadline_ms)
    }

    pub fn controller(&self) -> AbortController {
        self.controller.clone()
    }

    pub fn signal(&self) -> AbortSignal {
        self.controller.signal()
    }

    /// The handshake succeeded: the request timeout no longer applies.
    pub fn end_request_timeout(&mut self) {
        self.request_timer = None;
    }

    /// The response body has been read whole: the connection is free again, so dropping this
    /// need not abort anything (an abort costs a `DOMException` and an event per listener).
    pub fn body_read(&mut self) {
        self.abort_on_drop = false;
    }

    /// The response body now belongs to the caller: the timers stop, the request outlives this
    /// value, and the caller's signal keeps aborting it through a JS listener (which lives as
    /// long as that signal, not as long as wasm memory). Cancelling the body ends it too.
    pub fn release(mut self) {
        self.abort_on_drop = false;
        if let Some((signal, _)) = &self.user {
            link_abort(signal, &self.controller);
        }
    }

    /// Tears the call down now (a disconnect).
    pub fn abort(&self) {
        self.controller.abort();
    }

    /// The Connect error a failed `fetch` or body read amounts to, as connect-es derives it:
    /// the deadline is `deadline_exceeded`, any other abort `canceled` with the abort reason's
    /// message, anything else `unknown` with the failure's own message.
    pub fn connect_error(&self, failure: &JsValue) -> ConnectError {
        // `abortAfter` marks the controller its deadline aborted.
        if get(&self.controller, "deadline").is_truthy() {
            return ConnectError::new(Code::DeadlineExceeded, "the operation timed out");
        }
        fetch_error(&self.controller.signal(), failure)
    }
}

/// The Connect error of a request without a deadline whose `fetch` or body read failed with
/// `failure` under `signal`: an abort is `canceled` with the reason's message, anything else
/// `unknown` with the failure's own (the filesystem RPCs that JavaScript makes).
pub fn fetch_error(signal: &AbortSignal, failure: &JsValue) -> ConnectError {
    if signal.aborted() {
        return ConnectError::new(Code::Canceled, reason_message(&signal.reason()));
    }
    let code = match get(failure, "name").as_string().as_deref() {
        Some("AbortError" | "TimeoutError") => Code::Canceled,
        _ => Code::Unknown,
    };
    ConnectError::new(code, reason_message(failure))
}

/// `error.message` for errors, `String(value)` for anything else.
pub fn reason_message(reason: &JsValue) -> String {
    if reason.is_instance_of::<js_sys::Error>() || get(reason, "message").is_string() {
        return get(reason, "message").as_string().unwrap_or_default();
    }
    if reason.is_undefined() {
        return "This operation was aborted".into();
    }
    js_string(reason)
}

impl Drop for CallSignal {
    fn drop(&mut self) {
        self.request_timer = None;
        self.deadline_timer = None;
        if let Some((_, unlink)) = &self.user {
            let _ = unlink.call0(&JsValue::UNDEFINED);
        }
        if self.abort_on_drop {
            self.controller.abort();
        }
    }
}
