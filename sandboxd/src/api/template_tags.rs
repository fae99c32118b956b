//! Template tags as the official SDKs' `Template.assignTags`, `removeTags` and `getTags` call
//! them: `POST /templates/tags` (`{target: "name[:tag]", tags}` gives the tags to the build
//! `target` names), `DELETE /templates/tags` (`{name, tags}`) and `GET /templates/{id}/tags`,
//! in the shapes of E2B's OpenAPI spec.
//!
//! `default` is the current build and moves with every build; it cannot be assigned or
//! removed. Any other tag keeps naming its build when later builds come, so that
//! `Sandbox.create('name:tag')` starts that build (registered with the runtime as a template
//! of its own, `<template ID>:<tag>`), and its layers are kept (see `layer_gc`).

use serde::{Deserialize, Serialize};

use super::controller::{Controller, now};
use super::error::ApiError;
use super::model::rfc3339;
use super::template_builds::{check_name, template_not_found};
use super::template_store::{DEFAULT_TAG, ReadyBuild, TaggedBuild, tag_runtime_id};

/// `AssignTemplateTagsRequest`.
#[derive(Debug, Default, Deserialize)]
pub struct AssignTags {
    target: String,
    tags: Vec<String>,
}

/// `DeleteTemplateTagsRequest`.
#[derive(Debug, Default, Deserialize)]
pub struct RemoveTags {
    name: String,
    tags: Vec<String>,
}

/// `AssignedTemplateTags`.
#[derive(Serialize)]
pub struct AssignedTagsView {
    tags: Vec<String>,
    #[serde(rename = "buildID")]
    build_id: String,
}

/// `TemplateTag`.
#[derive(Serialize)]
pub struct TagView {
    tag: String,
    #[serde(rename = "buildID")]
    build_id: String,
    #[serde(rename = "createdAt")]
    created_at: String,
}

impl Controller {
    /// `POST /templates/tags`.
    pub fn assign_template_tags(&self, req: AssignTags) -> Result<AssignedTagsView, ApiError> {
        let (name, source_tag) = match req.target.split_once(':') {
            Some((name, tag)) => (name, tag),
            None => (req.target.as_str(), DEFAULT_TAG),
        };
        check_new_tags(&req.tags)?;
        let mut store = self.template_store();
        let record = store
            .records
            .values_mut()
            .find(|r| r.is_named(name))
            .ok_or_else(|| template_not_found(name))?;
        let build: ReadyBuild = if source_tag == DEFAULT_TAG {
            record.ready.clone()
        } else {
            record.tagged.get(source_tag).map(|t| t.build.clone())
        }
        .ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                format!("tag '{source_tag}' of template '{name}' not found"),
            )
        })?;
        let at = now();
        for tag in &req.tags {
            let tagged = TaggedBuild {
                build: build.clone(),
                tagged_at: at,
            };
            record.tagged.insert(tag.clone(), tagged);
        }
        record.updated_at = at;
        let registered =
            record
                .runtime_infos()
                .into_iter()
                .try_for_each(|(info, layers, bottom)| {
                    self.runtime.register_template(info, layers, bottom)
                });
        registered.map_err(|e| ApiError::internal("registering the tagged build", e))?;
        store
            .save()
            .map_err(|e| ApiError::internal("saving the template", e))?;
        Ok(AssignedTagsView {
            tags: req.tags,
            build_id: build.build_id,
        })
    }

    /// `DELETE /templates/tags`: the tags stop naming builds at once (sandboxes started from
    /// them keep running); layers only they used become build cache.
    pub fn remove_template_tags(&self, req: RemoveTags) -> Result<(), ApiError> {
        if req.tags.is_empty() {
            return Err(ApiError::bad_request("tags must not be empty"));
        }
        let mut store = self.template_store();
        let record = store
            .records
            .values_mut()
            .find(|r| r.is_named(&req.name))
            .ok_or_else(|| template_not_found(&req.name))?;
        for tag in &req.tags {
            if tag == DEFAULT_TAG {
                return Err(ApiError::bad_request(
                    "the 'default' tag always names the latest build and cannot be removed",
                ));
            }
            if !record.tagged.contains_key(tag) {
                return Err(ApiError::new(
                    axum::http::StatusCode::NOT_FOUND,
                    format!("tag '{tag}' of template '{}' not found", req.name),
                ));
            }
        }
        for tag in &req.tags {
            record.tagged.remove(tag);
            self.runtime
                .unregister_template(&tag_runtime_id(&record.template_id, tag));
        }
        record.updated_at = now();
        store
            .save()
            .map_err(|e| ApiError::internal("saving the template", e))?;
        drop(store);
        self.collect_layers();
        Ok(())
    }

    /// `GET /templates/{id}/tags`: `default` (once a build is ready), then the others by name.
    pub fn template_tags(&self, id_or_name: &str) -> Result<Vec<TagView>, ApiError> {
        let store = self.template_store();
        let record = store
            .find(id_or_name)
            .ok_or_else(|| template_not_found(id_or_name))?;
        let current = record.ready.as_ref().map(|ready| TagView {
            tag: DEFAULT_TAG.to_string(),
            build_id: ready.build_id.clone(),
            created_at: rfc3339(ready.built_at),
        });
        let tagged = record.tagged.iter().map(|(tag, t)| TagView {
            tag: tag.clone(),
            build_id: t.build.build_id.clone(),
            created_at: rfc3339(t.tagged_at),
        });
        Ok(current.into_iter().chain(tagged).collect())
    }
}

/// Tags to assign: at least one, each a valid name, none of them `default`.
fn check_new_tags(tags: &[String]) -> Result<(), ApiError> {
    if tags.is_empty() {
        return Err(ApiError::bad_request("tags must not be empty"));
    }
    for tag in tags {
        check_name(tag)?;
        if tag == DEFAULT_TAG {
            return Err(ApiError::bad_request(
                "the 'default' tag always names the latest build and cannot be assigned",
            ));
        }
    }
    Ok(())
}
