//! The Process service (`process.Process/*`): starting and reconnecting to commands, listing,
//! input, signals; failures mapped to the official error classes, with the `/health` probe for
//! connections dropped mid-call.

use std::collections::BTreeMap;

use envd_protocol::process::{
    CloseStdinRequest, ConnectRequest, Event, Input, ListRequest, ListResponse, ProcessConfig,
    ProcessEvent, ProcessInfo, ProcessInput, ProcessSelector, SendInputRequest, SendSignalRequest,
    Signal, StartRequest, StartResponse, path,
};
use envd_protocol::{Code, ConnectError, Message};
use web_sys::AbortSignal;

use super::Envd;
use crate::config::{KEEPALIVE_PING_INTERVAL, STREAM_TIMEOUT_MS};
use crate::error::{
    Error, ErrorClass, NotFoundAs, Result, SdkError, error, needs_health_probe, rpc_error,
};
use crate::transport::connect::{self, CallOptions, Endpoint, ServerStream};

/// `requestTimeoutMs` and `signal` of one call.
#[derive(Clone, Default)]
pub struct RequestOpts {
    pub signal: Option<AbortSignal>,
    pub request_timeout_ms: Option<f64>,
}

/// What `commands.run` starts.
pub struct StartSpec {
    pub cmd: String,
    pub envs: BTreeMap<String, String>,
    pub cwd: Option<String>,
    pub user: Option<String>,
    pub stdin: bool,
}

impl Envd {
    fn rpc_endpoint(&self) -> Endpoint<'_> {
        Endpoint {
            base_url: &self.url,
            headers: &self.headers,
            logger: &self.logger,
        }
    }

    fn call_options(&self, opts: &RequestOpts) -> CallOptions {
        CallOptions {
            signal: opts.signal.clone(),
            request_timeout_ms: self.config.request_timeout(opts.request_timeout_ms),
            ..Default::default()
        }
    }

    /// The official `handleRpcErrorWithHealthCheck`.
    pub async fn rpc_failure(&self, err: ConnectError, not_found: NotFoundAs) -> Error {
        let message = crate::error::connect_message(&err);
        if needs_health_probe(&err) && self.check_health().await == Some(false) {
            return crate::error::killed_in_flight(&message).into();
        }
        rpc_error(&err, not_found).into()
    }

    async fn unary<Req: Message, Res: Message>(
        &self,
        path: &str,
        req: &Req,
        opts: &RequestOpts,
    ) -> Result<Res> {
        match connect::unary(&self.rpc_endpoint(), path, req, self.call_options(opts)).await {
            Ok(res) => Ok(res),
            Err(e) => Err(self.rpc_failure(e, NotFoundAs::Generic).await),
        }
    }

    pub async fn list_processes(&self, opts: &RequestOpts) -> Result<Vec<ProcessInfo>> {
        let res: ListResponse = self
            .unary(path::LIST, &ListRequest::default(), opts)
            .await?;
        Ok(res.processes)
    }

    pub async fn send_input(&self, pid: u32, input: Input, opts: &RequestOpts) -> Result<()> {
        let req = SendInputRequest {
            process: Some(ProcessSelector::pid(pid)),
            input: Some(ProcessInput { input: Some(input) }),
        };
        self.unary::<_, envd_protocol::process::SendInputResponse>(path::SEND_INPUT, &req, opts)
            .await
            .map(drop)
    }

    pub async fn close_stdin(&self, pid: u32, opts: &RequestOpts) -> Result<()> {
        if !self.supports("0.5.2") {
            let msg = format!(
                "Sandbox envd version {} doesn't support closeStdin. Please rebuild your template to pick up the latest sandbox version.",
                self.version
            );
            return Err(error(ErrorClass::Sandbox, msg));
        }
        let req = CloseStdinRequest {
            process: Some(ProcessSelector::pid(pid)),
        };
        self.unary::<_, envd_protocol::process::CloseStdinResponse>(path::CLOSE_STDIN, &req, opts)
            .await
            .map(drop)
    }

    /// SIGKILL; `false` when there is no such process.
    pub async fn kill_process(&self, pid: u32, opts: &RequestOpts) -> Result<bool> {
        let req = SendSignalRequest {
            process: Some(ProcessSelector::pid(pid)),
            signal: Signal::Sigkill,
        };
        match connect::unary::<_, envd_protocol::process::SendSignalResponse>(
            &self.rpc_endpoint(),
            path::SEND_SIGNAL,
            &req,
            self.call_options(opts),
        )
        .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.code == Code::NotFound => Ok(false),
            Err(e) => Err(self.rpc_failure(e, NotFoundAs::Generic).await),
        }
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
            signal: opts.signal.clone(),
            request_timeout_ms: self.config.request_timeout(opts.request_timeout_ms),
            timeout_ms: Some(timeout_ms.unwrap_or(STREAM_TIMEOUT_MS)).filter(|ms| *ms > 0.0),
        }
    }

    /// `Process/Start`; resolves once the process's pid arrived.
    pub async fn start(
        &self,
        spec: StartSpec,
        opts: &RequestOpts,
        timeout_ms: Option<f64>,
    ) -> Result<(u32, ServerStream)> {
        if !spec.stdin && !self.supports("0.3.0") {
            let msg = format!(
                "Sandbox envd version {} can't specify stdin, it's always turned on. Please rebuild your template if you need this feature.",
                self.version
            );
            return Err(error(ErrorClass::Sandbox, msg));
        }
        let req = StartRequest {
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
        self.open_process_stream(path::START, &req, call).await
    }

    /// `Process/Connect` to a running process.
    pub async fn connect_process(
        &self,
        pid: u32,
        opts: &RequestOpts,
        timeout_ms: Option<f64>,
    ) -> Result<(u32, ServerStream)> {
        let req = ConnectRequest {
            process: Some(ProcessSelector::pid(pid)),
        };
        self.open_process_stream(
            path::CONNECT,
            &req,
            self.stream_options(opts, timeout_ms, None),
        )
        .await
    }

    async fn open_process_stream<Req: Message>(
        &self,
        path: &str,
        req: &Req,
        call: CallOptions,
    ) -> Result<(u32, ServerStream)> {
        let first = async {
            let mut stream = connect::server_stream(&self.rpc_endpoint(), path, req, call).await?;
            let event = stream.next::<StartResponse>().await?;
            Ok::<_, ConnectError>((stream, event))
        };
        match first.await {
            Ok((
                mut stream,
                Some(StartResponse {
                    event:
                        Some(ProcessEvent {
                            event: Some(Event::Start(start)),
                        }),
                }),
            )) => {
                stream.end_handshake();
                Ok((start.pid, stream))
            }
            Ok(_) => Err(error(ErrorClass::Plain, "Expected start event")),
            Err(e) if e.code == Code::Unavailable => Err(SdkError::new(
                ErrorClass::SandboxNotFound,
                "Sandbox is probably not running anymore",
            )
            .into()),
            Err(e) => Err(self.rpc_failure(e, NotFoundAs::Generic).await),
        }
    }
}
