//! What the layer GC (the control plane's `layer_gc`) needs of the runtime: which template
//! layers exist and when each was last built or reused, and removing some of them, never one
//! that a sandbox (a build sandbox included) has mounted.
//!
//! A layer's last use is the modification time of its `<key>` directory: set when the layer
//! is made, and again by [`Runtime::touch_layer`] when a build reuses it from the cache.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::SystemTime;

use super::{Runtime, template, template_step::check_layer_key};

impl Runtime {
    /// Records that a build reused layer `key` (it counts as recently used for the GC).
    pub fn touch_layer(&self, key: &str) {
        if check_layer_key(key).is_err() {
            return;
        }
        let dir = self.layout.template_layers().join(key);
        let touched = std::fs::File::open(&dir).and_then(|dir| dir.set_modified(SystemTime::now()));
        if let Err(e) = touched {
            eprintln!("sandboxd: marking layer {key} as used: {e}");
        }
    }

    /// Every built template layer and when it was last used.
    pub fn template_layer_uses(&self) -> Vec<(String, SystemTime)> {
        let Ok(entries) = std::fs::read_dir(self.layout.template_layers()) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|entry| {
                let key = entry.file_name().into_string().ok()?;
                check_layer_key(&key).ok()?;
                let used = entry.metadata().and_then(|m| m.modified()).ok()?;
                Some((key, used))
            })
            .collect()
    }

    /// Moves the layers `keys` that no sandbox of this runtime mounts out of the way (no
    /// build or sandbox finds them any more); [`LayersAside::remove`] then deletes them. What
    /// a crash leaves aside is removed at the next start.
    pub fn set_aside_template_layers(&self, keys: Vec<String>) -> LayersAside {
        let dir = self.layout.template_layers();
        // Held while renaming: a sandbox that starts now claims its lowers under it.
        let active = self.active.lock().unwrap();
        let mounted: HashSet<&PathBuf> = active.values().flatten().collect();
        let layers = keys
            .into_iter()
            .filter(|key| check_layer_key(key).is_ok())
            .filter(|key| !mounted.contains(&dir.join(key).join("root")))
            .filter_map(|key| {
                let old = dir.join(format!(".old-{key}-{}", crate::random::name(8)));
                std::fs::rename(dir.join(&key), &old).ok()?;
                Some((key, old))
            })
            .collect();
        LayersAside { layers }
    }
}

/// Layers taken out of use, to be deleted (blocking, so off the async threads).
pub struct LayersAside {
    layers: Vec<(String, PathBuf)>,
}

impl LayersAside {
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// Deletes them; returns the keys deleted.
    pub fn remove(self) -> Vec<String> {
        self.layers
            .into_iter()
            .filter_map(|(key, old)| match template::remove_tree(&old) {
                Ok(()) => Some(key),
                Err(e) => {
                    eprintln!("sandboxd: removing layer {key}: {e:#}");
                    None
                }
            })
            .collect()
    }
}
