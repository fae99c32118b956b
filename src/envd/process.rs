//! The Process service (`process.Process/*`): starting and reconnecting to commands, listing,
//! input, signals; failures mapped to the official error classes.

use alloc::rc::Rc;

use envd_protocol::pb::{FieldValue, Reader};
use envd_protocol::process::{
    CloseStdinRequest, CloseStdinResponse, ConnectRequest, Event, Input, ListRequest, ListResponse,
    Output, ProcessConfig, ProcessInfo, ProcessInput, ProcessSelector, Pty, PtySize,
    SendInputRequest, SendInputResponse, SendSignalRequest, Signal, StartRequest, StartResponse,
    UpdateRequest, UpdateResponse, path,
};
use envd_protocol::{Code, Codec, ConnectError, Message, StringMap};
use wasm_bindgen::JsValue;

use super::{Envd, OnStarted, RequestOpts, versions};
use crate::error::{ErrorClass, NotFoundAs, Result, error};
use crate::prelude::*;
use crate::transport::codec;
use crate::transport::connect::CallOptions;
use crate::transport::exchange::Next;

/// What `commands.run` starts.
pub struct StartSpec {
    pub cmd: String,
    pub envs: StringMap,
    pub cwd: Option<String>,
    pub user: Option<String>,
    pub stdin: bool,
}

/// What `pty.create` starts: an interactive login shell on a terminal of this size.
pub struct PtySpec {
    pub cols: u32,
    pub rows: u32,
    pub envs: StringMap,
    pub cwd: Option<String>,
    pub user: Option<String>,
}

fn outdated(version: &str, what: &str) -> Result<Next> {
    let message = ["Sandbox envd version ", version, what].concat();
    Err(error(ErrorClass::Sandbox, message))
}

fn terminal(cols: u32, rows: u32) -> Pty {
    Pty {
        size: Some(PtySize { cols, rows }),
    }
}

fn done<M: Message>(_: M) -> Result<Next> {
    Next::done(JsValue::UNDEFINED)
}

impl Envd {
    pub fn list_processes(
        self: &Rc<Self>,
        opts: &RequestOpts,
        then: impl FnOnce(Vec<ProcessInfo>) -> JsValue + 'static,
    ) -> Result<Next> {
        let request = ListRequest::default();
        self.unary(
            path::LIST,
            &request,
            opts,
            NotFoundAs::Generic,
            |res: ListResponse| Next::done(then(res.processes)),
        )
    }

    pub fn send_input(self: &Rc<Self>, pid: u32, input: Input, opts: &RequestOpts) -> Result<Next> {
        let request = SendInputRequest {
            process: Some(ProcessSelector::pid(pid)),
            input: Some(ProcessInput { input: Some(input) }),
        };
        let generic = NotFoundAs::Generic;
        self.unary(
            path::SEND_INPUT,
            &request,
            opts,
            generic,
            done::<SendInputResponse>,
        )
    }

    pub fn close_stdin(self: &Rc<Self>, pid: u32, opts: &RequestOpts) -> Result<Next> {
        if !self.supports(versions::CLOSE_STDIN) {
            let what = " doesn't support closeStdin. Please rebuild your template to pick up the latest sandbox version.";
            return outdated(&self.version, what);
        }
        let request = CloseStdinRequest {
            process: Some(ProcessSelector::pid(pid)),
        };
        let generic = NotFoundAs::Generic;
        self.unary(
            path::CLOSE_STDIN,
            &request,
            opts,
            generic,
            done::<CloseStdinResponse>,
        )
    }

    /// SIGKILL; `false` when there is no such process.
    pub fn kill_process(self: &Rc<Self>, pid: u32, opts: &RequestOpts) -> Result<Next> {
        let request = SendSignalRequest {
            process: Some(ProcessSelector::pid(pid)),
            signal: Signal::Sigkill,
        };
        let generic = NotFoundAs::Generic;
        self.unary_flag(path::SEND_SIGNAL, &request, opts, Code::NotFound, generic)
    }

    /// `Process/Start`; `then` runs once the process's pid arrived.
    pub fn start(
        self: &Rc<Self>,
        spec: StartSpec,
        opts: &RequestOpts,
        timeout_ms: Option<f64>,
        then: OnStarted,
    ) -> Result<Next> {
        if !spec.stdin && !self.supports(versions::STDIN_OPTIONAL) {
            let what = " can't specify stdin, it's always turned on. Please rebuild your template if you need this feature.";
            return outdated(&self.version, what);
        }
        let request = StartRequest {
            process: Some(ProcessConfig {
                cmd: "/bin/bash".into(),
                args: vec!["-l".into(), "-c".into(), spec.cmd],
                envs: spec.envs,
                cwd: spec.cwd,
            }),
            stdin: Some(spec.stdin),
            ..Default::default()
        };
        let call = self.stream_options(opts, timeout_ms, spec.user.as_deref());
        self.open_process_stream(path::START, &request, call, then)
    }

    /// `Process/Start` of a terminal (`bash -i -l`); its output arrives as `pty` data.
    pub fn start_pty(
        self: &Rc<Self>,
        spec: PtySpec,
        opts: &RequestOpts,
        timeout_ms: Option<f64>,
        then: OnStarted,
    ) -> Result<Next> {
        let request = StartRequest {
            process: Some(ProcessConfig {
                cmd: "/bin/bash".into(),
                args: vec!["-i".into(), "-l".into()],
                envs: spec.envs,
                cwd: spec.cwd,
            }),
            pty: Some(terminal(spec.cols, spec.rows)),
            ..Default::default()
        };
        let call = self.stream_options(opts, timeout_ms, spec.user.as_deref());
        self.open_process_stream(path::START, &request, call, then)
    }

