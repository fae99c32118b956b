//! Templates built on pulled images (`fromImage`): the image store in the data dir, and the
//! checks that a pulled root can carry a sandbox at all. envd is the host's `sandboxd` binary,
//! executed inside the sandbox's root (see `sandbox_init`), so a dynamically linked build needs
//! the same kind of C library in the image: glibc's loader where the binary names it. A musl
//! image (Alpine) has none and is refused before any build sandbox starts; build steps run
//! `/bin/bash`, so an image without it is refused too.

use std::path::PathBuf;

use anyhow::bail;

use super::image::{self, ImageError, PullOptions, PulledImage, RegistryAuth};
use super::{Bottom, Runtime};

/// The dynamic loader the host's `sandboxd` (hence envd) is linked against; `None` for a
/// static build.
const ENVD_LOADER: Option<&str> = if cfg!(target_env = "musl") {
    None
} else if cfg!(target_arch = "x86_64") {
    Some("/lib64/ld-linux-x86-64.so.2")
} else if cfg!(target_arch = "aarch64") {
    Some("/lib/ld-linux-aarch64.so.1")
} else {
    None
};

/// What every build step is run by.
const STEP_SHELL: &str = "/bin/bash";

impl Runtime {
    /// Pulls `reference` into the data dir's image store (`runtime/images`, private to root:
    /// its layers hold setuid files owned by host root).
    pub async fn pull_image(
        &self,
        reference: &str,
        auth: RegistryAuth,
    ) -> Result<PulledImage, ImageError> {
        image::pull_with(
            reference,
            auth,
            &self.layout.images(),
            &PullOptions {
                docker_hub_mirror: self.config.docker_hub_mirror.clone(),
                ..PullOptions::default()
            },
        )
        .await
    }

    /// Why a sandbox could not run on the image `layers` (uppermost first), if it could not:
    /// no loader for envd, or no shell for the build steps.
    pub fn check_image_root(layers: &[PathBuf]) -> Result<(), String> {
        let missing_loader = ENVD_LOADER.filter(|l| !image::merged::is_file(layers, l));
        if let Some(loader) = missing_loader {
            return Err(format!(
                "the image has no glibc dynamic loader ({loader}): sandboxd runs its envd \
                 inside the image and needs glibc (musl images such as Alpine are not \
                 supported; use a Debian- or Ubuntu-based image)"
            ));
        }
        if !image::merged::is_file(layers, STEP_SHELL) {
            return Err(format!(
                "the image has no {STEP_SHELL}: template steps run in bash; install it in the \
                 image or use a Debian- or Ubuntu-based image"
            ));
        }
        Ok(())
    }

    /// Refuses a bottom whose image layers are not unpacked layers of this runtime's store
    /// (the template list names them; nothing else of the host may become a sandbox's root).
    pub(super) fn check_bottom(&self, bottom: &Bottom) -> anyhow::Result<()> {
        let Bottom::Image(layers) = bottom else {
            return Ok(());
        };
        if layers.is_empty() {
            bail!("an image without layers");
        }
        let store = self.layout.images().join("layers");
        for layer in layers {
            let inside = layer
                .strip_prefix(&store)
                .is_ok_and(|rest| rest.components().count() == 2);
            if !inside || !layer.is_dir() {
                bail!(
                    "image layer {} is missing or not in {}",
                    layer.display(),
                    store.display()
                );
            }
        }
        Ok(())
    }
}
