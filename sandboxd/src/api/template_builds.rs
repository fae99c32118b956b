//! Building templates as the official SDKs' `Template.build` asks, in the order it calls:
//! `POST /v3/templates` (a template and a waiting build), `GET /templates/{id}/files/{hash}`
//! (an upload link per `copy` step, served by [`Controller::upload_template_file`]),
//! `POST /v2/templates/{id}/builds/{buildID}` (the steps; the build then runs in the
//! background) and `GET /templates/{id}/builds/{buildID}/status` (status and log lines from an
//! offset), in the shapes of E2B's OpenAPI spec.
//!
//! A build runs one step at a time. `ENV`, `WORKDIR` and `USER` only change what later steps
//! and the template's sandboxes get; `RUN` and `COPY` each run in a build sandbox and become a
//! layer (see `runtime::template_step`). A layer's key hashes its parent's key, the step and
//! what it runs with (user, workdir, envs, uploaded files), so a rebuild reuses every step up to
//! the first changed (or forced) one.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::StatusCode;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::controller::{Controller, DEFAULT_LIMITS, now};
use super::error::ApiError;
use super::model::rfc3339;
use super::template_store::{
    BuildRecord, BuildStatus, FailReason, LogEntry, MAX_LOG_ENTRIES, ReadyBuild, TemplateRecord,
    tag_runtime_id,
};
use crate::runtime::image::RegistryAuth;
use crate::runtime::{
    BASE_USER, BASE_WORKDIR, Bottom, Limits, Runtime, StepOutcome, StepRun, Upload,
};

/// Largest `copy` upload accepted.
pub const MAX_UPLOAD_BYTES: u64 = 1 << 30;
/// The image every SDK template starts from unless told otherwise: `base`.
const BASE_IMAGE: &str = "e2bdev/base";
/// Memory of a build sandbox when the template asks for less (package managers need it).
const MIN_BUILD_MEMORY_MB: u64 = 1024;

/// `TemplateBuildRequestV3`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewTemplate {
    name: Option<String>,
    alias: Option<String>,
    tags: Option<Vec<String>>,
    cpu_count: Option<u32>,
    #[serde(rename = "memoryMB")]
    memory_mb: Option<u64>,
}

/// `TemplateRequestResponseV3`.
#[derive(Serialize)]
pub struct TemplateRequestView {
    #[serde(rename = "templateID")]
    template_id: String,
    #[serde(rename = "buildID")]
    build_id: String,
    names: Vec<String>,
    aliases: Vec<String>,
    tags: Vec<String>,
    public: bool,
}

/// `TemplateBuildStartV2`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildStart {
    force: Option<bool>,
    from_image: Option<String>,
    from_image_registry: Option<serde_json::Value>,
    from_template: Option<String>,
    ready_cmd: Option<String>,
    start_cmd: Option<String>,
    steps: Option<Vec<Step>>,
}

/// `TemplateStep`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    args: Vec<String>,
    files_hash: Option<String>,
    #[serde(default)]
    force: bool,
}

