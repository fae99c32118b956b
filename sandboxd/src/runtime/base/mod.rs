//! The `base` template's root filesystem, built once per machine and shared by every data dir.
//!
//! Every sandboxd (and every test, each with its own data dir) uses the same Debian root, so it
//! lives in a machine-wide cache rather than in a data dir, and sandboxes mount it directly as
//! their read-only lower layer (idmapped, see `init`): nothing is copied per data dir or per
//! sandbox, and nothing ever writes to it after the build.
//!
//! ```text
//! /var/cache/sandboxd/          0700 root: no other host user reaches anything below
//!   build.lock                  flock: one build at a time on the machine
//!   <build id>/                 one finished build, never modified
//!     root/                     the Debian tree (the lower layer)
//!     BUILT                     "<build id>\n<seconds the build took>\n", written last
//!     in-use                    flock shared by every runtime using this build
//!   .build-<random>/            a build in progress (removed when found stale)
//!   .old-<random>/              a replaced build, removed once no runtime holds its in-use
//! ```
//!
//! Builds of other ids (an older sandboxd's, or made before the host's sources changed) are
//! removed like replaced ones, once no runtime uses them.
//!
//! The build id is a format version plus a hash of the suite, the package list and the host's
//! sources: changing any of them makes a new build; `sandboxd base build --rebuild` replaces the
//! current one.

pub(crate) mod debian;
pub(crate) mod sources;

use std::fs::{self, File};
use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use anyhow::Context;
use sha2::{Digest, Sha256};

use crate::host_files;

/// Machine-wide cache of built roots.
pub(crate) const CACHE_DIR: &str = "/var/cache/sandboxd";
/// Bump when what [`debian::build_root`] makes changes in a way the hash does not see.
const FORMAT: &str = "debian-2";

/// A finished build, held in use (its `in-use` lock is shared) while this value lives.
pub(crate) struct BaseRoot {
    pub root: PathBuf,
    pub build_id: String,
    pub built_at: Option<SystemTime>,
    /// Seconds the build took (from `BUILT`).
    pub build_secs: Option<f64>,
    /// Whether this call built it.
    pub built_now: bool,
    /// Shared lock on the build's `in-use` file: hold it as long as sandboxes may mount `root`.
    pub in_use: File,
}

/// Returns the current build, building it first when it is missing (or when `rebuild`).
/// Concurrent callers on the machine wait for one build instead of starting their own.
pub(crate) fn open(rebuild: bool) -> anyhow::Result<BaseRoot> {
    let cache = Path::new(CACHE_DIR);
    host_files::create_private_dir_all(cache)
        .with_context(|| format!("creating {}", cache.display()))?;
    let sources = sources::host_sources(debian::SUITE)?;
    let build_id = build_id(&sources);
    let dir = cache.join(&build_id);
    if !rebuild {
        if let Some(base) = use_build(&dir, &build_id, false)? {
            if let Some(lock) = try_build_lock(cache)? {
                remove_leftovers(cache, &build_id)?;
                drop(lock);
            }
            return Ok(base);
        }
    }
    let lock = build_lock(cache, "the base template")?;
    // Whoever held the lock before may have just built it.
    if !rebuild {
        if let Some(base) = use_build(&dir, &build_id, false)? {
            return Ok(base);
        }
    }
    remove_leftovers(cache, &build_id)?;
    let building = cache.join(format!(".build-{}", crate::random::name(8)));
    host_files::create_private_dir(&building)?;
    eprintln!(
        "sandboxd: building the base template {build_id} (Debian {}, once per machine) in {}",
        debian::SUITE,
        dir.display()
    );
    let started = Instant::now();
    if let Err(e) = debian::build_root(&building.join("root"), &sources, &build_id) {
        let _ = super::template::remove_tree(&building);
        return Err(e.context("building the base template"));
    }
    let secs = started.elapsed().as_secs_f64();
    host_files::open_private_file(&building.join("in-use"))?;
    fs::write(building.join("BUILT"), format!("{build_id}\n{secs:.1}\n"))?;
    if dir.exists() {
        fs::rename(&dir, cache.join(format!(".old-{}", crate::random::name(8))))?;
    }
    fs::rename(&building, &dir)?;
    eprintln!("sandboxd: base template {build_id} built in {secs:.0} s");
    let base = use_build(&dir, &build_id, true)?.context("the new build vanished")?;
    remove_leftovers(cache, &build_id)?;
    drop(lock);
    Ok(base)
}

/// `sandboxd base build [--rebuild]`: builds the base template's root now (setup scripts run
/// it, so that the first sandboxd start does not) and says how long the build took.
pub fn build_command(rebuild: bool) -> anyhow::Result<()> {
    let base = open(rebuild)?;
    let took = base
        .build_secs
        .map_or_else(|| "?".to_string(), |s| format!("{s:.0}"));
    let state = if base.built_now {
        "built"
    } else {
        "already built"
    };
    println!(
        "base template {} {state} (the build took {took} s): {}",
        base.build_id,
        base.root.display()
    );
    Ok(())
}

/// `FORMAT-<12 hex>` of everything the build depends on.
fn build_id(sources: &[sources::Source]) -> String {
    let mut hash = Sha256::new();
    hash.update(format!("{FORMAT}\n{}\n", debian::SUITE));
    for package in debian::PACKAGES {
        hash.update(format!("package {package}\n"));
    }
    for source in sources {
        hash.update(format!("source {}\n", source.line()));
    }
    format!("{FORMAT}-{}", &hex::encode(hash.finalize())[..12])
}

