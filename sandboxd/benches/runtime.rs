//! Runtime benchmark (root): create-to-ready latency of single sandboxes, and how many run at
//! once. `cargo bench -p sandboxd --bench runtime [-- <concurrent count>]`.
//!
//! Create-to-ready is `Runtime::start` from call to return: layer, cgroup, namespaces, root,
//! envd answering `/health`, `/init` accepted.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use sandboxd::runtime::Sandbox;
use support::{TestRuntime, envd_healthy, spec};

const SEQUENTIAL: usize = 40;

fn main() {
    let concurrent: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(50);
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio.block_on(async {
        let rt = TestRuntime::open().await;
        for internet in [false, true] {
            sequential(&rt, internet).await;
        }
        concurrently(&rt, concurrent).await;
        rt.close().await;
    });
}

async fn sequential(rt: &TestRuntime, internet: bool) {
    let (mut starts, mut stops) = (Vec::new(), Vec::new());
    for _ in 0..SEQUENTIAL {
        let spec = spec(internet);
        let t = Instant::now();
        let sandbox = rt.start(&spec).await;
        starts.push(t.elapsed());
        let t = Instant::now();
        sandbox.stop(false).await.unwrap();
        stops.push(t.elapsed());
    }
    let label = if internet {
        "with internet"
    } else {
        "loopback only"
    };
    report(&format!("create-to-ready ({label})"), &mut starts);
    report(&format!("stop ({label})"), &mut stops);
}

async fn concurrently(rt: &TestRuntime, count: usize) {
    let t = Instant::now();
    let starts = (0..count).map(|_| async {
        let t = Instant::now();
        let sandbox = rt.start(&spec(true)).await;
        (sandbox, t.elapsed())
    });
    let started: Vec<(Sandbox, Duration)> = futures_util::future::join_all(starts).await;
    let all = t.elapsed();
    let mut latencies: Vec<Duration> = started.iter().map(|(_, d)| *d).collect();
    let sandboxes: Vec<Sandbox> = started.into_iter().map(|(s, _)| s).collect();
    let mut healthy = 0;
    for sandbox in &sandboxes {
        healthy += usize::from(envd_healthy(sandbox).await);
    }
    let mut memory = 0;
    for sandbox in &sandboxes {
        memory += sandbox.metrics().await.unwrap().mem_used;
    }
    println!(
        "{count} sandboxes started concurrently in {all:.2?}; {healthy} healthy; memory charged to them: {} MiB total, {} MiB each",
        memory >> 20,
        (memory / count as u64) >> 20
    );
    report(
        &format!("create-to-ready ({count} at once)"),
        &mut latencies,
    );
    let t = Instant::now();
    futures_util::future::join_all(sandboxes.iter().map(|s| s.stop(false))).await;
    println!("stopped {count} in {:.2?}", t.elapsed());
}

fn report(what: &str, samples: &mut [Duration]) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    println!(
        "{what}: p50 {:.1?}  p90 {:.1?}  max {:.1?}  (n={})",
        at(0.5),
        at(0.9),
        at(1.0),
        samples.len()
    );
}
