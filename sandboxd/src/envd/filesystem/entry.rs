//! EntryInfo: everything reported about a path (docs/envd.md, "EntryInfo"). Runs on a thread
//! that already has the user's filesystem credentials.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs::Metadata;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use envd_protocol::Timestamp;
use envd_protocol::filesystem::{EntryInfo, FileType};

use crate::envd::users::Accounts;

/// Prefix of the xattrs that hold user metadata.
pub const METADATA_XATTR_PREFIX: &str = "user.e2b.";

fn file_type(meta: &Metadata) -> FileType {
    let t = meta.file_type();
    if t.is_dir() {
        FileType::Directory
    } else if t.is_file() {
        FileType::File
    } else if t.is_symlink() {
        FileType::Symlink
    } else {
        FileType::Unspecified
    }
}

/// Go's `FileMode.String()` of a Unix mode: type and special-bit letters (`dalTLDpSugct?`
/// order), or `-`, then `rwxrwxrwx`.
pub fn permissions_string(mode: u32) -> String {
    let fmt = mode & libc::S_IFMT;
    let mut out = String::with_capacity(12);
    let letters = [
        ('d', fmt == libc::S_IFDIR),
        ('L', fmt == libc::S_IFLNK),
        ('D', fmt == libc::S_IFBLK || fmt == libc::S_IFCHR),
        ('p', fmt == libc::S_IFIFO),
        ('S', fmt == libc::S_IFSOCK),
        ('u', mode & libc::S_ISUID != 0),
        ('g', mode & libc::S_ISGID != 0),
        ('c', fmt == libc::S_IFCHR),
        ('t', mode & libc::S_ISVTX != 0),
    ];
    for (letter, set) in letters {
        if set {
            out.push(letter);
        }
    }
    if out.is_empty() {
        out.push('-');
    }
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        out.push(if bits & 4 != 0 { 'r' } else { '-' });
        out.push(if bits & 2 != 0 { 'w' } else { '-' });
        out.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    out
}

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

/// `user.e2b.*` xattrs of `path` (following symlinks), prefix stripped. Filesystems without
/// xattrs, and entries that are not UTF-8, yield nothing.
pub fn read_metadata(path: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Ok(c) = c_path(path) else { return out };
    let mut names = vec![0u8; 1024];
    let len = loop {
        // SAFETY: valid path and buffer of the given size.
        let n = unsafe { libc::listxattr(c.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
        if n >= 0 {
            break n as usize;
        }
        match io::Error::last_os_error().raw_os_error() {
            Some(libc::ERANGE) if names.len() < 1 << 20 => names.resize(names.len() * 4, 0),
            _ => return out,
        }
    };
    for name in names[..len].split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let Some(key) = name.strip_prefix(METADATA_XATTR_PREFIX.as_bytes()) else {
            continue;
        };
        let (Ok(key), Ok(cname)) = (std::str::from_utf8(key), CString::new(name)) else {
            continue;
        };
        let mut value = vec![0u8; 4096];
        // SAFETY: valid path, name and buffer.
        let n = unsafe {
            libc::getxattr(
                c.as_ptr(),
                cname.as_ptr(),
                value.as_mut_ptr().cast(),
                value.len(),
            )
        };
        if n < 0 {
            continue;
        }
        value.truncate(n as usize);
        if let Ok(value) = String::from_utf8(value) {
            out.insert(key.to_owned(), value);
        }
    }
    out
}

/// Builds the EntryInfo of `path`, reporting it under `reported_path` with `name`.
pub fn entry_info(
    path: &Path,
    reported_path: &Path,
    name: String,
    accounts: &Accounts,
) -> io::Result<EntryInfo> {
    let lmeta = std::fs::symlink_metadata(path)?;
    entry_from_metadata(path, reported_path, name, &lmeta, accounts)
}

pub fn entry_from_metadata(
    path: &Path,
    reported_path: &Path,
    name: String,
    lmeta: &Metadata,
    accounts: &Accounts,
) -> io::Result<EntryInfo> {
    let is_link = lmeta.file_type().is_symlink();
    // A symlink reports its final target's type and permission bits (nothing if broken).
    let (file_type, mode) = if is_link {
        match std::fs::metadata(path) {
            Ok(target) => (file_type(&target), target.mode() & 0o777),
            Err(_) => (FileType::Unspecified, 0),
        }
    } else {
        (file_type(lmeta), lmeta.mode() & 0o777)
    };
    let symlink_target = is_link.then(|| {
        std::fs::canonicalize(path)
            .unwrap_or_else(|_| reported_path.to_path_buf())
            .to_string_lossy()
            .into_owned()
    });
    Ok(EntryInfo {
        name,
        file_type,
        path: reported_path.to_string_lossy().into_owned(),
        size: lmeta.size() as i64,
        mode,
        permissions: permissions_string(lmeta.mode()),
        owner: accounts.user_name(lmeta.uid()),
        group: accounts.group_name(lmeta.gid()),
        modified_time: Some(Timestamp {
            seconds: lmeta.mtime(),
            nanos: lmeta.mtime_nsec() as i32,
        }),
        symlink_target,
        metadata: read_metadata(path).into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_strings_are_go_style() {
        assert_eq!(permissions_string(libc::S_IFREG | 0o644), "-rw-r--r--");
        assert_eq!(permissions_string(libc::S_IFDIR | 0o755), "drwxr-xr-x");
        assert_eq!(permissions_string(libc::S_IFLNK | 0o777), "Lrwxrwxrwx");
        assert_eq!(
            permissions_string(libc::S_IFDIR | libc::S_ISVTX | 0o777),
            "dtrwxrwxrwx"
        );
        assert_eq!(
            permissions_string(libc::S_IFREG | libc::S_ISUID | 0o755),
            "urwxr-xr-x"
        );
        assert_eq!(
            permissions_string(libc::S_IFREG | libc::S_ISGID | 0o750),
            "grwxr-x---"
        );
        assert_eq!(permissions_string(libc::S_IFCHR | 0o666), "Dcrw-rw-rw-");
        assert_eq!(permissions_string(libc::S_IFIFO | 0o600), "prw-------");
        assert_eq!(permissions_string(libc::S_IFSOCK | 0o755), "Srwxr-xr-x");
    }

    #[test]
    fn entry_of_a_symlink_reports_its_target() {
        let dir = std::env::temp_dir().join(format!("envd-entry-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::os::unix::fs::symlink(dir.join("sub"), dir.join("link")).unwrap();
        std::os::unix::fs::symlink(dir.join("missing"), dir.join("broken")).unwrap();
        let accounts = Accounts::default();
        let link = entry_info(
            &dir.join("link"),
            &dir.join("link"),
            "link".into(),
            &accounts,
        )
        .unwrap();
        assert_eq!(link.file_type, FileType::Directory);
        assert!(link.permissions.starts_with('L'));
        assert_eq!(
            link.symlink_target.as_deref(),
            Some(dir.join("sub").canonicalize().unwrap().to_str().unwrap())
        );
        let broken = entry_info(
            &dir.join("broken"),
            &dir.join("broken"),
            "broken".into(),
            &accounts,
        )
        .unwrap();
        assert_eq!((broken.file_type, broken.mode), (FileType::Unspecified, 0));
        assert_eq!(
            broken.symlink_target.as_deref(),
            Some(dir.join("broken").to_str().unwrap())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
