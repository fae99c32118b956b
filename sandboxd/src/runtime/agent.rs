//! The per-sandbox namespace agent: one host thread that lives in the sandbox's network
//! namespace for the sandbox's whole life.
//!
//! - It creates the network namespace (and a PID namespace for its children) by unsharing
//!   itself, so no named netns or bind mount exists that a crash could leak.
//! - Sockets it creates belong to that namespace forever, whatever thread uses them later: that
//!   is how sandboxd connects to `127.0.0.1:<port>` inside the sandbox and configures its links.
//! - It spawns the sandbox's first process, which therefore is PID 1 of the new PID namespace,
//!   with `PR_SET_PDEATHSIG` tied to this thread: if sandboxd dies, so does every sandbox (the
//!   startup cleanup then only has cgroups, rules and layers to remove).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::{Child, Command};
use std::sync::mpsc;
use std::thread::JoinHandle;

use anyhow::Context;
use nix::sched::{CloneFlags, unshare};
use tokio::sync::oneshot;

use super::network;

enum Request {
    TcpSocket(oneshot::Sender<io::Result<OwnedFd>>),
    InetSocket(oneshot::Sender<io::Result<OwnedFd>>),
    Listener(u16, oneshot::Sender<io::Result<OwnedFd>>),
    Spawn(Box<Command>, oneshot::Sender<io::Result<Child>>),
}

pub(crate) struct NetnsAgent {
    tid: i32,
    requests: mpsc::Sender<Request>,
    thread: JoinHandle<()>,
}

impl NetnsAgent {
    /// Starts the thread with a fresh network namespace whose loopback is up.
    pub fn start() -> anyhow::Result<NetnsAgent> {
        let (ready_tx, ready_rx) = mpsc::channel();
        let (requests, inbox) = mpsc::channel::<Request>();
        let thread = std::thread::Builder::new()
            .name("sandbox-netns".into())
            .spawn(move || {
                let setup = (|| -> anyhow::Result<i32> {
                    unshare(CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWPID)
                        .context("unsharing network and pid namespaces")?;
                    network::set_up(&network::inet_socket(libc::SOCK_DGRAM)?, "lo")?;
                    network::configure_sandbox_namespace()?;
                    Ok(nix::unistd::gettid().as_raw())
                })();
                let ok = setup.is_ok();
                let _ = ready_tx.send(setup);
                if ok {
                    serve(inbox);
                }
            })
            .context("starting a sandbox namespace thread")?;
        let tid = ready_rx.recv().context("sandbox namespace thread died")??;
        Ok(NetnsAgent {
            tid,
            requests,
            thread,
        })
    }

    /// Thread id of the agent, usable as a PID where iproute2 wants a namespace.
    pub fn tid(&self) -> i32 {
        self.tid
    }

    /// Asks for a non-blocking TCP socket in the sandbox's network namespace; the reply comes
    /// on the returned channel (so callers can await it without borrowing the agent).
    pub fn request_tcp_socket(&self) -> io::Result<oneshot::Receiver<io::Result<OwnedFd>>> {
        let (tx, rx) = oneshot::channel();
        self.send(Request::TcpSocket(tx))?;
        Ok(rx)
    }

    /// An AF_INET datagram socket in the sandbox's network namespace (for interface ioctls).
    /// Blocking: call it outside async tasks.
    pub fn inet_socket_blocking(&self) -> io::Result<OwnedFd> {
        let (tx, rx) = oneshot::channel();
        self.send(Request::InetSocket(tx))?;
        rx.blocking_recv().map_err(|_| gone())?
    }

    /// A TCP socket listening on `0.0.0.0:<port>` in the sandbox's network namespace, to hand to
    /// envd: connections queue from the start, so nobody has to poll for envd to come up.
    /// Blocking: call it outside async tasks.
    pub fn listener_blocking(&self, port: u16) -> io::Result<OwnedFd> {
        let (tx, rx) = oneshot::channel();
        self.send(Request::Listener(port, tx))?;
        rx.blocking_recv().map_err(|_| gone())?
    }

    /// Spawns `command` from the agent thread: in the new PID namespace (as its PID 1) and the
    /// sandbox's network namespace. Blocking: call it outside async tasks.
    pub fn spawn_blocking(&self, command: Command) -> io::Result<Child> {
        let (tx, rx) = oneshot::channel();
        self.send(Request::Spawn(Box::new(command), tx))?;
        rx.blocking_recv().map_err(|_| gone())?
    }

    /// Ends the thread. The network namespace goes away once nothing else uses it, and any
    /// child still alive gets its parent-death signal.
    pub fn shutdown(self) {
        drop(self.requests);
        let _ = self.thread.join();
    }

    fn send(&self, request: Request) -> io::Result<()> {
        self.requests.send(request).map_err(|_| gone())
    }
}

fn serve(inbox: mpsc::Receiver<Request>) {
    while let Ok(request) = inbox.recv() {
        match request {
            Request::TcpSocket(reply) => {
                let _ = reply.send(network::inet_socket(
                    libc::SOCK_STREAM | libc::SOCK_NONBLOCK,
                ));
            }
            Request::InetSocket(reply) => {
                let _ = reply.send(network::inet_socket(libc::SOCK_DGRAM));
            }
            Request::Listener(port, reply) => {
                let _ = reply.send(listener(port));
            }
            Request::Spawn(mut command, reply) => {
                let _ = reply.send(command.spawn());
            }
        }
    }
}

fn listener(port: u16) -> io::Result<OwnedFd> {
    let socket = network::inet_socket(libc::SOCK_STREAM)?;
    let addr = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(std::net::Ipv4Addr::UNSPECIFIED).to_be(),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: bind/listen on our socket with a valid sockaddr_in of the given length.
    let ok = unsafe {
        libc::bind(socket.as_raw_fd(), (&raw const addr).cast(), len) == 0
            && libc::listen(socket.as_raw_fd(), 1024) == 0
    };
    if !ok {
        return Err(io::Error::last_os_error());
    }
    Ok(socket)
}

/// The error for requests to a sandbox that has been stopped.
pub(crate) fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the sandbox has been stopped")
}