/// The finished build in `dir`, now held in use; `None` when there is none.
fn use_build(dir: &Path, build_id: &str, built_now: bool) -> anyhow::Result<Option<BaseRoot>> {
    let built = dir.join("BUILT");
    let in_use = match File::open(dir.join("in-use")) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).context("opening the base template's in-use lock"),
    };
    let Ok(built_text) = fs::read_to_string(&built) else {
        return Ok(None);
    };
    flock(&in_use, libc::LOCK_SH)?;
    Ok(Some(BaseRoot {
        root: dir.join("root"),
        build_id: build_id.to_string(),
        built_at: fs::metadata(&built).and_then(|m| m.modified()).ok(),
        build_secs: built_text.lines().nth(1).and_then(|s| s.parse().ok()),
        built_now,
        in_use,
    }))
}

/// Holds `<dir>/build.lock` exclusively: one build of `what` in `dir` at a time on the machine
/// (also used by the image store's local builds).
pub(crate) fn build_lock(dir: &Path, what: &str) -> anyhow::Result<File> {
    if let Some(lock) = try_build_lock(dir)? {
        return Ok(lock);
    }
    eprintln!("sandboxd: another process is building {what}; waiting for it");
    let lock = host_files::open_private_file(&dir.join("build.lock"))?;
    flock(&lock, libc::LOCK_EX)?;
    Ok(lock)
}

fn try_build_lock(dir: &Path) -> anyhow::Result<Option<File>> {
    let lock = host_files::open_private_file(&dir.join("build.lock"))?;
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(Some(lock));
    }
    Ok(None)
}

fn flock(file: &File, operation: i32) -> anyhow::Result<()> {
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(file.as_raw_fd(), operation) } != 0 {
        return Err(std::io::Error::last_os_error()).context("locking a build cache");
    }
    Ok(())
}

/// Removes builds interrupted by a crash, and replaced builds and builds of other ids that no
/// runtime uses any more. Call it only while holding the build lock.
fn remove_leftovers(cache: &Path, current: &str) -> anyhow::Result<()> {
    for entry in fs::read_dir(cache)? {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let unused = if name.starts_with(".build-") {
            true
        } else if name.starts_with(".old-") || (name.starts_with("debian-") && name != current) {
            File::open(path.join("in-use")).map_or(true, |f| {
                // SAFETY: flock on a descriptor we own.
                unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
            })
        } else {
            false
        };
        if unused {
            super::template::remove_tree(&path)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_cache() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sbx-base-cache-{}", crate::random::name(8)));
        fs::create_dir(&dir).unwrap();
        dir
    }

    fn fake_build(dir: &Path) {
        fs::create_dir_all(dir.join("root/usr")).unwrap();
        fs::write(dir.join("in-use"), "").unwrap();
    }

    #[test]
    fn leftovers_go_but_a_replaced_build_in_use_stays() {
        let cache = temp_cache();
        let names = [
            ".build-a",
            ".old-used",
            ".old-unused",
            "debian-0-stale",
            "debian-1-current",
        ];
        for name in names {
            fake_build(&cache.join(name));
        }
        let user = File::open(cache.join(".old-used/in-use")).unwrap();
        flock(&user, libc::LOCK_SH).unwrap();
        remove_leftovers(&cache, "debian-1-current").unwrap();
        let mut left: Vec<String> = fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, [".old-used", "debian-1-current"]);
        // Once its last user is gone, the next clean-up takes it. (A child another test forks
        // holds a copy of the lock until it executes: allow it a moment.)
        drop(user);
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        while cache.join(".old-used").exists() && Instant::now() < deadline {
            remove_leftovers(&cache, "debian-1-current").unwrap();
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(!cache.join(".old-used").exists());
        fs::remove_dir_all(cache).unwrap();
    }

    #[test]
    fn one_builder_at_a_time() {
        let cache = temp_cache();
        let first = try_build_lock(&cache).unwrap();
        assert!(first.is_some());
        assert!(try_build_lock(&cache).unwrap().is_none());
        drop(first);
        assert!(try_build_lock(&cache).unwrap().is_some());
        fs::remove_dir_all(cache).unwrap();
    }

    #[test]
    fn a_finished_build_is_one_with_built_written() {
        let cache = temp_cache();
        let dir = cache.join("debian-1-000000000000");
        fake_build(&dir);
        assert!(
            use_build(&dir, "debian-1-000000000000", false)
                .unwrap()
                .is_none()
        );
        fs::write(dir.join("BUILT"), "debian-1-000000000000\n117.5\n").unwrap();
        let base = use_build(&dir, "debian-1-000000000000", false)
            .unwrap()
            .unwrap();
        assert_eq!(base.root, dir.join("root"));
        assert_eq!(base.build_secs, Some(117.5));
        fs::remove_dir_all(cache).unwrap();
    }

    #[test]
    fn the_build_id_follows_the_sources() {
        let source = |uri: &str| sources::Source {
            uri: uri.into(),
            suite: debian::SUITE.into(),
            components: vec!["main".into()],
            signed_by: None,
        };
        let a = build_id(&[source("http://a/debian")]);
        assert!(
            a.starts_with(&format!("{FORMAT}-")) && a.len() == FORMAT.len() + 13,
            "{a}"
        );
        assert_eq!(a, build_id(&[source("http://a/debian")]));
        assert_ne!(a, build_id(&[source("http://b/debian")]));
    }
}
