//! envd's shared state: configuration (from flags, then `POST /init`) and the registries.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use super::Args;
use super::users::UserDb;

/// What `/init` can change at run time.
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub access_token: Option<String>,
    pub default_user: String,
    pub default_workdir: Option<String>,
    /// Sandbox-wide variables from the create request (`envVars`).
    pub env_vars: BTreeMap<String, String>,
    /// `timestamp` of the last applied `/init` (RFC 3339 compared as instants, in nanoseconds).
    pub last_init: Option<i128>,
}

pub struct Envd {
    config: RwLock<Config>,
    /// Variables envd itself defines for every process; creation `envVars` cannot override them.
    pub internal_env: BTreeMap<String, String>,
    pub users: UserDb,
    pub processes: Arc<super::process::Table>,
    pub watchers: super::filesystem::Watchers,
    pub metrics: super::proc_usage::Sampler,
}

impl Envd {
    pub fn new(args: &Args) -> Arc<Envd> {
        let mut internal_env = BTreeMap::new();
        internal_env.insert("E2B_SANDBOX".to_owned(), "true".to_owned());
        if let Some(id) = &args.sandbox_id {
            internal_env.insert("E2B_SANDBOX_ID".to_owned(), id.clone());
        }
        if let Some(id) = &args.template_id {
            internal_env.insert("E2B_TEMPLATE_ID".to_owned(), id.clone());
        }
        Arc::new(Envd {
            config: RwLock::new(Config {
                access_token: args.access_token.clone().filter(|t| !t.is_empty()),
                default_user: args.user.clone(),
                default_workdir: args.workdir.clone().filter(|w| !w.is_empty()),
                env_vars: BTreeMap::new(),
                last_init: None,
            }),
            internal_env,
            users: UserDb::new(),
            processes: Default::default(),
            watchers: Default::default(),
            metrics: Default::default(),
        })
    }

    /// A snapshot of the current configuration.
    pub fn config(&self) -> Config {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn update_config(&self, f: impl FnOnce(&mut Config)) {
        f(&mut self.config.write().unwrap_or_else(|e| e.into_inner()));
    }

    /// Every sandbox-wide variable (what `/envs` reports and every process gets): the
    /// creation-time variables, then envd's internal ones, which win.
    pub fn sandbox_env(&self) -> BTreeMap<String, String> {
        let mut env = self.config().env_vars;
        env.extend(
            self.internal_env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        env
    }
}
