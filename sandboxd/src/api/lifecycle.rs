//! Transitions: kill, pause, resume/connect, timeouts, the evictor that ends expired sandboxes,
//! the metrics sampler, and shutdown. Each transition marks the phase under the lock, does the
//! runtime work outside it, and records the outcome under the lock again.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::http::StatusCode;

use super::controller::{
    Controller, Live, Phase, now, shutting_down_error, validate_timeout, visible_entry_mut,
};
use super::error::ApiError;
use super::model::{PauseInfo, SandboxView};
use crate::runtime::Layer;

/// How often the evictor looks for expired sandboxes (E2B's acts within about a second).
const EVICTOR_TICK: Duration = Duration::from_millis(50);
/// How often every running sandbox's metrics are sampled.
const METRICS_INTERVAL: Duration = Duration::from_secs(5);
/// How long connect waits for a pause or resume in progress to finish.
const TRANSITION_WAIT: Duration = Duration::from_secs(60);

const CONNECT_DEFAULT_TIMEOUT_SECS: i64 = 300;
const REFRESH_MIN_SECS: i64 = 15;
const REFRESH_MAX_SECS: i64 = 3600;

enum Expiry {
    Kill(Option<Arc<Live>>),
    Pause(Arc<Live>, bool),
}

impl Controller {
    pub async fn kill(&self, sandbox_id: &str) -> Result<(), ApiError> {
        let live = {
            let mut sandboxes = self.lock();
            let entry = visible_entry_mut(&mut sandboxes, sandbox_id)?;
            if matches!(entry.phase, Phase::Pausing | Phase::Resuming) {
                return Err(ApiError::conflict(format!(
                    "Sandbox \"{sandbox_id}\" is being paused or resumed"
                )));
            }
            entry.phase = Phase::Killing;
            entry.live.take()
        };
        self.finish_kill(sandbox_id, live).await
    }

    async fn finish_kill(&self, sandbox_id: &str, live: Option<Arc<Live>>) -> Result<(), ApiError> {
        let outcome = match live {
            Some(live) => match live.take().await {
                Some(sandbox) => sandbox.stop(false).await,
                None => Ok(()),
            },
            // Filesystem-paused: only the layer is left.
            None => self.runtime.remove_layer(sandbox_id).await,
        };
        let template_id = {
            let mut sandboxes = self.lock();
            let removed = sandboxes.remove(sandbox_id);
            self.persist(&sandboxes);
            removed.map(|e| e.record.template_id)
        };
        // The last sandbox of a deleted template (or tag) held its layers: collect them now.
        if template_id.is_some_and(|t| self.runtime.template(&t).is_none()) {
            self.collect_layers();
        }
        outcome.map_err(|e| ApiError::internal(&format!("killing {sandbox_id}"), e))
    }

    /// `memory`: freeze the processes in place; otherwise keep only the writable layer.
    pub async fn pause(&self, sandbox_id: &str, memory: bool) -> Result<(), ApiError> {
        let live = {
            let mut sandboxes = self.lock();
            let entry = visible_entry_mut(&mut sandboxes, sandbox_id)?;
            match entry.phase {
                Phase::Running => {}
                Phase::Paused | Phase::Pausing => {
                    return Err(ApiError::conflict(format!(
                        "Sandbox \"{sandbox_id}\" is already paused"
                    )));
                }
                _ => {
                    return Err(ApiError::conflict(format!(
                        "Sandbox \"{sandbox_id}\" is being resumed"
                    )));
                }
            }
            begin_pause(entry, memory)
        };
        self.finish_pause(sandbox_id, live, memory).await
    }

