//! Directory watches on inotify (docs/envd.md, "Watches"): WatchDir streams, and polling watchers
//! (CreateWatcher / GetWatcherEvents / RemoveWatcher) that buffer events server-side.

use std::collections::HashMap;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use envd_protocol::filesystem::{EventType, FilesystemEvent};
use envd_protocol::{Code, ConnectError};
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;

use super::entry::entry_info;
use super::io_error;
use crate::envd::creds;
use crate::envd::files::is_staging_name;
use crate::envd::users::{Accounts, User};

const WATCH_MASK: u32 = libc::IN_CREATE
    | libc::IN_MOVED_TO
    | libc::IN_MOVED_FROM
    | libc::IN_MOVE_SELF
    | libc::IN_ATTRIB
    | libc::IN_MODIFY
    | libc::IN_DELETE
    | libc::IN_DELETE_SELF;

/// Filesystem types whose changes inotify may never see (NFS, SMB/CIFS, FUSE).
const NETWORK_FS_MAGIC: [i64; 5] = [0x6969, 0x517B, 0xFF53_4D42, 0xFE53_4D42, 0x6573_5546];

/// An armed inotify watch of a directory (and, recursively, its subdirectories).
pub struct Watch {
    fd: Arc<AsyncFd<OwnedFd>>,
    user: User,
    accounts: Arc<Accounts>,
    /// The watched directory as requested (event entries are reported under it).
    root: PathBuf,
    recursive: bool,
    include_entry: bool,
    /// Watch descriptor → directory relative to the root.
    dirs: HashMap<i32, PathBuf>,
}

/// The options of WatchDir / CreateWatcher.
pub struct WatchOptions {
    pub recursive: bool,
    pub include_entry: bool,
    pub allow_network_mounts: bool,
}

impl Watch {
    /// Checks the directory and arms the watch; runs on a thread with the user's credentials.
    pub fn new(
        user: &User,
        accounts: Arc<Accounts>,
        root: PathBuf,
        opts: &WatchOptions,
    ) -> Result<Watch, ConnectError> {
        let meta = std::fs::metadata(&root)
            .map_err(|e| io_error(format!("watching '{}'", root.display()), e))?;
        if !meta.is_dir() {
            return Err(ConnectError::new(
                Code::InvalidArgument,
                format!("path is not a directory: {}", root.display()),
            ));
        }
        if !opts.allow_network_mounts && is_network_mount(&root) {
            return Err(ConnectError::new(
                Code::InvalidArgument,
                format!(
                    "'{}' is on a network filesystem; set allowNetworkMounts to watch it anyway",
                    root.display()
                ),
            ));
        }
        // SAFETY: inotify_init1 returns a new descriptor we own.
        let raw = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if raw < 0 {
            return Err(io_error(
                "creating an inotify instance",
                io::Error::last_os_error(),
            ));
        }
        let owned = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: a descriptor we own, registered once.
        let fd = unsafe { AsyncFd::register(owned) }
            .map_err(|e| io_error("registering the watch", e.into()))?;
        let mut watch = Watch {
            fd: Arc::new(fd),
            user: user.clone(),
            accounts,
            root,
            recursive: opts.recursive,
            include_entry: opts.include_entry,
            dirs: HashMap::new(),
        };
        watch
            .add_tree(PathBuf::new())
            .map_err(|e| io_error(format!("watching '{}'", watch.root.display()), e))?;
        Ok(watch)
    }

    /// Watches `rel` (relative to the root) and, when recursive, every directory below it.
    fn add_tree(&mut self, rel: PathBuf) -> io::Result<()> {
        let dir = self.root.join(&rel);
        let c = CString::new(dir.as_os_str().as_bytes())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: valid inotify descriptor and path.
        let wd = unsafe {
            libc::inotify_add_watch(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                WATCH_MASK | libc::IN_ONLYDIR,
            )
        };
        if wd < 0 {
            return Err(io::Error::last_os_error());
        }
        self.dirs.insert(wd, rel.clone());
        if self.recursive {
            for child in std::fs::read_dir(&dir)?.flatten() {
                if child.file_type().is_ok_and(|t| t.is_dir()) {
                    // A subdirectory that vanished or is unreadable just is not watched.
                    let _ = self.add_tree(rel.join(child.file_name()));
                }
            }
        }
        Ok(())
    }