/// `TemplateBuildFileUpload`.
#[derive(Serialize)]
pub struct FileUploadView {
    present: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

/// `TemplateBuildInfo`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildInfoView {
    #[serde(rename = "templateID")]
    template_id: String,
    #[serde(rename = "buildID")]
    build_id: String,
    status: BuildStatus,
    log_entries: Vec<LogEntry>,
    logs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<ReasonView>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReasonView {
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    step: Option<String>,
    log_entries: Vec<LogEntry>,
}

/// Where a build starts: layers (uppermost first) over a bottom, and the defaults they come
/// with.
struct Start {
    parent_key: String,
    layers: Vec<String>,
    bottom: Bottom,
    /// The image of the bottom, as `reference@digest`.
    image: Option<String>,
    user: String,
    workdir: String,
    envs: BTreeMap<String, String>,
}

impl Controller {
    /// `POST /v3/templates`: a new template, or a new build of the one already so named.
    pub fn request_template_build(
        &self,
        req: NewTemplate,
    ) -> Result<TemplateRequestView, ApiError> {
        let requested = req
            .name
            .or(req.alias)
            .ok_or_else(|| ApiError::bad_request("name is required"))?;
        let (name, name_tag) = match requested.split_once(':') {
            Some((name, tag)) => (name.to_string(), Some(tag.to_string())),
            None => (requested.clone(), None),
        };
        check_name(&name)?;
        let mut tags: Vec<String> = name_tag
            .into_iter()
            .chain(req.tags.unwrap_or_default())
            .collect();
        for tag in &tags {
            check_name(tag)?;
        }
        tags.dedup();
        if self
            .runtime
            .template(&name)
            .is_some_and(|t| !self.is_built(&t.template_id))
        {
            return Err(ApiError::bad_request(format!(
                "the name '{name}' is reserved"
            )));
        }
        let at = now();
        let build = BuildRecord {
            build_id: crate::random::uuid_v4(),
            status: BuildStatus::Waiting,
            created_at: at,
            updated_at: at,
            finished_at: None,
            reason: None,
            tags: tags.clone(),
        };
        let build_id = build.build_id.clone();
        let mut store = self.template_store();
        let template_id = match store.find(&name) {
            Some(existing) => existing.template_id.clone(),
            None => crate::random::name(20),
        };
        let record = store
            .records
            .entry(template_id.clone())
            .or_insert_with(|| TemplateRecord {
                template_id: template_id.clone(),
                names: vec![name.clone()],
                tagged: BTreeMap::new(),
                cpu_count: DEFAULT_LIMITS.cpu_count,
                memory_mb: DEFAULT_LIMITS.memory_mb,
                created_at: at,
                updated_at: at,
                builds: Vec::new(),
                ready: None,
            });
        record.cpu_count = req.cpu_count.unwrap_or(record.cpu_count).clamp(1, 8);
        record.memory_mb = req.memory_mb.unwrap_or(record.memory_mb).clamp(128, 8192);
        record.updated_at = at;
        record.builds.push(build);
        let view = TemplateRequestView {
            template_id,
            build_id,
            names: record.names.clone(),
            aliases: record.names.clone(),
            tags,
            public: false,
        };
        store
            .save()
            .map_err(|e| ApiError::internal("saving the template", e))?;
        Ok(view)
    }

    fn is_built(&self, template_id: &str) -> bool {
        self.template_store().records.contains_key(template_id)
    }

    /// `GET /templates/{id}/files/{hash}`: whether the files of a `copy` step are here, and
    /// the signed link to upload them to (relative to `api_base`, the URL the SDK called).
    pub fn template_file_link(
        &self,
        template_id: &str,
        hash: &str,
        api_base: &str,
    ) -> Result<FileUploadView, ApiError> {
        check_files_hash(hash)?;
        let template_id = self.template_record(template_id)?.template_id;
        let token = self.credentials.template_file_token(&template_id, hash);
        Ok(FileUploadView {
            present: self.template_file(&template_id, hash).is_file(),
            url: Some(format!(
                "{api_base}/template-files/{template_id}/{hash}?token={token}"
            )),
        })
    }

