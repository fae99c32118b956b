//! Lifecycle: freeze/thaw, stop (with and without the layer), filesystem-only pause as a reboot,
//! and that a stop leaves nothing behind on the host.

mod support;

use std::path::Path;
use std::time::Duration;

use sandboxd::runtime::Layer;
use support::{TestRuntime, envd_healthy, sh_ok, spec};

#[tokio::test(flavor = "multi_thread")]
async fn freeze_stops_processes_and_thaw_resumes_them_intact() {
    let rt = TestRuntime::open().await;
    let spec = spec(false);
    let sandbox = rt.start(&spec).await;
    // A background writer whose progress the host can read from the sandbox's layer.
    let mut writer = sandbox
        .command("bash")
        .unwrap()
        .args([
            "-c",
            "while :; do echo tick >> /tmp/ticks; sleep 0.01; done",
        ])
        .spawn()
        .unwrap();
    let ticks = rt
        .data_dir
        .join("runtime/layers")
        .join(&spec.sandbox_id)
        .join("fs/upper/tmp/ticks");
    let size = || std::fs::metadata(&ticks).map(|m| m.len()).unwrap_or(0);
    let grows = |before: u64| async move {
        for _ in 0..500 {
            if size() > before {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    };
    assert!(grows(0).await, "the writer never wrote");

    sandbox.freeze().await.unwrap();
    let frozen_at = size();
    // A request sent while frozen is accepted by the kernel but not answered...
    let health = tokio::spawn({
        let stream = sandbox.connect(envd_protocol::ENVD_PORT).await.unwrap();
        support::http_get(stream, "/health")
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(size(), frozen_at, "a frozen process wrote");
    assert!(!health.is_finished(), "a frozen envd answered");

    sandbox.thaw().await.unwrap();
    // ...and answered after the thaw; the writer carries on where it stopped.
    assert_eq!(health.await.unwrap().0, 204);
    assert!(grows(frozen_at).await, "the writer did not resume");
    sandbox.stop(false).await.unwrap();
    support::wait_within(&mut writer, "the writer");
    rt.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_leaves_nothing_behind() {
    let rt = TestRuntime::open().await;
    let spec = spec(true);
    let sandbox = rt.start(&spec).await;
    let instance = rt.instance();
    let pid = sandbox.host_pid().unwrap();
    sh_ok(&sandbox, None, "sleep 1000 > /dev/null 2>&1 & echo started");
    let cgroups = cgroup_dirs(&instance, &spec.sandbox_id);
    let links = host_links(&instance);
    let layer = rt.data_dir.join("runtime/layers").join(&spec.sandbox_id);
    assert!(!cgroups.is_empty() && cgroups.iter().all(|d| Path::new(d).is_dir()));
    assert_eq!(links.len(), 1, "{links:?}");
    assert!(layer.is_dir());
    assert!(iptables_mentions(&instance));

    sandbox.stop(false).await.unwrap();
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "envd survived"
    );
    assert!(
        cgroups.iter().all(|d| !Path::new(d).exists()),
        "{cgroups:?}"
    );
    assert!(host_links(&instance).is_empty());
    assert!(!layer.exists());
    // Only the runtime's spare empty layers stay mounted while it is open.
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(layer.to_str().unwrap()),
        "a mount leaked to the host"
    );
    assert!(!sandbox.is_alive());
    assert!(sandbox.connect(envd_protocol::ENVD_PORT).await.is_err());
    // Stopping twice is harmless.
    sandbox.stop(false).await.unwrap();

    rt.runtime.close().await.unwrap();
    assert!(!iptables_mentions(&instance), "rules outlived close");
    assert!(
        ["memory", "cpu", "pids", "freezer"]
            .iter()
            .all(|c| !Path::new(&format!("/sys/fs/cgroup/{c}/sandboxd-{instance}")).exists()),
        "instance cgroups outlived close"
    );
    rt.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn filesystem_pause_keeps_files_and_boots_again() {
    let rt = TestRuntime::open().await;
    let spec = spec(false);
    let sandbox = rt.start(&spec).await;
    sh_ok(
        &sandbox,
        Some("user"),
        "echo kept > ~/note && mkdir -p /usr/local/lib/x",
    );
    sh_ok(
        &sandbox,
        Some("user"),
        "sleep 1000 > /dev/null 2>&1 & echo started",
    );
    assert_eq!(sh_ok(&sandbox, None, "pgrep -c -x sleep"), "1");
    let boot_id = sh_ok(&sandbox, None, "cat /proc/sys/kernel/random/boot_id");
    sandbox.stop(true).await.unwrap();
    assert!(!envd_healthy(&sandbox).await);

    // Same ID again while the layer is kept: a new boot on the old files.
    let resumed = rt.runtime.start(&spec, Layer::Keep).await.unwrap();
    assert_eq!(sh_ok(&resumed, None, "cat /home/user/note"), "kept");
    assert_eq!(
        sh_ok(&resumed, None, "test -d /usr/local/lib/x && echo yes"),
        "yes"
    );
    assert_ne!(
        sh_ok(&resumed, None, "cat /proc/sys/kernel/random/boot_id"),
        boot_id
    );
    assert_eq!(sh_ok(&resumed, None, "hostname"), spec.sandbox_id);
    // Nothing of the previous boot's processes survives.
    assert_eq!(sh_ok(&resumed, None, "pgrep -c -x sleep || true"), "0");
    resumed.stop(true).await.unwrap();

    // A kept layer can be removed on its own; a fresh start ignores nothing of it.
    rt.runtime.remove_layer(&spec.sandbox_id).await.unwrap();
    assert!(rt.runtime.start(&spec, Layer::Keep).await.is_err());
    let fresh = rt.start(&spec).await;
    assert!(
        !support::sh(&fresh, None, "test -e /home/user/note")
            .status
            .success()
    );
    fresh.stop(false).await.unwrap();
    rt.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_id_cannot_be_started_twice_and_bad_input_is_refused() {
    let rt = TestRuntime::open().await;
    let spec = spec(false);
    let sandbox = rt.start(&spec).await;
    let err = rt
        .runtime
        .start(&spec, Layer::Fresh)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("already running"), "{err}");
    assert!(rt.runtime.remove_layer(&spec.sandbox_id).await.is_err());
    sh_ok(&sandbox, None, "test -d /home/user");
    assert!(
        envd_healthy(&sandbox).await,
        "the running sandbox was disturbed"
    );

    let mut bad = support::spec(false);
    bad.sandbox_id = "../escape".into();
    assert!(rt.runtime.start(&bad, Layer::Fresh).await.is_err());
    let mut tiny = support::spec(false);
    tiny.limits.memory_mb = 1;
    assert!(rt.runtime.start(&tiny, Layer::Fresh).await.is_err());
    let mut unknown = support::spec(false);
    unknown.template_id = "no-such-template".into();
    assert!(rt.runtime.start(&unknown, Layer::Fresh).await.is_err());
    assert!(rt.runtime.template("base").is_some());
    assert!(rt.runtime.template("no-such-template").is_none());
    sandbox.stop(false).await.unwrap();
    // Nothing of the refused starts is left. The runtime's spare empty layers (`.spare-*`, and
    // `.new-*` while its refill thread prepares one) are not sandboxes' layers.
    let layers: Vec<String> = std::fs::read_dir(rt.data_dir.join("runtime/layers"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with(".spare-") && !name.starts_with(".new-"))
        .collect();
    assert!(layers.is_empty(), "{layers:?}");
    rt.close().await;
}

fn cgroup_dirs(instance: &str, id: &str) -> Vec<String> {
    ["memory", "cpu", "cpuacct", "pids", "freezer"]
        .iter()
        .map(|c| format!("/sys/fs/cgroup/{c}/sandboxd-{instance}/{id}"))
        .filter(|d| Path::new(d).exists())
        .collect()
}

fn host_links(instance: &str) -> Vec<String> {
    std::fs::read_dir("/sys/class/net")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("sb-{instance}-")))
        .collect()
}

fn iptables_mentions(instance: &str) -> bool {
    let out = std::process::Command::new("iptables-save")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).contains(&format!("sandboxd-{instance}"))
}