    /// The descriptor to wait on for readiness.
    pub fn fd(&self) -> Arc<AsyncFd<OwnedFd>> {
        self.fd.clone()
    }

    /// Reads every event queued right now (without blocking) and converts them.
    pub fn drain(&mut self) -> Result<Vec<FilesystemEvent>, ConnectError> {
        let user = self.user.clone();
        creds::scoped(&user, || {
            let mut events = Vec::new();
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                // SAFETY: reading into a local buffer from our non-blocking inotify descriptor.
                let n =
                    unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                if n < 0 {
                    let e = io::Error::last_os_error();
                    match e.kind() {
                        io::ErrorKind::WouldBlock => return Ok(events),
                        io::ErrorKind::Interrupted => continue,
                        _ => return Err(io_error("reading watch events", e)),
                    }
                }
                self.convert(&buf[..n as usize], &mut events)?;
            }
        })
    }

    fn convert(
        &mut self,
        mut buf: &[u8],
        out: &mut Vec<FilesystemEvent>,
    ) -> Result<(), ConnectError> {
        const HEADER: usize = std::mem::size_of::<libc::inotify_event>();
        while buf.len() >= HEADER {
            let field = |i: usize| u32::from_ne_bytes(buf[i..i + 4].try_into().unwrap_or_default());
            let (wd, mask, len) = (field(0) as i32, field(4), field(12) as usize);
            let raw_name = &buf[HEADER..(HEADER + len).min(buf.len())];
            buf = &buf[(HEADER + len).min(buf.len())..];
            let name = raw_name.split(|&b| b == 0).next().unwrap_or_default();
            if mask & libc::IN_Q_OVERFLOW != 0 {
                return Err(ConnectError::new(
                    Code::Internal,
                    "too many filesystem events: the watch queue overflowed",
                ));
            }
            if mask & libc::IN_IGNORED != 0 {
                self.dirs.remove(&wd);
                continue;
            }
            let Some(dir) = self.dirs.get(&wd).cloned() else {
                continue;
            };
            if is_staging_name(name) {
                continue;
            }
            let rel = if name.is_empty() {
                dir
            } else {
                dir.join(std::ffi::OsStr::from_bytes(name))
            };
            if self.recursive
                && mask & libc::IN_ISDIR != 0
                && mask & (libc::IN_CREATE | libc::IN_MOVED_TO) != 0
            {
                let _ = self.add_tree(rel.clone());
            }
            // Self events of subdirectories are reported by their parent already.
            if mask & (libc::IN_DELETE_SELF | libc::IN_MOVE_SELF) != 0
                && !rel.as_os_str().is_empty()
            {
                continue;
            }
            let kinds = [
                (libc::IN_CREATE | libc::IN_MOVED_TO, EventType::Create),
                (libc::IN_MOVED_FROM | libc::IN_MOVE_SELF, EventType::Rename),
                (libc::IN_ATTRIB, EventType::Chmod),
                (libc::IN_MODIFY, EventType::Write),
                (libc::IN_DELETE | libc::IN_DELETE_SELF, EventType::Remove),
            ];
            for (bits, event_type) in kinds {
                if mask & bits == 0 {
                    continue;
                }
                let wants_entry = matches!(
                    event_type,
                    EventType::Create | EventType::Write | EventType::Chmod
                );
                let entry = (self.include_entry && wants_entry)
                    .then(|| {
                        let path = self.root.join(&rel);
                        entry_info(
                            &path,
                            &path,
                            crate::envd::paths::base_name(&path),
                            &self.accounts,
                        )
                        .ok()
                    })
                    .flatten();
                out.push(FilesystemEvent {
                    name: rel.to_string_lossy().into_owned(),
                    event_type,
                    entry,
                });
            }
        }
        Ok(())
    }
}

fn is_network_mount(path: &Path) -> bool {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    let mut s: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid path and out-parameter.
    if unsafe { libc::statfs(c.as_ptr(), &mut s) } != 0 {
        return false;
    }
    NETWORK_FS_MAGIC.contains(&(s.f_type as i64))
}

