//! Each sandbox's own range of host user and group ids, and the user namespace that maps it.
//!
//! uid 0 inside a sandbox must not be uid 0 on the host. Every sandbox gets 65,536 host ids of
//! its own (inside `0..=65535` is host `base..=base+65535`, for users and groups alike): files it
//! creates carry those host ids (a setuid-root binary it makes is setuid to `base`, nobody on
//! the host), and per-user kernel limits (inotify instances and watches, keyrings, `RLIMIT_NPROC`)
//! count against them. The namespace is created by a process running as `base`, so the limits
//! the kernel charges to a namespace's creator are charged to the sandbox too, never to the
//! host's root.
//!
//! Ranges: slot `n` (0 ≤ n < 16,384) is host ids `2^30 + n·65536`, above every account a host
//! normally has (system and login accounts below 65,536; `/etc/subuid` ranges start at 100,000
//! and stay far below 2^30 by default). A slot that holds an id named in the host's
//! `/etc/passwd` or `/etc/group` is never used. A slot is claimed machine-wide by the file
//! `/run/sandboxd/idmap/<slot>` (created exclusively; it names the layer that holds it), recorded
//! in the layer itself (`idmap`), so a kept layer boots again with the ids its files carry, and
//! released when the layer is deleted. A claim whose layer no longer exists (a data dir deleted
//! while its sandboxd was down) is taken over.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::layout::{HOST_LOCK_DIR, LayerPaths};

/// Ids per sandbox: inside, 0 to 65535.
pub(crate) const RANGE_SIZE: u32 = 65536;
const FIRST_ID: u32 = 1 << 30;
const SLOTS: u32 = (1 << 30) / RANGE_SIZE;

/// A sandbox's host ids: inside id `n` is host id `base + n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IdRange {
    pub base: u32,
}

impl IdRange {
    fn slot(self) -> u32 {
        (self.base - FIRST_ID) / RANGE_SIZE
    }

    fn of_slot(slot: u32) -> IdRange {
        IdRange {
            base: FIRST_ID + slot * RANGE_SIZE,
        }
    }

    /// The host id of inside id `id`.
    pub fn host(self, id: u32) -> u32 {
        self.base + id
    }
}

fn claims_dir() -> PathBuf {
    Path::new(HOST_LOCK_DIR).join("idmap")
}

fn claim_file(range: IdRange) -> PathBuf {
    claims_dir().join(range.slot().to_string())
}

/// The ids of `layer`: those recorded in it when they are still its own, else a newly claimed
/// range (its files are then moved to the new ids). The layer's writable roots are owned by the
/// range's root, so that they show as root's inside.
pub(crate) fn claim(layer: &LayerPaths) -> anyhow::Result<IdRange> {
    crate::host_files::create_private_dir_all(&claims_dir())?;
    let recorded = fs::read_to_string(layer.idmap())
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .filter(|b| (FIRST_ID..FIRST_ID + SLOTS * RANGE_SIZE).contains(b) && b % RANGE_SIZE == 0)
        .map(|base| IdRange { base });
    let range = match recorded {
        Some(range) if holder(range).as_deref() == Some(layer.dir.as_path()) => range,
        Some(range) if try_claim(range, layer)? => range,
        previous => {
            let range = claim_free(layer)?;
            // Files of a layer made under other ids (another slot, or none before user
            // namespaces) move to this range, keeping their owner inside.
            let from = previous.map_or(0, |r| r.base);
            for dir in layer.writable_dirs() {
                shift_ownership(&dir, from, range.base)?;
            }
            range
        }
    };
    crate::host_files::write_private_atomic(&layer.idmap(), range.base.to_string().as_bytes())?;
    for dir in layer.writable_dirs() {
        std::os::unix::fs::lchown(&dir, Some(range.base), Some(range.base))?;
    }
    Ok(range)
}

/// Frees the range `layer` holds (call it when the layer is deleted).
pub(crate) fn release(layer_dir: &Path) {
    let Some(base) = fs::read_to_string(layer_dir.join(IDMAP_FILE))
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .filter(|b| *b >= FIRST_ID)
    else {
        return;
    };
    let range = IdRange { base };
    if holder(range).as_deref() == Some(layer_dir) {
        let _ = fs::remove_file(claim_file(range));
    }
}

/// Name of the file in a layer that records its range.
pub(crate) const IDMAP_FILE: &str = "idmap";

fn holder(range: IdRange) -> Option<PathBuf> {
    fs::read_to_string(claim_file(range))
        .ok()
        .map(PathBuf::from)
}

/// Claims `range` for `layer` if nobody holds it, or its holder's layer is gone.
fn try_claim(range: IdRange, layer: &LayerPaths) -> anyhow::Result<bool> {
    if host_accounts_in(range) {
        return Ok(false);
    }
    let path = claim_file(range);
    let created = OpenOptions::new().write(true).create_new(true).open(&path);
    let mut file = match created {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            match holder(range) {
                Some(held) if held.exists() || held.as_os_str().is_empty() => return Ok(false),
                _ => {}
            }
            // A stale claim: replace it atomically.
            let tmp = claims_dir().join(format!(".{}-{}", range.slot(), std::process::id()));
            fs::write(&tmp, layer.dir.as_os_str().as_encoded_bytes())?;
            fs::rename(&tmp, &path)?;
            return Ok(true);
        }
        Err(e) => return Err(e).with_context(|| format!("claiming {}", path.display())),
    };
    file.write_all(layer.dir.as_os_str().as_encoded_bytes())?;
    Ok(true)
}

