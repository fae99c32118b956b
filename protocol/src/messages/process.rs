//! `process.Process`: Start/Connect (server streams of [`ProcessEvent`]s), List, SendInput,
//! StreamInput (client stream), SendSignal, CloseStdin, Update.

use super::{Empty, proto_enum, proto_message, proto_oneof};
use crate::message::kinds::*;
use crate::prelude::*;

/// RPC paths (`/process.Process/<Method>`).
pub mod path {
    pub const START: &str = "/process.Process/Start";
    pub const CONNECT: &str = "/process.Process/Connect";
    pub const LIST: &str = "/process.Process/List";
    pub const SEND_INPUT: &str = "/process.Process/SendInput";
    pub const STREAM_INPUT: &str = "/process.Process/StreamInput";
    pub const SEND_SIGNAL: &str = "/process.Process/SendSignal";
    pub const CLOSE_STDIN: &str = "/process.Process/CloseStdin";
    pub const UPDATE: &str = "/process.Process/Update";
}

proto_message! {
    /// Terminal size in character cells.
    pub struct PtySize {
        1 "cols" "cols" cols: u32 = U32,
        2 "rows" "rows" rows: u32 = U32,
    }
}

proto_message! {
    /// Pseudo-terminal settings (message `PTY`).
    pub struct Pty {
        1 "size" "size" size: Option<PtySize> = Msg<PtySize>,
    }
}

proto_message! {
    /// What to run: `cmd` with `args` (argv[1..]), extra `envs`, and `cwd` when given.
    pub struct ProcessConfig {
        1 "cmd" "cmd" cmd: String = Str,
        2 "args" "args" args: Vec<String> = RepStr,
        3 "envs" "envs" envs: crate::StringMap = StrMap,
        4 "cwd" "cwd" cwd: Option<String> = OptStr,
    }
}

/// `ListRequest` has no fields.
pub type ListRequest = Empty;

proto_message! {
    /// One live process: the config it was started with, its pid and tag.
    pub struct ProcessInfo {
        1 "config" "config" config: Option<ProcessConfig> = Msg<ProcessConfig>,
        2 "pid" "pid" pid: u32 = U32,
        3 "tag" "tag" tag: Option<String> = OptStr,
    }
}

proto_message! {
    pub struct ListResponse {
        1 "processes" "processes" processes: Vec<ProcessInfo> = RepMsg<ProcessInfo>,
    }
}

proto_message! {
    /// Starts a process. `stdin`: absent or `true` attaches a pipe, `false` gives `/dev/null`.
    pub struct StartRequest {
        1 "process" "process" process: Option<ProcessConfig> = Msg<ProcessConfig>,
        2 "pty" "pty" pty: Option<Pty> = Msg<Pty>,
        3 "tag" "tag" tag: Option<String> = OptStr,
        4 "stdin" "stdin" stdin: Option<bool> = OptBool,
    }
}

proto_message! {
    /// Resizes a process's terminal.
    pub struct UpdateRequest {
        1 "process" "process" process: Option<ProcessSelector> = Msg<ProcessSelector>,
        2 "pty" "pty" pty: Option<Pty> = Msg<Pty>,
    }
}

pub type UpdateResponse = Empty;

proto_message! {
    /// First event of every Start/Connect stream.
    pub struct StartEvent {
        1 "pid" "pid" pid: u32 = U32,
    }
}

proto_oneof! {
    /// A chunk of output.
    pub struct DataEvent { output }
    pub enum Output {
        1 "stdout" "stdout" Stdout(Vec<u8>) = Bytes,
        2 "stderr" "stderr" Stderr(Vec<u8>) = Bytes,
        3 "pty" "pty" Pty(Vec<u8>) = Bytes,
    }
}

proto_message! {
    /// How the process ended: `exit_code` -1 and `exited` false when killed by a signal;
    /// `status` like `exit status 3` or `signal: killed`; `error` set on failure.
    pub struct EndEvent {
        1 "exit_code" "exitCode" exit_code: i32 = S32,
        2 "exited" "exited" exited: bool = Bool,
        3 "status" "status" status: String = Str,
        4 "error" "error" error: Option<String> = OptStr,
    }
}

