//! Turns a build sandbox's writable layer into a read-only template layer: a copy of its upper
//! dir whose owners are moved from the sandbox's host id range back to plain ids (the way the
//! `base` root is owned), so that the layer, mounted idmapped like `base` under any later
//! sandbox, shows the same owners inside as the build sandbox saw.
//!
//! What overlayfs needs of a lower layer is kept: whiteouts (0/0 character devices), opaque
//! directories and directory redirects (`trusted.overlay.opaque`/`redirect`), modes with their
//! set-id bits, every other extended attribute (file capabilities included, set after the
//! owner change that would clear them) and times. overlayfs's bookkeeping of the upper dir
//! itself (`origin`, `impure`, `nlink`, ...) names the build sandbox's filesystems and is
//! dropped. Hard links become separate copies.

use std::ffi::{CString, OsStr};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt, lchown, symlink};
use std::path::Path;

use anyhow::Context;

use super::idmap::RANGE_SIZE;

/// Sandbox id for files owned by ids no range maps.
const NOBODY: u32 = 65534;
/// overlayfs attributes a lower layer still means something with.
const KEPT_OVERLAY_XATTRS: &[&str] = &["trusted.overlay.opaque", "trusted.overlay.redirect"];

/// Copies the upper dir `upper` of a sandbox whose ids start at `ids_base` to `dest` (which must
/// not exist).
pub(crate) fn capture(upper: &Path, dest: &Path, ids_base: u32) -> anyhow::Result<()> {
    copy_entry(upper, dest, ids_base)
        .with_context(|| format!("copying {} to {}", upper.display(), dest.display()))
}

fn copy_entry(from: &Path, to: &Path, ids_base: u32) -> anyhow::Result<()> {
    let meta = fs::symlink_metadata(from)?;
    let kind = meta.file_type();
    if kind.is_dir() {
        fs::create_dir(to)?;
        for entry in fs::read_dir(from)? {
            let entry = entry?;
            copy_entry(&entry.path(), &to.join(entry.file_name()), ids_base)?;
        }
    } else if kind.is_symlink() {
        symlink(fs::read_link(from)?, to)?;
    } else if kind.is_file() {
        fs::copy(from, to)?;
    } else if kind.is_block_device() || (kind.is_char_device() && meta.rdev() != 0) {
        // A sandbox cannot make device nodes; overlayfs makes only 0/0 whiteouts. Anything
        // else must not become a device in the layers other sandboxes mount.
        anyhow::bail!("{} is a device node", from.display());
    } else {
        // Whiteouts, FIFOs, sockets.
        nix::sys::stat::mknod(
            to,
            nix::sys::stat::SFlag::from_bits_truncate(meta.mode() & libc::S_IFMT),
            nix::sys::stat::Mode::from_bits_truncate(meta.mode() & 0o7777),
            meta.rdev(),
        )?;
    }
    let unshift = |id: u32| match id.checked_sub(ids_base) {
        Some(inside) if inside < RANGE_SIZE => inside,
        // overlayfs's own entries (whiteouts) are the host root's, as in `base`.
        _ if id == 0 => 0,
        _ => NOBODY,
    };
    lchown(to, Some(unshift(meta.uid())), Some(unshift(meta.gid())))?;
    if !kind.is_symlink() {
        // After the chown, which clears set-id bits.
        fs::set_permissions(to, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    }
    copy_xattrs(from, to)?;
    set_times(to, &meta)
}

fn copy_xattrs(from: &Path, to: &Path) -> anyhow::Result<()> {
    let (from_c, to_c) = (c_path(from)?, c_path(to)?);
    for name in xattr_names(&from_c)? {
        let text = String::from_utf8_lossy(name.as_bytes());
        if text.starts_with("trusted.overlay.") && !KEPT_OVERLAY_XATTRS.contains(&text.as_ref()) {
            continue;
        }
        let value = xattr_value(&from_c, &name)?;
        // SAFETY: valid C strings and a buffer of the given length.
        let set = unsafe {
            libc::lsetxattr(
                to_c.as_ptr(),
                name.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        };
        if set != 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("setting {text} on {}", to.display()));
        }
    }
    Ok(())
}

fn xattr_names(path: &CString) -> std::io::Result<Vec<CString>> {
    let list = read_sized(|buf, len| {
        // SAFETY: a valid C string and a buffer of `len` bytes (or null with 0).
        unsafe { libc::llistxattr(path.as_ptr(), buf.cast(), len) }
    })?;
    Ok(list
        .split(|&b| b == 0)
        .filter(|n| !n.is_empty())
        .map(|n| CString::new(n).expect("split at NUL"))
        .collect())
}

