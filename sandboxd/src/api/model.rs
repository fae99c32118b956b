//! The sandbox record the control plane keeps (and persists), and the JSON shapes of E2B's
//! published OpenAPI spec (`spec/openapi.yml` of the e2b-dev/E2B repository) built from it.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::ids::CLIENT_ID;
use super::network::NetworkConfig;
use crate::envd::ENVD_VERSION;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SandboxState {
    Running,
    Paused,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PauseInfo {
    pub at: DateTime<Utc>,
    /// Memory pause: processes frozen in place. Otherwise only the writable layer is kept.
    pub memory: bool,
}

/// Everything the control plane knows about a sandbox; persisted in the data dir.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SandboxRecord {
    pub sandbox_id: String,
    pub template_id: String,
    pub alias: Option<String>,
    pub started_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    /// The create timeout, reused when traffic auto-resumes the sandbox.
    pub timeout_secs: u64,
    pub metadata: BTreeMap<String, String>,
    pub env_vars: BTreeMap<String, String>,
    pub envd_access_token: Option<String>,
    pub traffic_access_token: Option<String>,
    /// `None` when the create request did not say (reported as `null`).
    pub allow_internet_access: Option<bool>,
    /// The create request's `network` options, with the egress rules of the last update.
    pub network: Option<NetworkConfig>,
    pub auto_pause: bool,
    pub auto_pause_memory: bool,
    pub auto_resume: bool,
    pub cpu_count: u32,
    pub memory_mb: u64,
    pub disk_size_mb: u64,
    pub paused: Option<PauseInfo>,
}

impl SandboxRecord {
    pub fn state(&self) -> SandboxState {
        if self.paused.is_some() {
            SandboxState::Paused
        } else {
            SandboxState::Running
        }
    }

    /// For a paused sandbox E2B reports the pause time as `endAt`.
    pub fn reported_end_at(&self) -> DateTime<Utc> {
        self.paused.as_ref().map_or(self.end_at, |p| p.at)
    }

    /// The template's ID as E2B reports it: a sandbox of a tagged build (`<id>:<tag>` in the
    /// runtime) reports the template, not the tag.
    fn reported_template_id(&self) -> String {
        let id = self.template_id.as_str();
        id.split_once(':').map_or(id, |(id, _tag)| id).to_string()
    }

    pub fn to_sandbox(&self, domain: Option<&str>) -> SandboxView {
        SandboxView {
            template_id: self.reported_template_id(),
            sandbox_id: self.sandbox_id.clone(),
            alias: self.alias.clone(),
            client_id: CLIENT_ID,
            envd_version: ENVD_VERSION,
            envd_access_token: self.envd_access_token.clone(),
            traffic_access_token: self.traffic_access_token.clone(),
            domain: domain.map(str::to_string),
        }
    }

    pub fn to_detail(&self, domain: Option<&str>) -> SandboxDetailView {
        SandboxDetailView {
            listed: self.to_listed(),
            envd_access_token: self.envd_access_token.clone(),
            allow_internet_access: self.allow_internet_access,
            domain: domain.map(str::to_string),
            network: self.network.clone(),
            lifecycle: LifecycleView {
                auto_resume: self.auto_resume,
                on_timeout: if self.auto_pause { "pause" } else { "kill" },
            },
        }
    }

    pub fn to_listed(&self) -> ListedSandboxView {
        ListedSandboxView {
            template_id: self.reported_template_id(),
            alias: self.alias.clone(),
            sandbox_id: self.sandbox_id.clone(),
            client_id: CLIENT_ID,
            started_at: rfc3339(self.started_at),
            end_at: rfc3339(self.reported_end_at()),
            cpu_count: self.cpu_count,
            memory_mb: self.memory_mb,
            disk_size_mb: self.disk_size_mb,
            metadata: self.metadata.clone(),
            state: self.state(),
            envd_version: ENVD_VERSION,
        }
    }
}

#[cfg(test)]
impl SandboxRecord {
    /// A running `base` sandbox started at `started_at`, for tests.
    pub fn example(sandbox_id: &str, started_at: DateTime<Utc>) -> SandboxRecord {
        SandboxRecord {
            sandbox_id: sandbox_id.into(),
            template_id: "tbase".into(),
            alias: Some("base".into()),
            started_at,
            end_at: started_at,
            timeout_secs: 15,
            metadata: BTreeMap::new(),
            env_vars: BTreeMap::new(),
            envd_access_token: None,
            traffic_access_token: None,
            allow_internet_access: None,
            network: None,
            auto_pause: false,
            auto_pause_memory: true,
            auto_resume: false,
            cpu_count: 2,
            memory_mb: 512,
            disk_size_mb: 1024,
            paused: None,
        }
    }
}

