//! Shared setup of the runtime integration tests: a runtime on its own temporary data dir with
//! the real sandboxd binary, sandbox specs, and running commands inside a sandbox.
//!
//! They need root (namespaces, mounts, cgroups), like sandboxd itself.

#![allow(dead_code)] // each test file uses a different subset

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

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
        ..RuntimeConfig::new(data_dir)
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
        egress: sandboxd::runtime::EgressRules::default(),
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
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    output_within(command.spawn().expect("run nsenter"), script)
}

/// How long a command a test runs may take: far beyond any healthy run, so that a command that
/// hangs fails its test with its name instead of hanging the whole run.
pub const COMMAND_DEADLINE: Duration = Duration::from_secs(120);

/// Waits for `child` like `wait_with_output`, but panics (after killing it) once it has run
/// for [`COMMAND_DEADLINE`]; `what` names it in the panic.
pub fn output_within(mut child: Child, what: &str) -> Output {
    use std::io::Read;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let status = wait_within(&mut child, what);
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Waits for `child` to exit; panics (after killing it) once it has run for
/// [`COMMAND_DEADLINE`].
pub fn wait_within(child: &mut Child, what: &str) -> ExitStatus {
    let deadline = Instant::now() + COMMAND_DEADLINE;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`{what}` still ran after {COMMAND_DEADLINE:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
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

/// `GET path` over a stream into a sandbox; returns (status, body).
pub async fn http_get(stream: tokio::net::TcpStream, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = stream;
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    let mut reply = String::new();
    let exchange = async {
        stream.write_all(request.as_bytes()).await?;
        stream.read_to_string(&mut reply).await
    };
    tokio::time::timeout(COMMAND_DEADLINE, exchange)
        .await
        .unwrap_or_else(|_| panic!("GET {path} unanswered after {COMMAND_DEADLINE:?}"))
        .unwrap();
    let status = reply
        .split_whitespace()
        .nth(1)
        .unwrap_or("0")
        .parse()
        .unwrap();
    let body = reply
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Whether envd in `sandbox` answers `/health`.
pub async fn envd_healthy(sandbox: &Sandbox) -> bool {
    match sandbox.connect(envd_protocol::ENVD_PORT).await {
        Ok(stream) => (200..300).contains(&http_get(stream, "/health").await.0),
        Err(_) => false,
    }
}

/// A network namespace standing in for "the internet": an HTTP server on its own address,
/// linked to the host by a veth pair, with addresses from a block of the test pool.
pub struct TestInternet {
    netns: String,
    host_if: String,
    pub server_ip: std::net::Ipv4Addr,
    pub port: u16,
    server: std::process::Child,
    dir: PathBuf,
    _block: sandboxd::runtime::network::AddressBlock,
}

impl TestInternet {
    /// Serves `body` as `/index.txt`.
    pub fn start(body: &str) -> TestInternet {
        use sandboxd::runtime::network::{AddressBlock, TEST_POOL};
        let block = AddressBlock::claim(TEST_POOL).expect("claim a test address block");
        let netns = unique("sbxt-");
        let host_if = unique("st")[..14].to_string();
        let (host_ip, server_ip) = (block.address(1), block.address(2));
        let prefix = block.prefix;
        ip(&["netns", "add", &netns]);
        ip(&[
            "link", "add", &host_if, "type", "veth", "peer", "name", "eth0", "netns", &netns,
        ]);
        ip(&[
            "addr",
            "add",
            &format!("{host_ip}/{prefix}"),
            "dev",
            &host_if,
        ]);
        ip(&["link", "set", &host_if, "up"]);
        ip(&[
            "-n",
            &netns,
            "addr",
            "add",
            &format!("{server_ip}/{prefix}"),
            "dev",
            "eth0",
        ]);
        ip(&["-n", &netns, "link", "set", "eth0", "up"]);
        ip(&["-n", &netns, "link", "set", "lo", "up"]);
        let dir = std::env::temp_dir().join(unique("sbxt-www-"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.txt"), body).unwrap();
        // A fixed port is safe: the namespace is this test's alone.
        let port = 8080;
        let server = std::process::Command::new("ip")
            .args([
                "netns",
                "exec",
                &netns,
                "python3",
                "-m",
                "http.server",
                &port.to_string(),
            ])
            .args(["--bind", &server_ip.to_string(), "--directory"])
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let internet = TestInternet {
            netns,
            host_if,
            server_ip,
            port,
            server,
            dir,
            _block: block,
        };
        // Ready once the host reaches it (through the test link, no NAT involved).
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect((server_ip, port)).is_err() {
            assert!(Instant::now() < deadline, "test server did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
        internet
    }

    pub fn url(&self) -> String {
        format!("http://{}:{}/index.txt", self.server_ip, self.port)
    }
}

impl Drop for TestInternet {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        let _ = std::process::Command::new("ip")
            .args(["link", "del", &self.host_if])
            .status();
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.netns])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ip(args: &[&str]) {
    let status = std::process::Command::new("ip")
        .args(args)
        .status()
        .unwrap();
    assert!(status.success(), "ip {}", args.join(" "));
}