fn claim_free(layer: &LayerPaths) -> anyhow::Result<IdRange> {
    let mut start = [0u8; 4];
    crate::random::fill(&mut start);
    let start = u32::from_le_bytes(start) % SLOTS;
    for i in 0..SLOTS {
        let range = IdRange::of_slot((start + i) % SLOTS);
        if try_claim(range, layer)? {
            return Ok(range);
        }
    }
    bail!("every host id range for sandboxes is in use ({SLOTS} sandboxes)")
}

/// Whether the host's account databases name an id inside `range`.
fn host_accounts_in(range: IdRange) -> bool {
    let ids = |path: &str| -> Vec<u32> {
        fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split(':').nth(2)?.parse().ok())
            .collect()
    };
    let end = range.base + (RANGE_SIZE - 1);
    ids("/etc/passwd")
        .into_iter()
        .chain(ids("/etc/group"))
        .any(|id| (range.base..=end).contains(&id))
}

/// Moves every owner and group under `dir` (not following links) from ids `from..` to the same
/// offsets from `to`; ids outside `from`'s range are treated as offsets from 0.
fn shift_ownership(dir: &Path, from: u32, to: u32) -> anyhow::Result<()> {
    let shift = |id: u32| {
        let offset = if id >= from && id - from < RANGE_SIZE {
            id - from
        } else if id < RANGE_SIZE {
            id
        } else {
            // An id no range maps: it shows as nobody inside, as it did before.
            return id;
        };
        to + offset
    };
    let meta = fs::symlink_metadata(dir)?;
    std::os::unix::fs::lchown(dir, Some(shift(meta.uid())), Some(shift(meta.gid())))?;
    if meta.is_dir() {
        for entry in fs::read_dir(dir)? {
            shift_ownership(&entry?.path(), from, to)?;
        }
    }
    Ok(())
}

/// A user namespace mapping inside ids `0..65536` to `range`, created by a process running as
/// `range.base` (so that it owns the namespace), kept alive by the returned descriptor.
pub(crate) fn user_namespace(range: IdRange) -> anyhow::Result<OwnedFd> {
    let cloexec = nix::fcntl::OFlag::O_CLOEXEC;
    let (ready_r, ready_w) = nix::unistd::pipe2(cloexec)?;
    let (go_r, go_w) = nix::unistd::pipe2(cloexec)?;
    let (ready_w_fd, go_r_fd) = (ready_w.as_raw_fd(), go_r.as_raw_fd());
    let (ready_r_fd, go_w_fd) = (ready_r.as_raw_fd(), go_w.as_raw_fd());
    // SAFETY: the child makes only raw system calls (async-signal-safe) and `_exit`s.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error()).context("forking");
    }
    if pid == 0 {
        // SAFETY: raw system calls on ids and our own pipe descriptors; no allocation.
        unsafe {
            // The parent's ends: the child must see end-of-file when the parent closes its own.
            libc::close(ready_r_fd);
            libc::close(go_w_fd);
            let id = range.base as libc::c_long;
            let ok = libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) == 0
                && libc::syscall(libc::SYS_setresgid, id, id, id) == 0
                && libc::syscall(libc::SYS_setresuid, id, id, id) == 0
                && libc::unshare(libc::CLONE_NEWUSER) == 0;
            let status = [u8::from(ok)];
            libc::write(ready_w_fd, status.as_ptr().cast(), 1);
            // Waits for the parent's byte (or end-of-file if the parent dies).
            let mut buf = [0u8; 1];
            libc::read(go_r_fd, buf.as_mut_ptr().cast(), 1);
            libc::_exit(0);
        }
    }
    drop((ready_w, go_r));
    let result = (|| {
        let mut status = [0u8; 1];
        let n = nix::unistd::read(&ready_r, &mut status)?;
        if n != 1 || status[0] != 1 {
            bail!("the user namespace helper could not drop to its ids or unshare");
        }
        let map = format!("0 {} {RANGE_SIZE}\n", range.base);
        fs::write(format!("/proc/{pid}/uid_map"), &map).context("writing uid_map")?;
        fs::write(format!("/proc/{pid}/gid_map"), &map).context("writing gid_map")?;
        let ns = fs::File::open(format!("/proc/{pid}/ns/user"))?;
        Ok(OwnedFd::from(ns))
    })();
    // "Go" is a byte, not end-of-file: a helper that another thread forks meanwhile holds
    // copies of these pipes until it exits (it never execs, so close-on-exec does not apply),
    // and end-of-file would wait for it while it waits for its own parent: two concurrent
    // starts hung each other that way.
    if nix::unistd::write(&go_w, b"g").is_err() {
        // SAFETY: signalling our own, not yet reaped child.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    drop(go_w);
    let mut wstatus = 0;
    // SAFETY: reaping our own child.
    unsafe { libc::waitpid(pid, &mut wstatus, 0) };
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_cover_disjoint_ranges_above_host_accounts() {
        assert_eq!(IdRange::of_slot(0).base, 1 << 30);
        assert_eq!(
            IdRange::of_slot(1).base - IdRange::of_slot(0).base,
            RANGE_SIZE
        );
        let last = IdRange::of_slot(SLOTS - 1);
        assert!(last.base.checked_add(RANGE_SIZE - 1).unwrap() < 1 << 31);
        assert_eq!(IdRange::of_slot(77).slot(), 77);
        assert_eq!(
            IdRange::of_slot(3).host(1000),
            (1 << 30) + 3 * RANGE_SIZE + 1000
        );
    }
}
