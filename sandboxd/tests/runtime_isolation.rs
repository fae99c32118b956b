//! A sandbox sees its own root, processes, hostname and users, and nothing of the host's.

mod support;

use support::{TestRuntime, sh, sh_ok, spec};

#[tokio::test(flavor = "multi_thread")]
async fn envd_is_pid_1_and_host_trees_are_invisible() {
    let rt = TestRuntime::open().await;
    let spec = spec(false);
    let sandbox = rt.start(&spec).await;

    let cmdline = sh_ok(&sandbox, None, "tr '\\0' ' ' < /proc/1/cmdline");
    assert!(cmdline.starts_with("sandboxd envd "), "{cmdline}");
    assert_eq!(sh_ok(&sandbox, None, "hostname"), spec.sandbox_id);
    // Only the sandbox's own processes: envd, and this shell and its children.
    let pids = sh_ok(&sandbox, None, "ls /proc | grep -c '^[0-9]'");
    assert!(
        pids.parse::<u32>().unwrap() <= 4,
        "{pids} processes visible"
    );
    assert_eq!(sh_ok(&sandbox, None, "ls -A /root | wc -l"), "0");
    assert_eq!(sh_ok(&sandbox, None, "ls /home"), "user");
    for host_only in ["/work", "/usr/local/go", "/etc/ssh", "/etc/ssl/private"] {
        assert!(
            !sh(&sandbox, None, &format!("test -e {host_only}"))
                .status
                .success(),
            "{host_only}"
        );
    }
    sandbox.stop(false).await.unwrap();
    rt.close().await;
}
