//! Unpacks one image layer (a tar from an untrusted registry) into a directory that an overlay
//! mount can use as a lower layer.
//!
//! The archive is hostile until proven otherwise: every entry is placed by walking its path
//! component by component without following symlinks, and anything that would land outside the
//! layer directory refuses the whole layer. The rules (see `docs/images.md`):
//! - `..` components, absolute paths and hardlinks to absolute or missing targets are refused;
//! - an entry whose parent path goes through a symlink or a non-directory is refused;
//! - `.wh.NAME` becomes an overlay whiteout for `NAME` (a 0/0 character device) and
//!   `.wh..wh..opq` marks its directory opaque (`trusted.overlay.opaque=y`);
//! - device nodes other than whiteouts are skipped; FIFOs are kept;
//! - owners are kept as numbers, as in the tar (layers are mounted idmapped, so the tar's root
//!   is the sandbox's root, as for `base`), and so are setuid/setgid bits;
//! - the unpacked size and the number of entries are limited ([`Limits`]).

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt, lchown};
use std::path::{Component, Path, PathBuf};

use tar::EntryType;

use super::{ImageError, Limits};

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE_MARKER: &str = ".wh..wh..opq";

/// What an unpack did, for logs and tests.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Unpacked {
    pub entries: u64,
    pub bytes: u64,
    pub skipped_devices: u64,
}

/// Unpacks the layer blob at `blob` (gzip, zstd or plain tar, told apart by their magic bytes)
/// into the existing empty directory `dest`. On error `dest` holds a partial tree: the caller
/// removes it.
pub(super) fn unpack_layer(
    blob: &Path,
    dest: &Path,
    limits: &Limits,
) -> Result<Unpacked, ImageError> {
    let mut file = File::open(blob).map_err(|e| io_error("opening the layer blob", e))?;
    let mut magic = [0u8; 4];
    let read = read_up_to(&mut file, &mut magic).map_err(|e| io_error("reading the layer", e))?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| io_error("reading the layer", e))?;
    let reader: Box<dyn Read> = match &magic[..read] {
        [0x1f, 0x8b, ..] => Box::new(flate2::read::MultiGzDecoder::new(io::BufReader::new(file))),
        [0x28, 0xb5, 0x2f, 0xfd] => Box::new(
            ruzstd::decoding::StreamingDecoder::new(io::BufReader::new(file))
                .map_err(|e| bad_layer(format!("not a zstd stream: {e}")))?,
        ),
        _ => Box::new(io::BufReader::new(file)),
    };
    Unpacker {
        dest,
        limits,
        done: Unpacked::default(),
    }
    .run(reader)
}

struct Unpacker<'a> {
    dest: &'a Path,
    limits: &'a Limits,
    done: Unpacked,
}

