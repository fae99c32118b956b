//! `WatchHandle`: a running directory watch. Its event loop starts at construction, awaits
//! `onEvent` for each event in arrival order, and calls `onExit` exactly once when the stream
//! ends: with the (mapped) error, or with nothing after a clean end.

use alloc::rc::Rc;
use core::cell::Cell;

use envd_protocol::filesystem::{EventType, FilesystemEvent};
use js_sys::{Function, Object, Promise};
use wasm_bindgen::prelude::*;
use web_sys::AbortController;

use super::filesystem::entry_info;
use super::handle::call_and_wait;
use crate::envd::filesystem::next_watch_event;
use crate::envd::{Envd, stream_failure};
use crate::error::{NotFoundAs, Result};
use crate::js_object::set;
use crate::prelude::*;
use crate::transport::connect::ServerStream;
use crate::transport::exchange::{Next, spawn};

#[wasm_bindgen]
pub struct WatchHandle {
    stopped: Rc<Cell<bool>>,
    abort: AbortController,
    /// The event loop; it never rejects (its outcome goes to `onExit`).
    _events: Promise,
}

impl WatchHandle {
    pub fn spawn(
        stream: ServerStream,
        on_event: Option<Function>,
        on_exit: Option<Function>,
        envd: Rc<Envd>,
    ) -> WatchHandle {
        let stopped = Rc::new(Cell::new(false));
        let abort = stream.abort_handle();
        let pump = pump(stream, on_event, on_exit, envd, stopped.clone());
        WatchHandle {
            stopped,
            abort,
            _events: spawn(Box::pin(pump)),
        }
    }
}

fn event_type(t: EventType) -> Option<&'static str> {
    Some(match t {
        EventType::Create => "create",
        EventType::Write => "write",
        EventType::Remove => "remove",
        EventType::Rename => "rename",
        EventType::Chmod => "chmod",
        EventType::Unspecified => return None,
    })
}

/// The official `FilesystemEvent`; `None` for event types the SDK does not know.
fn event_object(event: FilesystemEvent) -> Option<JsValue> {
    let kind = event_type(event.event_type)?;
    let out = Object::new();
    set(&out, "name", &event.name.into());
    set(&out, "type", &kind.into());
    let entry = event.entry.map_or(JsValue::UNDEFINED, entry_info);
    set(&out, "entry", &entry);
    Some(out.into())
}

async fn pump(
    mut stream: ServerStream,
    on_event: Option<Function>,
    on_exit: Option<Function>,
    envd: Rc<Envd>,
    stopped: Rc<Cell<bool>>,
) -> Result<Next> {
    let outcome: core::result::Result<(), JsValue> = async {
        loop {
            let event = match next_watch_event(&mut stream).await {
                Ok(Some(event)) => event,
                Ok(None) => return Ok(()),
                Err(e) => return Err(stream_failure(&envd, e, NotFoundAs::File).await),
            };
            // After `stop()` nothing more is delivered; the loop runs on to the stream's end.
            let (Some(f), Some(event), false) = (&on_event, event_object(event), stopped.get())
            else {
                continue;
            };
            call_and_wait(f, Some(&event)).await?;
        }
    }
    .await;
    if let Some(f) = &on_exit {
        // What `onExit` throws or rejects with is ignored, as officially.
        let _ = call_and_wait(f, outcome.err().as_ref()).await;
    }
    // Dropping the stream aborts its request, once `onExit` has run (as officially).
    drop(stream);
    Next::done(JsValue::UNDEFINED)
}

#[wasm_bindgen]
impl WatchHandle {
    /// Stops watching: no event is delivered from now on, and the stream is closed.
    pub fn stop(&self) -> Promise {
        self.stopped.set(true);
        self.abort.abort();
        Promise::resolve(&JsValue::UNDEFINED)
    }
}
