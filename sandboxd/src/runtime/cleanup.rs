//! Writable layers on disk, and what a killed sandboxd leaves behind.
//!
//! Layers change state only by renames, so a crash at any point leaves either a complete layer
//! under its ID or a `.new-*`/`.trash-*` directory that the next open removes. Everything else a
//! sandbox has on the host is named after this instance (cgroups, host links, iptables rules)
//! and removed by [`remove_leftovers`], which also unmounts the layers' disk images still
//! mounted on the host; the other mounts and the namespaces live only as long as the sandbox's
//! processes, which die with sandboxd (parent-death signal, or the watchdog for frozen ones)
//! or with their cgroup. The same names let any instance clean up after another one that died
//! for good.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{Context, bail};

use super::Layer;
use super::cgroup::Cgroups;
use super::disk;
use super::layout::{InstanceLock, LayerPaths, Layout};
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
    template::remove_leftovers(&layout.template_layers())?;
    disk::remove_leftovers(&layout.disk_images())?;
    let mut layers = Vec::new();
    for entry in fs::read_dir(layout.layers())? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // A layer whose sandbox died with the last run is still mounted on the host.
        disk::unmount(&LayerPaths { dir: entry.path() }.fs())?;
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

/// Creates an empty layer of `disk_mb` (`Fresh`, replacing any old one) or checks that the
/// kept one exists; either way its filesystem is mounted on the host afterwards.
pub(crate) fn prepare_layer(
    layer: &LayerPaths,
    layers_dir: &Path,
    mode: Layer,
    disk_mb: u64,
    spares: &disk::Spares,
) -> anyhow::Result<()> {
    match mode {
        Layer::Keep => {
            if !layer.image().is_file() {
                bail!("no writable layer to keep at {}", layer.dir.display());
            }
            fs::create_dir_all(layer.fs())?;
            disk::mount(&layer.image(), &layer.fs())?;
        }
        Layer::Fresh => {
            delete_layer(layer, layers_dir)?;
            if !spares.take(disk_mb, &layer.dir) {
                let name = layer
                    .dir
                    .file_name()
                    .context("layer path")?
                    .to_string_lossy();
                let new = LayerPaths {
                    dir: layers_dir.join(format!(".new-{name}-{}", crate::random::name(6))),
                };
                // Built under a temporary name and mounted there: the mount moves with the
                // directory when it is renamed into place.
                let built = disk::build_layer(layers_dir, &new, disk_mb)
                    .and_then(|()| Ok(fs::rename(&new.dir, &layer.dir)?));
                if let Err(e) = built {
                    let _ = disk::unmount(&new.fs());
                    let _ = template::remove_tree(&new.dir);
                    return Err(e.context(format!("creating layer {}", layer.dir.display())));
                }
            }
        }
    }
    // Work directories are overlayfs scratch space; stale contents are harmless but they must
    // exist (and the others do after the first boot).
    let dirs = [layer.upper(), layer.work(), layer.merged()];
    let made = dirs.iter().try_for_each(|dir| match fs::create_dir(dir) {
        Ok(()) => fs::set_permissions(dir, fs::Permissions::from_mode(0o755)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    });
    if let Err(e) = made {
        let _ = match mode {
            Layer::Fresh => delete_layer(layer, layers_dir),
            Layer::Keep => disk::unmount(&layer.fs()),
        };
        return Err(e).with_context(|| format!("preparing layer {}", layer.dir.display()));
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
    let trash = layers_dir.join(format!(".trash-{name}-{}", crate::random::name(6)));
    super::idmap::release(&layer.dir);
    disk::unmount(&layer.fs())?;
    match fs::rename(&layer.dir, &trash) {
        Ok(()) => template::remove_tree(&trash),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("deleting layer {}", layer.dir.display())),
    }
}