impl Unpacker<'_> {
    fn run(mut self, reader: Box<dyn Read>) -> Result<Unpacked, ImageError> {
        let mut archive = tar::Archive::new(reader);
        let entries = archive
            .entries()
            .map_err(|e| bad_layer(format!("not a tar archive: {e}")))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| bad_layer(format!("reading the tar: {e}")))?;
            self.done.entries += 1;
            if self.done.entries > self.limits.max_entries {
                return Err(ImageError::Limit(format!(
                    "the layer has more than {} entries",
                    self.limits.max_entries
                )));
            }
            let size = entry.header().size().map_err(bad_header)?;
            self.done.bytes = self.done.bytes.saturating_add(size);
            if self.done.bytes > self.limits.max_unpacked_bytes {
                return Err(ImageError::Limit(format!(
                    "the layer unpacks to more than {} bytes",
                    self.limits.max_unpacked_bytes
                )));
            }
            let raw = entry.path_bytes().into_owned();
            let relative = layer_path(&raw)?;
            self.place(&mut entry, &relative).map_err(|e| match e {
                ImageError::Io(message) => {
                    ImageError::Io(format!("{}: {message}", String::from_utf8_lossy(&raw)))
                }
                other => other,
            })?;
        }
        Ok(self.done)
    }

    /// Puts one entry at `relative` (a path of normal components only) below `dest`.
    fn place(
        &mut self,
        entry: &mut tar::Entry<'_, Box<dyn Read>>,
        relative: &Path,
    ) -> Result<(), ImageError> {
        let header = entry.header();
        let kind = header.entry_type();
        let Some(name) = relative.file_name() else {
            // The layer's own root (`./`): its directory already exists.
            return match kind {
                EntryType::Directory => Ok(()),
                _ => Err(bad_layer(
                    "a non-directory entry names the layer's root".into(),
                )),
            };
        };
        let parent = self.parent_dir(relative)?;
        let name_bytes = name.as_bytes();
        if name_bytes == OPAQUE_MARKER.as_bytes() {
            return set_opaque(&parent);
        }
        if let Some(hidden) = name_bytes.strip_prefix(WHITEOUT_PREFIX.as_bytes()) {
            if hidden.starts_with(WHITEOUT_PREFIX.as_bytes()) {
                // Other `.wh..wh.` names are aufs bookkeeping with no meaning for overlay.
                return Ok(());
            }
            if hidden.is_empty() || hidden == b"." || hidden == b".." {
                return Err(bad_layer(format!("whiteout {relative:?} names no file")));
            }
            let target = parent.join(OsStr::from_bytes(hidden));
            clear(&target)?;
            return make_whiteout(&target);
        }
        let path = parent.join(name);
        let (uid, gid) = owner(header)?;
        let mode = header.mode().map_err(bad_header)? & 0o7777;
        match kind {
            EntryType::Directory => {
                match fs::symlink_metadata(&path) {
                    Ok(meta) if meta.is_dir() => {}
                    Ok(_) => {
                        clear(&path)?;
                        fs::create_dir(&path).map_err(|e| io_error("mkdir", e))?;
                    }
                    Err(_) => fs::create_dir(&path).map_err(|e| io_error("mkdir", e))?,
                }
                set_owner_and_mode(&path, uid, gid, mode)
            }
            EntryType::Regular | EntryType::Continuous => {
                clear(&path)?;
                let mut file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(&path)
                    .map_err(|e| io_error("creating", e))?;
                let expected = header.size().map_err(bad_header)?;
                let copied = io::copy(entry, &mut file).map_err(|e| io_error("writing", e))?;
                if copied != expected {
                    return Err(bad_layer(format!(
                        "{relative:?} is cut short ({copied} of {expected} bytes)"
                    )));
                }
                if let Ok(mtime) = entry.header().mtime() {
                    let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(mtime);
                    let _ = file.set_modified(when);
                }
                drop(file);
                set_owner_and_mode(&path, uid, gid, mode)
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| bad_layer(format!("symlink {relative:?} has no target")))?;
                clear(&path)?;
                // The target is only ever resolved inside the sandbox's root, never here.
                std::os::unix::fs::symlink(OsStr::from_bytes(&target), &path)
                    .map_err(|e| io_error("symlink", e))?;
                lchown(&path, Some(uid), Some(gid)).map_err(|e| io_error("chown", e))
            }
            EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| bad_layer(format!("hardlink {relative:?} has no target")))?;
                let target = self.existing_file(&layer_path(&target)?)?;
                clear(&path)?;
                // link(2) does not follow a symlink target: it links the symlink itself.
                fs::hard_link(&target, &path).map_err(|e| io_error("hardlink", e))
            }
            EntryType::Fifo => {
                clear(&path)?;
                nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600))
                    .map_err(|e| io_error("mkfifo", e.into()))?;
                set_owner_and_mode(&path, uid, gid, mode)
            }
            EntryType::Char | EntryType::Block => {
                // A device node would open host hardware if the layer were ever used outside
                // a sandbox; images do not need them (a sandbox gets its own /dev).
                self.done.skipped_devices += 1;
                Ok(())
            }
            other => Err(bad_layer(format!(
                "{relative:?} has an unsupported tar entry type {other:?}"
            ))),
        }
    }

    /// The directory `relative` goes in, creating missing parents (0755, root's) and refusing
    /// a parent that is a symlink or not a directory.
    fn parent_dir(&self, relative: &Path) -> Result<PathBuf, ImageError> {
        self.walk_parents(relative, true)
    }

    /// [`Self::parent_dir`]; with `create` false a missing parent refuses the entry.
    fn walk_parents(&self, relative: &Path, create: bool) -> Result<PathBuf, ImageError> {
        let mut dir = self.dest.to_path_buf();
        let Some(parent) = relative.parent() else {
            return Ok(dir);
        };
        for component in parent.components() {
            dir.push(component);
            match fs::symlink_metadata(&dir) {
                Ok(meta) if meta.is_dir() => {}
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(ImageError::UnsafeLayer(format!(
                        "{relative:?} goes through a symlink the layer made"
                    )));
                }
                Ok(_) => {
                    return Err(bad_layer(format!(
                        "{relative:?} goes through a non-directory"
                    )));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
                    fs::create_dir(&dir).map_err(|e| io_error("mkdir", e))?;
                    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))
                        .map_err(|e| io_error("chmod", e))?;
                }
                Err(e) => return Err(io_error("inspecting", e)),
            }
        }
        Ok(dir)
    }

    /// The path of a hardlink's target: an entry this layer already holds, not a directory.
    fn existing_file(&self, relative: &Path) -> Result<PathBuf, ImageError> {
        let not_here = || {
            ImageError::UnsafeLayer(format!(
                "hardlink to {relative:?}, which is not a file of this layer"
            ))
        };
        let parent = self.walk_parents(relative, false).map_err(|_| not_here())?;
        let path = parent.join(relative.file_name().ok_or_else(not_here)?);
        match fs::symlink_metadata(&path) {
            Ok(meta) if !meta.is_dir() => Ok(path),
            _ => Err(not_here()),
        }
    }
}

