//! What sandboxd knows about the templates it built: names, tags, builds with their status,
//! and each template's current build (layers, user, workdir, envs, start and ready command).
//! One JSON file in the control dir, replaced atomically on every change; build logs are kept
//! in memory only (a restart ends every build in progress anyway).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::runtime::{Bottom, TemplateInfo};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TemplateRecord {
    pub template_id: String,
    pub names: Vec<String>,
    /// Tags other than `default` (which always means `ready`), each on the build it was given.
    #[serde(default)]
    pub tagged: BTreeMap<String, TaggedBuild>,
    pub cpu_count: u32,
    pub memory_mb: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub builds: Vec<BuildRecord>,
    /// The last build that finished: what sandboxes of this template start from.
    pub ready: Option<ReadyBuild>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BuildStatus {
    Waiting,
    Building,
    Ready,
    Error,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BuildRecord {
    pub build_id: String,
    pub status: BuildStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub reason: Option<FailReason>,
    /// Tags the build was requested with (`name:tag`, `tags`), given to it when it is ready.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A tag and the finished build it names; the build is kept whole so that a later build of
/// the template does not take it away.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TaggedBuild {
    pub build: ReadyBuild,
    pub tagged_at: DateTime<Utc>,
}

/// The tag every template has: its current build.
pub const DEFAULT_TAG: &str = "default";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FailReason {
    pub message: String,
    /// The SDK's step name: `base`, `1`, `2`, ... (steps counted from 1), or `finalize`.
    pub step: Option<String>,
}

/// A finished build: its layer keys (uppermost first, over its bottom) and the sandbox
/// defaults its steps left.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReadyBuild {
    pub build_id: String,
    pub layers: Vec<String>,
    /// `base`, or the layers of the image the template was built from (older records: `base`).
    #[serde(default)]
    pub bottom: Bottom,
    /// That image, as `reference@digest`, for whoever reads this file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    pub user: String,
    pub workdir: String,
    pub envs: BTreeMap<String, String>,
    pub start_cmd: Option<String>,
    pub ready_cmd: Option<String>,
    pub built_at: DateTime<Utc>,
}

impl TemplateRecord {
    /// What the runtime needs to start sandboxes of the current build (what
    /// `Runtime::register_template` takes); `None` before one.
    pub fn runtime_info(&self) -> Option<(TemplateInfo, Vec<String>, Bottom)> {
        let ready = self.ready.as_ref()?;
        Some(ready_info(
            self.template_id.clone(),
            self.names.clone(),
            ready,
        ))
    }

    /// The current build and every tagged one, as the runtime registers them: a tagged build
    /// is a template of its own, `<template ID>:<tag>` (see [`tag_runtime_id`]).
    pub fn runtime_infos(&self) -> Vec<(TemplateInfo, Vec<String>, Bottom)> {
        let tagged = self.tagged.iter().map(|(tag, t)| {
            let aliases = self.names.iter().map(|n| format!("{n}:{tag}")).collect();
            ready_info(tag_runtime_id(&self.template_id, tag), aliases, &t.build)
        });
        self.runtime_info().into_iter().chain(tagged).collect()
    }

    /// Makes `ready` the current build and gives it the tags its build was requested with.
    pub fn finish_build(&mut self, ready: &ReadyBuild, at: DateTime<Utc>) {
        let tags = self
            .builds
            .iter()
            .find(|b| b.build_id == ready.build_id)
            .map(|b| b.tags.clone())
            .unwrap_or_default();
        for tag in tags.into_iter().filter(|t| t != DEFAULT_TAG) {
            let tagged = TaggedBuild {
                build: ready.clone(),
                tagged_at: at,
            };
            self.tagged.insert(tag, tagged);
        }
        self.ready = Some(ready.clone());
    }

    /// Every layer key the current build and the tagged builds stand on.
    pub fn layer_keys(&self) -> impl Iterator<Item = &String> {
        let tagged = self.tagged.values().map(|t| &t.build);
        self.ready
            .iter()
            .chain(tagged)
            .flat_map(|b| b.layers.iter())
    }

    pub fn build_mut(&mut self, build_id: &str) -> Option<&mut BuildRecord> {
        self.builds.iter_mut().find(|b| b.build_id == build_id)
    }

    pub fn is_named(&self, id_or_name: &str) -> bool {
        self.template_id == id_or_name || self.names.iter().any(|n| n == id_or_name)
    }
}

/// The runtime's ID of a tagged build of `template_id`.
pub fn tag_runtime_id(template_id: &str, tag: &str) -> String {
    format!("{template_id}:{tag}")
}

fn ready_info(
    template_id: String,
    aliases: Vec<String>,
    ready: &ReadyBuild,
) -> (TemplateInfo, Vec<String>, Bottom) {
    let info = TemplateInfo {
        template_id,
        aliases,
        build_id: ready.build_id.clone(),
        built_at: Some(ready.built_at.into()),
        default_user: ready.user.clone(),
        default_workdir: ready.workdir.clone(),
        env_vars: ready.envs.clone(),
        start_cmd: ready.start_cmd.clone(),
        ready_cmd: ready.ready_cmd.clone(),
    };
    (info, ready.layers.clone(), ready.bottom.clone())
}

/// One line of a build's log, as `BuildLogEntry` of the API.
#[derive(Clone, Debug, Serialize)]
pub struct LogEntry {
    pub timestamp: String,
    pub level: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
}

/// Lines kept per build; later lines replace the oldest beyond this.
pub const MAX_LOG_ENTRIES: usize = 20_000;

pub struct TemplateStore {
    path: PathBuf,
    pub records: BTreeMap<String, TemplateRecord>,
    /// By build ID.
    pub logs: HashMap<String, Vec<LogEntry>>,
}

impl TemplateStore {
    /// Loads `templates.json` of `control_dir`; builds a stopped sandboxd left unfinished are
    /// marked failed.
    pub fn load(control_dir: &Path) -> anyhow::Result<TemplateStore> {
        let path = control_dir.join("templates.json");
        let mut records: BTreeMap<String, TemplateRecord> = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not a template list", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        for build in records.values_mut().flat_map(|r| r.builds.iter_mut()) {
            if matches!(build.status, BuildStatus::Waiting | BuildStatus::Building) {
                build.status = BuildStatus::Error;
                build.reason = Some(FailReason {
                    message: "sandboxd stopped during the build".into(),
                    step: None,
                });
            }
        }
        let store = TemplateStore {
            path,
            records,
            logs: HashMap::new(),
        };
        store.save()?;
        Ok(store)
    }

    pub fn save(&self) -> anyhow::Result<()> {
        crate::host_files::write_private_atomic(
            &self.path,
            &serde_json::to_vec_pretty(&self.records)?,
        )
        .with_context(|| format!("replacing {}", self.path.display()))
    }

    pub fn find(&self, id_or_name: &str) -> Option<&TemplateRecord> {
        self.records.values().find(|r| r.is_named(id_or_name))
    }
}