    /// `PUT /template-files/{id}/{hash}?token=`: stores an upload, at most
    /// [`MAX_UPLOAD_BYTES`], written to a temporary file and renamed into place when complete.
    pub async fn upload_template_file(
        &self,
        template_id: &str,
        hash: &str,
        token: &str,
        body: Body,
    ) -> Result<(), ApiError> {
        check_files_hash(hash)?;
        let expected = self.credentials.template_file_token(template_id, hash);
        if !crate::crypto::constant_time_eq(expected.as_bytes(), token.as_bytes()) {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "invalid upload token"));
        }
        let template_id = self.template_record(template_id)?.template_id;
        let target = self.template_file(&template_id, hash);
        let dir = target.parent().expect("file in a dir").to_path_buf();
        crate::host_files::create_private_dir_all(&dir)
            .map_err(|e| ApiError::internal("storing the upload", e))?;
        let partial = dir.join(format!(".upload-{}", crate::random::name(8)));
        let written = write_limited(&partial, body).await;
        let renamed = written.and_then(|()| {
            std::fs::rename(&partial, &target)
                .map_err(|e| ApiError::internal("storing the upload", e))
        });
        if renamed.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        renamed
    }

    fn template_file(&self, template_id: &str, hash: &str) -> PathBuf {
        self.template_files_dir.join(template_id).join(hash)
    }

    fn template_record(&self, id_or_name: &str) -> Result<TemplateRecord, ApiError> {
        self.template_store()
            .find(id_or_name)
            .cloned()
            .ok_or_else(|| template_not_found(id_or_name))
    }

    /// `POST /v2/templates/{id}/builds/{buildID}`: checks the steps and runs the build in the
    /// background.
    pub fn start_template_build(
        self: &Arc<Self>,
        template_id: &str,
        build_id: &str,
        req: BuildStart,
    ) -> Result<(), ApiError> {
        let steps = req.steps.clone().unwrap_or_default();
        for (i, step) in steps.iter().enumerate() {
            check_step(step).map_err(|e| ApiError::bad_request(format!("step {}: {e}", i + 1)))?;
        }
        {
            let mut store = self.template_store();
            let record = store
                .records
                .get_mut(template_id)
                .ok_or_else(|| template_not_found(template_id))?;
            let build = record
                .build_mut(build_id)
                .ok_or_else(|| build_not_found(build_id))?;
            if build.status != BuildStatus::Waiting {
                return Err(ApiError::bad_request(format!(
                    "build '{build_id}' has already been started"
                )));
            }
            build.status = BuildStatus::Building;
            build.updated_at = now();
            store.logs.insert(build_id.to_string(), Vec::new());
            store
                .save()
                .map_err(|e| ApiError::internal("saving the template", e))?;
        }
        let (ctl, template_id, build_id) =
            (self.clone(), template_id.to_string(), build_id.to_string());
        tokio::spawn(async move { ctl.run_build(template_id, build_id, req, steps).await });
        Ok(())
    }

    /// `GET /templates/{id}/builds/{buildID}/status`.
    pub fn template_build_status(
        &self,
        template_id: &str,
        build_id: &str,
        logs_offset: usize,
        level: Option<&str>,
    ) -> Result<BuildInfoView, ApiError> {
        let store = self.template_store();
        let record = store
            .records
            .get(template_id)
            .ok_or_else(|| template_not_found(template_id))?;
        let build = record
            .builds
            .iter()
            .find(|b| b.build_id == build_id)
            .ok_or_else(|| build_not_found(build_id))?;
        let logs = store.logs.get(build_id).map_or(&[][..], Vec::as_slice);
        let at_least =
            |entry: &&LogEntry| level.is_none_or(|l| level_rank(entry.level) >= level_rank(l));
        let log_entries: Vec<LogEntry> = logs
            .iter()
            .skip(logs_offset)
            .filter(at_least)
            .cloned()
            .collect();
        let reason = build.reason.as_ref().map(|r| ReasonView {
            message: r.message.clone(),
            step: r.step.clone(),
            log_entries: logs.iter().rev().take(20).rev().cloned().collect(),
        });
        Ok(BuildInfoView {
            template_id: record.template_id.clone(),
            build_id: build.build_id.clone(),
            status: build.status,
            logs: log_entries.iter().map(|e| e.message.clone()).collect(),
            log_entries,
            reason,
        })
    }

    /// `DELETE /templates/{id}`: the template is gone for new sandboxes at once (its tags
    /// too); running ones keep their layers mounted. Its uploads go; its layers stay as build
    /// cache until the layer GC finds them unused for long enough (`layer_gc`).
    pub fn delete_template(&self, id_or_name: &str) -> Result<(), ApiError> {
        let mut store = self.template_store();
        let template_id = store
            .find(id_or_name)
            .map(|r| r.template_id.clone())
            .ok_or_else(|| template_not_found(id_or_name))?;
        let removed = store.records.remove(&template_id);
        if let Some(record) = &removed {
            for build in &record.builds {
                store.logs.remove(&build.build_id);
            }
        }
        store
            .save()
            .map_err(|e| ApiError::internal("deleting the template", e))?;
        drop(store);
        for (info, _, _) in removed.iter().flat_map(TemplateRecord::runtime_infos) {
            self.runtime.unregister_template(&info.template_id);
        }
        self.runtime.unregister_template(&template_id);
        self.wake_warm_pools();
        let _ = std::fs::remove_dir_all(self.template_files_dir.join(&template_id));
        self.collect_layers();
        Ok(())
    }

    async fn run_build(
        self: Arc<Self>,
        template_id: String,
        build_id: String,
        req: BuildStart,
        steps: Vec<Step>,
    ) {
        let log = BuildLog {
            ctl: self.clone(),
            build_id: build_id.clone(),
        };
        let tags: Vec<String> = (self.template_store().records.get(&template_id))
            .and_then(|r| r.builds.iter().find(|b| b.build_id == build_id))
            .map(|b| b.tags.clone())
            .unwrap_or_default();
        let finished = match self.build_steps(&template_id, &req, &steps, &log).await {
            Ok(ready) => self.register_build(&template_id, ready),
            Err(e) => Err(e),
        };
        {
            let mut store = self.template_store();
            let Some(record) = store.records.get_mut(&template_id) else {
                // Deleted during the build: what `register_build` registered goes too.
                for tag in &tags {
                    self.runtime
                        .unregister_template(&tag_runtime_id(&template_id, tag));
                }
                self.runtime.unregister_template(&template_id);
                return;
            };
            let at = now();
            if let Ok(ready) = &finished {
                record.finish_build(ready, at);
            }
            if let Some(build) = record.build_mut(&build_id) {
                build.updated_at = at;
                build.finished_at = Some(at);
                build.status = match &finished {
                    Ok(_) => BuildStatus::Ready,
                    Err(_) => BuildStatus::Error,
                };
                build.reason = finished.as_ref().err().map(|(message, step)| FailReason {
                    message: message.clone(),
                    step: step.clone(),
                });
            }
            if let Err(e) = store.save() {
                eprintln!("sandboxd: saving templates: {e:#}");
            }
        }
        match finished {
            Ok(_) => log.push("info", "Template is ready", Some("finalize".into())),
            Err((message, step)) => log.push("error", &message, step),
        }
    }

    /// Makes a finished build what new sandboxes of the template start from.
    fn register_build(
        &self,
        template_id: &str,
        ready: ReadyBuild,
    ) -> Result<ReadyBuild, (String, Option<String>)> {
        let finalize = |message: String| (message, Some("finalize".to_string()));
        let mut record = self
            .template_store()
            .records
            .get(template_id)
            .cloned()
            .ok_or_else(|| finalize("the template was deleted during the build".into()))?;
        record.finish_build(&ready, now());
        for (info, layers, bottom) in record.runtime_infos() {
            self.runtime
                .register_template(info, layers, bottom)
                .map_err(|e| finalize(format!("{e:#}")))?;
        }
        self.wake_warm_pools();
        Ok(ready)
    }

    /// Runs the steps; the finished build, or why (and at which step) it failed.
    async fn build_steps(
        &self,
        template_id: &str,
        req: &BuildStart,
        steps: &[Step],
        log: &BuildLog,
    ) -> Result<ReadyBuild, (String, Option<String>)> {
        let started = Instant::now();
        let base = |message: String| (message, Some("base".to_string()));
        let limits = {
            let store = self.template_store();
            let record = store
                .records
                .get(template_id)
                .ok_or_else(|| base("the template was deleted".into()))?;
            Limits {
                cpu_count: record.cpu_count,
                memory_mb: record.memory_mb.max(MIN_BUILD_MEMORY_MB),
                disk_mb: self.sandbox_disk_mb(),
                ..DEFAULT_LIMITS
            }
        };
        let building = Building {
            template_id,
            limits,
            log,
        };
        let mut force = req.force.unwrap_or(false);
        let mut at = self
            .build_start(&building, req, force)
            .await
            .map_err(base)?;
        let total = steps.len();
        for (i, step) in steps.iter().enumerate() {
            let name = (i + 1).to_string();
            let fail = |message: String| (message, Some(name.clone()));
            let title = format!("[{}/{total}] {} {}", i + 1, step.kind, step.args.join(" "));
            match step.kind.as_str() {
                "ENV" => {
                    for pair in step.args.chunks(2) {
                        at.envs
                            .insert(pair[0].clone(), pair.get(1).cloned().unwrap_or_default());
                    }
                    log.push("info", &title, Some(name));
                    continue;
                }
                "WORKDIR" => {
                    at.workdir = resolve(&at.workdir, &step.args[0]);
                    log.push("info", &title, Some(name));
                    continue;
                }
                "USER" => {
                    at.user = step.args[0].clone();
                    log.push("info", &title, Some(name));
                    continue;
                }
                _ => {}
            }
            force |= step.force;
            let key = layer_key(&at, step);
            if !force && self.runtime.has_layer(&key) {
                self.runtime.touch_layer(&key);
                log.push("info", &format!("CACHED {title}"), Some(name));
            } else {
                log.push("info", &title, Some(name.clone()));
                let what = format!(
                    "step {} ({} {})",
                    i + 1,
                    step.kind,
                    step.args.first().map_or("", String::as_str)
                );
                self.run_layer(&building, &at, step, &key, &name, &what)
                    .await
                    .map_err(fail)?;
                // What follows a rebuilt step cannot be trusted from the cache any more.
                force = true;
            }
            at.parent_key = key.clone();
            at.layers.insert(0, key);
        }
        log.push(
            "info",
            &format!("Build finished in {:.1} s", started.elapsed().as_secs_f64()),
            Some("finalize".into()),
        );
        Ok(ReadyBuild {
            build_id: log.build_id.clone(),
            layers: at.layers,
            bottom: at.bottom,
            image: at.image,
            user: at.user,
            workdir: at.workdir,
            envs: at.envs,
            start_cmd: req.start_cmd.clone().filter(|c| !c.is_empty()),
            ready_cmd: req.ready_cmd.clone().filter(|c| !c.is_empty()),
            built_at: now(),
        })
    }

    /// Runs `step` over `at` in a build sandbox and keeps what it changed as layer `key`; why
    /// not, if it failed (`what` names the step, `name` is the SDK's step name for its output).
    async fn run_layer(
        &self,
        building: &Building<'_>,
        at: &Start,
        step: &Step,
        key: &str,
        name: &str,
        what: &str,
    ) -> Result<(), String> {
        let run = self.step_run(building.template_id, at, step, building.limits.clone())?;
        let mut output = LineSplitter::new(building.log, name);
        let outcome = self
            .runtime
            .build_layer(key, run, |chunk| output.push(chunk))
            .await;
        output.flush();
        match outcome {
            Ok(StepOutcome::Built) => Ok(()),
            Ok(StepOutcome::Failed { exit_code }) => Err(format!(
                "{what} failed with exit code {exit_code}: {}",
                output.tail()
            )),
            Err(e) => {
                eprintln!("sandboxd: template {} {what}: {e:#}", building.template_id);
                Err(format!("{what} could not run: {e:#}"))
            }
        }
    }

    /// The one place image references and base templates are resolved: `e2bdev/base[:tag]`,
    /// `base` and templates built here; any other image is pulled ([`Controller::image_start`]).
    async fn build_start(
        &self,
        building: &Building<'_>,
        req: &BuildStart,
        force: bool,
    ) -> Result<Start, String> {
        let base_build = self
            .runtime
            .template("base")
            .map(|t| t.build_id)
            .unwrap_or_default();
        let from_base = Start {
            parent_key: hex::encode(Sha256::digest(format!("base\n{base_build}"))),
            layers: Vec::new(),
            bottom: Bottom::Base,
            image: None,
            user: BASE_USER.to_string(),
            workdir: BASE_WORKDIR.to_string(),
            envs: BTreeMap::new(),
        };
        match (req.from_template.as_deref(), req.from_image.as_deref()) {
            (Some(template), _) if !template.is_empty() => {
                let name = template.split(':').next().unwrap_or(template);
                if self
                    .runtime
                    .template(name)
                    .is_some_and(|t| !self.is_built(&t.template_id))
                {
                    return Ok(from_base);
                }
                let record = self.template_store().find(name).cloned();
                let ready = record
                    .and_then(|r| r.ready)
                    .ok_or_else(|| format!("template '{template}' not found or not built yet"))?;
                Ok(Start {
                    parent_key: ready
                        .layers
                        .first()
                        .cloned()
                        .unwrap_or(from_base.parent_key),
                    layers: ready.layers,
                    bottom: ready.bottom,
                    image: ready.image,
                    user: ready.user,
                    workdir: ready.workdir,
                    envs: ready.envs,
                })
            }
            (_, Some(image)) if image == BASE_IMAGE || image.starts_with("e2bdev/base:") => {
                Ok(from_base)
            }
            (_, Some(image)) if !image.is_empty() => self
                .image_start(building, image, req.from_image_registry.as_ref(), force)
                .await
                .map_err(|e| format!("image {image}: {e}")),
            _ => Err("exactly one of fromImage or fromTemplate must be given".into()),
        }
    }

    /// A build on a pulled image: its layers are the whole bottom (no `base` under them), its
    /// `Env` the start's envs and its `WorkingDir` (else `/home/user`) the workdir; then E2B's
    /// setup ([`IMAGE_SETUP`]) runs as root and becomes the first layer, and later steps run
    /// as `user`, as on E2B. The image's `User` is not used: E2B's templates default to `user`.
    /// The keys hash the image's digest, so a changed image rebuilds every step.
    async fn image_start(
        &self,
        building: &Building<'_>,
        image: &str,
        registry: Option<&serde_json::Value>,
        force: bool,
    ) -> Result<Start, String> {
        let auth = match registry.filter(|r| !r.is_null()) {
            Some(registry) => RegistryAuth::from_sdk(registry).map_err(|e| e.to_string())?,
            None => RegistryAuth::Anonymous,
        };
        let log = |message: &str| building.log.push("info", message, Some("base".into()));
        log(&format!("Pulling {image}"));
        let started = Instant::now();
        let pulled = self
            .runtime
            .pull_image(image, auth)
            .await
            .map_err(|e| e.to_string())?;
        let digest = pulled.digest.clone().unwrap_or_else(|| "local".into());
        log(&format!(
            "Pulled {image} ({digest}, {} layers) in {:.1} s",
            pulled.layers.len(),
            started.elapsed().as_secs_f64()
        ));
        let layers: Vec<PathBuf> = pulled.layers.iter().rev().cloned().collect();
        Runtime::check_image_root(&layers)?;
        // The content, not the name: the same image under another name or tag shares the cache.
        let identity = serde_json::json!({"digest": digest, "layers": layers});
        let mut at = Start {
            parent_key: hex::encode(Sha256::digest(identity.to_string())),
            layers: Vec::new(),
            bottom: Bottom::Image(layers),
            image: Some(format!("{image}@{digest}")),
            user: "root".into(),
            workdir: "/".into(),
            envs: (pulled.config.env.iter())
                .filter_map(|pair| pair.split_once('='))
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
        };
        let setup = Step {
            kind: "RUN".into(),
            args: vec![IMAGE_SETUP.into()],
            files_hash: None,
            force: false,
        };
        let key = layer_key(&at, &setup);
        let title = format!("E2B setup: user '{BASE_USER}', its home, sudo");
        if !force && self.runtime.has_layer(&key) {
            log(&format!("CACHED {title}"));
        } else {
            log(&title);
            self.run_layer(building, &at, &setup, &key, "base", "the E2B setup")
                .await?;
        }
        at.parent_key = key.clone();
        at.layers = vec![key];
        at.user = BASE_USER.into();
        at.workdir = Some(pulled.config.workdir)
            .filter(|w| w.starts_with('/'))
            .unwrap_or_else(|| BASE_WORKDIR.into());
        Ok(at)
    }

    /// What the runtime runs for a `RUN` or `COPY` step.
    fn step_run(
        &self,
        template_id: &str,
        at: &Start,
        step: &Step,
        limits: Limits,
    ) -> Result<StepRun, String> {
        let mut run = StepRun {
            template_id: template_id.to_string(),
            lowers: at.layers.clone(),
            bottom: at.bottom.clone(),
            user: at.user.clone(),
            workdir: Some(at.workdir.clone()),
            envs: at.envs.clone(),
            command: String::new(),
            upload: None,
            limits,
        };
        if step.kind == "RUN" {
            run.command = step.args[0].clone();
            if let Some(user) = step.args.get(1).filter(|u| !u.is_empty()) {
                run.user = user.clone();
            }
            return Ok(run);
        }
        let hash = step.files_hash.as_deref().unwrap_or_default();
        let file = self.template_file(template_id, hash);
        if !file.is_file() {
            return Err(format!("the files of '{}' were not uploaded", step.args[0]));
        }
        let owner = step
            .args
            .get(2)
            .filter(|u| !u.is_empty())
            .unwrap_or(&at.user)
            .clone();
        let inside = format!("/tmp/.e2b-copy-{}", crate::random::name(12));
        run.command = copy_script(
            &inside,
            &step.args[0],
            &step.args[1],
            &owner,
            step.args.get(3),
        );
        run.user = "root".into();
        run.upload = Some(Upload {
            from: file,
            to: inside,
        });
        Ok(run)
    }
}