fn xattr_value(path: &CString, name: &CString) -> std::io::Result<Vec<u8>> {
    read_sized(|buf, len| {
        // SAFETY: valid C strings and a buffer of `len` bytes (or null with 0).
        unsafe { libc::lgetxattr(path.as_ptr(), name.as_ptr(), buf.cast(), len) }
    })
}

/// Calls a size-probing read (`f(null, 0)` gives the size) until the value fits.
fn read_sized(f: impl Fn(*mut u8, usize) -> isize) -> std::io::Result<Vec<u8>> {
    loop {
        let size = f(std::ptr::null_mut(), 0);
        if size < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut buf = vec![0u8; size as usize];
        let got = f(buf.as_mut_ptr(), buf.len());
        if got >= 0 {
            buf.truncate(got as usize);
            return Ok(buf);
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ERANGE) {
            return Err(err);
        }
    }
}

fn set_times(path: &Path, meta: &fs::Metadata) -> anyhow::Result<()> {
    let times = [
        libc::timespec {
            tv_sec: meta.atime(),
            tv_nsec: meta.atime_nsec(),
        },
        libc::timespec {
            tv_sec: meta.mtime(),
            tv_nsec: meta.mtime_nsec(),
        },
    ];
    let path_c = c_path(path)?;
    // SAFETY: a valid C string and two timespecs.
    let set = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            path_c.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if set != 0 {
        return Err(std::io::Error::last_os_error()).context("setting times");
    }
    Ok(())
}

fn c_path(path: &Path) -> anyhow::Result<CString> {
    Ok(CString::new(OsStr::as_bytes(path.as_os_str()))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_move_back_and_overlay_markers_stay() {
        let dir = std::env::temp_dir().join(format!("sbx-capture-{}", crate::random::name(8)));
        let (upper, dest) = (dir.join("upper"), dir.join("layer"));
        fs::create_dir_all(upper.join("opaque")).unwrap();
        let base = 1 << 30;
        fs::write(upper.join("tool"), "x").unwrap();
        lchown(upper.join("tool"), Some(base + 1000), Some(base + 1000)).unwrap();
        fs::set_permissions(upper.join("tool"), fs::Permissions::from_mode(0o4755)).unwrap();
        let opaque = c_path(&upper.join("opaque")).unwrap();
        // SAFETY: valid C strings and value.
        let set = unsafe {
            libc::lsetxattr(
                opaque.as_ptr(),
                c"trusted.overlay.opaque".as_ptr(),
                b"y".as_ptr().cast(),
                1,
                0,
            )
        };
        assert_eq!(set, 0);
        nix::sys::stat::mknod(
            &upper.join("gone"),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::empty(),
            0,
        )
        .unwrap();
        symlink("/etc/passwd", upper.join("link")).unwrap();
        lchown(upper.join("link"), Some(base), Some(base)).unwrap();
        lchown(&upper, Some(base), Some(base)).unwrap();

        capture(&upper, &dest, base).unwrap();
        let tool = fs::metadata(dest.join("tool")).unwrap();
        assert_eq!(
            (tool.uid(), tool.gid(), tool.mode() & 0o7777),
            (1000, 1000, 0o4755)
        );
        let gone = fs::symlink_metadata(dest.join("gone")).unwrap();
        assert!(std::os::unix::fs::FileTypeExt::is_char_device(
            &gone.file_type()
        ));
        assert_eq!(gone.rdev(), 0);
        let link = fs::symlink_metadata(dest.join("link")).unwrap();
        assert_eq!(
            (link.uid(), fs::read_link(dest.join("link")).unwrap()),
            (0, "/etc/passwd".into())
        );
        let names = xattr_names(&c_path(&dest.join("opaque")).unwrap()).unwrap();
        assert_eq!(names, [CString::from(c"trusted.overlay.opaque")]);
        assert_eq!(fs::metadata(&dest).unwrap().uid(), 0);
        // A device node other than a whiteout is refused.
        nix::sys::stat::mknod(
            &upper.join("null"),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::empty(),
            nix::sys::stat::makedev(1, 3),
        )
        .unwrap();
        let refused = capture(&upper, &dir.join("second"), base).unwrap_err();
        assert!(
            format!("{refused:#}").contains("is a device node"),
            "{refused:#}"
        );
        fs::remove_dir_all(dir).unwrap();
    }
}
