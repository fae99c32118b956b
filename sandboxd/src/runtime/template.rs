//! The templates a runtime can start. Today that is `base`, a Debian root built once per
//! machine ([`super::base`]); a sandbox's `/` is an overlay of its writable layer over the
//! template's layers.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context;

/// E2B's public ID of `base`, so code that compares template IDs behaves as against the cloud.
pub(crate) const BASE_TEMPLATE_ID: &str = "rki5dems9wqfm4r03t7g";
pub(crate) const BASE_ALIAS: &str = "base";

pub(crate) struct Template {
    pub template_id: String,
    pub aliases: Vec<String>,
    /// Read-only lower layers of the sandbox's `/`, uppermost first.
    pub layers: Vec<PathBuf>,
    /// What `/.e2b` says as `BUILD_ID`, and when that build finished.
    pub build_id: String,
    pub built_at: Option<SystemTime>,
    /// Keeps the base build from being removed by a rebuild while this runtime uses it.
    _in_use: File,
}

/// Returns the `base` template, building its root first when this machine has none. Drops the
/// host-assembled tree an older sandboxd kept in the data dir's `templates/base`.
pub(crate) fn open_base(templates: &Path) -> anyhow::Result<Template> {
    let obsolete = templates.join(BASE_ALIAS);
    if obsolete.exists() {
        remove_tree(&obsolete)?;
    }
    let base = super::base::open(false)?;
    Ok(Template {
        template_id: BASE_TEMPLATE_ID.to_string(),
        aliases: vec![BASE_ALIAS.to_string()],
        layers: vec![base.root],
        build_id: base.build_id,
        built_at: base.built_at,
        _in_use: base.in_use,
    })
}

/// Removes half-built or replaced templates left by an interrupted run.
pub(crate) fn remove_leftovers(templates: &Path) -> anyhow::Result<()> {
    for entry in fs::read_dir(templates)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(".build-") || name.starts_with(".old-") {
            remove_tree(&entry.path())?;
        }
    }
    Ok(())
}

/// `/etc/hosts` for a sandbox whose hostname is `hostname` (sudo resolves its own host name).
pub(crate) fn hosts_file(hostname: &str) -> String {
    format!(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
         ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n127.0.1.1\t{hostname}\n"
    )
}

/// `rm -rf` that also works on trees with read-only directories (none here are immutable).
pub(crate) fn remove_tree(path: &Path) -> anyhow::Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_file_resolves_the_hostname() {
        assert!(hosts_file("i123").contains("127.0.1.1\ti123\n"));
    }
}