/// A tar path as a relative path of normal components; `./` prefixes are dropped, `..` and
/// absolute paths refuse the layer.
fn layer_path(raw: &[u8]) -> Result<PathBuf, ImageError> {
    let path = Path::new(OsStr::from_bytes(raw));
    let mut relative = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => relative.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(ImageError::UnsafeLayer(format!(
                    "entry {path:?} climbs out with `..`"
                )));
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(ImageError::UnsafeLayer(format!(
                    "entry {path:?} is an absolute path"
                )));
            }
        }
    }
    Ok(relative)
}

fn owner(header: &tar::Header) -> Result<(u32, u32), ImageError> {
    let uid = header.uid().map_err(bad_header)?;
    let gid = header.gid().map_err(bad_header)?;
    match (u32::try_from(uid), u32::try_from(gid)) {
        (Ok(uid), Ok(gid)) => Ok((uid, gid)),
        _ => Err(bad_layer(format!("owner {uid}:{gid} is out of range"))),
    }
}

/// Owner first: chown clears setuid and setgid bits, which the chmod after it sets again.
fn set_owner_and_mode(path: &Path, uid: u32, gid: u32, mode: u32) -> Result<(), ImageError> {
    lchown(path, Some(uid), Some(gid)).map_err(|e| io_error("chown", e))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|e| io_error("chmod", e))
}

/// Removes whatever an earlier entry of the layer put at `path` (a later entry replaces it, as
/// tar does); never follows a symlink.
fn clear(path: &Path) -> Result<(), ImageError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path).map_err(|e| io_error("replacing", e)),
        Ok(_) => fs::remove_file(path).map_err(|e| io_error("replacing", e)),
        Err(_) => Ok(()),
    }
}

pub(super) fn make_whiteout(path: &Path) -> Result<(), ImageError> {
    use nix::sys::stat::{Mode, SFlag, makedev, mknod};
    mknod(path, SFlag::S_IFCHR, Mode::empty(), makedev(0, 0))
        .map_err(|e| io_error("making a whiteout", e.into()))
}

pub(super) fn set_opaque(dir: &Path) -> Result<(), ImageError> {
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| bad_layer("a path holds a NUL byte".into()))?;
    // SAFETY: lsetxattr with NUL-terminated strings and a buffer of the given length.
    let done = unsafe {
        libc::lsetxattr(
            path.as_ptr(),
            c"trusted.overlay.opaque".as_ptr(),
            b"y".as_ptr().cast(),
            1,
            0,
        )
    };
    if done != 0 {
        return Err(io_error(
            "marking a directory opaque",
            io::Error::last_os_error(),
        ));
    }
    Ok(())
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

fn bad_layer(message: String) -> ImageError {
    ImageError::BadLayer(message)
}

fn bad_header(e: io::Error) -> ImageError {
    bad_layer(format!("a tar header is malformed: {e}"))
}

fn io_error(what: &str, e: io::Error) -> ImageError {
    ImageError::Io(format!("{what}: {e}"))
}
