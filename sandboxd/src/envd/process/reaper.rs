//! envd reaps every child and orphan itself: one task answers SIGCHLD with `waitpid(-1)` and
//! hands each status to whoever spawned that pid. Spawning registers the pid while holding the
//! same lock the reaper holds while it waits, so no child can be reaped before its owner is
//! known. Nothing else in envd may wait for children (no `std`/`tokio::process`).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::oneshot;

/// Raw wait status of an exited child.
pub type WaitStatus = i32;

static WAITERS: Mutex<Option<HashMap<libc::pid_t, oneshot::Sender<WaitStatus>>>> = Mutex::new(None);

fn waiters() -> MutexGuard<'static, Option<HashMap<libc::pid_t, oneshot::Sender<WaitStatus>>>> {
    WAITERS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Makes envd the reaper of every orphan below it (PID 1 in a sandbox already is).
pub fn become_subreaper() {
    // SAFETY: prctl with a constant option and flag.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
}

/// Starts the reaper task; call once, inside the runtime, before spawning anything.
pub fn start() -> std::io::Result<()> {
    let mut sigchld = signal(SignalKind::child())?;
    waiters().get_or_insert_with(HashMap::new);
    reap_all();
    tokio::spawn(async move {
        while sigchld.recv().await.is_some() {
            reap_all();
        }
    });
    Ok(())
}

/// Collects every exited child; statuses of children nobody registered (orphans) are dropped.
fn reap_all() {
    let mut guard = waiters();
    loop {
        let mut status = 0;
        // SAFETY: non-blocking wait for any child.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            break;
        }
        if let Some(tx) = guard.as_mut().and_then(|w| w.remove(&pid)) {
            let _ = tx.send(status);
        }
    }
}

/// Runs `fork` (which returns the new child's pid) with the reaper held off, and registers the
/// pid so its status is delivered on the returned receiver.
pub fn spawn_registered<T>(
    fork: impl FnOnce() -> std::io::Result<(libc::pid_t, T)>,
) -> std::io::Result<(libc::pid_t, T, oneshot::Receiver<WaitStatus>)> {
    let mut guard = waiters();
    let (pid, value) = fork()?;
    let (tx, rx) = oneshot::channel();
    guard.get_or_insert_with(HashMap::new).insert(pid, tx);
    Ok((pid, value, rx))
}

/// Go's names for signals (what envd puts in `signal: <name>`).
pub fn signal_name(sig: i32) -> String {
    let name = match sig {
        libc::SIGHUP => "hangup",
        libc::SIGINT => "interrupt",
        libc::SIGQUIT => "quit",
        libc::SIGILL => "illegal instruction",
        libc::SIGTRAP => "trace/breakpoint trap",
        libc::SIGABRT => "aborted",
        libc::SIGBUS => "bus error",
        libc::SIGFPE => "floating point exception",
        libc::SIGKILL => "killed",
        libc::SIGUSR1 => "user defined signal 1",
        libc::SIGSEGV => "segmentation fault",
        libc::SIGUSR2 => "user defined signal 2",
        libc::SIGPIPE => "broken pipe",
        libc::SIGALRM => "alarm clock",
        libc::SIGTERM => "terminated",
        libc::SIGXCPU => "CPU time limit exceeded",
        libc::SIGXFSZ => "file size limit exceeded",
        libc::SIGVTALRM => "virtual timer expired",
        libc::SIGPROF => "profiling timer expired",
        libc::SIGSYS => "bad system call",
        _ => return format!("signal {sig}"),
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn go_signal_names() {
        assert_eq!(super::signal_name(libc::SIGKILL), "killed");
        assert_eq!(super::signal_name(libc::SIGTERM), "terminated");
        assert_eq!(super::signal_name(64), "signal 64");
    }
}
