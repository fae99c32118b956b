//! One Jupyter kernel process and the client end of its channels: launching it with a
//! connection file, waiting until it answers, running one cell while streaming what it prints
//! and displays as the SDK's JSON lines, interrupting (SIGINT) and killing it.
//!
//! The channels are ZeroMQ over unix sockets (Jupyter's `ipc` transport) in the server's
//! private directory, so no kernel port is open on the sandbox's loopback, where the proxy
//! forwards any port to; a kernel without `ipc` (Deno's) gets TCP ports on a random loopback
//! address other than 127.0.0.1, which the proxy never connects to. Messages are signed with a
//! fresh HMAC key per kernel.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail};
use jupyter_protocol::connection_info::{ConnectionInfo, Transport};
use jupyter_protocol::{
    ExecuteRequest, ExecutionState, Header, JupyterMessage, JupyterMessageContent,
    KernelInfoRequest, ReplyStatus,
};
use jupyter_zmq_client::{ClientIoPubConnection, ClientShellConnection, RawMessage, RuntimeError};
use serde_json::Value;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use zeromq::SocketRecv as _;

use super::languages::{self, Channels};
use super::output::Line;

/// How long a kernel may take from exec to answering `kernel_info_request`.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// A line written while a cell runs silently, so that a client that went away is noticed by a
/// failed write (HTTP/1.1 learns of a closed connection only then) and the cell interrupted.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(2);

pub struct Kernel {
    child: Child,
    pid: u32,
    shell: ClientShellConnection,
    iopub: mpsc::Receiver<JupyterMessage>,
    /// The connection file and socket paths, removed with the kernel.
    files: Vec<PathBuf>,
    /// Set once the process has exited: every later cell ends as unexpected at once.
    exited: Option<ExitStatus>,
    /// How long to wait after a cell's idle status for its output that came late.
    late_output: Option<Duration>,
}

