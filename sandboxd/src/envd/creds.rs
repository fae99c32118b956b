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