    async fn finish_pause(
        &self,
        sandbox_id: &str,
        live: Arc<Live>,
        memory: bool,
    ) -> Result<(), ApiError> {
        let sandbox = live.take().await.expect("a running sandbox has its handle");
        let (frozen, failure) = if memory {
            match sandbox.freeze().await {
                Ok(()) => (Some(Live::new(sandbox)), None),
                Err(e) => {
                    // Still running: hand it back as it was.
                    let mut sandboxes = self.lock();
                    if let Some(entry) = sandboxes.get_mut(sandbox_id) {
                        entry.phase = Phase::Running;
                        entry.record.paused = None;
                        entry.live = Some(Live::new(sandbox));
                    }
                    return Err(ApiError::internal(&format!("pausing {sandbox_id}"), e));
                }
            }
        } else {
            // If stopping fails half-way the layer is what is left either way.
            (None, sandbox.stop(true).await.err())
        };
        let mut sandboxes = self.lock();
        if let Some(entry) = sandboxes.get_mut(sandbox_id) {
            entry.phase = Phase::Paused;
            entry.live = frozen;
        }
        self.persist(&sandboxes);
        match failure {
            None => Ok(()),
            Some(e) => Err(ApiError::internal(&format!("pausing {sandbox_id}"), e)),
        }
    }