/// What every step of one build runs with.
struct Building<'a> {
    template_id: &'a str,
    limits: Limits,
    log: &'a BuildLog,
}

/// E2B's setup of an image for sandboxes, run as root in a build sandbox over the image: the
/// user `user` (uid 1000 when free, as in `base`; `useradd` when the image has it, else
/// entries written by hand, so that a minimal image works too), its home `/home/user`, and
/// `sudo` without a password when the image has sudo. Nothing is installed.
const IMAGE_SETUP: &str = r#"set -eu
# The image's PATH (its Env) may leave out where useradd lives.
PATH=/usr/local/sbin:/usr/sbin:/sbin:$PATH
has_entry() { # NAME FILE: whether FILE (passwd or group) has NAME
  local IFS=: name rest
  [ -f "$2" ] || return 1
  while read -r name rest; do [ "$name" = "$1" ] && return 0; done < "$2"
  return 1
}
has_id() { # ID FILE: whether FILE (passwd or group) uses the numeric ID
  local IFS=: name password id rest
  [ -f "$2" ] || return 1
  while read -r name password id rest; do [ "$id" = "$1" ] && return 0; done < "$2"
  return 1
}
if ! has_entry user /etc/passwd; then
  if command -v useradd >/dev/null; then
    if has_entry user /etc/group; then group=(-g user); else group=(-U); fi
    useradd -m -s /bin/bash "${group[@]}" user
  else
    id=1000
    while has_id $id /etc/passwd || has_id $id /etc/group; do id=$((id + 1)); done
    mkdir -p /etc
    has_entry user /etc/group || echo "user:x:$id:" >> /etc/group
    echo "user:x:$id:$id::/home/user:/bin/bash" >> /etc/passwd
  fi
