//! The process RPC handlers.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use envd_protocol::process::{
    CloseStdinRequest, CloseStdinResponse, ConnectRequest, DataEvent, Event, Input, ListRequest,
    ListResponse, Output, ProcessInfo, ProcessInput, SendInputRequest, SendInputResponse,
    SendSignalRequest, SendSignalResponse, Signal, StartEvent, StartRequest, StartResponse,
    StreamInputEvent, StreamInputRequest, StreamInputResponse, UpdateRequest, UpdateResponse,
};
use envd_protocol::{Code, ConnectError, StringMap};

use super::spawn::{SpawnSpec, spawn};
use super::table::{self, Process, Subscription, Update};
use crate::envd::connect::{Ctx, MessageReader, StreamWriter, pump};
use crate::envd::paths;
use crate::envd::users::User;

/// PATH for commands when envd's own environment has none.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn invalid(msg: impl Into<String>) -> ConnectError {
    ConnectError::new(Code::InvalidArgument, msg)
}

fn cstring(what: &str, s: impl Into<Vec<u8>>) -> Result<CString, ConnectError> {
    CString::new(s).map_err(|_| invalid(format!("{what} contains a NUL byte")))
}

/// The environment of a command (docs/envd.md, "Environment of a command"; later entries win):
/// envd's PATH; the user's HOME, USER, LOGNAME; the sandbox-wide variables; the request's `envs`.
fn command_env(
    sandbox_env: BTreeMap<String, String>,
    user: &User,
    request: &StringMap,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert(
        "PATH".to_owned(),
        std::env::var("PATH").unwrap_or_else(|_| DEFAULT_PATH.to_owned()),
    );
    env.insert("HOME".to_owned(), user.home.to_string_lossy().into_owned());
    env.insert("USER".to_owned(), user.name.clone());
    env.insert("LOGNAME".to_owned(), user.name.clone());
    env.extend(sandbox_env);
    env.extend(request.iter().map(|(k, v)| (k.clone(), v.clone())));
    env
}

/// Finds `cmd` like `execvp`: as given when it contains a `/`, else in `PATH`.
fn find_program(cmd: &str, path_var: &str, cwd: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let runnable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if cmd.contains('/') {
        return Some(cwd.join(cmd));
    }
    path_var
        .split(':')
        .map(|dir| {
            if dir.is_empty() {
                cwd.join(cmd)
            } else {
                Path::new(dir).join(cmd)
            }
        })
        .find(|p| runnable(p))
}

fn event(e: Event) -> StartResponse {
    StartResponse::new(e)
}

fn update_to_message(u: Update) -> Result<StartResponse, ConnectError> {
    let output = |o| event(Event::Data(DataEvent { output: Some(o) }));
    Ok(match u {
        Update::Stdout(b) => output(Output::Stdout(b)),
        Update::Stderr(b) => output(Output::Stderr(b)),
        Update::Pty(b) => output(Output::Pty(b)),
        Update::End(end) => event(Event::End(end)),
    })
}

/// The stream of a Start or Connect: `start{pid}`, live output, `end`.
async fn stream_events(
    ctx: &Ctx,
    out: &StreamWriter,
    pid: u32,
    subscription: Subscription,
) -> Result<(), ConnectError> {
    let gone = |_| crate::envd::connect::client_gone();
    out.send(&event(Event::Start(StartEvent { pid })))
        .await
        .map_err(gone)?;
    match subscription {
        Subscription::Ended(end) => out.send(&event(Event::End(end))).await.map_err(gone),
        Subscription::Live(mut rx) => {
            pump(ctx, out, &mut rx, update_to_message, || {
                event(Event::Keepalive(Default::default()))
            })
            .await
        }
    }
}

pub async fn start(
    ctx: Ctx,
    req: StartRequest,
    out: StreamWriter,
) -> (StreamWriter, Result<(), ConnectError>) {
    let result = run_start(&ctx, req, &out).await;
    (out, result)
}

