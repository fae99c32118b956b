//! `CommandHandle`: a running command's output, result and controls. Its event loop starts at
//! construction (like the official handle), appends decoded output, and awaits each callback
//! before taking the next event, so callbacks see chunks one at a time, in order.

use alloc::rc::Rc;
use core::cell::RefCell;

use envd_protocol::process::{DataEvent, EndEvent, Event, Input};
use js_sys::{Function, JsString, Object, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use web_sys::AbortController;

use super::commands::stdin_bytes;
use super::errors::make_command_exit_error;
use super::opts::request_opts;
use super::output::TextStream;
use crate::envd::process::{Stream, decode_event, output_bytes, output_in_place};
use crate::envd::{Envd, stream_failure};
use crate::error::{ErrorClass, NotFoundAs, Result, error};
use crate::js_object::set;
use crate::prelude::*;
use crate::transport::connect::ServerStream;
use crate::transport::exchange::{Next, run, spawn};
use crate::transport::task::wait;

/// Output callbacks (`onStdout`, `onStderr`, and `onData` for PTYs).
#[derive(Default)]
pub struct Callbacks {
    pub on_stdout: Option<Function>,
    pub on_stderr: Option<Function>,
    pub on_pty: Option<Function>,
}

/// The accumulated output is kept as JS strings (concatenated JS-side, ropes in V8), so a
/// command's output never piles up in wasm memory.
#[derive(Default)]
struct HandleState {
    stdout: JsString,
    stderr: JsString,
    end: Option<EndEvent>,
    /// Why event processing stopped early: a mapped stream error or a callback's exception.
    failure: Option<JsValue>,
    disconnected: bool,
}

#[wasm_bindgen]
pub struct CommandHandle {
    pid: u32,
    state: Rc<RefCell<HandleState>>,
    events: Promise,
    abort: AbortController,
    envd: Rc<Envd>,
    /// PTY handles refuse `sendStdin`/`closeStdin`, like the official ones.
    stdin_supported: bool,
}

enum Chunk {
    Text(bool, JsString),
    Bytes(Uint8Array),
}

impl CommandHandle {
    pub fn spawn(
        pid: u32,
        stream: ServerStream,
        callbacks: Callbacks,
        envd: Rc<Envd>,
        stdin_supported: bool,
    ) -> CommandHandle {
        let state = Rc::new(RefCell::new(HandleState::default()));
        let abort = stream.abort_handle();
        let events = spawn(Box::pin(pump(
            stream,
            state.clone(),
            callbacks,
            envd.clone(),
        )));
        CommandHandle {
            pid,
            state,
            events,
            abort,
            envd,
            stdin_supported,
        }
    }
}

/// Appends decoded text to the handle's buffers and returns what to hand to callbacks.
fn decode_output(
    (stream, bytes): (Stream, &[u8]),
    out: &mut TextStream,
    err: &mut TextStream,
    state: &RefCell<HandleState>,
) -> Option<Chunk> {
    let (is_out, text) = match stream {
        Stream::Stdout => (true, out.decode(bytes)),
        Stream::Stderr => (false, err.decode(bytes)),
        Stream::Pty => return Some(Chunk::Bytes(Uint8Array::from(bytes))),
    };
    append(state, is_out, text)
}

fn append(state: &RefCell<HandleState>, is_out: bool, text: JsString) -> Option<Chunk> {
    if text.length() == 0 {
        return None;
    }
    let mut s = state.borrow_mut();
    if is_out {
        s.stdout = s.stdout.concat(&text)
    } else {
        s.stderr = s.stderr.concat(&text)
    }
    Some(Chunk::Text(is_out, text))
}

fn flush(out: &mut TextStream, err: &mut TextStream, state: &RefCell<HandleState>) -> Vec<Chunk> {
    [
        append(state, true, out.flush()),
        append(state, false, err.flush()),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Calls the chunk's callback and waits for it; its exception ends event processing.
async fn deliver(chunk: Chunk, callbacks: &Callbacks) -> core::result::Result<(), JsValue> {
    let (callback, arg) = match chunk {
        Chunk::Text(true, s) => (&callbacks.on_stdout, JsValue::from(s)),
        Chunk::Text(false, s) => (&callbacks.on_stderr, JsValue::from(s)),
        Chunk::Bytes(b) => (&callbacks.on_pty, b.into()),
    };
    match callback {
        Some(f) => call_and_wait(f, Some(&arg)).await,
        None => Ok(()),
    }
}

/// Calls a user callback with `arg` (or none) and waits for what it returns (a promise or a
/// value: a plain value still costs the microtask the official SDK's `await` costs, so what the
/// callback queued runs before the next chunk); what it throws or rejects with is the error.
pub async fn call_and_wait(
    f: &Function,
    arg: Option<&JsValue>,
) -> core::result::Result<(), JsValue> {
    let returned = match arg {
        Some(arg) => f.call1(&JsValue::UNDEFINED, arg)?,
        None => f.call0(&JsValue::UNDEFINED)?,
    };
    wait(Promise::resolve(&returned)).await.map(drop)
}

async fn pump(
    mut stream: ServerStream,
    state: Rc<RefCell<HandleState>>,
    callbacks: Callbacks,
    envd: Rc<Envd>,
) -> Result<Next> {
    let (mut out, mut err) = (TextStream::default(), TextStream::default());
    let outcome: core::result::Result<(), JsValue> = async {
        loop {
            let mut chunks = Vec::new();
            let mut read = |bytes: &[u8]| {
                if let Some(output) = output_in_place(bytes) {
                    chunks.extend(decode_output(output, &mut out, &mut err, &state));
                    return Ok(());
                }
                match decode_event(bytes)? {
                    Some(Event::Data(DataEvent {
                        output: Some(output),
                    })) => {
                        let output = output_bytes(&output);
                        chunks.extend(decode_output(output, &mut out, &mut err, &state));
                    }
                    Some(Event::End(end)) => {
                        chunks = flush(&mut out, &mut err, &state);
                        state.borrow_mut().end = Some(end);
                    }
                    _ => {}
                }
                Ok(())
            };
            match stream.next_message(&mut read).await {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    for chunk in flush(&mut out, &mut err, &state) {
                        if state.borrow().disconnected {
                            break;
                        }
                        deliver(chunk, &callbacks).await?;
                    }
                    return Err(stream_failure(&envd, e, NotFoundAs::Generic).await);
                }
            }
            for chunk in chunks {
                if state.borrow().disconnected {
                    return Ok(());
                }
                deliver(chunk, &callbacks).await?;
            }
        }
        if state.borrow().end.is_none() {
            for chunk in flush(&mut out, &mut err, &state) {
                deliver(chunk, &callbacks).await?;
            }
        }
        Ok(())
    }
    .await;
    if let Err(failure) = outcome {
        state.borrow_mut().failure = Some(failure);
    }
    drop(stream);
    Next::done(JsValue::UNDEFINED)
}

fn result_object(state: &HandleState, end: &EndEvent) -> Object {
    let result = Object::new();
    set(&result, "exitCode", &JsValue::from(end.exit_code));
    set(
        &result,
        "error",
        &end.error.clone().map_or(JsValue::UNDEFINED, JsValue::from),
    );
    set(&result, "stdout", &state.stdout);
    set(&result, "stderr", &state.stderr);
    result
}

/// `handle.wait()`'s outcome once the events ended: the result on exit code 0, else
/// `CommandExitError`, or whatever stopped the events early.
fn wait_result(state: &RefCell<HandleState>) -> Result<Next> {
    let s = state.borrow();
    if let Some(failure) = &s.failure {
        return Err(failure.clone().into());
    }
    let Some(end) = &s.end else {
        return Err(error(
            ErrorClass::Sandbox,
            "Process exited without a result",
        ));
    };
    let result = result_object(&s, end);
    if end.exit_code != 0 {
        return Err(make_command_exit_error(&result).into());
    }
    Next::done(result)
}

#[wasm_bindgen]
impl CommandHandle {
    #[wasm_bindgen(getter)]
    pub fn pid(&self) -> u32 {
        self.pid
    }

    #[wasm_bindgen(getter)]
    pub fn stdout(&self) -> JsString {
        self.state.borrow().stdout.clone()
    }

    #[wasm_bindgen(getter)]
    pub fn stderr(&self) -> JsString {
        self.state.borrow().stderr.clone()
    }

    #[wasm_bindgen(getter, js_name = exitCode)]
    pub fn exit_code(&self) -> Option<i32> {
        self.state.borrow().end.as_ref().map(|e| e.exit_code)
    }

    #[wasm_bindgen(getter)]
    pub fn error(&self) -> Option<String> {
        self.state
            .borrow()
            .end
            .as_ref()
            .and_then(|e| e.error.clone())
    }

    pub fn wait(&self) -> Promise {
        let state = self.state.clone();
        let step = move |_| wait_result(&state);
        run(Ok(Next::Wait(self.events.clone(), Box::new(step))))
    }

    /// Stops delivering output now and drops the stream; the process keeps running.
    pub fn disconnect(&self) -> Promise {
        self.state.borrow_mut().disconnected = true;
        self.abort.abort();
        Promise::resolve(&JsValue::UNDEFINED)
    }

    pub fn kill(&self) -> Promise {
        run(self.envd.kill_process(self.pid, &Default::default()))
    }

    #[wasm_bindgen(js_name = sendStdin)]
    pub fn send_stdin(&self, data: JsValue, v: JsValue) -> Promise {
        if !self.stdin_supported {
            let message = "Sending stdin is not supported for this command handle.";
            return run(Err(error(ErrorClass::Sandbox, message)));
        }
        let input = Input::Stdin(stdin_bytes(&data));
        run(self.envd.send_input(self.pid, input, &request_opts(&v)))
    }

    #[wasm_bindgen(js_name = closeStdin)]
    pub fn close_stdin(&self, v: JsValue) -> Promise {
        if !self.stdin_supported {
            let message = "Closing stdin is not supported for this command handle.";
            return run(Err(error(ErrorClass::Sandbox, message)));
        }
        run(self.envd.close_stdin(self.pid, &request_opts(&v)))
    }
}
