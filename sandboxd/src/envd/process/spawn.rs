//! fork/exec of a command as a user, with pipes or a pseudo-terminal. Everything the child
//! needs is prepared before `fork`; the child only makes async-signal-safe system calls (raw
//! `setgroups`/`setresgid`/`setresuid`, `dup2`, `chdir`, `execve`) and reports a failure
//! through a close-on-exec pipe, so the parent learns whether `execve` succeeded.

use std::ffi::{CString, c_char};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use tokio::sync::oneshot;

use super::reaper::{self, WaitStatus};

/// What to execute and as whom.
pub struct SpawnSpec {
    pub program: CString,
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
    pub cwd: CString,
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    /// Attach a writable stdin pipe (else `/dev/null`). Ignored with a terminal.
    pub stdin: bool,
    /// Run on a new pseudo-terminal of this size (cols, rows).
    pub pty: Option<(u16, u16)>,
}

/// The parent's ends of the child's standard streams.
pub enum ChildIo {
    Pipes {
        stdin: Option<OwnedFd>,
        stdout: OwnedFd,
        stderr: OwnedFd,
    },
    Pty {
        master: OwnedFd,
    },
}

pub struct Spawned {
    pub pid: u32,
    pub io: ChildIo,
    pub exit: oneshot::Receiver<WaitStatus>,
}

/// Why the child could not run the command.
#[derive(Debug)]
pub struct SpawnError {
    pub step: &'static str,
    pub error: io::Error,
}

impl std::fmt::Display for SpawnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.step, self.error)
    }
}

/// What the child was doing when it failed, by the step number it reports (5: in the parent).
const STEPS: [&str; 6] = [
    "setting up the terminal",
    "redirecting stdio",
    "switching user",
    "entering cwd",
    "exec",
    "starting the process",
];

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors we then own.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn open_pty(cols: u16, rows: u16) -> io::Result<(OwnedFd, OwnedFd)> {
    let (mut master, mut slave) = (0, 0);
    let size = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty fills two descriptors we then own.
    cvt(unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    })?;
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    for fd in [&master, &slave] {
        cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) })?;
    }
    Ok((master, slave))
}

fn dev_null() -> io::Result<OwnedFd> {
    // SAFETY: constant path; the descriptor is owned.
    let fd = cvt(unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) })?;
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The descriptors the child installs as 0, 1, 2 (and the one it makes its terminal).
struct ChildFds {
    stdin: RawFd,
    stdout: RawFd,
    stderr: RawFd,
    controlling_tty: Option<RawFd>,
}

/// Starts the command. The returned pid is already registered with the reaper.
pub fn spawn(spec: &SpawnSpec) -> Result<Spawned, SpawnError> {
    let setup = |error| SpawnError {
        step: STEPS[5],
        error,
    };
    let argv = null_terminated(&spec.argv);
    let envp = null_terminated(&spec.envp);
    let (err_read, err_write) = pipe().map_err(setup)?;
    let (io, child_ends, fds) = child_streams(spec).map_err(setup)?;

    // SAFETY: `geteuid` has no preconditions.
    let switch_user = unsafe { libc::geteuid() } == 0;
    let (pid, (), exit) = reaper::spawn_registered(|| {
        // SAFETY: the child branch only performs async-signal-safe calls on memory prepared
        // above and never returns.
        match unsafe { libc::fork() } {
            -1 => Err(io::Error::last_os_error()),
            0 => unsafe { child(spec, &argv, &envp, &fds, switch_user, err_write.as_raw_fd()) },
            pid => Ok((pid, ())),
        }
    })
    .map_err(setup)?;
    drop(child_ends);
    drop(err_write);

    if let Some(failed) = child_failure(&err_read) {
        // The child exits at once; the reaper collects it and the receiver is dropped.
        return Err(failed);
    }
    Ok(Spawned {
        pid: pid as u32,
        io,
        exit,
    })
}

/// The pointers of `strings` followed by a null pointer, as `execve` takes them.
fn null_terminated(strings: &[CString]) -> Vec<*const c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain([std::ptr::null()])
        .collect()
}

/// The child's standard streams: the parent's ends (kept), the child's ends (closed in the
/// parent after `fork`) and the descriptor numbers the child installs.
fn child_streams(spec: &SpawnSpec) -> io::Result<(ChildIo, Vec<OwnedFd>, ChildFds)> {
    if let Some((cols, rows)) = spec.pty {
        let (master, slave) = open_pty(cols, rows)?;
        let raw = slave.as_raw_fd();
        let fds = ChildFds {
            stdin: raw,
            stdout: raw,
            stderr: raw,
            controlling_tty: Some(raw),
        };
        return Ok((ChildIo::Pty { master }, vec![slave], fds));
    }
    let (stdin_child, stdin_parent) = if spec.stdin {
        let (r, w) = pipe()?;
        (r, Some(w))
    } else {
        (dev_null()?, None)
    };
    let (stdout, stdout_child) = pipe()?;
    let (stderr, stderr_child) = pipe()?;
    for output in [&stdout, &stderr] {
        widen_output_pipe(output);
    }
    let fds = ChildFds {
        stdin: stdin_child.as_raw_fd(),
        stdout: stdout_child.as_raw_fd(),
        stderr: stderr_child.as_raw_fd(),
        controlling_tty: None,
    };
    let io = ChildIo::Pipes {
        stdin: stdin_parent,
        stdout,
        stderr,
    };
    Ok((io, vec![stdin_child, stdout_child, stderr_child], fds))
}

