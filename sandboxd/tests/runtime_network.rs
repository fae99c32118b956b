//! Network: loopback only without internet access; with it, outbound traffic through NAT (to a
//! test network standing in for the internet) but no way to other sandboxes or the host.

mod support;

use support::{TestInternet, TestRuntime, sh, sh_ok, spec};

#[tokio::test(flavor = "multi_thread")]
async fn without_internet_access_only_loopback_exists() {
    let internet = TestInternet::start("hello from the test internet");
    let rt = TestRuntime::open().await;
    let sandbox = rt.start(&spec(false)).await;
    assert_eq!(sh_ok(&sandbox, None, "ls /sys/class/net"), "lo");
    assert_eq!(sandbox.ip_address(), None);
    let curl = format!("curl -sS --max-time 5 {}", internet.url());
    let out = sh(&sandbox, None, &curl);
    assert!(
        !out.status.success(),
        "reached {} without internet access",
        internet.url()
    );
    // Loopback works.
    sh_ok(
        &sandbox,
        None,
        "python3 -c 'import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); s.listen(); socket.create_connection(s.getsockname())'",
    );
    sandbox.stop(false).await.unwrap();
    rt.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_internet_access_outbound_traffic_is_nated() {
    let internet = TestInternet::start("hello from the test internet");
    let rt = TestRuntime::open().await;
    let sandbox = rt.start(&spec(true)).await;
    let body = sh_ok(
        &sandbox,
        Some("user"),
        &format!("curl -sS --max-time 20 {}", internet.url()),
    );
    assert_eq!(body, "hello from the test internet");
    sandbox.stop(false).await.unwrap();
    rt.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sandboxes_cannot_reach_each_other_or_the_host() {
    let rt = TestRuntime::open().await;
    let (a, b) = (rt.start(&spec(true)).await, rt.start(&spec(true)).await);
    // b serves on its external address; the host reaches it, a must not.
    let b_ip = b.ip_address().unwrap();
    let server = b
        .command("python3")
        .unwrap()
        .args(["-m", "http.server", "8000", "--bind", &b_ip.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let addr = (b_ip, 8000).into();
    while std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(1)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "server in b did not come up"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = sh(
        &a,
        None,
        &format!("curl -sS --max-time 3 http://{b_ip}:8000/"),
    );
    assert!(!out.status.success(), "sandbox a reached sandbox b");
    // The host end of a's link is the host itself: closed to the sandbox.
    let gateway = sh_ok(&a, None, "ip route | awk '/default/ {print $3}'");
    let probe = format!(
        "python3 -c 'import socket; s = socket.socket(); s.settimeout(3); s.connect((\"{gateway}\", 22))'"
    );
    let out = sh(&a, None, &probe);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("timed out"),
        "{out:?}"
    );
    a.stop(false).await.unwrap();
    b.stop(false).await.unwrap();
    let mut server = server;
    support::wait_within(&mut server, "the sandbox's server");
    rt.close().await;
}