/// Waits until events are queued, then takes them all.
async fn next_batch(
    watch: &tokio::sync::Mutex<Watch>,
    fd: &AsyncFd<OwnedFd>,
) -> Result<Vec<FilesystemEvent>, ConnectError> {
    let mut ready = fd
        .readable()
        .await
        .map_err(|e| io_error("waiting for watch events", e))?;
    let batch = watch.lock().await.drain();
    // The drain read until EAGAIN; readiness that arrived since is kept by tokio.
    ready.clear_ready();
    batch
}

/// Streams the events of a watch for WatchDir; the task ends when the receiver is dropped
/// (the watch is released with it) or after delivering the watch's error.
pub fn spawn_stream(watch: Watch) -> mpsc::Receiver<Result<FilesystemEvent, ConnectError>> {
    let (tx, rx) = mpsc::channel(64);
    let fd = watch.fd();
    let watch = tokio::sync::Mutex::new(watch);
    tokio::spawn(async move {
        loop {
            let batch = tokio::select! {
                batch = next_batch(&watch, &fd) => batch,
                () = tx.closed() => return,
            };
            match batch {
                Ok(events) => {
                    for event in events {
                        if tx.send(Ok(event)).await.is_err() {
                            return;
                        }
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            }
        }
    });
    rx
}

/// A polling watcher: events accumulate until GetWatcherEvents takes them.
struct PollingWatcher {
    watch: Arc<tokio::sync::Mutex<Watch>>,
    buffer: Arc<Mutex<Result<Vec<FilesystemEvent>, ConnectError>>>,
    task: tokio::task::JoinHandle<()>,
}

/// The polling watchers by ID.
#[derive(Default)]
pub struct Watchers {
    by_id: Mutex<HashMap<String, PollingWatcher>>,
}

fn new_watcher_id() -> String {
    format!("w{}", crate::random::name(20))
}

impl Watchers {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, PollingWatcher>> {
        self.by_id.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn add(&self, watch: Watch) -> String {
        let watch = Arc::new(tokio::sync::Mutex::new(watch));
        let buffer = Arc::new(Mutex::new(Ok(Vec::new())));
        let task = tokio::spawn({
            let (watch, buffer) = (watch.clone(), buffer.clone());
            async move {
                let fd = watch.lock().await.fd();
                loop {
                    let batch = next_batch(&watch, &fd).await;
                    let mut buffer = buffer.lock().unwrap_or_else(|e| e.into_inner());
                    match (batch, &mut *buffer) {
                        (Ok(events), Ok(pending)) => pending.extend(events),
                        (Ok(_), Err(_)) => return,
                        (Err(e), slot) => {
                            *slot = Err(e);
                            return;
                        }
                    }
                }
            }
        });
        let id = new_watcher_id();
        self.map().insert(
            id.clone(),
            PollingWatcher {
                watch,
                buffer,
                task,
            },
        );
        id
    }

    /// Everything observed since the last call, including operations that completed just
    /// before it (the inotify queue is drained first). A failed watcher returns its error.
    pub async fn take(&self, id: &str) -> Result<Vec<FilesystemEvent>, ConnectError> {
        let (watch, buffer) = {
            let map = self.map();
            let w = map.get(id).ok_or_else(|| unknown_watcher(id))?;
            (w.watch.clone(), w.buffer.clone())
        };
        let fresh = watch.lock().await.drain();
        let mut buffer = buffer.lock().unwrap_or_else(|e| e.into_inner());
        match (&mut *buffer, fresh) {
            (Ok(pending), Ok(events)) => {
                pending.extend(events);
                Ok(std::mem::take(pending))
            }
            (Err(e), _) => Err(e.clone()),
            (slot, Err(e)) => {
                *slot = Err(e.clone());
                Err(e)
            }
        }
    }

    pub fn remove(&self, id: &str) -> Result<(), ConnectError> {
        let w = self.map().remove(id).ok_or_else(|| unknown_watcher(id))?;
        w.task.abort();
        Ok(())
    }
}

fn unknown_watcher(id: &str) -> ConnectError {
    ConnectError::new(Code::NotFound, format!("watcher with id '{id}' not found"))
}
