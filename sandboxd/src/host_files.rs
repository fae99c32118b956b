//! Files and directories sandboxd keeps on the host (the data dir, `/run/sandboxd`): private to
//! root from the moment they exist, 0700 directories and 0600 files. They hold the API key,
//! every sandbox's access token and env vars, and the sandboxes' writable layers, which a host
//! user must neither read nor run (a setuid file made inside a sandbox is root's on the host).

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

const PRIVATE_DIR_MODE: u32 = 0o700;
const PRIVATE_FILE_MODE: u32 = 0o600;

/// Creates `dir` and its missing parents 0700, and tightens `dir` itself when it already existed.
pub fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(PRIVATE_DIR_MODE)
        .create(dir)?;
    make_private(dir)
}

/// Creates the new directory `dir` 0700 (fails when it exists).
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().mode(PRIVATE_DIR_MODE).create(dir)
}

/// Creates or truncates `path` for writing, 0600 before anything is written to it.
pub fn create_private_file(path: &Path) -> io::Result<File> {
    private_file(path, true)
}

/// Opens `path` for reading and writing, created 0600 if missing and tightened if it was not
/// (lock files, whose contents stay).
pub fn open_private_file(path: &Path) -> io::Result<File> {
    private_file(path, false)
}

fn private_file(path: &Path, truncate: bool) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(truncate)
        .mode(PRIVATE_FILE_MODE)
        .open(path)?;
    // The mode given to open applies only to a file it creates.
    file.set_permissions(fs::Permissions::from_mode(PRIVATE_FILE_MODE))?;
    Ok(file)
}

/// Replaces `path` with `contents` atomically: written to a temporary file created 0600 (never
/// loosened, never chmod-ed after the data is in), synced, then renamed over `path`. A crash
/// leaves the old or the new contents, never half of them.
pub fn write_private_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    // A temporary file left by a crash may have any mode: start from a new one.
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE_FILE_MODE)
        .open(&tmp)?;
    file.write_all(contents)?;
    file.sync_all()?;
    fs::rename(&tmp, path)
}

/// Sets an existing directory to 0700 or file to 0600 (what an older sandboxd left looser);
/// missing paths and symlinks are left alone.
pub fn make_private(path: &Path) -> io::Result<()> {
    let meta = match path.symlink_metadata() {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let mode = if meta.is_dir() {
        PRIVATE_DIR_MODE
    } else if meta.is_file() {
        PRIVATE_FILE_MODE
    } else {
        return Ok(());
    };
    if meta.permissions().mode() & 0o7777 != mode {
        fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

/// [`make_private`] for `dir` and each of its direct entries (not deeper).
pub fn make_private_with_entries(dir: &Path) -> io::Result<()> {
    make_private(dir)?;
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        make_private(&entry?.path())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn mode(path: &Path) -> u32 {
        path.symlink_metadata().unwrap().mode() & 0o7777
    }

    fn temp_dir() -> PathBuf {
        std::env::temp_dir().join(format!("sandboxd-host-files-{}", crate::random::hex(6)))
    }

    #[test]
    fn created_paths_are_private_and_looser_ones_are_tightened() {
        let dir = temp_dir();
        create_private_dir_all(&dir.join("a/b")).unwrap();
        assert_eq!((mode(&dir), mode(&dir.join("a/b"))), (0o700, 0o700));
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(dir.join("loose"), "x").unwrap();
        fs::set_permissions(dir.join("loose"), fs::Permissions::from_mode(0o4755)).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.join("link")).unwrap();
        make_private_with_entries(&dir).unwrap();
        assert_eq!((mode(&dir), mode(&dir.join("loose"))), (0o700, 0o600));
        assert_ne!(mode(Path::new("/etc/passwd")), 0o600, "a link was followed");

        let lock = dir.join("lock");
        fs::write(&lock, "pid").unwrap();
        fs::set_permissions(&lock, fs::Permissions::from_mode(0o644)).unwrap();
        drop(open_private_file(&lock).unwrap());
        assert_eq!(
            (mode(&lock), fs::read_to_string(&lock).unwrap().as_str()),
            (0o600, "pid")
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn atomic_writes_replace_the_file_with_a_private_one() {
        let dir = temp_dir();
        create_private_dir_all(&dir).unwrap();
        let record = dir.join("record.json");
        fs::write(&record, "old").unwrap();
        fs::set_permissions(&record, fs::Permissions::from_mode(0o644)).unwrap();
        // A temporary file left looser by a crash is not reused.
        fs::write(dir.join("record.json.tmp"), "stale").unwrap();
        fs::set_permissions(
            dir.join("record.json.tmp"),
            fs::Permissions::from_mode(0o666),
        )
        .unwrap();
        write_private_atomic(&record, b"new").unwrap();
        assert_eq!(fs::read_to_string(&record).unwrap(), "new");
        assert_eq!(mode(&record), 0o600);
        assert!(!dir.join("record.json.tmp").exists());
        fs::remove_dir_all(dir).unwrap();
    }
}
