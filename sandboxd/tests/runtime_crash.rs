//! Crash safety: a process that runs sandboxes is killed with SIGKILL; its sandboxes die with it
//! and the next runtime on the same data dir (or, if that data dir is gone, any other runtime)
//! removes everything it left on the host.
//!
//! The test binary runs itself as that process (`SANDBOXD_CRASH_CHILD=<data dir>`), hence its
//! own `main` instead of the test harness.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sandboxd::runtime::{Layer, Runtime};

const CHILD_ENV: &str = "SANDBOXD_CRASH_CHILD";

fn main() {
    if let Ok(data_dir) = std::env::var(CHILD_ENV) {
        return child(PathBuf::from(data_dir));
    }
    let tokio = tokio::runtime::Runtime::new().unwrap();
    tokio.block_on(restart_on_the_same_data_dir_removes_the_leftovers());
    println!("test restart_on_the_same_data_dir_removes_the_leftovers ... ok");
    tokio.block_on(another_instance_removes_the_leftovers_of_a_dead_one());
    println!("test another_instance_removes_the_leftovers_of_a_dead_one ... ok");
}

/// What the child reports once its sandbox runs.
struct Crashed {
    instance: String,
    sandbox_id: String,
    envd_pid: u32,
}

async fn restart_on_the_same_data_dir_removes_the_leftovers() {
    let data_dir = temp_dir();
    let crashed = run_and_kill(&data_dir);
    wait_for_exit(crashed.envd_pid);
    // The watchdog removes cgroups and layer mounts at once; the network rules stay for the
    // next open (they are harmless without the sandboxes).
    wait_for_watchdog(&crashed.instance, &data_dir);
    assert!(
        iptables_mentions(&crashed.instance),
        "nothing to clean up: the test is moot"
    );

    let (runtime, layers) = Runtime::open(support::config(&data_dir)).await.unwrap();
    assert_eq!(
        layers,
        vec![crashed.sandbox_id.clone()],
        "the layer survives for the control plane"
    );
    assert_no_leftovers(&crashed.instance);
    // The kept layer boots again.
    let mut spec = support::spec(false);
    spec.sandbox_id = crashed.sandbox_id.clone();
    let sandbox = runtime.start(&spec, Layer::Keep).await.unwrap();
    assert_eq!(
        support::sh_ok(&sandbox, None, "cat /home/user/before-crash"),
        "written"
    );
    sandbox.stop(false).await.unwrap();
    runtime.close().await.unwrap();
    drop(runtime);
    std::fs::remove_dir_all(&data_dir).unwrap();
}

async fn another_instance_removes_the_leftovers_of_a_dead_one() {
    let data_dir = temp_dir();
    let crashed = run_and_kill(&data_dir);
    wait_for_exit(crashed.envd_pid);
    wait_for_watchdog(&crashed.instance, &data_dir);
    std::fs::remove_dir_all(&data_dir).unwrap();
    assert!(
        iptables_mentions(&crashed.instance),
        "nothing to clean up: the test is moot"
    );

    let other = support::TestRuntime::open().await;
    assert_no_leftovers(&crashed.instance);
    let lock = format!("/run/sandboxd/instance-{}.lock", crashed.instance);
    assert!(!Path::new(&lock).exists(), "{lock} outlived its cleanup");
    other.close().await;
}

/// Starts a child that runs a sandbox with internet access and a background process, and
/// SIGKILLs it once the sandbox is up.
fn run_and_kill(data_dir: &Path) -> Crashed {
    let mut child: Child = Command::new(std::env::current_exe().unwrap())
        .env(CHILD_ENV, data_dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let report: serde_json::Value = serde_json::from_str(&line).expect("child report");
    let crashed = Crashed {
        instance: report["instance"].as_str().unwrap().to_string(),
        sandbox_id: report["sandbox_id"].as_str().unwrap().to_string(),
        envd_pid: report["envd_pid"].as_u64().unwrap() as u32,
    };
    assert!(Path::new(&format!("/proc/{}", crashed.envd_pid)).exists());
    child.kill().unwrap();
    child.wait().unwrap();
    crashed
}

fn child(data_dir: PathBuf) {
    let tokio = tokio::runtime::Runtime::new().unwrap();
    tokio.block_on(async {
        let (runtime, _) = Runtime::open(support::config(&data_dir)).await.unwrap();
        let spec = support::spec(true);
        let sandbox = runtime.start(&spec, Layer::Fresh).await.unwrap();
        support::sh_ok(&sandbox, Some("user"), "echo written > ~/before-crash");
        support::sh_ok(&sandbox, None, "sleep 1000 > /dev/null 2>&1 & echo started");
        let report = serde_json::json!({
            "instance": std::fs::read_to_string(data_dir.join("runtime/instance")).unwrap(),
            "sandbox_id": spec.sandbox_id,
            "envd_pid": sandbox.host_pid().unwrap(),
        });
        println!("{report}");
        // Wait for the SIGKILL with everything still in place.
        std::future::pending::<()>().await;
    });
}

/// The sandbox's processes die with the process that ran it (parent-death signal).
fn wait_for_exit(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(
            Instant::now() < deadline,
            "envd {pid} outlived its sandboxd"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn assert_no_leftovers(instance: &str) {
    assert_eq!(cgroup_dirs(instance), Vec::<String>::new());
    assert!(
        !iptables_mentions(instance),
        "iptables rules of {instance} remain"
    );
    let links: Vec<String> = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("sb-{instance}-")))
        .collect();
    assert_eq!(links, Vec::<String>::new());
}

/// Waits until the dead instance's watchdog has removed its cgroups and unmounted its layers:
/// 15 s at most, since on a loaded 2-core machine 5 s was seen to be too short for the teardown.
fn wait_for_watchdog(instance: &str, data_dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mounted = || {
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .contains(&data_dir.display().to_string())
    };
    while !cgroup_dirs(instance).is_empty() || mounted() {
        assert!(
            Instant::now() < deadline,
            "the watchdog left cgroups {:?} or mounts under {}",
            cgroup_dirs(instance),
            data_dir.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn cgroup_dirs(instance: &str) -> Vec<String> {
    ["memory", "cpu", "cpuacct", "pids", "freezer"]
        .iter()
        .map(|c| format!("/sys/fs/cgroup/{c}/sandboxd-{instance}"))
        .filter(|d| Path::new(d).exists())
        .collect()
}

fn iptables_mentions(instance: &str) -> bool {
    let out = Command::new("iptables-save").output().unwrap();
    String::from_utf8_lossy(&out.stdout).contains(&format!("sandboxd-{instance}"))
}

fn temp_dir() -> PathBuf {
    std::env::temp_dir().join(support::unique("sandboxd-crash-test-"))
}
