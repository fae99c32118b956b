//! Path resolution shared by every RPC and `/files` (docs/envd.md, "Path resolution"): empty →
//! default workdir or home; `~` and `~/x` → home; `~name` refused; relative → home, normalised;
//! absolute as given.

use std::path::{Component, Path, PathBuf};

use envd_protocol::{Code, ConnectError};

use super::users::User;

/// Resolves `path` for `user`.
pub fn resolve(
    path: &str,
    user: &User,
    default_workdir: Option<&str>,
) -> Result<PathBuf, ConnectError> {
    if path.is_empty() {
        return Ok(default_workdir.map_or_else(|| user.home.clone(), PathBuf::from));
    }
    let relative = if path == "~" {
        ""
    } else if let Some(rest) = path.strip_prefix("~/") {
        rest
    } else if path.starts_with('~') {
        return Err(ConnectError::new(
            Code::InvalidArgument,
            format!("path '{path}': only '~' and '~/' are supported, not another user's home"),
        ));
    } else if path.starts_with('/') {
        return Ok(PathBuf::from(path));
    } else {
        path
    };
    Ok(normalize(&user.home.join(relative)))
}

/// Collapses `.` and `..` lexically (never above `/`).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// The last component of the path as the caller wrote it (`name` of an EntryInfo).
pub fn base_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.to_string_lossy().into_owned(),
        |n| n.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        User {
            name: "user".into(),
            uid: 1000,
            gid: 1000,
            home: "/home/user".into(),
            groups: vec![1000],
        }
    }

    #[test]
    fn resolves_like_envd() {
        let u = user();
        let r = |p: &str, wd: Option<&str>| {
            resolve(p, &u, wd).map(|p| p.to_string_lossy().into_owned())
        };
        assert_eq!(r("", None).unwrap(), "/home/user");
        assert_eq!(r("", Some("/code")).unwrap(), "/code");
        assert_eq!(r("~", Some("/code")).unwrap(), "/home/user");
        assert_eq!(r("~/a/../b", None).unwrap(), "/home/user/b");
        assert_eq!(r("a.txt", Some("/code")).unwrap(), "/home/user/a.txt");
        assert_eq!(r("./x/./y/", None).unwrap(), "/home/user/x/y");
        assert_eq!(r("../../../etc", None).unwrap(), "/etc");
        assert_eq!(r("/abs/../kept", None).unwrap(), "/abs/../kept");
        let err = r("~root/x", None).unwrap_err();
        assert_eq!(err.code, Code::InvalidArgument);
    }

    #[test]
    fn base_names() {
        assert_eq!(base_name(Path::new("/a/b.txt")), "b.txt");
        assert_eq!(base_name(Path::new("/")), "/");
    }
}
