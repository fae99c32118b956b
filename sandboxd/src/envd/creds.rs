//! Running filesystem work as a user: a blocking thread takes the user's filesystem uid/gid and
//! supplementary groups (per-thread on Linux: `setfsuid`, `setfsgid` and the raw `setgroups`
//! syscall, which unlike glibc's wrapper does not apply to every thread), so the kernel checks
//! permissions and new files are owned by the user because the user creates them.

use std::sync::OnceLock;

use envd_protocol::{Code, ConnectError};

use super::users::User;

/// envd's own groups, restored after each switch.
fn own_groups() -> &'static [libc::gid_t] {
    static GROUPS: OnceLock<Vec<libc::gid_t>> = OnceLock::new();
    GROUPS.get_or_init(|| {
        // SAFETY: getgroups with a null buffer returns the count; then fills a buffer that size.
        let n = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
        let mut groups = vec![0; n.max(0) as usize];
        let n = unsafe { libc::getgroups(groups.len() as libc::c_int, groups.as_mut_ptr()) };
        groups.truncate(n.max(0) as usize);
        groups
    })
}

/// The parent-death signal envd started with (`PR_SET_PDEATHSIG`, e.g. from `unshare
/// --kill-child`). The kernel clears it on a thread whose filesystem ids change, so each switch
/// back re-arms it: without that, the first switch on the runtime's thread (the only thread it
/// has) would let envd outlive the parent meant to take it down.
static PARENT_DEATH_SIGNAL: OnceLock<libc::c_int> = OnceLock::new();

/// Reads the parent-death signal; call on the main thread before any switch (new threads start
/// without one).
pub fn remember_parent_death_signal() {
    PARENT_DEATH_SIGNAL.get_or_init(|| {
        let mut signal: libc::c_int = 0;
        // SAFETY: PR_GET_PDEATHSIG writes one int through the pointer.
        unsafe { libc::prctl(libc::PR_GET_PDEATHSIG, &mut signal as *mut libc::c_int) };
        signal
    });
}

fn set_thread_groups(groups: &[libc::gid_t]) -> bool {
    // SAFETY: raw syscall on this thread only with a valid buffer of `len` gids.
    unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) == 0 }
}

/// Holds a thread's filesystem credentials as `user`'s until dropped.
struct ThreadCreds {
    switched: bool,
}

impl ThreadCreds {
    fn assume(user: &User) -> Result<ThreadCreds, ConnectError> {
        // SAFETY: plain syscalls; a non-root envd cannot switch and acts as itself.
        let euid = unsafe { libc::geteuid() };
        if euid != 0 || user.uid == 0 && user.gid == 0 {
            return Ok(ThreadCreds { switched: false });
        }
        own_groups();
        let guard = ThreadCreds { switched: true };
        let ok = set_thread_groups(&user.groups)
            && unsafe {
                libc::setfsgid(user.gid);
                libc::setfsuid(user.uid);
                // Both calls return the previous id; a second call reports whether the switch held.
                libc::setfsgid(u32::MAX) as u32 == user.gid
                    && libc::setfsuid(u32::MAX) as u32 == user.uid
            };
        if !ok {
            return Err(ConnectError::new(
                Code::Internal,
                format!("cannot act as user '{}'", user.name),
            ));
        }
        Ok(guard)
    }
}

impl Drop for ThreadCreds {
    fn drop(&mut self) {
        if self.switched {
            // SAFETY: restores root's filesystem ids (and with them the fs capabilities).
            unsafe {
                libc::setfsuid(0);
                libc::setfsgid(0);
            }
            set_thread_groups(own_groups());
            if let Some(&signal @ 1..) = PARENT_DEATH_SIGNAL.get() {
                // SAFETY: sets this thread's parent-death signal to a valid signal number.
                unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong) };
            }
        }
    }
}

/// Runs `f` on the current thread with `user`'s filesystem credentials. For short synchronous
/// work on an async worker (nothing can be awaited inside, so no other task sees the switch).
pub fn scoped<T>(
    user: &User,
    f: impl FnOnce() -> Result<T, ConnectError>,
) -> Result<T, ConnectError> {
    let _creds = ThreadCreds::assume(user)?;
    f()
}

/// Runs `f` on a blocking thread with `user`'s filesystem credentials.
pub async fn as_user<T: Send + 'static>(
    user: &User,
    f: impl FnOnce() -> Result<T, ConnectError> + Send + 'static,
) -> Result<T, ConnectError> {
    let user = user.clone();
    tokio::task::spawn_blocking(move || {
        let _creds = ThreadCreds::assume(&user)?;
        f()
    })
    .await
    .unwrap_or_else(|e| {
        Err(ConnectError::new(
            Code::Internal,
            format!("filesystem task failed: {e}"),
        ))
    })
}
