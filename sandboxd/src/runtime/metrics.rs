//! Metrics of one sandbox, from its own cgroup and the filesystem of its writable layer rather
//! than the host's `/proc` (which shows host-wide numbers).

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use super::Metrics;
use super::cgroup::SandboxCgroup;
use super::disk;

const MIB: u64 = 1024 * 1024;

/// Remembers the previous CPU reading so each sample reports usage since the one before.
pub(crate) struct Sampler {
    cgroup: SandboxCgroup,
    /// Mount point of the layer's filesystem.
    layer_fs: PathBuf,
    cpu_count: u32,
    mem_total: u64,
    disk_total: u64,
    last_cpu: Mutex<(Instant, u64)>,
}

impl Sampler {
    /// Starts counting CPU from now (a sandbox that just booted has used next to nothing).
    pub fn new(cgroup: SandboxCgroup, layer_fs: PathBuf, limits: &super::Limits) -> Sampler {
        let used = cgroup.cpu_usage_ns().unwrap_or(0);
        Sampler {
            cgroup,
            layer_fs,
            cpu_count: limits.cpu_count.max(1),
            mem_total: limits.memory_mb * MIB,
            disk_total: limits.disk_mb * MIB,
            last_cpu: Mutex::new((Instant::now(), used)),
        }
    }

    /// Blocking (reads cgroup files, statvfs): call it outside async tasks.
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
        let (disk_used, _) = disk::usage(&self.layer_fs)?;
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
}
