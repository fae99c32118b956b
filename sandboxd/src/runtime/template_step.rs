//! One template build step: a build sandbox, started like any other sandbox (same namespaces,
//! seccomp, cgroup, idmapped lowers) over the layers built so far, runs the step's command
//! through envd as the step's user; when it succeeds, the sandbox stops and its writable layer
//! becomes a read-only template layer of its own ([`super::layer_capture`]).
//!
//! Layers are stored by key under `runtime/template-layers/<key>/root`; the caller chooses the
//! key (a hash of everything the layer depends on), so an unchanged step is never run twice.
//! A layer is made as `.build-*` and renamed into place when complete.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::layout::LayerPaths;
use super::{
    Bottom, EgressRules, EnvdInit, Layer, Limits, Runtime, Sandbox, SandboxSpec, cleanup, disk,
    envd_client, layer_capture, template,
};

/// A step to run (see [`Runtime::build_layer`]).
pub struct StepRun {
    /// The template being built (what `/run/e2b` names in the build sandbox).
    pub template_id: String,
    /// Layer keys under this step, uppermost first; `bottom` lies under them all.
    pub lowers: Vec<String>,
    pub bottom: Bottom,
    pub user: String,
    /// Made (as root) before the command runs in it.
    pub workdir: Option<String>,
    pub envs: BTreeMap<String, String>,
    /// Run by `/bin/bash -l -c`.
    pub command: String,
    /// A host file put into the sandbox, owned by the step's user, before the command runs.
    pub upload: Option<Upload>,
    pub limits: Limits,
}

pub struct Upload {
    pub from: PathBuf,
    pub to: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum StepOutcome {
    Built,
    /// The command exited with this code (-1: killed by a signal); nothing was kept.
    Failed {
        exit_code: i32,
    },
}

impl Runtime {
    /// Whether the layer `key` has been built.
    pub fn has_layer(&self, key: &str) -> bool {
        check_layer_key(key).is_ok() && self.layer_root(key).is_dir()
    }

    fn layer_root(&self, key: &str) -> PathBuf {
        self.layout.template_layers().join(key).join("root")
    }

    /// Host directories of the layers `keys` (uppermost first), then `bottom`'s.
    pub(super) fn lowers_of(&self, keys: &[String], bottom: &Bottom) -> Vec<PathBuf> {
        let bottom = match bottom {
            Bottom::Base => &self.base.layers,
            Bottom::Image(layers) => layers,
        };
        keys.iter()
            .map(|key| self.layer_root(key))
            .chain(bottom.iter().cloned())
            .collect()
    }

    /// Runs `step` in a build sandbox and keeps what it changed as layer `key`. The command's
    /// output goes to `output` as it comes. On failure the sandbox and its layer are gone.
    pub async fn build_layer(
        &self,
        key: &str,
        step: StepRun,
        output: impl FnMut(&[u8]) + Send,
    ) -> anyhow::Result<StepOutcome> {
        check_layer_key(key)?;
        for lower in &step.lowers {
            if !self.has_layer(lower) {
                bail!("layer {lower} under this step is missing");
            }
        }
        self.check_bottom(&step.bottom)?;
        let spec = SandboxSpec {
            sandbox_id: format!("build-{}", crate::random::name(12)),
            template_id: step.template_id.clone(),
            allow_internet_access: true,
            egress: EgressRules::parse(&[], &[]).map_err(anyhow::Error::msg)?,
            limits: step.limits.clone(),
            envd: EnvdInit {
                default_user: "root".into(),
                ..EnvdInit::default()
            },
        };
        let sandbox = self
            .start_on(
                &spec,
                Layer::Fresh,
                self.lowers_of(&step.lowers, &step.bottom),
            )
            .await
            .context("starting the build sandbox")?;
        let ran = run_in(&sandbox, &step, output).await;
        let exit_code = match ran {
            Ok(code) => code,
            Err(e) => {
                sandbox.stop(false).await?;
                return Err(e);
            }
        };
        if exit_code != 0 {
            sandbox.stop(false).await?;
            return Ok(StepOutcome::Failed { exit_code });
        }
        sandbox.stop(true).await?;
        let layer = self.layout.layer(&spec.sandbox_id);
        let (trash, dir) = (self.layout.layers(), self.layout.template_layers());
        let key = key.to_string();
        tokio::task::spawn_blocking(move || {
            let kept = keep_layer(&layer, &dir, &key);
            let deleted = cleanup::delete_layer(&layer, &trash);
            kept.and(deleted)
        })
        .await??;
        Ok(StepOutcome::Built)
    }
}

/// The step's commands in the running build sandbox; the exit code of the first that fails,
/// else 0.
async fn run_in(
    sandbox: &Sandbox,
    step: &StepRun,
    mut output: impl FnMut(&[u8]) + Send,
) -> anyhow::Result<i32> {
    let connect = || sandbox.connect(envd_protocol::ENVD_PORT);
    if let Some(workdir) = &step.workdir {
        let mkdir = envd_client::Command {
            cmd: "/bin/mkdir",
            args: vec!["-p".into(), "--".into(), workdir.clone()],
            cwd: Some("/".into()),
            ..envd_client::Command::shell("root", "", None)
        };
        let code = envd_client::run(connect().await?, mkdir, &mut output).await?;
        if code != 0 {
            return Ok(code);
        }
    }
    if let Some(upload) = &step.upload {
        envd_client::upload(connect().await?, &upload.from, &upload.to, &step.user)
            .await
            .context("putting the step's files into the build sandbox")?;
    }
    let command = envd_client::Command {
        envs: step.envs.clone(),
        cwd: step.workdir.clone(),
        ..envd_client::Command::shell(&step.user, &step.command, None)
    };
    envd_client::run(connect().await?, command, output).await
}

/// Copies the stopped build sandbox's upper dir into `layers_dir/key/root`.
fn keep_layer(layer: &LayerPaths, layers_dir: &Path, key: &str) -> anyhow::Result<()> {
    let ids_base: u32 = std::fs::read_to_string(layer.idmap())
        .context("reading the build sandbox's id range")?
        .trim()
        .parse()?;
    disk::mount(&layer.image(), &layer.fs())?;
    let building = layers_dir.join(format!(".build-{}", crate::random::name(8)));
    let made = crate::host_files::create_private_dir(&building)
        .map_err(anyhow::Error::from)
        .and_then(|()| layer_capture::capture(&layer.upper(), &building.join("root"), ids_base))
        .and_then(|()| {
            // A concurrent build of the same step may have finished first: same content.
            let target = layers_dir.join(key);
            if target.exists() {
                return template::remove_tree(&building);
            }
            Ok(std::fs::rename(&building, target)?)
        });
    let unmounted = disk::unmount(&layer.fs());
    if made.is_err() {
        let _ = template::remove_tree(&building);
    }
    made.and(unmounted)
}

/// Keys name directories: 64 lowercase hex digits.
pub(super) fn check_layer_key(key: &str) -> anyhow::Result<()> {
    if key.len() != 64
        || !key
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        bail!("invalid layer key {key:?}");
    }
    Ok(())
}