fi
if [ ! -d /home/user ]; then
  mkdir -p /home/user
  chown user: /home/user
fi
if command -v sudo >/dev/null && [ -d /etc/sudoers.d ]; then
  echo 'user ALL=(ALL:ALL) NOPASSWD: ALL' > /etc/sudoers.d/e2b-user
  chmod 0440 /etc/sudoers.d/e2b-user
fi
"#;

/// A build's log, appended to as the build goes.
struct BuildLog {
    ctl: Arc<Controller>,
    build_id: String,
}

impl BuildLog {
    fn push(&self, level: &'static str, message: &str, step: Option<String>) {
        let mut store = self.ctl.template_store();
        let Some(entries) = store.logs.get_mut(&self.build_id) else {
            return;
        };
        if entries.len() >= MAX_LOG_ENTRIES {
            entries.remove(0);
        }
        entries.push(LogEntry {
            timestamp: rfc3339(now()),
            level,
            message: message.to_string(),
            step,
        });
    }
}

/// Turns a command's output chunks into log lines, keeping the last few for the error message.
struct LineSplitter<'a> {
    log: &'a BuildLog,
    step: &'a str,
    partial: Vec<u8>,
    last: std::collections::VecDeque<String>,
}

impl<'a> LineSplitter<'a> {
    const TAIL_LINES: usize = 10;

