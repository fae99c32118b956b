//! The Process service (`process.Process/*`): starting and reconnecting to commands, listing,
//! input, signals; failures mapped to the official error classes.

use alloc::collections::BTreeMap;
use alloc::rc::Rc;

use envd_protocol::process::{
    CloseStdinRequest, CloseStdinResponse, ConnectRequest, Event, Input, ListRequest, ListResponse,
    ProcessConfig, ProcessEvent, ProcessInfo, ProcessInput, ProcessSelector, SendInputRequest,
    SendInputResponse, SendSignalRequest, Signal, StartRequest, StartResponse, path,
};
use envd_protocol::{Code, ConnectError, Message};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use super::{Envd, RequestOpts};
use crate::config::{KEEPALIVE_PING_INTERVAL, STREAM_TIMEOUT_MS};
use crate::error::{ErrorClass, NotFoundAs, Result, SdkError, error};
use crate::prelude::*;
use crate::transport::codec;
use crate::transport::connect::{CallOptions, ServerStream};
use crate::transport::exchange::{Next, run};

/// What `commands.run` starts.
pub struct StartSpec {
    pub cmd: String,
    pub envs: BTreeMap<String, String>,
    pub cwd: Option<String>,
    pub user: Option<String>,
    pub stdin: bool,
}

/// Continues with a started (or reconnected) process: its pid and its event stream.
pub type OnStarted = Box<dyn FnOnce(u32, ServerStream) -> Result<Next>>;

fn outdated(version: &str, what: &str) -> Result<Next> {
    let message = ["Sandbox envd version ", version, what].concat();
    Err(error(ErrorClass::Sandbox, message))
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
        if !self.supports("0.5.2") {
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
        let envd = self.clone();
        let on_unary = move |outcome: core::result::Result<Vec<u8>, ConnectError>| match outcome {
            Ok(_) => Next::done(true),
            Err(e) if e.code == Code::NotFound => Next::done(false),
            Err(e) => envd.rpc_failure(e, NotFoundAs::Generic),
        };
        let message = codec::encode(&request);
        self.unary_raw(path::SEND_SIGNAL, message, opts, Box::new(on_unary))
    }

    fn stream_options(
        &self,
        opts: &RequestOpts,
        timeout_ms: Option<f64>,
        user: Option<&str>,
    ) -> CallOptions {
        let mut headers = vec![(
            "Keepalive-Ping-Interval".to_string(),
            KEEPALIVE_PING_INTERVAL.to_string(),
        )];
        headers.extend(self.auth_header(user));
        CallOptions {
            headers,
            timeout_ms: Some(timeout_ms.unwrap_or(STREAM_TIMEOUT_MS)).filter(|ms| *ms > 0.0),
            ..self.call_options(opts)
        }
    }

    /// `Process/Start`; `then` runs once the process's pid arrived.
    pub fn start(
        self: &Rc<Self>,
        spec: StartSpec,
        opts: &RequestOpts,
        timeout_ms: Option<f64>,
        then: OnStarted,
    ) -> Result<Next> {
        if !spec.stdin && !self.supports("0.3.0") {
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
        let (envd, on_error_envd) = (self.clone(), self.clone());
        let on_error = move |e| on_error_envd.start_failure(e);
        let on_stream = move |mut stream: ServerStream| {
            let first = async move {
                let event = match stream.next_message().await {
                    Ok(Some(bytes)) => codec::decode::<StartResponse>(&bytes),
                    Ok(None) => Ok(StartResponse::default()),
                    Err(e) => Err(e),
                };
                match event {
                    Ok(StartResponse {
                        event:
                            Some(ProcessEvent {
                                event: Some(Event::Start(start)),
                            }),
                    }) => then(start.pid, stream),
                    Ok(_) => Err(error(ErrorClass::Plain, "Expected start event")),
                    Err(e) => envd.start_failure(e),
                }
            };
            Ok(Next::Future(Box::pin(first)))
        };
        self.open_stream(path, request, call, Box::new(on_error), Box::new(on_stream))
    }

    fn start_failure(&self, e: ConnectError) -> Result<Next> {
        if e.code == Code::Unavailable {
            let message = "Sandbox is probably not running anymore";
            return Err(SdkError::new(ErrorClass::SandboxNotFound, message).into());
        }
        self.rpc_failure(e, NotFoundAs::Generic)
    }
}

/// The error a failed process stream ends a handle with, once mapped (the `/health` probe
/// included). Used by the handle's event loop, which is a future of its own.
pub async fn stream_failure(envd: &Envd, err: ConnectError) -> JsValue {
    let mapped = run(envd.rpc_failure(err, NotFoundAs::Generic));
    match JsFuture::from(mapped).await {
        Ok(value) | Err(value) => value,
    }
}
