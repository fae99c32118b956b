//! cgroup limits: a memory hog or a fork bomb stays inside its sandbox; metrics come from the
//! sandbox's own cgroup and layer.

mod support;

use std::time::Duration;

use support::{TestRuntime, envd_healthy, sh, sh_ok, spec};

#[tokio::test(flavor = "multi_thread")]
async fn a_memory_hog_is_killed_inside_its_sandbox_only() {
    let rt = TestRuntime::open().await;
    let mut small = spec(false);
    small.limits.memory_mb = 64;
    let (hog, bystander) = (rt.start(&small).await, rt.start(&spec(false)).await);
    let out = sh(
        &hog,
        Some("user"),
        "python3 -c 'b = bytearray(512 * 1024 * 1024); print(len(b))'",
    );
    assert!(
        !out.status.success(),
        "512 MiB fit in a 64 MiB sandbox: {out:?}"
    );
    assert!(hog.oom_kills().unwrap() >= 1);
    // The kernel chose the hog, not envd; the other sandbox never noticed.
    assert!(hog.is_alive() && envd_healthy(&hog).await);
    assert!(envd_healthy(&bystander).await);
    sh_ok(&hog, None, "echo still usable");
    hog.stop(false).await.unwrap();
    bystander.stop(false).await.unwrap();
    rt.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fork_bomb_is_contained_and_stoppable() {
    let rt = TestRuntime::open().await;
    let mut bomb_spec = spec(false);
    bomb_spec.limits.pids_max = 64;
    let (bomb, bystander) = (rt.start(&bomb_spec).await, rt.start(&spec(false)).await);
    let mut bomber = bomb
        .command("bash")
        .unwrap()
        .args(["-c", "f() { f | f & }; f"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the bomb has used up its PIDs, counted from the host by PID namespace.
    let pidns = std::fs::read_link(format!("/proc/{}/ns/pid", bomb.host_pid().unwrap())).unwrap();
    let in_sandbox = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|e| std::fs::read_link(e.path().join("ns/pid")).is_ok_and(|ns| ns == pidns))
            .count()
    };
    let mut peak = 0;
    for _ in 0..200 {
        peak = peak.max(in_sandbox());
        if peak >= 60 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        peak >= 60,
        "the bomb never reached its limit ({peak} processes)"
    );
    assert!(
        in_sandbox() <= 64,
        "{} processes in a sandbox limited to 64",
        in_sandbox()
    );
    // sandboxd (this process) and the other sandbox keep working.
    assert!(envd_healthy(&bystander).await);
    sh_ok(&bystander, None, "true");
    std::process::Command::new("true").status().unwrap();
    bomb.stop(false).await.unwrap();
    assert_eq!(in_sandbox(), 0);
    support::wait_within(&mut bomber, "the fork bomb");
    bystander.stop(false).await.unwrap();
    rt.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_come_from_the_sandbox_cgroup_and_layer() {
    let rt = TestRuntime::open().await;
    let mut spec = spec(false);
    spec.limits.cpu_count = 2;
    spec.limits.memory_mb = 300;
    spec.limits.disk_mb = 2048;
    let sandbox = rt.start(&spec).await;
    let before = sandbox.metrics().await.unwrap();
    assert_eq!(before.cpu_count, 2);
    assert_eq!(before.mem_total, 300 * 1024 * 1024);
    assert_eq!(before.disk_total, 2048 * 1024 * 1024);
    assert!(before.mem_used > 0 && before.mem_used < before.mem_total);

    // Busy CPU, 32 MiB on disk, 64 MiB held in memory while sampling.
    sh_ok(
        &sandbox,
        None,
        "timeout 1 sh -c 'while :; do :; done' || true",
    );
    sh_ok(&sandbox, None, "head -c 33554432 /dev/urandom > /tmp/blob");
    let mut holder = sandbox
        .command("python3")
        .unwrap()
        .args([
            "-c",
            "import sys, time; b = bytearray(64 << 20); print('ok', flush=True); time.sleep(60)",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let after = sandbox.metrics().await.unwrap();
    assert!(
        after.cpu_used_pct > 0.0 && after.cpu_used_pct <= 100.0,
        "{after:?}"
    );
    assert!(
        after.disk_used >= before.disk_used + 32 * 1024 * 1024,
        "{before:?} -> {after:?}"
    );
    assert!(
        after.mem_used >= before.mem_used + 60 * 1024 * 1024,
        "{before:?} -> {after:?}"
    );
    sandbox.stop(false).await.unwrap();
    support::wait_within(&mut holder, "the memory holder");
    assert!(
        sandbox.metrics().await.is_err(),
        "metrics of a stopped sandbox"
    );
    rt.close().await;
}
