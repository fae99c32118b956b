//! The template layer GC. Every `RUN`/`COPY` step leaves a layer (`runtime/template-layers`)
//! that later builds reuse as cache; without a GC they would pile up forever. A layer is
//! removed when all of these hold:
//!
//! - no template's current build and no tagged build stands on it;
//! - it was not built or reused by a build for the build-cache age (24 h by default,
//!   `sandboxd serve --build-cache-hours`);
//! - no build is in progress (a build's layers are not recorded until it finishes);
//! - no sandbox mounts it: a running sandbox of a deleted template keeps its layers until it
//!   stops, and a later collection removes them.
//!
//! It runs at start-up, after a template or tags are deleted, and when a sandbox of a deleted
//! template or tag ends.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use super::controller::Controller;
use super::template_store::BuildStatus;

/// How long an unneeded layer stays as build cache after its last use.
pub const DEFAULT_BUILD_CACHE_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

impl Controller {
    /// Takes the layers to collect out of use now and deletes them in the background.
    pub fn collect_layers(&self) {
        let aside = {
            // Held until the layers are set aside: no build starts (and looks for cached
            // layers) in between.
            let store = self.template_store();
            let building = store
                .records
                .values()
                .flat_map(|r| &r.builds)
                .any(|b| b.status == BuildStatus::Building);
            if building {
                return;
            }
            let needed: HashSet<&String> = store
                .records
                .values()
                .flat_map(|r| r.layer_keys())
                .collect();
            let now = SystemTime::now();
            let stale = |used: SystemTime| {
                now.duration_since(used)
                    .is_ok_and(|age| age >= self.build_cache_max_age)
            };
            let unneeded = self
                .runtime
                .template_layer_uses()
                .into_iter()
                .filter(|(key, used)| !needed.contains(key) && stale(*used))
                .map(|(key, _)| key)
                .collect();
            self.runtime.set_aside_template_layers(unneeded)
        };
        if aside.is_empty() {
            return;
        }
        tokio::task::spawn_blocking(move || {
            let removed = aside.remove();
            eprintln!("sandboxd: removed {} unused template layers", removed.len());
        });
    }
}