impl Kernel {
    /// Starts `language`'s kernel in `cwd` and connects to it; `dir` is private to the server
    /// and `name` unique in it.
    pub async fn start(
        language: &str,
        dir: &Path,
        name: &str,
        cwd: &Path,
    ) -> anyhow::Result<Kernel> {
        let connection_file = dir.join(format!("{name}.json"));
        let command = languages::kernel_command(language, &connection_file)
            .with_context(|| format!("no kernel for language {language:?}"))?;
        let socket_prefix = dir.join(name);
        let (ip, ports) = match command.channels {
            Channels::Ipc => (socket_prefix.display().to_string(), [1, 2, 3, 4, 5]),
            Channels::PrivateLoopbackTcp => {
                let ip = private_loopback_address();
                (ip.to_string(), free_ports(ip)?)
            }
        };
        let info = ConnectionInfo {
            transport: match command.channels {
                Channels::Ipc => Transport::IPC,
                Channels::PrivateLoopbackTcp => Transport::TCP,
            },
            ip,
            stdin_port: ports[0],
            control_port: ports[1],
            hb_port: ports[2],
            shell_port: ports[3],
            iopub_port: ports[4],
            signature_scheme: "hmac-sha256".into(),
            key: crate::random::hex(32),
            kernel_name: Some(language.into()),
        };
        let mut files = vec![connection_file.clone()];
        if command.channels == Channels::Ipc {
            files.extend(
                ports
                    .iter()
                    .map(|n| PathBuf::from(format!("{}-{n}", info.ip))),
            );
        }
        let mut options = std::fs::OpenOptions::new();
        std::os::unix::fs::OpenOptionsExt::mode(options.write(true).create_new(true), 0o600);
        std::io::Write::write_all(
            &mut options.open(&connection_file)?,
            &serde_json::to_vec(&info)?,
        )?;
        let (argv, command_env, late_output) = (command.argv, command.env, command.late_output);
        let mut command = Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .envs(command_env)
            .current_dir(cwd)
            .stdin(Stdio::null())
            // The kernel reports through its channels; its own output is start-up noise.
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so that a kill reaches what the code started too.
            .process_group(0)
            .kill_on_drop(true);
        // SAFETY: prctl is async-signal-safe; it only sets this process's death signal.
        unsafe {
            command.pre_exec(|| {
                // A server that is killed (no drop runs) takes its kernels along.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            })
        };
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", argv[0]))?;
        let pid = child.id().context("the kernel exited at once")?;
        let connect = async {
            // The kernel binds its sockets; connecting to an ipc path that does not exist yet
            // (or a port not listened on yet) fails, so wait for all of them.
            while !files.iter().all(|f| f.exists()) || !listening(&info)? {
                if let Some(status) = child.try_wait()? {
                    bail!("the kernel exited while starting ({status})");
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let session = crate::random::uuid_v4();
            let iopub =
                jupyter_zmq_client::create_client_iopub_connection(&info, "", &session).await?;
            let identity = jupyter_zmq_client::peer_identity_for_session(&session)?;
            let shell = jupyter_zmq_client::create_client_shell_connection_with_identity(
                &info, &session, identity,
            )
            .await?;
            anyhow::Ok((shell, forward_iopub(iopub)))
        };
        let (shell, iopub) = tokio::time::timeout(START_TIMEOUT, connect)
            .await
            .context("the kernel did not open its sockets in time")??;
        let mut kernel = Kernel {
            child,
            pid,
            shell,
            iopub,
            files,
            exited: None,
            late_output,
        };
        tokio::time::timeout(START_TIMEOUT, kernel.wait_ready())
            .await
            .context("the kernel did not answer in time")??;
        Ok(kernel)
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Asks until the kernel answers on shell and iopub both: a subscription made before the
    /// kernel's publisher was ready misses messages, so the first cell could lose its output.
    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        loop {
            let request: JupyterMessage = KernelInfoRequest {}.into();
            self.shell.send(request).await?;
            match self.shell.read().await {
                Ok(reply) if matches!(reply.content, JupyterMessageContent::KernelInfoReply(_)) => {
                }
                Ok(_) => continue,
                // A reply this crate cannot parse is an answer all the same: bash_kernel's
                // `language_info` has no `version`, which the crate requires.
                Err(RuntimeError::ParseError { msg_type, .. })
                    if msg_type == "kernel_info_reply" => {}
                Err(e) => return Err(e.into()),
            }
            match tokio::time::timeout(Duration::from_millis(500), self.iopub.recv()).await {
                Ok(Some(_)) => return Ok(()),
                Ok(None) => bail!("the kernel closed its iopub channel"),
                Err(_) => {} // not subscribed yet: ask again
            }
        }
    }

    /// Runs `code` silently (no output, no execution count), as the server's own set-up code;
    /// returns the kernel's error, if any.
    pub async fn run_silently(&mut self, code: String) -> anyhow::Result<()> {
        let (tx, mut rx) = mpsc::channel(16);
        let request = ExecuteRequest {
            silent: true,
            store_history: false,
            ..ExecuteRequest::new(code)
        };
        let run = self.run(request, tx);
        let collect = async {
            let mut error = None;
            while let Some(line) = rx.recv().await {
                if let Line::Error { name, value, .. } = line {
                    error = Some(format!("{name}: {value}"));
                }
            }
            error
        };
        let ((), error) = tokio::join!(run, collect);
        match error {
            Some(error) => bail!("{error}"),
            None => Ok(()),
        }
    }

    /// Runs one cell, sending its output to `out` as produced and ending with
    /// `end_of_execution` (or `unexpected_end_of_execution` when the kernel died). When `out`
    /// closes (the client left or timed out), the cell is interrupted and the kernel left idle.
    pub async fn execute(&mut self, code: String, out: mpsc::Sender<Line>) {
        self.run(ExecuteRequest::new(code), out).await
    }

    async fn run(&mut self, request: ExecuteRequest, out: mpsc::Sender<Line>) {
        if let Some(status) = self.exited {
            return send_unexpected_end(&out, status).await;
        }
        // Messages of an earlier, interrupted cell may still be queued: skip them by parent.
        let request: JupyterMessage = request.into();
        let msg_id = request.header.msg_id.clone();
        if let Err(e) = self.shell.send(request).await {
            let _ = out
                .send(Line::error(
                    "KernelError",
                    &format!("sending the cell: {e}"),
                ))
                .await;
            return;
        }
        let mut client_gone = false;
        let mut keepalive = tokio::time::interval(KEEPALIVE_INTERVAL);
        keepalive.tick().await;
        loop {
            let msg = tokio::select! {
                msg = self.iopub.recv() => msg,
                status = self.child.wait() => {
                    let status = status.unwrap_or_else(|_| ExitStatus::default());
                    self.exited = Some(status);
                    return send_unexpected_end(&out, status).await;
                }
                _ = out.closed(), if !client_gone => {
                    client_gone = true;
                    self.interrupt();
                    continue;
                }
                _ = keepalive.tick(), if !client_gone => {
                    let _ = out.send(Line::Keepalive).await;
                    continue;
                }
            };
            let Some(msg) = msg else {
                // The iopub forwarder ended: the kernel's socket failed; wait for the process.
                let status = self.child.wait().await.unwrap_or_default();
                self.exited = Some(status);
                return send_unexpected_end(&out, status).await;
            };
            if msg.parent_header.as_ref().map(|h| h.msg_id.as_str()) != Some(msg_id.as_str()) {
                continue;
            }
            let idle = matches!(
                &msg.content,
                JupyterMessageContent::Status(s) if s.execution_state == ExecutionState::Idle
            );
            if let Some(line) = Line::from_iopub(&msg) {
                if !client_gone {
                    let _ = out.send(line).await;
                }
            }
            if idle {
                break;
            }
        }
        // The reply came before the idle status; reading it keeps the shell queue empty, and an
        // aborted cell (one queued behind an error) is reported as the server E2B runs does.
        let reply = tokio::time::timeout(Duration::from_secs(5), self.read_reply(&msg_id)).await;
        if let Ok(Some(ReplyStatus::Aborted)) = reply {
            let _ = out
                .send(Line::error("ExecutionAborted", "Execution was aborted"))
                .await;
        }
        if let Some(window) = self.late_output {
            // Output of this cell published after its idle status (Deno's kernel does that).
            while let Ok(Some(msg)) = tokio::time::timeout(window, self.iopub.recv()).await {
                if msg.parent_header.as_ref().map(|h| h.msg_id.as_str()) == Some(msg_id.as_str())
                    && !client_gone
                {
                    if let Some(line) = Line::from_iopub(&msg) {
                        let _ = out.send(line).await;
                    }
                }
            }
        }
        let _ = out.send(Line::EndOfExecution).await;
    }

    async fn read_reply(&mut self, msg_id: &str) -> Option<ReplyStatus> {
        loop {
            let reply = self.shell.read().await.ok()?;
            if reply.parent_header.as_ref().map(|h| h.msg_id.as_str()) != Some(msg_id) {
                continue;
            }
            if let JupyterMessageContent::ExecuteReply(reply) = reply.content {
                return Some(reply.status);
            }
        }
    }

    /// What Jupyter's own interrupt does for a kernel whose interrupt mode is `signal` (the
    /// default, and ipykernel's): SIGINT to the kernel process.
    pub fn interrupt(&self) {
        signal(self.pid, libc::SIGINT);
    }
}

impl Drop for Kernel {
    fn drop(&mut self) {
        // The whole group, so that children the code started go too.
        // SAFETY: kill(2) with a negative pid signals that process group; no memory involved.
        unsafe { libc::kill(-(self.pid as i32), libc::SIGKILL) };
        for file in &self.files {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// Sends `sig` to `pid` (the kernel, which outlives no server that knows its pid).
pub fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) only takes integers.
    unsafe { libc::kill(pid as i32, sig) };
}

async fn send_unexpected_end(out: &mpsc::Sender<Line>, status: ExitStatus) {
    let _ = out
        .send(Line::error(
            "UnexpectedEndOfExecution",
            &format!(
                "the kernel exited ({status}) before the execution finished; restart the context"
            ),
        ))
        .await;
    let _ = out.send(Line::UnexpectedEndOfExecution).await;
}

/// Reads iopub on a task of its own (a channel receive is cancellation-safe where a ZeroMQ
/// read in `select!` might not be); the channel closes when the socket fails. A message that
/// still does not parse is dropped, not taken for a failed socket: user code decides what the
/// kernel sends (a MIME bundle can hold anything), and ending here would leave its cell waiting
/// for a kernel that still runs.
fn forward_iopub(mut iopub: ClientIoPubConnection) -> mpsc::Receiver<JupyterMessage> {
    let (tx, rx) = mpsc::channel(1024);
    tokio::spawn(async move {
        loop {
            let msg = match read_iopub(&mut iopub).await {
                Ok(msg) => msg,
                Err(RuntimeError::ZmqError(_)) => break,
                Err(e) => {
                    eprintln!("code-interpreter: dropped a kernel message: {e}");
                    continue;
                }
            };
            if tx.send(msg).await.is_err() {
                break;
            }
        }
    });
    rx
}

/// `iopub.read()`, except that invalid UTF-8 is replaced (U+FFFD) instead of failing the whole
/// message: Python sends a str's lone surrogates (`"\udcff"`, as `os.listdir` makes of
/// undecodable names) as the raw bytes they stand for, and a stream message carries whatever
/// else was printed with them. The signature is checked on the bytes as sent.
async fn read_iopub(iopub: &mut ClientIoPubConnection) -> Result<JupyterMessage, RuntimeError> {
    let raw = RawMessage::from_multipart(iopub.socket.recv().await?, &iopub.mac)?;
    let part = |i: usize| -> Result<Value, serde_json::Error> {
        serde_json::from_str(&String::from_utf8_lossy(&raw.jparts[i]))
    };
    let header: Header = serde_json::from_value(part(0)?)?;
    let content = JupyterMessageContent::from_type_and_content(&header.msg_type, part(3)?)
        .map_err(|source| RuntimeError::ParseError {
            msg_type: header.msg_type.clone(),
            source,
        })?;
    Ok(JupyterMessage {
        zmq_identities: Vec::new(),
        // Like the crate's own parser: `{}` (no parent) is no header.
        parent_header: part(1).ok().and_then(|p| serde_json::from_value(p).ok()),
        metadata: part(2)?,
        header,
        content,
        buffers: raw.jparts[4..].to_vec(),
        channel: None,
    })
}

/// A random address in 127.0.0.0/8 other than 127.0.0.1 (every one of them is the loopback).
fn private_loopback_address() -> Ipv4Addr {
    let mut bytes = [0u8; 3];
    crate::random::fill(&mut bytes);
    // The last byte stays clear of 0, 1 and 255, so the address is never 127.0.0.1.
    Ipv4Addr::new(127, bytes[0], bytes[1], bytes[2].clamp(2, 254))
}

/// Five ports free on `ip` now (held until all five are picked, so they differ); the kernel
/// binds them a moment later, as Jupyter's own launcher does.
fn free_ports(ip: Ipv4Addr) -> anyhow::Result<[u16; 5]> {
    let listeners = (0..5)
        .map(|_| std::net::TcpListener::bind((ip, 0)))
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("picking ports on {ip}"))?;
    let mut ports = [0; 5];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener.local_addr()?.port();
    }
    Ok(ports)
}

/// Whether every TCP port of `info` is listened on (always true for `ipc`), read from
/// /proc/net/tcp rather than by connecting, which a kernel would see as a client.
fn listening(info: &ConnectionInfo) -> anyhow::Result<bool> {
    if info.transport != Transport::TCP {
        return Ok(true);
    }
    let ip: Ipv4Addr = info.ip.parse()?;
    let table = std::fs::read_to_string("/proc/net/tcp")?;
    // Local addresses are hex of the address in memory order, then the port; 0A is LISTEN.
    let ip_hex = format!("{:08X}", u32::from_le_bytes(ip.octets()));
    let listening: Vec<&str> = table
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.get(3) == Some(&"0A")).then(|| fields[1])
        })
        .collect();
    Ok([
        info.stdin_port,
        info.control_port,
        info.hb_port,
        info.shell_port,
        info.iopub_port,
    ]
    .iter()
    .all(|port| listening.contains(&format!("{ip_hex}:{port:04X}").as_str())))
}
