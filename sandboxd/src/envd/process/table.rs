//! The processes envd started: their input, the fan-out of their output to every attached
//! stream, and their end. A process outlives its streams; its `end` is kept 30 s after exit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use envd_protocol::process::{EndEvent, ProcessConfig, Selector};
use envd_protocol::{Code, ConnectError};
use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::pty::PtyMaster;
use super::reaper::{WaitStatus, signal_name};
use super::spawn::{ChildIo, Spawned};

/// How long an ended process stays reachable for `Connect`.
const RETENTION: Duration = Duration::from_secs(30);
/// A pipe is first read 32 KiB at a time; each read that fills the buffer doubles it, up to
/// 256 KiB, the largest output chunk per event (docs/envd.md, "Output of a command"). A
/// command that writes a little at a time keeps small buffers; one that outpaces the stream
/// gets what piled up in its pipe as one large event, so fewer frames carry the same bytes.
/// Not larger: clients that join a frame's network reads by concatenation (connect-es) pay
/// for it quadratically, and the SDK's wasm memory grows with the largest frame.
const PIPE_CHUNK_FIRST: usize = 32 * 1024;
const PIPE_CHUNK_MAX: usize = 256 * 1024;
const PTY_CHUNK: usize = 16 * 1024;
/// Messages a subscriber may have queued before it back-pressures the process. Output waits
/// in the process's pipe beyond that (kernel memory, bounded by the pipe's size), so envd
/// holds at most this many chunks per stream.
const SUBSCRIBER_QUEUE: usize = 4;

/// One piece of output, or the end.
#[derive(Clone, Debug)]
pub enum Update {
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
    Pty(Vec<u8>),
    End(EndEvent),
}

/// What attaching to a process yields.
pub enum Subscription {
    Live(mpsc::Receiver<Update>),
    Ended(EndEvent),
}

enum Input {
    Pipe(tokio::sync::Mutex<Option<pipe::Sender>>),
    Pty(Arc<PtyMaster>),
}

#[derive(Default)]
struct Subscribers {
    list: Vec<mpsc::Sender<Update>>,
    end: Option<EndEvent>,
}

pub struct Process {
    pub pid: u32,
    pub tag: Option<String>,
    pub config: ProcessConfig,
    input: Input,
    subscribers: Mutex<Subscribers>,
    /// Set by TERM/KILL and the deadline: emit `end` without waiting for output to drain.
    stop_draining: watch::Sender<bool>,
    /// Set once the process has been reaped.
    reaped: watch::Sender<bool>,
}

fn internal(msg: impl Into<String>) -> ConnectError {
    ConnectError::new(Code::Internal, msg)
}

impl Process {
    fn subscribers(&self) -> std::sync::MutexGuard<'_, Subscribers> {
        self.subscribers.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn has_ended(&self) -> bool {
        self.subscribers().end.is_some()
    }

    /// Attaches a new stream: it receives output produced from now on (no replay).
    pub fn subscribe(&self) -> Subscription {
        let mut subs = self.subscribers();
        if let Some(end) = &subs.end {
            return Subscription::Ended(end.clone());
        }
        let (tx, rx) = mpsc::channel(SUBSCRIBER_QUEUE);
        subs.list.push(tx);
        Subscription::Live(rx)
    }

    /// Sends `update` to every subscriber, waiting for slow ones (back-pressure); output with
    /// no subscriber is dropped.
    async fn publish(&self, update: Update) {
        let targets = {
            let mut subs = self.subscribers();
            subs.list.retain(|s| !s.is_closed());
            subs.list.clone()
        };
        // The last subscriber (usually the only one) takes the update itself, not a copy.
        if let Some((last, others)) = targets.split_last() {
            for target in others {
                let _ = target.send(update.clone()).await;
            }
            let _ = last.send(update).await;
        }
    }

    pub async fn write_stdin(&self, data: &[u8]) -> Result<(), ConnectError> {
        use tokio::io::AsyncWriteExt;
        match &self.input {
            Input::Pty(_) => Err(internal(
                "process has a terminal: send the input as pty input",
            )),
            Input::Pipe(stdin) => {
                let mut stdin = stdin.lock().await;
                let pipe = stdin
                    .as_mut()
                    .ok_or_else(|| internal("stdin is not enabled or was closed"))?;
                pipe.write_all(data)
                    .await
                    .map_err(|e| internal(format!("writing to stdin: {e}")))
            }
        }
    }

    pub async fn write_pty(&self, data: &[u8]) -> Result<(), ConnectError> {
        match &self.input {
            Input::Pipe(_) => Err(internal("process has no terminal: send the input as stdin")),
            Input::Pty(master) => master
                .write_all(data)
                .await
                .map_err(|e| internal(format!("writing to the terminal: {e}"))),
        }
    }

    pub async fn close_stdin(&self) -> Result<(), ConnectError> {
        match &self.input {
            Input::Pty(_) => Err(ConnectError::new(
                Code::Unknown,
                "cannot close stdin of a process with a terminal; send Ctrl-D (0x04) as pty input instead",
            )),
            Input::Pipe(stdin) => {
                stdin.lock().await.take();
                Ok(())
            }
        }
    }

