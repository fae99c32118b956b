//! Asking about templates: `GET /templates` (the CLI's `template list`),
//! `GET /templates/{id}` (a template with its builds) and `GET /templates/aliases/{alias}` (the
//! SDKs' `Template.exists`), in the shapes of E2B's OpenAPI spec (e2b-dev/E2B): `base` and the
//! templates built here (`template_builds`).

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::controller::{Controller, DEFAULT_LIMITS};
use super::error::ApiError;
use super::model::rfc3339;
use super::template_builds::template_not_found;
use super::template_store::{BuildStatus, TemplateRecord};
use crate::envd::ENVD_VERSION;
use crate::runtime::{BASE_TEMPLATE_ID, TemplateInfo};

/// `Template` of the spec.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateView {
    #[serde(rename = "templateID")]
    template_id: String,
    #[serde(rename = "buildID")]
    build_id: String,
    cpu_count: u32,
    #[serde(rename = "memoryMB")]
    memory_mb: u64,
    #[serde(rename = "diskSizeMB")]
    disk_size_mb: u64,
    public: bool,
    aliases: Vec<String>,
    names: Vec<String>,
    created_at: String,
    updated_at: String,
    /// Built on this machine by sandboxd, not by a team member.
    created_by: Option<()>,
    last_spawned_at: Option<String>,
    spawn_count: u64,
    build_count: u32,
    envd_version: &'static str,
    build_status: BuildStatus,
}

/// `TemplateWithBuilds` of the spec.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateWithBuildsView {
    #[serde(rename = "templateID")]
    template_id: String,
    public: bool,
    aliases: Vec<String>,
    names: Vec<String>,
    created_at: String,
    updated_at: String,
    last_spawned_at: Option<String>,
    spawn_count: u64,
    builds: Vec<BuildView>,
}

/// `TemplateBuild` of the spec.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BuildView {
    #[serde(rename = "buildID")]
    build_id: String,
    status: BuildStatus,
    created_at: String,
    updated_at: String,
    finished_at: Option<String>,
    cpu_count: u32,
    #[serde(rename = "memoryMB")]
    memory_mb: u64,
    #[serde(rename = "diskSizeMB")]
    disk_size_mb: u64,
    envd_version: &'static str,
}

/// `TemplateAliasResponse` of the spec.
#[derive(Serialize)]
pub struct TemplateAliasView {
    #[serde(rename = "templateID")]
    template_id: String,
    public: bool,
}

impl Controller {
    /// `base`, then every template built here, with spawn figures counted over the sandboxes
    /// sandboxd knows now (running and paused ones; killed sandboxes leave no record).
    pub fn templates(&self) -> Vec<TemplateView> {
        let records: Vec<TemplateRecord> =
            self.template_store().records.values().cloned().collect();
        let base = self
            .runtime
            .template(BASE_TEMPLATE_ID)
            .map(|info| template_view(info, None));
        base.into_iter()
            .chain(records.into_iter().map(|record| {
                let info = record
                    .runtime_info()
                    .map(|(info, _, _)| info)
                    .unwrap_or_else(|| TemplateInfo {
                        template_id: record.template_id.clone(),
                        aliases: record.names.clone(),
                        build_id: record
                            .builds
                            .last()
                            .map(|b| b.build_id.clone())
                            .unwrap_or_default(),
                        built_at: Some(record.created_at.into()),
                        ..TemplateInfo::default()
                    });
                template_view(info, Some(&record))
            }))
            .map(|mut view| {
                (view.spawn_count, view.last_spawned_at) = self.spawns(&view.template_id);
                view
            })
            .collect()
    }

    /// How many sandboxes of a template sandboxd knows now, and when the last one started.
    fn spawns(&self, template_id: &str) -> (u64, Option<String>) {
        let sandboxes = self.lock();
        let spawned: Vec<DateTime<Utc>> = sandboxes
            .values()
            .map(|e| &e.record)
            .filter(|r| r.template_id == template_id)
            .map(|r| r.started_at)
            .collect();
        (spawned.len() as u64, spawned.into_iter().max().map(rfc3339))
    }

    /// `GET /templates/{id}`: a template built here with its builds, oldest first.
    pub fn template_with_builds(
        &self,
        id_or_name: &str,
    ) -> Result<TemplateWithBuildsView, ApiError> {
        let record = self
            .template_store()
            .find(id_or_name)
            .cloned()
            .ok_or_else(|| template_not_found(id_or_name))?;
        let (spawn_count, last_spawned_at) = self.spawns(&record.template_id);
        Ok(TemplateWithBuildsView {
            template_id: record.template_id.clone(),
            public: false,
            aliases: record.names.clone(),
            names: record.names.clone(),
            created_at: rfc3339(record.created_at),
            updated_at: rfc3339(record.updated_at),
            last_spawned_at,
            spawn_count,
            builds: record
                .builds
                .iter()
                .map(|b| BuildView {
                    build_id: b.build_id.clone(),
                    status: b.status,
                    created_at: rfc3339(b.created_at),
                    updated_at: rfc3339(b.updated_at),
                    finished_at: b.finished_at.map(rfc3339),
                    cpu_count: record.cpu_count,
                    memory_mb: record.memory_mb,
                    disk_size_mb: self.sandbox_disk_mb(),
                    envd_version: ENVD_VERSION,
                })
                .collect(),
        })
    }

    /// The template an alias names; 404 in the API's wording when there is none.
    pub fn template_alias(&self, alias: &str) -> Result<TemplateAliasView, ApiError> {
        let built = self
            .template_store()
            .find(alias)
            .map(|r| r.template_id.clone());
        built
            .or_else(|| {
                self.runtime
                    .template(alias)
                    .filter(|t| t.aliases.iter().any(|a| a == alias))
                    .map(|t| t.template_id)
            })
            .map(|template_id| TemplateAliasView {
                template_id,
                public: true,
            })
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!("template with alias '{alias}' not found"),
                )
            })
    }
}

/// The list entry of `base` (no record) or of a template built here.
fn template_view(info: TemplateInfo, record: Option<&TemplateRecord>) -> TemplateView {
    let built_at = rfc3339(info.built_at.map_or_else(Utc::now, DateTime::<Utc>::from));
    TemplateView {
        template_id: info.template_id,
        build_id: info.build_id,
        cpu_count: record.map_or(DEFAULT_LIMITS.cpu_count, |r| r.cpu_count),
        memory_mb: record.map_or(DEFAULT_LIMITS.memory_mb, |r| r.memory_mb),
        disk_size_mb: DEFAULT_LIMITS.disk_mb,
        public: record.is_none(),
        names: info.aliases.clone(),
        aliases: info.aliases,
        created_at: record.map_or_else(|| built_at.clone(), |r| rfc3339(r.created_at)),
        updated_at: built_at,
        created_by: None,
        last_spawned_at: None,
        spawn_count: 0,
        build_count: record.map_or(1, |r| r.builds.len() as u32),
        envd_version: ENVD_VERSION,
        build_status: record
            .and_then(|r| r.builds.last())
            .map_or(BuildStatus::Ready, |b| b.status),
    }
}
