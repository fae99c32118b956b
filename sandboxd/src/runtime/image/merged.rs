//! Looks a path up in the root an overlay of unpacked image layers shows, without mounting it:
//! whiteouts hide what lies under them, opaque directories hide the lower layers' contents, and
//! symlinks are followed inside the image's root (never on the host). Template builds use it to
//! check, before any sandbox starts, that an image has what envd needs.

use std::collections::VecDeque;
use std::fs::{self, Metadata};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Symlinks followed in one lookup, as the kernel's `MAXSYMLINKS`.
const MAX_SYMLINKS: u32 = 40;

/// Whether absolute `path` is a regular file in the overlay of `layers` (uppermost first).
pub fn is_file(layers: &[PathBuf], path: &str) -> bool {
    resolve(layers, path).is_some_and(|meta| meta.is_file())
}

/// The entry `path` names in the overlay of `layers`, symlinks followed.
fn resolve(layers: &[PathBuf], path: &str) -> Option<Metadata> {
    let mut pending: VecDeque<String> = components(path.as_bytes()).collect();
    let mut resolved: Vec<String> = Vec::new();
    let mut followed = 0;
    while let Some(name) = pending.pop_front() {
        if name == ".." {
            resolved.pop();
            continue;
        }
        resolved.push(name);
        let (host, meta) = entry(layers, &resolved)?;
        if meta.is_symlink() {
            followed += 1;
            if followed > MAX_SYMLINKS {
                return None;
            }
            resolved.pop();
            let target = fs::read_link(host).ok()?;
            let target = target.as_os_str().as_bytes();
            if target.starts_with(b"/") {
                resolved.clear();
            }
            for name in components(target).collect::<Vec<_>>().into_iter().rev() {
                pending.push_front(name);
            }
        } else if !pending.is_empty() && !meta.is_dir() {
            return None;
        }
    }
    entry(layers, &resolved).map(|(_, meta)| meta)
}

fn components(path: &[u8]) -> impl Iterator<Item = String> + '_ {
    path.split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .map(|c| String::from_utf8_lossy(c).into_owned())
}

/// The topmost entry at `names` (no symlinks among the parents) and where it is on the host.
fn entry(layers: &[PathBuf], names: &[String]) -> Option<(PathBuf, Metadata)> {
    'layers: for layer in layers {
        let mut host = layer.clone();
        let mut opaque = false;
        for (i, name) in names.iter().enumerate() {
            host.push(name);
            let Ok(meta) = fs::symlink_metadata(&host) else {
                if opaque {
                    return None;
                }
                continue 'layers;
            };
            if is_whiteout(&meta) {
                return None;
            }
            if i + 1 == names.len() {
                return Some((host, meta));
            }
            // A non-directory hides the directories of the layers under it.
            if !meta.is_dir() {
                return None;
            }
            opaque |= is_opaque(&host);
        }
        return Some((layer.clone(), fs::symlink_metadata(layer).ok()?));
    }
    None
}

fn is_whiteout(meta: &Metadata) -> bool {
    meta.file_type().is_char_device() && meta.rdev() == 0
}

fn is_opaque(dir: &Path) -> bool {
    let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    let mut value = [0u8; 1];
    // SAFETY: a NUL-terminated path and a buffer of the given length.
    let read = unsafe {
        libc::lgetxattr(
            path.as_ptr(),
            c"trusted.overlay.opaque".as_ptr(),
            value.as_mut_ptr().cast(),
            value.len(),
        )
    };
    read == 1 && value[0] == b'y'
}

#[cfg(test)]
mod tests {
    use super::super::unpack::{make_whiteout, set_opaque};
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn symlinks_whiteouts_and_opaque_dirs_resolve_as_overlay_shows_them() {
        let dir = std::env::temp_dir().join(format!("sbx-merged-{}", crate::random::name(8)));
        let (upper, lower) = (dir.join("upper"), dir.join("lower"));
        fs::create_dir_all(lower.join("usr/lib64")).unwrap();
        fs::create_dir_all(lower.join("usr/bin")).unwrap();
        fs::create_dir_all(lower.join("opt/old")).unwrap();
        fs::write(lower.join("usr/lib64/ld.so"), "").unwrap();
        fs::write(lower.join("usr/bin/bash"), "").unwrap();
        fs::write(lower.join("opt/old/file"), "").unwrap();
        symlink("usr/lib64", lower.join("lib64")).unwrap();
        // A link that leaves the root stays inside it, as `/` inside.
        symlink("../../../../usr/bin", lower.join("bin")).unwrap();
        fs::create_dir_all(upper.join("usr/bin")).unwrap();
        fs::create_dir_all(upper.join("opt")).unwrap();
        make_whiteout(&upper.join("usr/bin/bash")).unwrap();
        let layers = [upper.clone(), lower.clone()];
        assert!(is_file(&layers, "/lib64/ld.so"));
        assert!(is_file(&layers, "/opt/old/file"));
        assert!(!is_file(&layers, "/bin/bash"), "whited out");
        assert!(is_file(&layers[1..], "/bin/bash"));
        assert!(!is_file(&layers, "/lib64"));
        set_opaque(&upper.join("opt")).unwrap();
        assert!(!is_file(&layers, "/opt/old/file"), "under an opaque dir");
        symlink("loop", upper.join("loop")).unwrap();
        assert!(!is_file(&layers, "/loop"));
        fs::remove_dir_all(dir).unwrap();
    }
}
