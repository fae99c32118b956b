//! Contexts: a kernel with its language and working directory, by ID. One default context per
//! language is created on first use; a context runs one cell at a time (its kernel's lock),
//! with the sandbox's env vars applied once per kernel and a request's own env vars set before
//! its cell and restored after it, as E2B's server does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use tokio::sync::mpsc;

use super::kernel::{self, Kernel};
use super::languages::{self, LANGUAGES};
use super::output::Line;

pub struct Context {
    pub id: String,
    pub language: String,
    pub cwd: PathBuf,
    /// The running kernel's pid, readable without waiting for a running cell (restart and
    /// removal kill it first, so that the cell ends and frees the lock).
    pid: AtomicU32,
    session: tokio::sync::Mutex<Option<Session>>,
}

struct Session {
    kernel: Kernel,
    /// The sandbox's env vars (from envd) once applied to this kernel.
    sandbox_envs: Option<HashMap<String, String>>,
}

pub struct Contexts {
    /// The server's private directory (kernels' connection files and sockets).
    dir: PathBuf,
    default_cwd: PathBuf,
    by_id: Mutex<HashMap<String, Arc<Context>>>,
    /// Language → its default context's ID; held while a default context is created so that
    /// two first requests make one.
    defaults: tokio::sync::Mutex<HashMap<String, String>>,
    kernel_serial: AtomicU64,
}

/// Why a context could not be made: the request's fault, or the kernel's.
pub enum CreateError {
    BadRequest(String),
    Failed(anyhow::Error),
}

impl std::fmt::Display for CreateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CreateError::BadRequest(message) => f.write_str(message),
            CreateError::Failed(e) => write!(f, "{e:#}"),
        }
    }
}

impl Contexts {
    pub fn new(dir: PathBuf, default_cwd: PathBuf) -> Contexts {
        Contexts {
            dir,
            default_cwd,
            by_id: Mutex::default(),
            defaults: tokio::sync::Mutex::default(),
            kernel_serial: AtomicU64::new(0),
        }
    }

    pub async fn create(
        &self,
        language: &str,
        cwd: Option<&str>,
    ) -> Result<Arc<Context>, CreateError> {
        let cwd = cwd.map_or(self.default_cwd.clone(), PathBuf::from);
        if languages::kernel_command(language, Path::new("")).is_none() {
            return Err(CreateError::BadRequest(format!(
                "no kernel for language {language:?} in this template (it has: {})",
                LANGUAGES.join(", ")
            )));
        }
        if !cwd.is_absolute() || !cwd.is_dir() {
            return Err(CreateError::BadRequest(format!(
                "cwd {}: not an existing directory (an absolute path is needed)",
                cwd.display()
            )));
        }
        let kernel = self
            .start_kernel(language, &cwd)
            .await
            .map_err(CreateError::Failed)?;
        let context = Arc::new(Context {
            id: crate::random::uuid_v4(),
            language: language.into(),
            cwd,
            pid: AtomicU32::new(kernel.pid()),
            session: tokio::sync::Mutex::new(Some(Session {
                kernel,
                sandbox_envs: None,
            })),
        });
        let mut by_id = self.by_id.lock().unwrap();
        by_id.insert(context.id.clone(), context.clone());
        Ok(context)
    }

    /// The language's default context, created (in the default cwd) if it has none.
    pub async fn default_for(&self, language: &str) -> Result<Arc<Context>, CreateError> {
        let mut defaults = self.defaults.lock().await;
        if let Some(context) = defaults.get(language).and_then(|id| self.get(id)) {
            return Ok(context);
        }
        let context = self.create(language, None).await?;
        defaults.insert(language.into(), context.id.clone());
        Ok(context)
    }

    pub fn get(&self, id: &str) -> Option<Arc<Context>> {
        self.by_id.lock().unwrap().get(id).cloned()
    }

    pub fn list(&self) -> Vec<Arc<Context>> {
        self.by_id.lock().unwrap().values().cloned().collect()
    }

