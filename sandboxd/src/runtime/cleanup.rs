//! Writable layers on disk, and what a killed sandboxd leaves behind.
//!
//! Layers change state only by renames, so a crash at any point leaves either a complete layer
//! under its ID or a `.new-*`/`.trash-*` directory that the next open removes. Everything else a
//! sandbox has on the host is named after this instance (cgroups, host links, iptables rules)
//! and removed by [`remove_leftovers`]; mounts and namespaces live only as long as the sandbox's
//! processes, which die with sandboxd (parent-death signal) or with their cgroup. The same
//! names let any instance clean up after another one that died for good.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{Context, bail};

use super::Layer;
use super::cgroup::Cgroups;
use super::layout::{InstanceLock, LayerPaths, Layout, random_name};
use super::network::Network;
use super::template;

/// Kills and removes everything an earlier run of this instance left, and returns the IDs of
/// the writable layers still on disk.
pub(crate) fn remove_leftovers(
    layout: &Layout,
    cgroups: &Cgroups,
    network: &Network,
) -> anyhow::Result<Vec<String>> {
    for cgroup in cgroups.leftovers() {
        cgroup
            .destroy()
            .context("removing a leftover sandbox cgroup")?;
    }
    cgroups.remove_instance_dirs();
    network
        .remove_leftovers()
        .context("removing leftover sandbox networking")?;
    template::remove_leftovers(&layout.templates())?;
    let mut layers = Vec::new();
    for entry in fs::read_dir(layout.layers())? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            template::remove_tree(&entry.path())?;
        } else if entry.file_type()?.is_dir() {
            layers.push(name);
        }
    }
    layers.sort();
    Ok(layers)
}

/// Removes the cgroups, links and rules of other instances whose sandboxd died (their lock file
/// is held by nobody), e.g. test runs killed before their data dir was deleted. Their
/// sandboxes died with them (parent-death signal); their layers stay in their data dirs.
pub(crate) fn remove_dead_instances(cgroups: &Cgroups) {
    for lock in InstanceLock::dead() {
        let dead = cgroups.for_instance(&lock.id);
        let mut clean = true;
        for cgroup in dead.leftovers() {
            clean &= cgroup.destroy().is_ok();
        }
        dead.remove_instance_dirs();
        clean &= Network::new(&lock.id).remove_leftovers().is_ok();
        if clean {
            lock.remove();
        } else {
            eprintln!(
                "sandboxd: could not fully clean up after dead instance {}",
                lock.id
            );
        }
    }
}

/// Creates an empty layer (`Fresh`, replacing any old one) or checks that the kept one exists.
pub(crate) fn prepare_layer(
    layer: &LayerPaths,
    layers_dir: &Path,
    mode: Layer,
) -> anyhow::Result<()> {
    match mode {
        Layer::Keep => {
            if !layer.upper().is_dir() {
                bail!("no writable layer to keep at {}", layer.dir.display());
            }
            // Work directories are overlayfs scratch space; stale contents are harmless but
            // they must exist.
            for dir in [layer.work(), layer.usr_work(), layer.merged()] {
                fs::create_dir_all(dir)?;
            }
        }
        Layer::Fresh => {
            delete_layer(layer, layers_dir)?;
            let name = layer
                .dir
                .file_name()
                .context("layer path")?
                .to_string_lossy();
            let new = LayerPaths {
                dir: layers_dir.join(format!(".new-{name}-{}", random_name(6))),
            };
            crate::host_files::create_private_dir(&new.dir)?;
            for dir in [
                new.upper(),
                new.work(),
                new.usr_upper(),
                new.usr_work(),
                new.merged(),
            ] {
                fs::create_dir(&dir)?;
                fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))?;
            }
            fs::rename(&new.dir, &layer.dir)
                .with_context(|| format!("creating layer {}", layer.dir.display()))?;
        }
    }
    Ok(())
}

/// Deletes a layer: renamed out of the way first, so it is never seen half-deleted.
pub(crate) fn delete_layer(layer: &LayerPaths, layers_dir: &Path) -> anyhow::Result<()> {
    let name = layer
        .dir
        .file_name()
        .context("layer path")?
        .to_string_lossy();
    let trash = layers_dir.join(format!(".trash-{name}-{}", random_name(6)));
    super::idmap::release(&layer.dir);
    match fs::rename(&layer.dir, &trash) {
        Ok(()) => template::remove_tree(&trash),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("deleting layer {}", layer.dir.display())),
    }
}