    /// `POST /sandboxes/{id}/connect`: a running sandbox's TTL is only extended (200); a paused
    /// one is resumed (201). `memory: Some(false)` cold-boots a memory-paused sandbox.
    pub async fn connect(
        &self,
        sandbox_id: &str,
        timeout: Option<i64>,
        memory: Option<bool>,
    ) -> Result<(StatusCode, SandboxView), ApiError> {
        let timeout = validate_timeout(timeout.unwrap_or(CONNECT_DEFAULT_TIMEOUT_SECS), true)?;
        let deadline = tokio::time::Instant::now() + TRANSITION_WAIT;
        loop {
            {
                let mut sandboxes = self.lock();
                let entry = match sandboxes.get_mut(sandbox_id) {
                    Some(entry) if entry.phase == Phase::Killing => {
                        return Err(ApiError::conflict(format!(
                            "Sandbox \"{sandbox_id}\" is being killed"
                        )));
                    }
                    _ => visible_entry_mut(&mut sandboxes, sandbox_id)?,
                };
                match entry.phase {
                    Phase::Running => {
                        let wanted = now() + chrono::Duration::seconds(timeout);
                        entry.record.end_at = entry.record.end_at.max(wanted);
                        let view = entry.record.to_sandbox(self.domain());
                        self.persist(&sandboxes);
                        return Ok((StatusCode::OK, view));
                    }
                    Phase::Paused => break,
                    _ => {}
                }
            }
            if tokio::time::Instant::now() > deadline {
                return Err(ApiError::conflict(format!(
                    "Sandbox \"{sandbox_id}\" is still changing state"
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let view = self.resume(sandbox_id, timeout, memory).await?;
        Ok((StatusCode::CREATED, view))
    }

    /// Deprecated `POST /sandboxes/{id}/resume`: only for paused sandboxes.
    pub async fn resume_paused(
        &self,
        sandbox_id: &str,
        timeout: Option<i64>,
    ) -> Result<SandboxView, ApiError> {
        let timeout = validate_timeout(timeout.unwrap_or(15), false)?;
        {
            let mut sandboxes = self.lock();
            let entry = visible_entry_mut(&mut sandboxes, sandbox_id)?;
            if entry.phase != Phase::Paused {
                return Err(ApiError::conflict(format!(
                    "Sandbox \"{sandbox_id}\" is already running"
                )));
            }
        }
        self.resume(sandbox_id, timeout, None).await
    }

    async fn resume(
        &self,
        sandbox_id: &str,
        timeout: i64,
        memory: Option<bool>,
    ) -> Result<SandboxView, ApiError> {
        if self.shutting_down.load(Ordering::SeqCst) {
            return Err(shutting_down_error());
        }
        let (frozen, spec) = {
            let mut sandboxes = self.lock();
            let entry = visible_entry_mut(&mut sandboxes, sandbox_id)?;
            if entry.phase != Phase::Paused {
                return Err(ApiError::conflict(format!(
                    "Sandbox \"{sandbox_id}\" is changing state"
                )));
            }
            let spec = self.spec_for(&entry.record)?;
            entry.phase = Phase::Resuming;
            (entry.live.take(), spec)
        };
        let outcome = match frozen {
            Some(frozen) => {
                let sandbox = frozen
                    .take()
                    .await
                    .expect("a frozen sandbox has its handle");
                if memory == Some(false) {
                    // A reboot: keep the files, start fresh processes.
                    match sandbox.stop(true).await {
                        Ok(()) => self.runtime.start(&spec, Layer::Keep).await,
                        Err(e) => Err(e),
                    }
                    .map_err(|e| (e, None))
                } else {
                    match sandbox.thaw().await {
                        Ok(()) => Ok(sandbox),
                        Err(e) => Err((e, Some(sandbox))),
                    }
                }
            }
            None => self
                .runtime
                .start(&spec, Layer::Keep)
                .await
                .map_err(|e| (e, None)),
        };
        let mut sandboxes = self.lock();
        let entry = sandboxes
            .get_mut(sandbox_id)
            .expect("only the resuming task changes a Resuming entry");
        match outcome {
            Ok(sandbox) => {
                entry.phase = Phase::Running;
                entry.live = Some(Live::new(sandbox));
                entry.record.paused = None;
                entry.record.end_at = now() + chrono::Duration::seconds(timeout);
                let view = entry.record.to_sandbox(self.domain());
                self.persist(&sandboxes);
                Ok(view)
            }
            Err((e, still_frozen)) => {
                entry.phase = Phase::Paused;
                if let Some(pause) = entry.record.paused.as_mut()
                    && still_frozen.is_none()
                {
                    pause.memory = false;
                }
                entry.live = still_frozen.map(Live::new);
                self.persist(&sandboxes);
                Err(ApiError::internal(&format!("resuming {sandbox_id}"), e))
            }
        }
    }

    /// `POST /sandboxes/{id}/timeout`: counts from now and may shorten the TTL.
    pub fn set_timeout(&self, sandbox_id: &str, timeout: i64) -> Result<(), ApiError> {
        let timeout = validate_timeout(timeout, true)?;
        let mut sandboxes = self.lock();
        let entry = visible_entry_mut(&mut sandboxes, sandbox_id)?;
        match entry.phase {
            Phase::Running => {}
            Phase::Paused => return Err(ApiError::sandbox_not_found(sandbox_id)),
            _ => {
                return Err(ApiError::conflict(format!(
                    "Sandbox \"{sandbox_id}\" is changing state"
                )));
            }
        }
        entry.record.end_at = now() + chrono::Duration::seconds(timeout);
        self.persist(&sandboxes);
        Ok(())
    }

    /// Deprecated `POST /sandboxes/{id}/refreshes`: extends only, by at least 15 s.
    pub fn refresh(&self, sandbox_id: &str, duration: Option<i64>) -> Result<(), ApiError> {
        let duration = duration.unwrap_or(REFRESH_MIN_SECS);
        if !(0..=REFRESH_MAX_SECS).contains(&duration) {
            return Err(ApiError::bad_request(format!(
                "duration must be between 0 and {REFRESH_MAX_SECS}"
            )));
        }
        let mut sandboxes = self.lock();
        let entry = visible_entry_mut(&mut sandboxes, sandbox_id)?;
        if entry.phase != Phase::Running {
            return Err(ApiError::sandbox_not_found(sandbox_id));
        }
        let wanted = now() + chrono::Duration::seconds(duration.max(REFRESH_MIN_SECS));
        entry.record.end_at = entry.record.end_at.max(wanted);
        self.persist(&sandboxes);
        Ok(())
    }

    /// Kills (or pauses, with auto-pause) every running sandbox past its `endAt`, and removes
    /// those whose envd died on its own (nothing can be served from them any more).
    pub async fn run_evictor(self: Arc<Self>) {
        let mut tick = tokio::time::interval(EVICTOR_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if self.shutting_down.load(Ordering::SeqCst) {
                return;
            }
            let expired: Vec<(String, Expiry)> = {
                let mut sandboxes = self.lock();
                let at = chrono::Utc::now();
                sandboxes
                    .values_mut()
                    .filter(|e| e.phase == Phase::Running)
                    .filter_map(|e| {
                        let died = e.live.as_ref().is_some_and(|l| l.has_died());
                        (died || e.record.end_at <= at).then_some((e, died))
                    })
                    .map(|(entry, died)| {
                        let id = entry.record.sandbox_id.clone();
                        if died {
                            eprintln!("sandboxd: sandbox {id} ended on its own; removing it");
                        }
                        if entry.record.auto_pause && !died {
                            let memory = entry.record.auto_pause_memory;
                            (id, Expiry::Pause(begin_pause(entry, memory), memory))
                        } else {
                            entry.phase = Phase::Killing;
                            (id, Expiry::Kill(entry.live.take()))
                        }
                    })
                    .collect()
            };
            for (id, expiry) in expired {
                let controller = self.clone();
                tokio::spawn(async move {
                    let outcome = match expiry {
                        Expiry::Kill(live) => controller.finish_kill(&id, live).await,
                        Expiry::Pause(live, memory) => {
                            controller.finish_pause(&id, live, memory).await
                        }
                    };
                    if let Err(e) = outcome {
                        eprintln!("sandboxd: ending expired sandbox {id}: {}", e.message);
                    }
                });
            }
        }
    }

    pub async fn run_metrics_sampler(self: Arc<Self>) {
        let mut tick = tokio::time::interval(METRICS_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if self.shutting_down.load(Ordering::SeqCst) {
                return;
            }
            let running: Vec<(String, Arc<Live>)> = self
                .lock()
                .values()
                .filter(|e| e.phase == Phase::Running)
                .filter_map(|e| Some((e.record.sandbox_id.clone(), e.live.clone()?)))
                .collect();
            for (id, live) in running {
                self.sample_metrics_of(&id, &live).await;
            }
        }
    }

    /// Ctrl-C: running sandboxes are killed; paused ones are kept on disk (memory-paused ones
    /// lose their processes and become filesystem-paused), so the data dir stays consistent.
    pub async fn shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        self.stop_warm_pools().await;
        loop {
            let mut kills = Vec::new();
            let mut stops = Vec::new();
            let mut busy = false;
            {
                let mut sandboxes = self.lock();
                for entry in sandboxes.values_mut() {
                    match entry.phase {
                        Phase::Running => {
                            entry.phase = Phase::Killing;
                            kills.push((entry.record.sandbox_id.clone(), entry.live.take()));
                        }
                        Phase::Paused => {
                            if let Some(live) = entry.live.take() {
                                if let Some(pause) = entry.record.paused.as_mut() {
                                    pause.memory = false;
                                }
                                stops.push(live);
                            }
                        }
                        _ => busy = true,
                    }
                }
                self.persist(&sandboxes);
            }
            if kills.is_empty() && stops.is_empty() && !busy {
                // Every sandbox is stopped: the instance's network rules and cgroups can go.
                if let Err(e) = self.runtime.close().await {
                    eprintln!("sandboxd: releasing host resources: {e:#}");
                }
                return;
            }
            for (id, live) in kills {
                if let Err(e) = self.finish_kill(&id, live).await {
                    eprintln!("sandboxd: {}", e.message);
                }
            }
            for live in stops {
                if let Some(sandbox) = live.take().await
                    && let Err(e) = sandbox.stop(true).await
                {
                    eprintln!("sandboxd: stopping a paused sandbox: {e:#}");
                }
            }
            if busy {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

fn begin_pause(entry: &mut super::controller::Entry, memory: bool) -> Arc<Live> {
    entry.phase = Phase::Pausing;
    // Listed as paused from now on, with the pause time as its `endAt`.
    entry.record.paused = Some(PauseInfo { at: now(), memory });
    entry.live.take().expect("a running sandbox has its handle")
}