    fn new(log: &'a BuildLog, step: &'a str) -> Self {
        LineSplitter {
            log,
            step,
            partial: Vec::new(),
            last: Default::default(),
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        self.partial.extend_from_slice(chunk);
        while let Some(end) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            self.line(&line[..line.len() - 1]);
        }
    }

    fn flush(&mut self) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(&line);
        }
    }

    fn line(&mut self, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes)
            .trim_end_matches('\r')
            .to_string();
        if self.last.len() == Self::TAIL_LINES {
            self.last.pop_front();
        }
        self.last.push_back(text.clone());
        self.log.push("info", &text, Some(self.step.to_string()));
    }

    fn tail(&self) -> String {
        self.last.iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

/// The key of the layer `step` makes over `at`.
fn layer_key(at: &Start, step: &Step) -> String {
    let described = serde_json::json!({
        "parent": at.parent_key,
        "type": step.kind,
        "args": step.args,
        "filesHash": step.files_hash,
        "user": at.user,
        "workdir": at.workdir,
        "envs": at.envs,
    });
    hex::encode(Sha256::digest(described.to_string()))
}

/// A `COPY`: the uploaded tar is unpacked by the owner (`runuser`, inside the sandbox, so a
/// hostile archive can only touch the sandbox), then placed like Docker's `COPY` does (a
/// directory's contents into `dest`, files into `dest/` or as `dest`), owned by the owner and
/// with `mode` if given.
fn copy_script(tar: &str, src: &str, dest: &str, owner: &str, mode: Option<&String>) -> String {
    let mode = mode.map_or(String::new(), String::clone);
    format!(
        r#"set -euo pipefail
tar={tar} src={src} dest={dest} owner={owner} mode={mode}
group=$(id -gn "$owner")
unpacked=$(runuser -u "$owner" -- mktemp -d)
runuser -u "$owner" -- tar -xpf "$tar" -C "$unpacked"
rm -f "$tar"
shopt -s nullglob dotglob
IFS=
matches=( "$unpacked"/$src )
if [ ${{#matches[@]}} -eq 0 ]; then echo "copy: nothing matches $src" >&2; exit 1; fi
place() {{ # copied entries (relative paths under $1) get the owner and the mode
  (cd "$1" && find . -mindepth 1 -print0) | (cd "$2" && xargs -0r chown -h "$owner:$group")
  if [ -n "$mode" ]; then (cd "$1" && find . -mindepth 1 ! -type l -print0) | (cd "$2" && xargs -0r chmod "$mode"); fi
}}
for match in "${{matches[@]}}"; do
  if [ -d "$match" ] && [ ! -L "$match" ]; then
    mkdir -p "$dest"; cp -a "$match"/. "$dest"/; place "$match" "$dest"
  else
    if [ ${{#matches[@]}} -gt 1 ] || [ "${{dest%/}}" != "$dest" ] || [ -d "$dest" ]; then
      target="${{dest%/}}/$(basename "$match")"
    else
      target="$dest"
    fi
    mkdir -p "$(dirname "$target")"; cp -a "$match" "$target"
    chown -h "$owner:$group" "$target"
    if [ -n "$mode" ] && [ ! -L "$target" ]; then chmod "$mode" "$target"; fi
  fi
done
rm -rf "$unpacked"
"#,
        tar = shell_quote(tar),
        src = shell_quote(src),
        dest = shell_quote(dest),
        owner = shell_quote(owner),
        mode = shell_quote(&mode),
    )
}

fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// `path` against the working directory `cwd` (WORKDIR takes either).
fn resolve(cwd: &str, path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{}/{path}", cwd.trim_end_matches('/'))
    }
}

async fn write_limited(path: &std::path::Path, body: Body) -> Result<(), ApiError> {
    let failed = |e: std::io::Error| ApiError::internal("storing the upload", e);
    let mut file =
        tokio::fs::File::from_std(crate::host_files::create_private_file(path).map_err(failed)?);
    let mut stream = body.into_data_stream();
    let mut total = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("reading the upload: {e}")))?;
        total += chunk.len() as u64;
        if total > MAX_UPLOAD_BYTES {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("uploads are limited to {MAX_UPLOAD_BYTES} bytes"),
            ));
        }
        file.write_all(&chunk).await.map_err(failed)?;
    }
    file.sync_all().await.map_err(failed)
}

fn check_step(step: &Step) -> Result<(), String> {
    let wanted = match step.kind.as_str() {
        "RUN" => 1..=2,
        "COPY" => 2..=4,
        "WORKDIR" | "USER" => 1..=1,
        "ENV" => 2..=usize::MAX,
        other => return Err(format!("step type {other} is not supported")),
    };
    if !wanted.contains(&step.args.len()) || step.args.iter().take(1).any(String::is_empty) {
        return Err(format!("{} takes {wanted:?} arguments", step.kind));
    }
    if step.kind == "ENV" && step.args.len() % 2 != 0 {
        return Err("ENV takes name and value pairs".into());
    }
    if step.kind == "COPY" {
        check_files_hash(step.files_hash.as_deref().unwrap_or_default()).map_err(|e| e.message)?;
    }
    Ok(())
}

/// Names and tags: what E2B allows (lowercase letters, digits, `-`, `_`, `.`).
pub(super) fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        })
        && !name.starts_with('.');
    if !ok {
        return Err(ApiError::bad_request(format!(
            "invalid name '{name}': use lowercase letters, digits, '-', '_' and '.'"
        )));
    }
    Ok(())
}