async fn run_start(ctx: &Ctx, req: StartRequest, out: &StreamWriter) -> Result<(), ConnectError> {
    let user = ctx.user()?;
    let config = req.process.unwrap_or_default();
    if config.cmd.is_empty() {
        return Err(invalid("process.cmd is required"));
    }
    let defaults = ctx.envd.config();
    let cwd = paths::resolve(
        config.cwd.as_deref().unwrap_or(""),
        &user,
        defaults.default_workdir.as_deref(),
    )?;
    if !cwd.exists() {
        return Err(invalid(format!("cwd '{}' does not exist", cwd.display())));
    }
    let env = command_env(ctx.envd.sandbox_env(), &user, &config.envs);
    let program = find_program(
        &config.cmd,
        env.get("PATH").map_or("", String::as_str),
        &cwd,
    )
    .ok_or_else(|| {
        invalid(format!(
            "exec: \"{}\": executable file not found in $PATH",
            config.cmd
        ))
    })?;
    let pty = req.pty.map(|p| {
        let size = p.size.unwrap_or_default();
        let clamp = |v: u32, default: u16| {
            if v == 0 {
                default
            } else {
                u16::try_from(v).unwrap_or(u16::MAX)
            }
        };
        (clamp(size.cols, 80), clamp(size.rows, 24))
    });
    let spec = SpawnSpec {
        program: cstring("cmd", program.into_os_string().into_encoded_bytes())?,
        argv: std::iter::once(config.cmd.as_str())
            .chain(config.args.iter().map(String::as_str))
            .map(|a| cstring("args", a))
            .collect::<Result<_, _>>()?,
        envp: env
            .iter()
            .map(|(k, v)| cstring("envs", format!("{k}={v}")))
            .collect::<Result<_, _>>()?,
        cwd: cstring("cwd", cwd.into_os_string().into_encoded_bytes())?,
        uid: user.uid,
        gid: user.gid,
        groups: user.groups.clone(),
        stdin: req.stdin.unwrap_or(true),
        pty,
    };
    let spawned = tokio::task::spawn_blocking(move || spawn(&spec))
        .await
        .map_err(|e| ConnectError::new(Code::Internal, format!("spawn task failed: {e}")))?
        .map_err(|e| invalid(format!("failed to start process: {e}")))?;
    let table = ctx.envd.processes.clone();
    let (process, subscription) = table
        .launch(spawned, config, req.tag)
        .map_err(|e| ConnectError::new(Code::Internal, format!("attaching to the process: {e}")))?;
    if let Some(deadline) = ctx.deadline {
        table::kill_at(process.clone(), deadline);
    }
    stream_events(ctx, out, process.pid, subscription).await
}

pub async fn connect(
    ctx: Ctx,
    req: ConnectRequest,
    out: StreamWriter,
) -> (StreamWriter, Result<(), ConnectError>) {
    let result = async {
        let process = ctx.envd.processes.find(selector(&req.process))?;
        let subscription = process.subscribe();
        stream_events(&ctx, &out, process.pid, subscription).await
    }
    .await;
    (out, result)
}

fn selector(
    s: &Option<envd_protocol::process::ProcessSelector>,
) -> Option<&envd_protocol::process::Selector> {
    s.as_ref().and_then(|s| s.selector.as_ref())
}

pub async fn list(ctx: Ctx, _: ListRequest) -> Result<ListResponse, ConnectError> {
    let mut processes: Vec<ProcessInfo> = ctx
        .envd
        .processes
        .live()
        .iter()
        .map(|p| ProcessInfo {
            config: Some(p.config.clone()),
            pid: p.pid,
            tag: p.tag.clone(),
        })
        .collect();
    processes.sort_by_key(|p| p.pid);
    Ok(ListResponse { processes })
}

async fn apply_input(process: &Process, input: Option<ProcessInput>) -> Result<(), ConnectError> {
    match input.and_then(|i| i.input) {
        Some(Input::Stdin(data)) => process.write_stdin(&data).await,
        Some(Input::Pty(data)) => process.write_pty(&data).await,
        None => Err(ConnectError::new(
            Code::Unimplemented,
            "input must carry stdin or pty bytes",
        )),
    }
}

