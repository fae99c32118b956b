//! Warm pools (`serve --warm-pool <template>=<n>`): per template, a few sandboxes kept started
//! and ready (start command running, ready command passed), so that a create of that template
//! skips both. A pooled sandbox exists only here until a create claims it: it has no record, so
//! lists, the proxy and connect do not know its ID. The claim gives it the request's ID-bound
//! tokens and envd configuration (`/init` again) and it becomes an ordinary sandbox; a
//! background filler starts its replacement.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::anyhow;
use tokio_util::sync::CancellationToken;

use super::controller::Controller;
use super::model::SandboxRecord;
use crate::runtime::{EgressRules, EnvdInit, Layer, Sandbox, SandboxSpec, TemplateInfo};

/// After a pooled start failed, how long the filler leaves that pool alone (unless woken).
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);
/// How often a filler looks at its template without being woken; claims, builds and
/// deletes wake it, this only catches what nothing announced (e.g. a pooled envd that died).
const RECHECK_EVERY: Duration = Duration::from_secs(2);

/// One `--warm-pool <template>=<n>`: keep `size` ready sandboxes of `template` (ID or name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WarmPoolSize {
    pub template: String,
    pub size: usize,
}

impl std::str::FromStr for WarmPoolSize {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let (template, size) = value
            .rsplit_once('=')
            .ok_or_else(|| format!("expected <template>=<count>, got {value:?}"))?;
        let size = size
            .parse()
            .map_err(|e| format!("the count of {value:?} is not a number: {e}"))?;
        if template.is_empty() {
            return Err(format!("expected <template>=<count>, got {value:?}"));
        }
        Ok(WarmPoolSize {
            template: template.to_string(),
            size,
        })
    }
}

/// A started, ready sandbox of one build of a template, not handed out yet.
pub(super) struct Pooled {
    template_id: String,
    build_id: String,
    sandbox: Sandbox,
}

impl Pooled {
    pub(super) fn sandbox_id(&self) -> &str {
        self.sandbox.sandbox_id()
    }
}

/// One template's pool, with its own filler task.
struct Pool {
    size: WarmPoolSize,
    ready: Mutex<Vec<Pooled>>,
    wake: tokio::sync::Notify,
    /// Held by the filler while it works, so that shutdown can wait for a start in progress.
    filling: tokio::sync::Mutex<()>,
}

impl Pool {
    fn ready(&self) -> std::sync::MutexGuard<'_, Vec<Pooled>> {
        self.ready.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub(super) struct WarmPools {
    pools: Vec<Pool>,
    stop: CancellationToken,
}

impl WarmPools {
    pub(super) fn new(sizes: Vec<WarmPoolSize>) -> WarmPools {
        let pools = (sizes.into_iter().filter(|s| s.size > 0))
            .map(|size| Pool {
                size,
                ready: Mutex::default(),
                wake: tokio::sync::Notify::new(),
                filling: tokio::sync::Mutex::new(()),
            })
            .collect();
        WarmPools {
            pools,
            stop: CancellationToken::new(),
        }
    }

    /// Makes every filler look at its pool now (a build or a delete changed a template).
    pub(super) fn wake_all(&self) {
        for pool in &self.pools {
            pool.wake.notify_one();
        }
    }
}

/// Whether `pooled` is of `current` (the template's build now) and alive.
fn is_current(pooled: &Pooled, current: Option<&TemplateInfo>) -> bool {
    current.is_some_and(|t| t.template_id == pooled.template_id && t.build_id == pooled.build_id)
        && pooled.sandbox.is_alive()
}

impl Controller {
    /// Starts the fillers: each keeps its pool at its size with sandboxes of the template's
    /// current build, until shutdown. One task per pool, so that a template whose ready
    /// command takes long does not hold up the others.
    pub(super) fn run_warm_pools(self: &Arc<Self>) {
        for index in 0..self.warm_pools.pools.len() {
            tokio::spawn(self.clone().run_warm_pool(index));
        }
    }