    pub fn resize(&self, cols: u32, rows: u32) -> Result<(), ConnectError> {
        match &self.input {
            Input::Pipe(_) => Err(internal("process has no terminal to resize")),
            Input::Pty(master) => {
                let clamp = |v: u32| u16::try_from(v).unwrap_or(u16::MAX);
                master
                    .resize(clamp(cols), clamp(rows))
                    .map_err(|e| internal(format!("resizing the terminal: {e}")))
            }
        }
    }

    /// Sends `sig` to the process (not its group). TERM and KILL also stop waiting for its
    /// output to drain, so `end` follows as soon as it is reaped.
    pub fn signal(&self, sig: i32) -> Result<(), ConnectError> {
        if *self.reaped.borrow() {
            return Err(internal("process has already exited"));
        }
        // SAFETY: kill with our child's pid, which is not reaped yet so cannot be reused.
        if unsafe { libc::kill(self.pid as libc::pid_t, sig) } != 0 {
            return Err(internal(format!(
                "sending signal: {}",
                std::io::Error::last_os_error()
            )));
        }
        if sig == libc::SIGKILL || sig == libc::SIGTERM {
            self.stop_draining.send_replace(true);
        }
        Ok(())
    }

    /// Waits until the process has been reaped, at most `limit`.
    pub async fn wait_reaped(&self, limit: Duration) {
        let mut reaped = self.reaped.subscribe();
        let _ = tokio::time::timeout(limit, reaped.wait_for(|r| *r)).await;
    }
}

/// The `end` event for a wait status, as envd words it.
pub fn end_event(status: Option<WaitStatus>) -> EndEvent {
    let Some(status) = status else {
        return EndEvent {
            exit_code: -1,
            exited: false,
            status: "unknown".into(),
            error: Some("process status lost".into()),
        };
    };
    if libc::WIFEXITED(status) {
        let code = libc::WEXITSTATUS(status);
        let text = format!("exit status {code}");
        EndEvent {
            exit_code: code,
            exited: true,
            error: (code != 0).then(|| text.clone()),
            status: text,
        }
    } else {
        let sig = if libc::WIFSIGNALED(status) {
            libc::WTERMSIG(status)
        } else {
            0
        };
        let text = format!("signal: {}", signal_name(sig));
        EndEvent {
            exit_code: -1,
            exited: false,
            error: Some(text.clone()),
            status: text,
        }
    }
}

#[derive(Default)]
pub struct Table {
    processes: Mutex<HashMap<u32, Arc<Process>>>,
}

impl Table {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Arc<Process>>> {
        self.processes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a freshly spawned process and starts moving its output. The first
    /// subscriber is attached before any output is read, so `Start` sees everything.
    pub fn launch(
        self: &Arc<Self>,
        spawned: Spawned,
        config: ProcessConfig,
        tag: Option<String>,
    ) -> std::io::Result<(Arc<Process>, Subscription)> {
        let Spawned { pid, io, exit } = spawned;
        let (input, outputs) = match io {
            ChildIo::Pty { master } => {
                let master = Arc::new(PtyMaster::new(master)?);
                (Input::Pty(master.clone()), Outputs::Pty(master))
            }
            ChildIo::Pipes {
                stdin,
                stdout,
                stderr,
            } => {
                let stdin = stdin.map(pipe::Sender::from_owned_fd).transpose()?;
                let stdout = pipe::Receiver::from_owned_fd(stdout)?;
                let stderr = pipe::Receiver::from_owned_fd(stderr)?;
                (
                    Input::Pipe(tokio::sync::Mutex::new(stdin)),
                    Outputs::Pipes(stdout, stderr),
                )
            }
        };
        let process = Arc::new(Process {
            pid,
            tag,
            config,
            input,
            subscribers: Mutex::default(),
            stop_draining: watch::Sender::new(false),
            reaped: watch::Sender::new(false),
        });
        let first = process.subscribe();
        self.map().insert(pid, process.clone());
        let readers = outputs.spawn_readers(&process);
        tokio::spawn(finish(self.clone(), process.clone(), exit, readers));
        Ok((process, first))
    }

    /// A process by selector, including ended ones still retained.
    pub fn find(&self, selector: Option<&Selector>) -> Result<Arc<Process>, ConnectError> {
        let map = self.map();
        let found = match selector {
            None => {
                return Err(ConnectError::new(
                    Code::Unimplemented,
                    "a process selector (pid or tag) is required",
                ));
            }
            Some(Selector::Pid(pid)) => map.get(pid).cloned(),
            Some(Selector::Tag(tag)) => {
                let tagged: Vec<&Arc<Process>> = map
                    .values()
                    .filter(|p| p.tag.as_deref() == Some(tag.as_str()))
                    .collect();
                tagged
                    .iter()
                    .find(|p| !p.has_ended())
                    .or(tagged.first())
                    .map(|p| Arc::clone(p))
            }
        };
        found.ok_or_else(|| {
            let what = match selector {
                Some(Selector::Pid(pid)) => format!("pid {pid}"),
                Some(Selector::Tag(tag)) => format!("tag '{tag}'"),
                None => String::new(),
            };
            ConnectError::new(Code::NotFound, format!("process with {what} not found"))
        })
    }