pub async fn send_input(
    ctx: Ctx,
    req: SendInputRequest,
) -> Result<SendInputResponse, ConnectError> {
    let process = ctx.envd.processes.find_live(selector(&req.process))?;
    apply_input(&process, req.input).await?;
    Ok(Default::default())
}

pub async fn stream_input(
    ctx: Ctx,
    mut messages: MessageReader<StreamInputRequest>,
) -> Result<StreamInputResponse, ConnectError> {
    let mut process = None;
    while let Some(msg) = messages.next().await? {
        match msg.event {
            Some(StreamInputEvent::Start(start)) => {
                process = Some(ctx.envd.processes.find_live(selector(&start.process))?);
            }
            Some(StreamInputEvent::Data(data)) => {
                let p = process
                    .as_ref()
                    .ok_or_else(|| invalid("the first message must be start{process}"))?;
                apply_input(p, data.input).await?;
            }
            Some(StreamInputEvent::Keepalive(_)) => {}
            None => {
                return Err(ConnectError::new(
                    Code::Unimplemented,
                    "message must be start, data or keepalive",
                ));
            }
        }
    }
    Ok(Default::default())
}

pub async fn send_signal(
    ctx: Ctx,
    req: SendSignalRequest,
) -> Result<SendSignalResponse, ConnectError> {
    let process = ctx.envd.processes.find_live(selector(&req.process))?;
    let sig = match req.signal {
        Signal::Sigterm => libc::SIGTERM,
        Signal::Sigkill => libc::SIGKILL,
        Signal::Unspecified => {
            return Err(ConnectError::new(
                Code::Unimplemented,
                "only SIGNAL_SIGTERM and SIGNAL_SIGKILL are supported",
            ));
        }
    };
    process.signal(sig)?;
    if sig == libc::SIGKILL {
        // A `kill -0 <pid>` right after must fail: answer once the process is reaped.
        process.wait_reaped(Duration::from_secs(5)).await;
    }
    Ok(Default::default())
}

pub async fn close_stdin(
    ctx: Ctx,
    req: CloseStdinRequest,
) -> Result<CloseStdinResponse, ConnectError> {
    ctx.envd
        .processes
        .find_live(selector(&req.process))?
        .close_stdin()
        .await?;
    Ok(Default::default())
}

pub async fn update(ctx: Ctx, req: UpdateRequest) -> Result<UpdateResponse, ConnectError> {
    let process = ctx.envd.processes.find_live(selector(&req.process))?;
    if let Some(size) = req.pty.and_then(|p| p.size) {
        process.resize(size.cols, size.rows)?;
    }
    Ok(Default::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_layers_win_in_order() {
        let user = User {
            name: "user".into(),
            uid: 1000,
            gid: 1000,
            home: "/home/user".into(),
            groups: vec![1000],
        };
        let mut sandbox = BTreeMap::new();
        sandbox.insert("E2B_SANDBOX".to_owned(), "true".to_owned());
        sandbox.insert("HOME".to_owned(), "/sandbox-home".to_owned());
        sandbox.insert("A".to_owned(), "sandbox".to_owned());
        let mut request = StringMap::new();
        request.insert("A".to_owned(), "request".to_owned());
        let env = command_env(sandbox, &user, &request);
        assert_eq!(env["USER"], "user");
        assert_eq!(env["LOGNAME"], "user");
        assert_eq!(env["HOME"], "/sandbox-home");
        assert_eq!(env["A"], "request");
        assert_eq!(env["E2B_SANDBOX"], "true");
        assert!(env.contains_key("PATH"));
        assert!(!env.contains_key("PWD") && !env.contains_key("SHELL"));
    }

    #[test]
    fn program_lookup_follows_path() {
        assert_eq!(
            find_program("sh", "/nonexistent:/bin", Path::new("/")),
            Some(PathBuf::from("/bin/sh"))
        );
        assert_eq!(
            find_program("no-such-program-xyz", "/bin:/usr/bin", Path::new("/")),
            None
        );
        assert_eq!(
            find_program("./x", "", Path::new("/tmp")),
            Some(PathBuf::from("/tmp/./x"))
        );
    }
}