/// RFC 3339 with microseconds and `Z`, the real API's format.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// `POST /sandboxes` (v1) and `POST /v2/sandboxes` bodies.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSandbox {
    #[serde(rename = "templateID")]
    pub template_id: String,
    pub timeout: Option<i64>,
    pub auto_pause: Option<bool>,
    pub auto_pause_memory: Option<bool>,
    pub auto_resume: Option<AutoResume>,
    pub secure: Option<bool>,
    #[serde(rename = "allow_internet_access")]
    pub allow_internet_access: Option<bool>,
    pub network: Option<serde_json::Value>,
    pub metadata: Option<BTreeMap<String, String>>,
    pub env_vars: Option<BTreeMap<String, String>>,
    pub mcp: Option<serde_json::Value>,
    pub volume_mounts: Option<Vec<serde_json::Value>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct AutoResume {
    #[serde(default)]
    pub enabled: bool,
}

/// Bodies of connect, resume, set-timeout and refresh: a number of seconds.
#[derive(Debug, Default, Deserialize)]
pub struct TimeoutBody {
    pub timeout: Option<i64>,
    pub duration: Option<i64>,
    /// v2 connect: `false` cold-boots a paused sandbox from its filesystem.
    pub memory: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PauseBody {
    pub memory: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxView {
    #[serde(rename = "templateID")]
    pub template_id: String,
    #[serde(rename = "sandboxID")]
    pub sandbox_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(rename = "clientID")]
    pub client_id: &'static str,
    pub envd_version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub envd_access_token: Option<String>,
    pub traffic_access_token: Option<String>,
    pub domain: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleView {
    pub auto_resume: bool,
    pub on_timeout: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxDetailView {
    /// Everything a list entry has, plus the fields below.
    #[serde(flatten)]
    pub listed: ListedSandboxView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub envd_access_token: Option<String>,
    pub allow_internet_access: Option<bool>,
    pub domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkConfig>,
    pub lifecycle: LifecycleView,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedSandboxView {
    #[serde(rename = "templateID")]
    pub template_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(rename = "sandboxID")]
    pub sandbox_id: String,
    #[serde(rename = "clientID")]
    pub client_id: &'static str,
    pub started_at: String,
    pub end_at: String,
    pub cpu_count: u32,
    #[serde(rename = "memoryMB")]
    pub memory_mb: u64,
    #[serde(rename = "diskSizeMB")]
    pub disk_size_mb: u64,
    pub metadata: BTreeMap<String, String>,
    pub state: SandboxState,
    pub envd_version: &'static str,
}

/// One metrics sample as `GET /sandboxes/{id}/metrics` reports it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricView {
    pub timestamp: String,
    pub timestamp_unix: i64,
    pub cpu_count: u32,
    pub cpu_used_pct: f64,
    pub mem_used: u64,
    pub mem_total: u64,
    pub mem_cache: u64,
    pub disk_used: u64,
    pub disk_total: u64,
}

impl MetricView {
    pub fn new(at: DateTime<Utc>, m: &crate::runtime::Metrics) -> MetricView {
        MetricView {
            timestamp: rfc3339(at),
            timestamp_unix: at.timestamp(),
            cpu_count: m.cpu_count,
            cpu_used_pct: (m.cpu_used_pct * 100.0).round() / 100.0,
            mem_used: m.mem_used,
            mem_total: m.mem_total,
            mem_cache: m.mem_cache,
            disk_used: m.disk_used,
            disk_total: m.disk_total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_sandbox_reads_both_sdks_field_spellings() {
        let body = r#"{"templateID":"base","timeout":30,"secure":true,
            "allow_internet_access":false,"metadata":{"a":"b"},"envVars":{"X":"1"},
            "autoPause":true,"autoResume":{"enabled":true}}"#;
        let req: NewSandbox = serde_json::from_str(body).unwrap();
        assert_eq!(req.template_id, "base");
        assert_eq!(req.timeout, Some(30));
        assert_eq!(req.allow_internet_access, Some(false));
        assert_eq!(req.env_vars.unwrap()["X"], "1");
        assert!(req.auto_resume.unwrap().enabled);
    }

    #[test]
    fn sandbox_view_serialises_nullable_fields_as_null() {
        let record = SandboxRecord::example("iabc", Utc::now());
        let json = serde_json::to_value(record.to_sandbox(None)).unwrap();
        assert_eq!(json["domain"], serde_json::Value::Null);
        assert_eq!(json["trafficAccessToken"], serde_json::Value::Null);
        assert!(json.get("envdAccessToken").is_none());
        assert_eq!(json["sandboxID"], "iabc");
        assert_eq!(json["clientID"], CLIENT_ID);
        let detail = serde_json::to_value(record.to_detail(Some("localhost:3000"))).unwrap();
        assert_eq!(detail["state"], "running");
        assert_eq!(detail["lifecycle"]["onTimeout"], "kill");
        assert_eq!(detail["allowInternetAccess"], serde_json::Value::Null);
        assert_eq!(detail["memoryMB"], 512);
    }
}