proto_oneof! {
    /// One event of a Start/Connect stream.
    pub struct ProcessEvent { event }
    pub enum Event {
        1 "start" "start" Start(StartEvent) = Inline<StartEvent>,
        2 "data" "data" Data(DataEvent) = Inline<DataEvent>,
        3 "end" "end" End(EndEvent) = Inline<EndEvent>,
        4 "keepalive" "keepalive" Keepalive(Empty) = Inline<Empty>,
    }
}

proto_message! {
    /// A message of the Start stream (`ConnectResponse` has the same shape).
    pub struct StartResponse {
        1 "event" "event" event: Option<ProcessEvent> = Msg<ProcessEvent>,
    }
}

pub type ConnectResponse = StartResponse;

proto_message! {
    pub struct SendInputRequest {
        1 "process" "process" process: Option<ProcessSelector> = Msg<ProcessSelector>,
        2 "input" "input" input: Option<ProcessInput> = Msg<ProcessInput>,
    }
}

pub type SendInputResponse = Empty;

proto_oneof! {
    /// Bytes for the process's stdin pipe or its terminal.
    pub struct ProcessInput { input }
    pub enum Input {
        1 "stdin" "stdin" Stdin(Vec<u8>) = Bytes,
        2 "pty" "pty" Pty(Vec<u8>) = Bytes,
    }
}

proto_message! {
    /// A request naming one process (Connect, CloseStdin, and the first message of a
    /// StreamInput call: which process the input is for).
    pub struct ProcessRequest {
        1 "process" "process" process: Option<ProcessSelector> = Msg<ProcessSelector>,
    }
}

pub type StreamInputStart = ProcessRequest;

proto_message! {
    /// Input carried by a StreamInput message (note the field number 2, as in the proto).
    pub struct StreamInputData {
        2 "input" "input" input: Option<ProcessInput> = Msg<ProcessInput>,
    }
}

proto_oneof! {
    /// One message of the StreamInput client stream.
    pub struct StreamInputRequest { event }
    pub enum StreamInputEvent {
        1 "start" "start" Start(StreamInputStart) = Inline<StreamInputStart>,
        2 "data" "data" Data(StreamInputData) = Inline<StreamInputData>,
        3 "keepalive" "keepalive" Keepalive(Empty) = Inline<Empty>,
    }
}

pub type StreamInputResponse = Empty;

proto_enum! {
    /// The signals SendSignal supports.
    pub enum Signal {
        0 "SIGNAL_UNSPECIFIED" Unspecified,
        15 "SIGNAL_SIGTERM" Sigterm,
        9 "SIGNAL_SIGKILL" Sigkill,
    }
}

proto_message! {
    pub struct SendSignalRequest {
        1 "process" "process" process: Option<ProcessSelector> = Msg<ProcessSelector>,
        2 "signal" "signal" signal: Signal = Enum<Signal>,
    }
}

pub type SendSignalResponse = Empty;

pub type CloseStdinRequest = ProcessRequest;
pub type CloseStdinResponse = Empty;
pub type ConnectRequest = ProcessRequest;

proto_oneof! {
    /// Selects a process by pid or by tag.
    pub struct ProcessSelector { selector }
    pub enum Selector {
        1 "pid" "pid" Pid(u32) = U32,
        2 "tag" "tag" Tag(String) = Str,
    }
}

impl ProcessSelector {
    pub fn pid(pid: u32) -> Self {
        ProcessSelector {
            selector: Some(Selector::Pid(pid)),
        }
    }

    pub fn tag(tag: impl Into<String>) -> Self {
        ProcessSelector {
            selector: Some(Selector::Tag(tag.into())),
        }
    }
}

impl ProcessEvent {
    pub fn new(event: Event) -> Self {
        ProcessEvent { event: Some(event) }
    }
}

impl StartResponse {
    pub fn new(event: Event) -> Self {
        StartResponse {
            event: Some(ProcessEvent::new(event)),
        }
    }
}

#[cfg(test)]
mod tests;
