//! Templates the server builds itself the first time they are asked for (`serve` wires in
//! the built-in ones, e.g. the code interpreter's `code-interpreter-v1`): a create, or a warm
//! pool, of such a template that is not built yet waits for its build, which runs once however
//! many ask, and goes on if the asking client leaves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

use super::controller::Controller;
use super::error::ApiError;

/// Given a template name and the server's API key, the build of that template, or `None` when
/// it is not one the server can build.
pub type TemplateBuilder =
    Arc<dyn Fn(&str, &str) -> Option<BoxFuture<'static, anyhow::Result<()>>> + Send + Sync>;

type RunningBuild = Shared<BoxFuture<'static, Result<(), String>>>;

#[derive(Default)]
pub(super) struct OnDemandBuilds {
    builder: Option<TemplateBuilder>,
    running: Mutex<HashMap<String, RunningBuild>>,
}

impl OnDemandBuilds {
    pub(super) fn new(builder: Option<TemplateBuilder>) -> Self {
        OnDemandBuilds {
            builder,
            running: Mutex::default(),
        }
    }
}

impl Controller {
    /// Builds `requested` (an ID or name, as a create names it) if it is missing and the
    /// server can build it; returns at once otherwise.
    pub(super) async fn build_if_missing(&self, requested: &str) -> Result<(), ApiError> {
        let Some(builder) = &self.on_demand.builder else {
            return Ok(());
        };
        let name = requested.rsplit('/').next().unwrap_or(requested);
        if name.contains(':') || self.runtime.template(name).is_some() {
            return Ok(());
        }
        let running = {
            let mut running = self.on_demand.running.lock().unwrap();
            if let Some(build) = running.get(name) {
                build.clone()
            } else {
                let Some(build) = builder(name, self.credentials.api_key()) else {
                    return Ok(());
                };
                eprintln!("sandboxd: building {name} on its first use");
                // Its own task: the build finishes even when every client waiting for it left.
                let task = tokio::spawn(build);
                let build: RunningBuild = async move {
                    match task.await {
                        Ok(result) => result.map_err(|e| format!("{e:#}")),
                        Err(e) => Err(e.to_string()),
                    }
                }
                .boxed()
                .shared();
                running.insert(name.to_string(), build.clone());
                build
            }
        };
        let result = running.clone().await;
        // Done: a later create finds the template, or (after a failure or a delete) builds
        // again.
        let mut builds = self.on_demand.running.lock().unwrap();
        if builds.get(name).is_some_and(|b| b.ptr_eq(&running)) {
            builds.remove(name);
        }
        drop(builds);
        // The build's error names host paths: the log gets it, the client a summary.
        result.map_err(|e| {
            ApiError::internal(
                &format!("building the template '{name}' on its first use"),
                e,
            )
        })
    }
}
