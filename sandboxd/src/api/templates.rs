//! Asking about templates: `GET /templates` (the CLI's `template list`) and
//! `GET /templates/aliases/{alias}` (the SDKs' `Template.exists`), in the shapes of E2B's
//! OpenAPI spec (e2b-dev/E2B), for the templates the runtime can start. Building templates is
//! not served.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::controller::{Controller, DEFAULT_LIMITS};
use super::error::ApiError;
use super::model::rfc3339;
use crate::envd::ENVD_VERSION;
use crate::runtime::TemplateInfo;

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
    build_status: &'static str,
}

/// `TemplateAliasResponse` of the spec.
#[derive(Serialize)]
pub struct TemplateAliasView {
    #[serde(rename = "templateID")]
    template_id: String,
    public: bool,
}

impl Controller {
    /// Every template, with spawn figures counted over the sandboxes sandboxd knows now
    /// (running and paused ones; killed sandboxes leave no record).
    pub fn templates(&self) -> Vec<TemplateView> {
        let sandboxes = self.lock();
        self.runtime
            .templates()
            .into_iter()
            .map(|info| {
                let spawned: Vec<DateTime<Utc>> = sandboxes
                    .values()
                    .map(|e| &e.record)
                    .filter(|r| r.template_id == info.template_id)
                    .map(|r| r.started_at)
                    .collect();
                template_view(info, spawned.len() as u64, spawned.into_iter().max())
            })
            .collect()
    }

    /// The template an alias names; 404 in the API's wording when there is none.
    pub fn template_alias(&self, alias: &str) -> Result<TemplateAliasView, ApiError> {
        self.runtime
            .templates()
            .into_iter()
            .find(|t| t.aliases.iter().any(|a| a == alias))
            .map(|t| TemplateAliasView {
                template_id: t.template_id,
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

fn template_view(
    info: TemplateInfo,
    spawn_count: u64,
    last_spawned: Option<DateTime<Utc>>,
) -> TemplateView {
    let built_at = rfc3339(info.built_at.map_or_else(Utc::now, DateTime::<Utc>::from));
    TemplateView {
        template_id: info.template_id,
        build_id: info.build_id,
        cpu_count: DEFAULT_LIMITS.cpu_count,
        memory_mb: DEFAULT_LIMITS.memory_mb,
        disk_size_mb: DEFAULT_LIMITS.disk_mb,
        public: true,
        names: info.aliases.clone(),
        aliases: info.aliases,
        created_at: built_at.clone(),
        updated_at: built_at,
        created_by: None,
        last_spawned_at: last_spawned.map(rfc3339),
        spawn_count,
        build_count: 1,
        envd_version: ENVD_VERSION,
        build_status: "ready",
    }
}