    /// `Process/Update`: the terminal's new size.
    pub fn resize_pty(
        self: &Rc<Self>,
        pid: u32,
        cols: u32,
        rows: u32,
        opts: &RequestOpts,
    ) -> Result<Next> {
        let request = UpdateRequest {
            process: Some(ProcessSelector::pid(pid)),
            pty: Some(terminal(cols, rows)),
        };
        let generic = NotFoundAs::Generic;
        self.unary(
            path::UPDATE,
            &request,
            opts,
            generic,
            done::<UpdateResponse>,
        )
    }

    /// `Process/Connect` to a running process.
    pub fn connect_process(
        self: &Rc<Self>,
        pid: u32,
        opts: &RequestOpts,
        timeout_ms: Option<f64>,
        then: OnStarted,
    ) -> Result<Next> {
        let request = ConnectRequest {
            process: Some(ProcessSelector::pid(pid)),
        };
        let call = self.stream_options(opts, timeout_ms, None);
        self.open_process_stream(path::CONNECT, &request, call, then)
    }

    /// Opens a process event stream and reads up to its start event (the pid).
    fn open_process_stream(
        self: &Rc<Self>,
        path: &str,
        request: &impl Message,
        call: CallOptions,
        then: OnStarted,
    ) -> Result<Next> {
        let pid = |bytes: &[u8]| {
            Ok(match decode_event(bytes)? {
                Some(Event::Start(start)) => Some(start.pid),
                _ => None,
            })
        };
        self.open_started(path, request, call, NotFoundAs::Generic, pid, then)
    }
}

/// The event one message of a process stream (`Process/Start`, `Process/Connect`) carries,
/// if any.
pub fn decode_event(bytes: &[u8]) -> core::result::Result<Option<Event>, ConnectError> {
    let message = codec::decode::<StartResponse>(bytes)?;
    Ok(message.event.and_then(|e| e.event))
}

/// The stream output came on.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
    Pty,
}

/// A decoded data event's output and the stream it came on.
pub fn output_bytes(output: &Output) -> (Stream, &[u8]) {
    match output {
        Output::Stdout(b) => (Stream::Stdout, b),
        Output::Stderr(b) => (Stream::Stderr, b),
        Output::Pty(b) => (Stream::Pty, b),
    }
}

/// A data event's output read where it lies in the encoded message, without decoding the
/// message (which copies every output byte once more: output is nearly all a command stream
/// carries). `None` for any other message and for unusual encodings of this one (a repeated
/// field, the JSON codec): those go through [`decode_event`].
pub fn output_in_place(message: &[u8]) -> Option<(Stream, &[u8])> {
    if codec::CODEC != Codec::Proto {
        return None;
    }
    // StartResponse.event (1) → ProcessEvent.data (2) → DataEvent.stdout/stderr/pty (1/2/3).
    let (1, event) = sole_field(message)? else {
        return None;
    };
    let (2, data) = sole_field(event)? else {
        return None;
    };
    let (field, bytes) = sole_field(data)?;
    let stream = match field {
        1 => Stream::Stdout,
        2 => Stream::Stderr,
        3 => Stream::Pty,
        _ => return None,
    };
    Some((stream, bytes))
}

/// The number and contents of a message's only field, if it has exactly one, length-delimited.
fn sole_field(message: &[u8]) -> Option<(u32, &[u8])> {
    let mut fields = Reader::new(message);
    let (number, FieldValue::Len(contents)) = fields.next_field().ok()?? else {
        return None;
    };
    fields
        .next_field()
        .ok()?
        .is_none()
        .then_some((number, contents))
}

#[cfg(all(test, not(feature = "json-codec")))]
mod tests {
    use super::*;
    use envd_protocol::process::{DataEvent, EndEvent, StartEvent};

    fn data(output: Output) -> Vec<u8> {
        let output = Some(output);
        StartResponse::new(Event::Data(DataEvent { output })).to_proto()
    }

    #[test]
    fn output_read_in_place_is_what_the_decoded_event_holds() {
        for output in [
            Output::Stdout(b"hello\n".to_vec()),
            Output::Stderr(vec![0xE2, 0x82]),
            Output::Pty(vec![b'x'; 300]),
            Output::Stdout(Vec::new()),
        ] {
            let message = data(output.clone());
            let Some(Event::Data(DataEvent {
                output: Some(decoded),
            })) = decode_event(&message).unwrap()
            else {
                panic!("not a data event");
            };
            let in_place = output_in_place(&message).map(|(s, b)| (s, b.to_vec()));
            let (stream, bytes) = output_bytes(&decoded);
            assert!(in_place == Some((stream, bytes.to_vec())));
            assert!(output_bytes(&output) == (stream, bytes));
        }
    }

    #[test]
    fn other_messages_are_left_to_the_decoder() {
        let start = StartResponse::new(Event::Start(StartEvent { pid: 7 })).to_proto();
        let end = StartResponse::new(Event::End(EndEvent::default())).to_proto();
        assert!(output_in_place(&start).is_none());
        assert!(output_in_place(&end).is_none());
        assert!(output_in_place(&[]).is_none());
        assert!(output_in_place(&[0x0a, 0x05, 0x12]).is_none(), "truncated");
        // The same field twice (protobuf keeps the last): not read in place.
        let mut twice = data(Output::Stdout(b"a".to_vec()));
        twice.extend(data(Output::Stdout(b"b".to_vec())));
        assert!(output_in_place(&twice).is_none());
        let Some(Event::Data(DataEvent { output: Some(last) })) = decode_event(&twice).unwrap()
        else {
            panic!("not a data event");
        };
        assert!(output_bytes(&last).1 == b"b");
    }
}
