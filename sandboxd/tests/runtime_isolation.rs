//! A sandbox sees its own root, processes, hostname and users, and nothing of the host's.

mod support;

use support::{TestRuntime, http_get, sh, sh_ok, spec};

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
    // Debian's own /root (its two dotfiles), not the host's.
    assert_eq!(
        sh_ok(&sandbox, None, "ls -A /root | xargs"),
        ".bashrc .profile"
    );
    assert_eq!(sh_ok(&sandbox, None, "ls /home"), "user");
    assert_eq!(sh_ok(&sandbox, None, "ls -A /etc/ssl/private | wc -l"), "0");
    for host_only in ["/work", "/usr/local/go", "/etc/ssh", "/old_root"] {
        let out = sh(&sandbox, None, &format!("test -e {host_only}"));
        assert!(!out.status.success(), "{host_only} is visible");
    }
    // The sandboxd binary is not reachable by path: /proc/1/exe points at a host path.
    assert!(
        !sh(&sandbox, None, "test -e \"$(readlink /proc/1/exe)\"")
            .status
            .success()
    );
    // Minimal /dev with a private devpts.
    let dev = sh_ok(&sandbox, None, "ls /dev | tr '\\n' ' '");
    assert_eq!(
        dev,
        "fd full null ptmx pts random shm stderr stdin stdout tty urandom zero"
    );
    sandbox.stop(false).await.unwrap();
    rt.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn template_has_e2b_users_markers_and_tools() {
    let rt = TestRuntime::open().await;
    let spec = spec(false);
    let sandbox = rt.start(&spec).await;

    assert_eq!(
        sh_ok(&sandbox, None, "id user"),
        "uid=1000(user) gid=1000(user) groups=1000(user),27(sudo),100(users)"
    );
    assert_eq!(
        sh_ok(&sandbox, None, "getent passwd user"),
        "user:x:1000:1000::/home/user:/bin/bash"
    );
    assert_eq!(
        sh_ok(&sandbox, None, "stat -c %U:%G /home/user"),
        "user:user"
    );
    // Passwordless sudo for `user`, without warnings (e.g. an unresolvable host name).
    let out = sh(&sandbox, Some("user"), "sudo -n id -u");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(sh_ok(&sandbox, Some("user"), "whoami"), "user");

    assert_eq!(sh_ok(&sandbox, None, "cat /run/e2b/.E2B_SANDBOX"), "true");
    assert_eq!(
        sh_ok(&sandbox, None, "cat /run/e2b/.E2B_SANDBOX_ID"),
        spec.sandbox_id
    );
    assert_eq!(
        sh_ok(&sandbox, None, "cat /run/e2b/.E2B_TEMPLATE_ID"),
        spec.template_id
    );
    let e2b = sh_ok(&sandbox, None, "cat /.e2b");
    for key in ["ENV_ID=", "TEMPLATE_ID=", "BUILD_ID="] {
        assert!(e2b.lines().any(|l| l.starts_with(key)), "{e2b}");
    }
    assert_eq!(sh_ok(&sandbox, None, "grep -c $(hostname) /etc/hosts"), "1");

    for tool in [
        "bash --version",
        "ls --version",
        "python3 --version",
        "curl --version",
        "sudo -V",
        "tput -V",
    ] {
        sh_ok(&sandbox, None, tool);
    }
    // World-writable /code and /usr/local (empty: nothing of the host's), sticky /tmp.
    assert_eq!(
        sh_ok(
            &sandbox,
            None,
            "stat -c %a /code /usr/local /tmp | tr '\\n' ' '"
        ),
        "777 777 1777"
    );
    assert_eq!(
        sh_ok(&sandbox, None, "find /usr/local -type f | wc -l"),
        "0"
    );
    sh_ok(
        &sandbox,
        Some("user"),
        "touch /code/a /usr/local/bin/b /tmp/c",
    );
    sandbox.stop(false).await.unwrap();
    rt.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sandbox_filesystem_supports_what_envd_needs() {
    let rt = TestRuntime::open().await;
    let sandbox = rt.start(&spec(false)).await;
    // user.* xattrs (envd keeps file metadata in them), as the unprivileged user.
    let xattr = sh_ok(
        &sandbox,
        Some("user"),
        "cd ~ && touch f && python3 -c \"import os; os.setxattr('f', 'user.k', b'v'); print(os.getxattr('f', 'user.k').decode())\"",
    );
    assert_eq!(xattr, "v");
    // A fresh empty directory reports a size (docs/envd.md, "EntryInfo").
    let size = sh_ok(
        &sandbox,
        Some("user"),
        "mkdir ~/empty && stat -c %s ~/empty",
    );
    assert!(size.parse::<u64>().unwrap() > 0, "{size}");
    // A pty works (devpts instance of its own).
    sh_ok(
        &sandbox,
        None,
        "python3 -c 'import os, pty; m, s = pty.openpty(); print(os.ttyname(s))'",
    );
    sandbox.stop(false).await.unwrap();
    rt.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn root_inside_cannot_reach_the_host() {
    let rt = TestRuntime::open().await;
    let sandbox = rt.start(&spec(false)).await;
    let host_boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    let boot_id = sh_ok(&sandbox, None, "cat /proc/sys/kernel/random/boot_id");
    assert_eq!(boot_id.len(), 36);
    assert_ne!(boot_id, host_boot_id.trim());
    for denied in [
        "echo 1 > /proc/sys/vm/drop_caches",
        "echo h > /proc/sysrq-trigger",
        "mount -t tmpfs none /mnt",
        "mknod /tmp/disk b 8 0",
        "hostname other",
        "ip link add dummy0 type dummy",
        "touch /sys/x",
    ] {
        let out = sh(&sandbox, None, denied);
        assert!(!out.status.success(), "root in the sandbox could: {denied}");
    }
    sandbox.stop(false).await.unwrap();
    rt.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn files_in_one_sandbox_are_invisible_elsewhere() {
    let rt = TestRuntime::open().await;
    let (a, b) = (rt.start(&spec(false)).await, rt.start(&spec(false)).await);
    let name = support::unique("secret-");
    sh_ok(
        &a,
        Some("user"),
        &format!("echo a > /tmp/{name} && echo a > ~/{name}"),
    );
    assert_eq!(sh_ok(&a, None, &format!("cat /tmp/{name}")), "a");
    assert!(
        !sh(
            &b,
            None,
            &format!("test -e /tmp/{name} || test -e /home/user/{name}")
        )
        .status
        .success()
    );
    assert!(!std::path::Path::new("/tmp").join(&name).exists());
    assert!(!std::path::Path::new("/home/user").join(&name).exists());
    a.stop(false).await.unwrap();
    b.stop(false).await.unwrap();
    rt.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_sandboxes_listen_on_the_same_loopback_port() {
    let rt = TestRuntime::open().await;
    let (a, b) = (rt.start(&spec(false)).await, rt.start(&spec(false)).await);
    let mut servers = Vec::new();
    for sandbox in [&a, &b] {
        sh_ok(
            sandbox,
            None,
            &format!(
                "mkdir /srv/www && echo {} > /srv/www/id.txt",
                sandbox.sandbox_id()
            ),
        );
        let server = sandbox
            .command("python3")
            .unwrap()
            .args([
                "-m",
                "http.server",
                "8000",
                "--bind",
                "127.0.0.1",
                "--directory",
                "/srv/www",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        servers.push(server);
    }
    for sandbox in [&a, &b] {
        // The server may still be starting: connecting is refused until it listens.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let stream = loop {
            match sandbox.connect(8000).await {
                Ok(stream) => break stream,
                Err(e) if std::time::Instant::now() > deadline => panic!("port 8000: {e}"),
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            }
        };
        let (status, body) = http_get(stream, "/id.txt").await;
        assert_eq!((status, body.trim()), (200, sandbox.sandbox_id()));
    }
    a.stop(false).await.unwrap();
    b.stop(false).await.unwrap();
    for mut server in servers {
        // nsenter returns once its child died with the sandbox.
        support::wait_within(&mut server, "the sandbox's server");
    }
    rt.close().await;
}
