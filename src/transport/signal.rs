//! The abort signal of one call: the caller's `AbortSignal`, a request timeout and, for streams,
//! a deadline, combined into one `AbortController` whose cause is known when a call fails.
//! Dropping it clears its timers, detaches from the caller's signal and aborts the controller,
//! which releases the connection of a stream nobody reads any more.

use alloc::rc::Rc;
use core::cell::Cell;

use js_sys::Function;
use wasm_bindgen::prelude::*;
use web_sys::{AbortController, AbortSignal, DomException};

use super::fetch::{clear_timeout, follow_abort, js_string, set_timeout};
use super::{Code, ConnectError};
use crate::js_object::get;
use crate::prelude::*;
use crate::util::decimal;

/// Reason `AbortSignal.timeout()` aborts with; used for REST and unary calls.
const TIMEOUT_REASON: &str = "The operation was aborted due to timeout";

struct Timer {
    id: JsValue,
    _callback: Closure<dyn FnMut()>,
}

impl Timer {
    fn start(ms: f64, f: impl FnMut() + 'static) -> Timer {
        let callback = Closure::<dyn FnMut()>::new(f);
        let id = set_timeout(callback.as_ref().unchecked_ref::<Function>(), ms);
        Timer {
            id,
            _callback: callback,
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        clear_timeout(&self.id);
    }
}

pub struct CallSignal {
    controller: AbortController,
    /// Cleared by [`release`](CallSignal::release): the response body outlives the call.
    abort_on_drop: bool,
    deadline_hit: Rc<Cell<bool>>,
    request_timer: Option<Timer>,
    deadline_timer: Option<Timer>,
    user: Option<(AbortSignal, Closure<dyn FnMut()>)>,
}

fn abort_with(controller: &AbortController, reason: &JsValue) {
    if !controller.signal().aborted() {
        controller.abort_with_reason(reason);
    }
}

fn timeout_reason(message: &str) -> JsValue {
    DomException::new_with_message_and_name(message, "TimeoutError")
        .map(JsValue::from)
        .unwrap_or_else(|e| e)
}

impl CallSignal {
    /// `request_timeout_ms` aborts with a `TimeoutError` carrying `timeout_message` until
    /// [`end_request_timeout`](Self::end_request_timeout); `deadline_ms` fails the call with
    /// `deadline_exceeded` whenever it elapses.
    pub fn new(
        user: Option<AbortSignal>,
        request_timeout_ms: Option<f64>,
        timeout_message: &str,
        deadline_ms: Option<f64>,
    ) -> CallSignal {
        // A global of every supported runtime. Not `expect`: formatting the `JsValue` error
        // would pull `core::fmt` and wasm-bindgen's `debugString` into the bundle.
        let controller = AbortController::new()
            .unwrap_or_else(|_| wasm_bindgen::throw_str("AbortController is not available"));
        let user = user.map(|signal| {
            let (c, s) = (controller.clone(), signal.clone());
            let on_abort = Closure::<dyn FnMut()>::new(move || abort_with(&c, &s.reason()));
            if signal.aborted() {
                abort_with(&controller, &signal.reason());
            } else {
                let _ = signal
                    .add_event_listener_with_callback("abort", on_abort.as_ref().unchecked_ref());
            }
            (signal, on_abort)
        });
        let request_timer = request_timeout_ms.map(|ms| {
            let (c, reason) = (controller.clone(), timeout_reason(timeout_message));
            Timer::start(ms, move || abort_with(&c, &reason))
        });
        let deadline_hit = Rc::new(Cell::new(false));
        let deadline_timer = deadline_ms.map(|ms| {
            let (c, hit) = (controller.clone(), deadline_hit.clone());
            Timer::start(ms, move || {
                if !c.signal().aborted() {
                    hit.set(true);
                    c.abort();
                }
            })
        });
        CallSignal {
            controller,
            abort_on_drop: true,
            deadline_hit,
            request_timer,
            deadline_timer,
            user,
        }
    }

    /// The signal of a unary call or plain request: `request_timeout_ms` bounds all of it, and
    /// aborts with the official timeout message.
    pub fn for_request(user: Option<AbortSignal>, request_timeout_ms: Option<f64>) -> CallSignal {
        CallSignal::new(user, request_timeout_ms, TIMEOUT_REASON, None)
    }

    /// The signal of a streaming call: `request_timeout_ms` bounds only the handshake (until
    /// [`end_request_timeout`](Self::end_request_timeout)), with the official message.
    pub fn for_stream(
        user: Option<AbortSignal>,
        request_timeout_ms: Option<f64>,
        deadline_ms: Option<f64>,
    ) -> CallSignal {
        let message = request_timeout_ms.map(|ms| {
            let ms = decimal(ms as i64);
            ["Request handshake timed out after ", &ms, "ms"].concat()
        });
        let message = message.as_deref().unwrap_or("");
        CallSignal::new(user, request_timeout_ms, message, deadline_ms)
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

    /// The response body now belongs to the caller: the timers stop, the request outlives this
    /// value, and the caller's signal keeps aborting it through a JS listener (which lives as
    /// long as that signal, not as long as wasm memory). Cancelling the body ends it too.
    pub fn release(mut self) {
        self.abort_on_drop = false;
        if let Some((signal, _)) = &self.user {
            follow_abort(signal, &self.controller);
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
        if self.deadline_hit.get() {
            return ConnectError::new(Code::DeadlineExceeded, "the operation timed out");
        }
        let signal = self.controller.signal();
        if signal.aborted() {
            return ConnectError::new(Code::Canceled, reason_message(&signal.reason()));
        }
        let code = match get(failure, "name").as_string().as_deref() {
            Some("AbortError" | "TimeoutError") => Code::Canceled,
            _ => Code::Unknown,
        };
        ConnectError::new(code, reason_message(failure))
    }
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
        if let Some((signal, on_abort)) = &self.user {
            let _ = signal
                .remove_event_listener_with_callback("abort", on_abort.as_ref().unchecked_ref());
        }
        if self.abort_on_drop {
            self.controller.abort();
        }
    }
}