    /// A process that is still running (ended ones count as not found).
    pub fn find_live(&self, selector: Option<&Selector>) -> Result<Arc<Process>, ConnectError> {
        let p = self.find(selector)?;
        if p.has_ended() {
            return Err(ConnectError::new(
                Code::NotFound,
                format!("process with pid {} not found", p.pid),
            ));
        }
        Ok(p)
    }

    pub fn live(&self) -> Vec<Arc<Process>> {
        self.map()
            .values()
            .filter(|p| !p.has_ended())
            .cloned()
            .collect()
    }
}

enum Outputs {
    Pipes(pipe::Receiver, pipe::Receiver),
    Pty(Arc<PtyMaster>),
}

impl Outputs {
    fn spawn_readers(self, process: &Arc<Process>) -> Vec<JoinHandle<()>> {
        match self {
            Outputs::Pipes(stdout, stderr) => vec![
                tokio::spawn(read_pipe(process.clone(), stdout, Update::Stdout)),
                tokio::spawn(read_pipe(process.clone(), stderr, Update::Stderr)),
            ],
            Outputs::Pty(master) => vec![tokio::spawn(read_pty(process.clone(), master))],
        }
    }
}

/// Publishes what each read returns, at once: whatever is in the pipe when the stream is
/// ready for more is one event, and the first bytes of a quiet command are never held back.
async fn read_pipe(process: Arc<Process>, mut pipe: pipe::Receiver, wrap: fn(Vec<u8>) -> Update) {
    let mut buf = vec![0; PIPE_CHUNK_FIRST];
    while let Ok(n @ 1..) = pipe.read(&mut buf).await {
        process.publish(wrap(buf[..n].to_vec())).await;
        if n == buf.len() && buf.len() < PIPE_CHUNK_MAX {
            buf.resize(buf.len() * 2, 0);
        }
    }
}

async fn read_pty(process: Arc<Process>, master: Arc<PtyMaster>) {
    let mut buf = vec![0; PTY_CHUNK];
    while let Ok(n @ 1..) = master.read(&mut buf).await {
        process.publish(Update::Pty(buf[..n].to_vec())).await;
    }
}

/// Waits for the exit status and the output to drain (unless told not to), then delivers
/// `end` to every subscriber, keeps it for [`RETENTION`], and forgets the process.
async fn finish(
    table: Arc<Table>,
    process: Arc<Process>,
    exit: tokio::sync::oneshot::Receiver<WaitStatus>,
    mut readers: Vec<JoinHandle<()>>,
) {
    let status = exit.await.ok();
    process.reaped.send_replace(true);
    let mut stop = process.stop_draining.subscribe();
    let drained = async {
        for r in readers.iter_mut() {
            let _ = r.await;
        }
    };
    tokio::select! {
        () = drained => {}
        _ = stop.wait_for(|s| *s) => {}
    }
    for r in &readers {
        r.abort();
    }
    let end = end_event(status);
    let targets = {
        let mut subs = process.subscribers();
        subs.end = Some(end.clone());
        std::mem::take(&mut subs.list)
    };
    for target in targets {
        let _ = target.send(Update::End(end.clone())).await;
    }
    tokio::time::sleep(RETENTION).await;
    let mut map = table.map();
    if map
        .get(&process.pid)
        .is_some_and(|p| Arc::ptr_eq(p, &process))
    {
        map.remove(&process.pid);
    }
}

/// Kills the process at `deadline` (a `Start`'s `Connect-Timeout-Ms` bounds the process).
pub fn kill_at(process: Arc<Process>, deadline: tokio::time::Instant) {
    tokio::spawn(async move {
        let mut reaped = process.reaped.subscribe();
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => {
                let _ = process.signal(libc::SIGKILL);
            }
            _ = reaped.wait_for(|r| *r) => {}
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_events_match_envd() {
        let exited = |code: i32| end_event(Some(code << 8));
        assert_eq!(
            exited(0),
            EndEvent {
                exit_code: 0,
                exited: true,
                status: "exit status 0".into(),
                error: None
            }
        );
        assert_eq!(
            exited(3),
            EndEvent {
                exit_code: 3,
                exited: true,
                status: "exit status 3".into(),
                error: Some("exit status 3".into())
            }
        );
        let killed = end_event(Some(libc::SIGKILL));
        assert_eq!(
            killed,
            EndEvent {
                exit_code: -1,
                exited: false,
                status: "signal: killed".into(),
                error: Some("signal: killed".into())
            }
        );
        assert_eq!(end_event(Some(libc::SIGTERM)).status, "signal: terminated");
    }
}