/// Capacity asked for an output pipe: a command that writes faster than its output is sent
/// then fills up to 1 MiB before it blocks, and each read of envd takes that much at once
/// (the 64 KiB default turns a fast writer into many small reads and frames).
const OUTPUT_PIPE_SIZE: libc::c_int = 1024 * 1024;

/// Grows the pipe's capacity to [`OUTPUT_PIPE_SIZE`]. Best effort: past the per-user pipe
/// limits (`/proc/sys/fs/pipe-*`) the kernel refuses, and the pipe keeps its default size.
/// The pages are only allocated as output waits in the pipe.
fn widen_output_pipe(fd: &OwnedFd) {
    // SAFETY: fcntl on a descriptor we own; F_SETPIPE_SZ only changes the pipe's capacity.
    unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, OUTPUT_PIPE_SIZE) };
}

/// What the child reported before exiting, if it failed: it writes (step, errno) to the error
/// pipe, and a successful `execve` closes the pipe with nothing written.
fn child_failure(err_read: &OwnedFd) -> Option<SpawnError> {
    let mut report = [0u8; 8];
    let mut got = 0;
    while got < report.len() {
        // SAFETY: reading into a local buffer from a descriptor we own.
        let n = unsafe {
            libc::read(
                err_read.as_raw_fd(),
                report[got..].as_mut_ptr().cast(),
                report.len() - got,
            )
        };
        match n {
            0 => break,
            n if n > 0 => got += n as usize,
            _ if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => continue,
            _ => break,
        }
    }
    if got < report.len() {
        return None;
    }
    let step = u32::from_ne_bytes(report[..4].try_into().unwrap_or_default()) as usize;
    let errno = i32::from_ne_bytes(report[4..].try_into().unwrap_or_default());
    Some(SpawnError {
        step: STEPS.get(step).copied().unwrap_or("exec"),
        error: io::Error::from_raw_os_error(errno),
    })
}

/// Makes `fd` the child's descriptor `target` (clearing close-on-exec when it already is).
///
/// # Safety
/// Only in the child between `fork` and `exec`: it replaces whatever `target` was, which the
/// parent's code may still own.
unsafe fn install(fd: RawFd, target: RawFd) -> bool {
    unsafe {
        if fd == target {
            libc::fcntl(fd, libc::F_SETFD, 0) == 0
        } else {
            libc::dup2(fd, target) == target
        }
    }
}

/// Reports `step` and the current errno on `err_fd` to the parent, then exits with 127.
///
/// # Safety
/// Only in the child after `fork`: it ends the process with `_exit`, skipping every destructor,
/// and `err_fd` must be the open write end of the error pipe.
unsafe fn fail(err_fd: RawFd, step: u32) -> ! {
    unsafe {
        let errno = *libc::__errno_location();
        let mut report = [0u8; 8];
        report[..4].copy_from_slice(&step.to_ne_bytes());
        report[4..].copy_from_slice(&errno.to_ne_bytes());
        libc::write(err_fd, report.as_ptr().cast(), report.len());
        libc::_exit(127)
    }
}

/// The child side of `fork`.
///
/// # Safety
/// Only in the freshly forked child, which runs nothing but async-signal-safe calls: `argv`
/// and `envp` must be null-terminated arrays of C strings prepared before the fork, and the
/// descriptors in `fds` and `err_fd` open. It never returns: it execs or `_exit`s.
unsafe fn child(
    spec: &SpawnSpec,
    argv: &[*const c_char],
    envp: &[*const c_char],
    fds: &ChildFds,
    switch_user: bool,
    err_fd: RawFd,
) -> ! {
    unsafe {
        // Signal state is inherited: unblock everything and undo Rust's SIGPIPE ignore.
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);

        // Own session, so the process is nobody's job-control victim (and a PTY can become
        // its controlling terminal).
        libc::setsid();
        if let Some(tty) = fds.controlling_tty {
            if libc::ioctl(tty, libc::TIOCSCTTY, 0) != 0 {
                fail(err_fd, 0);
            }
        }
        // stdout/stderr first: for a PTY all three are the same descriptor.
        for (fd, target) in [(fds.stdout, 1), (fds.stderr, 2), (fds.stdin, 0)] {
            if !install(fd, target) {
                fail(err_fd, 1);
            }
        }
        if switch_user {
            let ok = libc::syscall(libc::SYS_setgroups, spec.groups.len(), spec.groups.as_ptr())
                == 0
                && libc::syscall(libc::SYS_setresgid, spec.gid, spec.gid, spec.gid) == 0
                && libc::syscall(libc::SYS_setresuid, spec.uid, spec.uid, spec.uid) == 0;
            if !ok {
                fail(err_fd, 2);
            }
        }
        if libc::chdir(spec.cwd.as_ptr()) != 0 {
            fail(err_fd, 3);
        }
        libc::execve(spec.program.as_ptr(), argv.as_ptr(), envp.as_ptr());
        fail(err_fd, 4)
    }
}