/// The SDK's files hash: SHA-256 in hex.
fn check_files_hash(hash: &str) -> Result<(), ApiError> {
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::bad_request(format!(
            "invalid files hash '{hash}'"
        )));
    }
    Ok(())
}

fn level_rank(level: &str) -> u8 {
    match level {
        "debug" => 0,
        "info" => 1,
        "warn" => 2,
        _ => 3,
    }
}

pub(super) fn template_not_found(id: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, format!("template '{id}' not found"))
}

fn build_not_found(id: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, format!("build '{id}' not found"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting_survives_quotes() {
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
    }

    #[test]
    fn workdirs_resolve_against_the_current_one() {
        assert_eq!(resolve("/home/user", "app"), "/home/user/app");
        assert_eq!(resolve("/home/user/", "/srv"), "/srv");
    }

    #[test]
    fn a_layer_key_follows_user_and_parent() {
        let at = Start {
            parent_key: "p".into(),
            layers: vec![],
            bottom: Bottom::Base,
            image: None,
            user: "user".into(),
            workdir: "/".into(),
            envs: BTreeMap::new(),
        };
        let step = Step {
            kind: "RUN".into(),
            args: vec!["true".into()],
            files_hash: None,
            force: false,
        };
        let key = layer_key(&at, &step);
        assert_eq!(key.len(), 64);
        assert_eq!(key, layer_key(&at, &step));
        assert_ne!(
            key,
            layer_key(
                &Start {
                    user: "root".into(),
                    ..at
                },
                &step
            )
        );
    }
}
