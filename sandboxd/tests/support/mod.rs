//! Shared setup of the runtime integration tests: a runtime on its own temporary data dir with
//! the real sandboxd binary, sandbox specs, and running commands inside a sandbox.
//!
//! They need root (namespaces, mounts, cgroups), like sandboxd itself.

#![allow(dead_code)] // each test file uses a different subset

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Output;

use sandboxd::runtime::{EnvdInit, Layer, Limits, Runtime, RuntimeConfig, Sandbox, SandboxSpec};

pub struct TestRuntime {
    pub runtime: Runtime,
    pub data_dir: PathBuf,
}

impl TestRuntime {
    pub async fn open() -> TestRuntime {
        let data_dir = std::env::temp_dir().join(format!("sandboxd-rt-test-{}", unique("")));
        let (runtime, layers) = Runtime::open(config(&data_dir))
            .await
            .expect("open runtime");
        assert!(
            layers.is_empty(),
            "a new data dir has no layers: {layers:?}"
        );
        TestRuntime { runtime, data_dir }
    }

    pub async fn start(&self, spec: &SandboxSpec) -> Sandbox {
        self.runtime
            .start(spec, Layer::Fresh)
            .await
            .expect("start sandbox")
    }

    /// The instance id the runtime names its host resources after.
    pub fn instance(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("runtime/instance")).unwrap()
    }

    pub async fn close(self) {
        self.runtime.close().await.expect("close runtime");
        drop(self.runtime);
        std::fs::remove_dir_all(&self.data_dir).expect("remove data dir");
    }
}

pub fn config(data_dir: &std::path::Path) -> RuntimeConfig {
    RuntimeConfig {
        data_dir: data_dir.to_path_buf(),
        sandboxd_exe: env!("CARGO_BIN_EXE_sandboxd").into(),
    }
}

/// A name no other test or concurrent run uses.
pub fn unique(prefix: &str) -> String {
    let mut bytes = [0u8; 6];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .unwrap();
    let suffix: String = bytes.iter().map(|b| format!("{:02x}", b)).collect();
    format!("{prefix}{suffix}")
}

pub fn spec(internet: bool) -> SandboxSpec {
    SandboxSpec {
        sandbox_id: unique("itest"),
        template_id: "base".into(),
        allow_internet_access: internet,
        limits: Limits {
            cpu_count: 1,
            memory_mb: 256,
            disk_mb: 1024,
            pids_max: 256,
        },
        envd: EnvdInit {
            env_vars: BTreeMap::new(),
            access_token: None,
            default_user: "user".into(),
            default_workdir: None,
        },
    }
}

/// Runs `script` with bash inside the sandbox, as root or (with `user`) as that user.
pub fn sh(sandbox: &Sandbox, user: Option<&str>, script: &str) -> Output {
    let mut command = sandbox.command("setpriv").unwrap();
    if let Some(user) = user {
        command.args([
            &format!("--reuid={user}"),
            &format!("--regid={user}"),
            "--init-groups",
        ]);
    } else {
        command.arg("--reuid=0");
    }
    command.args(["bash", "-c", script]);
    command.output().expect("run nsenter")
}

/// Like [`sh`], but the script must succeed; returns its trimmed stdout.
pub fn sh_ok(sandbox: &Sandbox, user: Option<&str>, script: &str) -> String {
    let out = sh(sandbox, user, script);
    assert!(
        out.status.success(),
        "`{script}` failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