    /// Removes the context and kills its kernel (a cell running in it ends as unexpected).
    pub fn remove(&self, id: &str) -> bool {
        let removed = self.by_id.lock().unwrap().remove(id);
        match removed {
            Some(context) => {
                context.kill();
                true
            }
            None => false,
        }
    }

    /// A fresh kernel for the context (same ID, language and cwd; all state gone).
    pub async fn restart(&self, context: &Context) -> anyhow::Result<()> {
        context.kill();
        let mut session = context.session.lock().await;
        // The old kernel goes (and its files) before the new one starts.
        *session = None;
        let kernel = self.start_kernel(&context.language, &context.cwd).await?;
        context.pid.store(kernel.pid(), Ordering::Relaxed);
        *session = Some(Session {
            kernel,
            sandbox_envs: None,
        });
        Ok(())
    }

    async fn start_kernel(&self, language: &str, cwd: &Path) -> anyhow::Result<Kernel> {
        // Short names: a unix socket path has room for 107 bytes.
        let name = format!("k{}", self.kernel_serial.fetch_add(1, Ordering::Relaxed));
        Kernel::start(language, &self.dir, &name, cwd)
            .await
            .with_context(|| format!("starting a {language} kernel"))
    }
}

impl Context {
    fn kill(&self) {
        let pid = self.pid.load(Ordering::Relaxed);
        if pid != 0 {
            kernel::signal(pid, libc::SIGKILL);
        }
    }

    /// Runs `code` after the sandbox's env vars (first cell of a kernel) and `env_vars`,
    /// streaming lines to `out`; restores `env_vars` afterwards.
    pub async fn execute(
        &self,
        code: String,
        env_vars: HashMap<String, String>,
        sandbox_envs: HashMap<String, String>,
        out: mpsc::Sender<Line>,
    ) {
        let mut session = self.session.lock().await;
        let Some(session) = session.as_mut() else {
            let _ = out
                .send(Line::error(
                    "ContextNotRunning",
                    "the context's kernel failed to start; restart the context",
                ))
                .await;
            let _ = out.send(Line::UnexpectedEndOfExecution).await;
            return;
        };
        let set_up = async {
            if session.sandbox_envs.is_none() {
                if !sandbox_envs.is_empty() {
                    let code = languages::env_code(&self.language, &sandbox_envs, &[])
                        .map_err(anyhow::Error::msg)?;
                    session.kernel.run_silently(code).await?;
                }
                session.sandbox_envs = Some(sandbox_envs);
            }
            if !env_vars.is_empty() {
                let code = languages::env_code(&self.language, &env_vars, &[])
                    .map_err(anyhow::Error::msg)?;
                session.kernel.run_silently(code).await?;
            }
            anyhow::Ok(())
        };
        if let Err(e) = set_up.await {
            let _ = out
                .send(Line::error(
                    "EnvVarsError",
                    &format!("setting env vars: {e}"),
                ))
                .await;
            let _ = out.send(Line::EndOfExecution).await;
            return;
        }
        session.kernel.execute(code, out).await;
        if !env_vars.is_empty() {
            // Back to the sandbox's value, or gone.
            let sandbox_envs = session.sandbox_envs.clone().unwrap_or_default();
            let (back, gone): (HashMap<_, _>, HashMap<_, _>) = env_vars
                .into_keys()
                .map(|k| {
                    let v = sandbox_envs.get(&k).cloned();
                    (k, v)
                })
                .partition(|(_, v)| v.is_some());
            let back: HashMap<String, String> = back
                .into_iter()
                .map(|(k, v)| (k, v.unwrap_or_default()))
                .collect();
            let gone: Vec<String> = gone.into_keys().collect();
            // The cell's outcome is already sent; a kernel that died meanwhile has no env left,
            // and names the language refuses were refused before the cell.
            if let Ok(code) = languages::env_code(&self.language, &back, &gone) {
                let _ = session.kernel.run_silently(code).await;
            }
        }
    }
}