    async fn run_warm_pool(self: Arc<Self>, index: usize) {
        let pool = &self.warm_pools.pools[index];
        loop {
            let failed = self.fill_warm_pool(pool).await;
            let pause = if failed {
                RETRY_AFTER_FAILURE
            } else {
                RECHECK_EVERY
            };
            tokio::select! {
                _ = self.warm_pools.stop.cancelled() => return,
                _ = pool.wake.notified() => {}
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// One round: stops pooled sandboxes of a build no longer current (rebuilt or deleted
    /// template, or dead), then starts the missing ones. `true` if a start failed.
    async fn fill_warm_pool(&self, pool: &Pool) -> bool {
        let _filling = pool.filling.lock().await;
        let WarmPoolSize { template, size } = &pool.size;
        if self.build_if_missing(template).await.is_err() {
            return true;
        }
        let current = self.runtime.template(template);
        let stale: Vec<Pooled> = {
            let mut ready = pool.ready();
            let (keep, stale) = std::mem::take(&mut *ready)
                .into_iter()
                .partition(|p| is_current(p, current.as_ref()));
            *ready = keep;
            stale
        };
        for pooled in stale {
            stop_pooled(pooled).await;
        }
        let Some(info) = current else { return false };
        while pool.ready().len() < *size {
            if self.warm_pools.stop.is_cancelled() {
                return false;
            }
            let sandbox = match self.start_pooled(&info).await {
                Ok(sandbox) => sandbox,
                Err(e) => {
                    eprintln!("sandboxd: warm pool of {template}: {e:#}");
                    return true;
                }
            };
            let pooled = Pooled {
                template_id: info.template_id.clone(),
                build_id: info.build_id.clone(),
                sandbox,
            };
            // The template may have been rebuilt or deleted while this one started.
            if !is_current(&pooled, self.runtime.template(template).as_ref()) {
                stop_pooled(pooled).await;
                return false;
            }
            // Operators (and tests) see the pool fill; the ID is not a secret, only unrouted.
            eprintln!(
                "sandboxd: warm pool of {template}: {} is ready",
                pooled.sandbox_id()
            );
            pool.ready().push(pooled);
        }
        false
    }

    /// Starts a sandbox of `info` as a default create would (internet access, no egress
    /// rules, the template's envd defaults), with a fresh ID and that ID's envd token, and runs
    /// the template's start command until its ready command passes.
    async fn start_pooled(&self, info: &TemplateInfo) -> anyhow::Result<Sandbox> {
        let sandbox_id = super::ids::new_sandbox_id();
        let spec = SandboxSpec {
            envd: EnvdInit {
                env_vars: info.env_vars.clone(),
                access_token: Some(self.credentials.envd_access_token(&sandbox_id)),
                default_user: info.default_user.clone(),
                default_workdir: Some(info.default_workdir.clone()),
            },
            sandbox_id,
            template_id: info.template_id.clone(),
            allow_internet_access: true,
            egress: EgressRules::default(),
            limits: self.template_limits(&info.template_id),
        };
        let sandbox = self.runtime.start(&spec, Layer::Fresh).await?;
        let ready = tokio::select! {
            ready = self.run_start_cmd(&sandbox, &spec) => ready.map_err(|e| anyhow!(e.message)),
            _ = self.warm_pools.stop.cancelled() => Err(anyhow!("sandboxd is shutting down")),
        };
        if let Err(e) = ready {
            let _ = sandbox.stop(false).await;
            return Err(e);
        }
        Ok(sandbox)
    }

    /// Takes a pooled sandbox for a create whose network settings are the pool's (internet
    /// access, no egress rules; anything else starts cold), of the template's current build.
    pub(super) fn take_pooled(&self, record: &SandboxRecord) -> Option<Pooled> {
        if !record.needs_uplink() || record.egress_rules().ok()? != EgressRules::default() {
            return None;
        }
        let current = self.runtime.template(&record.template_id)?;
        for pool in &self.warm_pools.pools {
            let taken = {
                let mut ready = pool.ready();
                let at = ready.iter().position(|p| is_current(p, Some(&current)));
                at.map(|at| ready.remove(at))
            };
            if let Some(pooled) = taken {
                pool.wake.notify_one();
                return Some(pooled);
            }
        }
        None
    }

    /// `record` (a validated create) with the pooled sandbox's ID, and the tokens bound to it.
    pub(super) fn record_for_pooled(
        &self,
        mut record: SandboxRecord,
        pooled: &Pooled,
    ) -> SandboxRecord {
        let id = pooled.sandbox_id().to_string();
        if record.envd_access_token.is_some() {
            record.envd_access_token = Some(self.credentials.envd_access_token(&id));
        }
        if record.traffic_access_token.is_some() {
            record.traffic_access_token = Some(self.credentials.traffic_access_token(&id));
        }
        record.sandbox_id = id;
        record
    }

    /// Gives a claimed sandbox the create's envd configuration (replacing all of the pool's:
    /// env vars, token, user, workdir). `None` (and the sandbox stopped) if envd refused it.
    pub(super) async fn hand_over(&self, pooled: Pooled, spec: &SandboxSpec) -> Option<Sandbox> {
        let pool_token = self.credentials.envd_access_token(pooled.sandbox_id());
        match pooled
            .sandbox
            .init_envd(&spec.envd, Some(&pool_token))
            .await
        {
            Ok(()) => Some(pooled.sandbox),
            Err(e) => {
                eprintln!(
                    "sandboxd: warm pool sandbox {} not usable, starting one: {e:#}",
                    pooled.sandbox_id()
                );
                stop_pooled(pooled).await;
                None
            }
        }
    }

    /// At shutdown: ends the fillers (and starts in progress) and stops every pooled sandbox.
    pub(super) async fn stop_warm_pools(&self) {
        self.warm_pools.stop.cancel();
        for pool in &self.warm_pools.pools {
            let _filling = pool.filling.lock().await;
            let pooled: Vec<Pooled> = pool.ready().drain(..).collect();
            for pooled in pooled {
                stop_pooled(pooled).await;
            }
        }
    }

    pub(super) fn wake_warm_pools(&self) {
        self.warm_pools.wake_all();
    }
}

async fn stop_pooled(pooled: Pooled) {
    if let Err(e) = pooled.sandbox.stop(false).await {
        eprintln!(
            "sandboxd: stopping warm pool sandbox {}: {e:#}",
            pooled.sandbox_id()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warm_pool_sizes_parse() {
        let size: WarmPoolSize = "my-app=3".parse().unwrap();
        assert_eq!(size.template, "my-app");
        assert_eq!(size.size, 3);
        assert!("my-app".parse::<WarmPoolSize>().is_err());
        assert!("=3".parse::<WarmPoolSize>().is_err());
        assert!("my-app=-1".parse::<WarmPoolSize>().is_err());
        assert!("my-app=many".parse::<WarmPoolSize>().is_err());
    }
}
