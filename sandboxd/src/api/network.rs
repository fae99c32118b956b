//! A sandbox's network options: the create request's `network` object and the body of
//! `PUT /sandboxes/{id}/network`, checked so that everything sandboxd accepts it also enforces
//! (`allowOut`/`denyOut` as IPv4 rules, `allowPublicTraffic`, `maskRequestHost`) and the rest is
//! refused with a 400 that says so, and the update applied to the sandbox at once.

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::controller::{Controller, Phase, visible_entry_mut};
use super::error::ApiError;
use super::model::SandboxRecord;
use crate::runtime::{ALL_TRAFFIC, EgressRules};

/// The `network` of a sandbox as kept in its record and reported by get-info.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_out: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deny_out: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_public_traffic: Option<bool>,
    /// Host the proxy sends to the sandbox's ports; `${PORT}` is replaced by the port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mask_request_host: Option<String>,
}

/// The fields of the create request's `network` that sandboxd implements.
const CREATE_FIELDS: [&str; 4] = [
    "allowOut",
    "denyOut",
    "allowPublicTraffic",
    "maskRequestHost",
];
/// The fields of `PUT /sandboxes/{id}/network` that sandboxd implements.
const UPDATE_FIELDS: [&str; 3] = ["allowOut", "denyOut", "allow_internet_access"];

impl NetworkConfig {
    /// Reads the create request's `network`, refusing what sandboxd would not enforce.
    pub fn from_create(network: Option<Value>) -> Result<Option<NetworkConfig>, ApiError> {
        let Some(network) = network.filter(|n| !n.is_null()) else {
            return Ok(None);
        };
        let fields = implemented_fields(network, &CREATE_FIELDS)?;
        let config: NetworkConfig = serde_json::from_value(Value::Object(fields))
            .map_err(|e| ApiError::bad_request(format!("invalid network: {e}")))?;
        if let Some(mask) = &config.mask_request_host
            && !is_valid_mask(mask)
        {
            return Err(ApiError::bad_request(format!(
                "invalid network.maskRequestHost {mask:?}: expected a host name, optionally with \
                 ${{PORT}} and a :port"
            )));
        }
        Ok(Some(config))
    }
}

/// `PUT /sandboxes/{id}/network`: replaces the egress rules (an omitted field is cleared).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkUpdate {
    pub allow_out: Option<Vec<String>>,
    pub deny_out: Option<Vec<String>>,
    #[serde(rename = "allow_internet_access")]
    pub allow_internet_access: Option<bool>,
}

impl NetworkUpdate {
    pub fn from_body(body: Value) -> Result<NetworkUpdate, ApiError> {
        let fields = implemented_fields(body, &UPDATE_FIELDS)?;
        serde_json::from_value(Value::Object(fields))
            .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))
    }
}

/// The object's fields without `null`s, after refusing the options sandboxd does not implement
/// (unless empty) and unknown ones.
fn implemented_fields(value: Value, implemented: &[&str]) -> Result<Map<String, Value>, ApiError> {
    let Value::Object(fields) = value else {
        return Err(ApiError::bad_request(
            "network options must be a JSON object",
        ));
    };
    let mut kept = Map::new();
    for (name, value) in fields {
        let empty = match &value {
            Value::Null => true,
            Value::Object(o) => o.is_empty(),
            Value::Array(a) => a.is_empty(),
            _ => false,
        };
        if implemented.contains(&name.as_str()) {
            if !value.is_null() {
                kept.insert(name, value);
            }
            continue;
        }
        let feature = match name.as_str() {
            "rules" => "per-domain transform rules (network.rules)",
            "egressProxy" => "egress proxies (network.egressProxy)",
            "httpsPorts" => "HTTPS sandbox ports (network.httpsPorts)",
            _ => {
                return Err(ApiError::bad_request(format!(
                    "unknown network option {name:?}"
                )));
            }
        };
        if !empty {
            return Err(ApiError::bad_request(format!(
                "{feature} are not supported by sandboxd"
            )));
        }
    }
    Ok(kept)
}

/// A host name (labels of letters, digits, `-`, `_`, and `${PORT}`), optionally `:port`:
/// nothing that could end the `Host` header or smuggle a second one.
fn is_valid_mask(mask: &str) -> bool {
    let expanded = mask.replace("${PORT}", "1");
    let (name, port) = expanded.rsplit_once(':').unwrap_or((&expanded, "1"));
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
        && port.parse::<u16>().is_ok()
}

impl SandboxRecord {
    /// The egress rules this sandbox runs under: `denyOut`, plus everything when internet
    /// access is off (E2B: `allow_internet_access: false` is `denyOut: [ALL_TRAFFIC]`), and
    /// `allowOut` over both.
    pub fn egress_rules(&self) -> Result<EgressRules, String> {
        let network = self.network.clone().unwrap_or_default();
        let mut deny = network.deny_out.unwrap_or_default();
        if self.allow_internet_access == Some(false) {
            deny.push(ALL_TRAFFIC.to_string());
        }
        EgressRules::parse(&network.allow_out.unwrap_or_default(), &deny)
    }

