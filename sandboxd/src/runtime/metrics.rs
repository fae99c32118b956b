//! Metrics of one sandbox, from its own cgroup and writable layer rather than the host's
//! `/proc` (which shows host-wide numbers).

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use super::Metrics;
use super::cgroup::SandboxCgroup;

const MIB: u64 = 1024 * 1024;

/// Remembers the previous CPU reading so each sample reports usage since the one before.
pub(crate) struct Sampler {
    cgroup: SandboxCgroup,
    writable_dirs: Vec<PathBuf>,
    cpu_count: u32,
    mem_total: u64,
    disk_total: u64,
    last_cpu: Mutex<(Instant, u64)>,
}

impl Sampler {
    /// Starts counting CPU from now (a sandbox that just booted has used next to nothing).
    pub fn new(
        cgroup: SandboxCgroup,
        writable_dirs: Vec<PathBuf>,
        limits: &super::Limits,
    ) -> Sampler {
        let used = cgroup.cpu_usage_ns().unwrap_or(0);
        Sampler {
            cgroup,
            writable_dirs,
            cpu_count: limits.cpu_count.max(1),
            mem_total: limits.memory_mb * MIB,
            disk_total: limits.disk_mb * MIB,
            last_cpu: Mutex::new((Instant::now(), used)),
        }
    }

    /// Blocking (walks the writable layer): call it outside async tasks.
    pub fn sample(&self) -> anyhow::Result<Metrics> {
        let used_ns = self.cgroup.cpu_usage_ns()?;
        let now = Instant::now();
        let cpu_used_pct = {
            let mut last = self.last_cpu.lock().unwrap();
            let wall_ns = now.duration_since(last.0).as_nanos() as u64;
            let pct = cpu_percent(used_ns.saturating_sub(last.1), wall_ns, self.cpu_count);
            *last = (now, used_ns);
            pct
        };
        let (charged, cache) = self.cgroup.memory_usage()?;
        let disk_used = self.writable_dirs.iter().map(|d| disk_usage(d)).sum();
        Ok(Metrics {
            cpu_count: self.cpu_count,
            cpu_used_pct,
            mem_used: charged.saturating_sub(cache),
            mem_total: self.mem_total,
            mem_cache: cache,
            disk_used,
            disk_total: self.disk_total,
        })
    }
}

/// Share of the sandbox's CPUs used over `wall_ns`, in percent with two decimals (as envd).
fn cpu_percent(used_ns: u64, wall_ns: u64, cpu_count: u32) -> f64 {
    if wall_ns == 0 {
        return 0.0;
    }
    let pct = used_ns as f64 * 100.0 / (wall_ns as f64 * f64::from(cpu_count));
    (pct.clamp(0.0, 100.0) * 100.0).round() / 100.0
}

/// Bytes allocated on disk under `dir` (like `du -s`), not following symlinks.
fn disk_usage(dir: &Path) -> u64 {
    let mut total = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        total += meta.blocks() * 512;
        if meta.is_dir() {
            pending.extend(
                fs::read_dir(&path)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| e.path()),
            );
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_percent_is_relative_to_the_sandbox_cpus() {
        // One full CPU out of two for one second: 50 %.
        assert_eq!(cpu_percent(1_000_000_000, 1_000_000_000, 2), 50.0);
        assert_eq!(cpu_percent(1_234_567, 10_000_000, 1), 12.35);
        assert_eq!(cpu_percent(5, 0, 1), 0.0);
        assert_eq!(cpu_percent(3_000_000_000, 1_000_000_000, 2), 100.0);
    }

    #[test]
    fn disk_usage_counts_file_blocks() {
        let dir =
            std::env::temp_dir().join(format!("sbx-du-{}", super::super::layout::random_name(8)));
        fs::create_dir_all(dir.join("a/b")).unwrap();
        let empty = disk_usage(&dir);
        fs::write(dir.join("a/b/data"), vec![7u8; 1 << 20]).unwrap();
        let full = disk_usage(&dir);
        assert!(full >= empty + (1 << 20), "{empty} -> {full}");
        fs::remove_dir_all(dir).unwrap();
    }
}
