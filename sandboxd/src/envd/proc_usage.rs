//! `GET /metrics`: CPU, memory and disk usage as envd sees them (`/proc/stat`,
//! `/proc/meminfo`, `statvfs("/")`). Inside a sandbox the control plane computes its own
//! numbers from the cgroup; these are what the process itself can observe.

use std::sync::Mutex;

use envd_protocol::json;

/// One sample, serialised with envd's snake_case names.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    pub ts: i64,
    pub cpu_count: u64,
    pub cpu_used_pct: f64,
    pub mem_total: u64,
    pub mem_used: u64,
    pub mem_cache: u64,
    pub disk_used: u64,
    pub disk_total: u64,
}

impl Metrics {
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let int = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        json::Writer::object(&mut out, |w| {
            w.field_num("ts", self.ts);
            w.field_num("cpu_count", int(self.cpu_count));
            // Two decimals, as envd reports it.
            let pct = (self.cpu_used_pct * 100.0).round() / 100.0;
            let out = w.key("cpu_used_pct");
            out.extend_from_slice(pct.to_string().as_bytes());
            w.field_num("mem_total", int(self.mem_total));
            w.field_num("mem_used", int(self.mem_used));
            w.field_num("mem_cache", int(self.mem_cache));
            w.field_num("mem_total_mib", int(self.mem_total >> 20));
            w.field_num("mem_used_mib", int(self.mem_used >> 20));
            w.field_num("disk_used", int(self.disk_used));
            w.field_num("disk_total", int(self.disk_total));
        });
        out
    }
}

/// Keeps the previous CPU counters so usage is measured between samples.
#[derive(Default)]
pub struct Sampler {
    previous_cpu: Mutex<Option<CpuTimes>>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct CpuTimes {
    busy: u64,
    total: u64,
}

/// Parses the aggregate `cpu` line of `/proc/stat`.
fn parse_cpu_line(stat: &str) -> Option<CpuTimes> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = fields.iter().take(8).sum();
    // idle + iowait are not busy time.
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    Some(CpuTimes {
        busy: total.saturating_sub(idle),
        total,
    })
}

/// `(total, available, cached)` in bytes from `/proc/meminfo`.
fn parse_meminfo(meminfo: &str) -> (u64, u64, u64) {
    let field = |name: &str| {
        meminfo
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    };
    (field("MemTotal"), field("MemAvailable"), field("Cached"))
}

impl Sampler {
    pub async fn sample(&self) -> std::io::Result<Metrics> {
        let stat = tokio::fs::read_to_string("/proc/stat").await?;
        let meminfo = tokio::fs::read_to_string("/proc/meminfo").await?;
        let (disk_total, disk_used) = tokio::task::spawn_blocking(disk_usage).await??;
        let now = parse_cpu_line(&stat).unwrap_or(CpuTimes { busy: 0, total: 0 });
        let previous = self
            .previous_cpu
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(now);
        let base = previous.unwrap_or(CpuTimes { busy: 0, total: 0 });
        let (busy, total) = (
            now.busy.saturating_sub(base.busy),
            now.total.saturating_sub(base.total),
        );
        let (mem_total, mem_available, mem_cache) = parse_meminfo(&meminfo);
        Ok(Metrics {
            ts: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64),
            cpu_count: std::thread::available_parallelism().map_or(1, |n| n.get() as u64),
            cpu_used_pct: if total == 0 {
                0.0
            } else {
                busy as f64 * 100.0 / total as f64
            },
            mem_total,
            mem_used: mem_total.saturating_sub(mem_available),
            mem_cache,
            disk_used,
            disk_total,
        })
    }
}

/// `(total, used)` bytes of the root filesystem; used = total − available to users.
fn disk_usage() -> std::io::Result<(u64, u64)> {
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid NUL-terminated path and a zeroed out-parameter.
    if unsafe { libc::statvfs(c"/".as_ptr(), &mut s) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let total = s.f_blocks as u64 * s.f_frsize as u64;
    let avail = s.f_bavail as u64 * s.f_frsize as u64;
    Ok((total, total.saturating_sub(avail)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files() {
        let stat = "cpu  100 5 50 800 20 0 5 0 0 0\ncpu0 1 2 3 4\n";
        assert_eq!(
            parse_cpu_line(stat),
            Some(CpuTimes {
                busy: 160,
                total: 980
            })
        );
        let meminfo =
            "MemTotal:       2048 kB\nMemFree: 1 kB\nMemAvailable:   1024 kB\nCached:  512 kB\n";
        assert_eq!(
            parse_meminfo(meminfo),
            (2048 * 1024, 1024 * 1024, 512 * 1024)
        );
    }

    #[test]
    fn json_uses_envd_names() {
        let m = Metrics {
            ts: 1,
            cpu_count: 2,
            cpu_used_pct: 12.345,
            mem_total: 4 << 20,
            mem_used: 1 << 20,
            ..Default::default()
        };
        let text = String::from_utf8(m.to_json()).unwrap();
        assert_eq!(
            text,
            r#"{"ts":1,"cpu_count":2,"cpu_used_pct":12.35,"mem_total":4194304,"mem_used":1048576,"mem_cache":0,"mem_total_mib":4,"mem_used_mib":1,"disk_used":0,"disk_total":0}"#
        );
    }
}