    /// Whether the sandbox gets a link to the host: not when internet access is off and
    /// nothing is allowed out (then it has loopback only, as before any rules existed).
    pub fn needs_uplink(&self) -> bool {
        let allows = self
            .network
            .as_ref()
            .and_then(|n| n.allow_out.as_ref())
            .is_some_and(|a| !a.is_empty());
        self.allow_internet_access != Some(false) || allows
    }
}

impl Controller {
    /// Applies `update` to the sandbox (running, or paused with its processes frozen) and
    /// records it; a filesystem-paused sandbox gets it at resume.
    pub async fn update_network(
        &self,
        sandbox_id: &str,
        update: NetworkUpdate,
    ) -> Result<(), ApiError> {
        let _one_at_a_time = self.network_updates.lock().await;
        let (updated, live) = {
            let mut sandboxes = self.lock();
            let entry = visible_entry_mut(&mut sandboxes, sandbox_id)?;
            if !matches!(entry.phase, Phase::Running | Phase::Paused) {
                return Err(ApiError::conflict(format!(
                    "Sandbox \"{sandbox_id}\" is changing state"
                )));
            }
            let mut updated = entry.record.clone();
            let network = updated.network.get_or_insert_with(NetworkConfig::default);
            network.allow_out = update.allow_out;
            network.deny_out = update.deny_out;
            updated.allow_internet_access = update.allow_internet_access;
            (updated, entry.live.clone())
        };
        let rules = updated.egress_rules().map_err(ApiError::bad_request)?;
        if let Some(live) = live {
            live.update_egress(&rules).await.map_err(|e| {
                ApiError::new(StatusCode::CONFLICT, format!("updating the network: {e:#}"))
            })?;
        }
        let mut sandboxes = self.lock();
        let entry = visible_entry_mut(&mut sandboxes, sandbox_id)?;
        entry.record.network = updated.network;
        entry.record.allow_internet_access = updated.allow_internet_access;
        self.persist(&sandboxes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn what_both_sdks_send_at_create_is_read() {
        let sent = json!({"allowOut": ["10.0.0.1"], "denyOut": ["0.0.0.0/0"],
            "allowPublicTraffic": false, "maskRequestHost": "${PORT}-app.example.com",
            "rules": {}, "egressProxy": null});
        let config = NetworkConfig::from_create(Some(sent)).unwrap().unwrap();
        assert_eq!(config.allow_out.unwrap(), ["10.0.0.1"]);
        assert_eq!(config.deny_out.unwrap(), ["0.0.0.0/0"]);
        assert_eq!(config.allow_public_traffic, Some(false));
        assert_eq!(config.mask_request_host.unwrap(), "${PORT}-app.example.com");
        assert_eq!(NetworkConfig::from_create(None).unwrap(), None);
    }

    #[test]
    fn unimplemented_and_unknown_options_are_refused() {
        let refused = |network: Value| NetworkConfig::from_create(Some(network)).unwrap_err();
        let rules = refused(json!({"rules": {"a.com": [{"transform": {"headers": {}}}]}}));
        assert_eq!(rules.status, StatusCode::BAD_REQUEST);
        assert!(rules.message.contains("not supported by sandboxd"));
        assert!(
            refused(json!({"egressProxy": {"address": "p:1080"}}))
                .message
                .contains("egress proxies")
        );
        assert!(
            refused(json!({"httpsPorts": [3000]}))
                .message
                .contains("HTTPS")
        );
        assert!(
            refused(json!({"allowOuts": []}))
                .message
                .contains("unknown")
        );
        assert!(
            refused(json!({"allowOut": "1.2.3.4"}))
                .message
                .contains("invalid network")
        );
        assert!(
            refused(json!({"maskRequestHost": "a\r\nX-Evil: 1"}))
                .message
                .contains("mask")
        );
        let update =
            NetworkUpdate::from_body(json!({"denyOut": [], "allow_internet_access": false}));
        assert_eq!(update.unwrap().allow_internet_access, Some(false));
        assert!(NetworkUpdate::from_body(json!({"maskRequestHost": "x"})).is_err());
    }

    #[test]
    fn internet_access_off_denies_everything_but_allow_out() {
        let mut record = SandboxRecord::example("iabc", chrono::Utc::now());
        assert!(record.needs_uplink());
        record.allow_internet_access = Some(false);
        assert!(!record.needs_uplink());
        assert!(!record.egress_rules().unwrap().allows_anything());
        record.network = Some(NetworkConfig {
            allow_out: Some(vec!["10.0.0.1".into()]),
            ..NetworkConfig::default()
        });
        assert!(record.needs_uplink());
        assert!(record.egress_rules().unwrap().allows_anything());
    }
}
