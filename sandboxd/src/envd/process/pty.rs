//! Async reads and writes on a pseudo-terminal master, and resizing.
//!
//! A keystroke's echo wakes envd's only thread (docs/envd.md, "Threads and small files"), so
//! the master costs as few wake-ups and system calls per echo as it can (docs/envd.md,
//! "Terminal echo"): it is watched for readability only, and a read that returns less than
//! asked for is taken to have emptied it.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

pub struct PtyMaster {
    fd: AsyncFd<OwnedFd>,
}

/// One `read(2)` or `write(2)` on `fd`, as an `io::Result`.
fn transfer(n: isize) -> io::Result<usize> {
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

fn write_once(fd: RawFd, data: &[u8]) -> io::Result<usize> {
    // SAFETY: writing from a valid buffer to a descriptor we own.
    transfer(unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) })
}

impl PtyMaster {
    pub fn new(fd: OwnedFd) -> io::Result<PtyMaster> {
        // SAFETY: fcntl on a descriptor we own.
        let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
        if flags < 0
            || unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0
        {
            return Err(io::Error::last_os_error());
        }
        // Readable only: watched for writability too, the master signals "room to write" each
        // time the terminal consumes input, waking envd once or twice more per keystroke for
        // nothing. Writes wait for room on their own registration (`write_all`).
        // SAFETY: we own the descriptor and register it with the reactor exactly once.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }?;
        Ok(PtyMaster { fd })
    }

    /// Reads terminal output; `Ok(0)` once the terminal is gone (EIO after the last slave
    /// descriptor closed).
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.fd.readable().await?;
            // SAFETY: reading into a valid buffer from a descriptor we own.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            match transfer(n) {
                Ok(n) => {
                    // The terminal hands over everything it holds up to `buf.len()`, so a
                    // short read emptied it: wait for the next edge rather than read again for
                    // EAGAIN (what tokio does for its own sockets and pipes). Output that
                    // arrives after the read raises a new edge, so nothing is missed.
                    if n < buf.len() {
                        guard.clear_ready();
                    }
                    return Ok(n);
                }
                Err(e) if e.raw_os_error() == Some(libc::EIO) => return Ok(0),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => guard.clear_ready(),
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes all of `data`. The terminal's input queue is almost always empty, so this is one
    /// `write(2)`; when it is full (the program does not read its input), the write waits for
    /// room on a duplicate of the master registered for writability for that wait only.
    pub async fn write_all(&self, mut data: &[u8]) -> io::Result<()> {
        let mut room: Option<AsyncFd<OwnedFd>> = None;
        while !data.is_empty() {
            match write_once(self.fd.as_raw_fd(), data) {
                Ok(n) => data = &data[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let room = match &mut room {
                        Some(room) => room,
                        // SAFETY: a duplicate we own, registered once and dropped with `room`.
                        None => room.insert(unsafe {
                            AsyncFd::register_with_interest(
                                self.fd.get_ref().try_clone()?,
                                Interest::WRITABLE,
                            )
                        }?),
                    };
                    // Cleared before the retry: room made after this raises a new edge.
                    room.writable().await?.clear_ready();
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Sets the terminal size; the kernel sends SIGWINCH to the foreground process group.
    pub fn resize(&self, cols: u16, rows: u16) -> io::Result<()> {
        let size = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ with a valid winsize on a terminal we own.
        if unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::TIOCSWINSZ, &size) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}
