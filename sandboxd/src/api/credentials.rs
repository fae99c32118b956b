//! The API key clients must present and the server secret that access tokens derive from.
//! Both live in the data dir so they survive restarts; the key can be overridden per start.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::error::ApiError;
use crate::crypto::constant_time_eq;

pub struct Credentials {
    api_key: String,
    secret: Vec<u8>,
    key_file: PathBuf,
}

/// Where the key comes from, so `serve` can tell the user what to do with it.
pub enum KeySource {
    Created,
    Stored,
    Given,
}

impl Credentials {
    /// Loads the stored key and secret, creating them on the first start. `given_key` (from
    /// `--api-key` or `E2B_API_KEY`) replaces the stored key for this run without touching it.
    pub fn load(
        data_dir: &Path,
        control_dir: &Path,
        given_key: Option<String>,
    ) -> anyhow::Result<(Credentials, KeySource)> {
        let key_file = data_dir.join("api-key");
        crate::host_files::make_private(&key_file)
            .with_context(|| format!("restricting {}", key_file.display()))?;
        let (api_key, source) = match given_key.filter(|k| !k.is_empty()) {
            Some(key) => (key, KeySource::Given),
            None => match read_trimmed(&key_file)? {
                Some(key) => (key, KeySource::Stored),
                None => {
                    let key = format!("e2b_{}", crate::random::hex(20));
                    write_private(&key_file, &key)?;
                    (key, KeySource::Created)
                }
            },
        };
        let secret_file = control_dir.join("secret");
        let secret_hex = match read_trimmed(&secret_file)? {
            Some(hex) => hex,
            None => {
                let hex = crate::random::hex(32);
                write_private(&secret_file, &hex)?;
                hex
            }
        };
        let secret = hex::decode(&secret_hex)
            .with_context(|| format!("{} is not hex", secret_file.display()))?;
        let credentials = Credentials {
            api_key,
            secret,
            key_file,
        };
        Ok((credentials, source))
    }

    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    pub fn key_file(&self) -> &Path {
        &self.key_file
    }

    /// Checks `X-API-Key` (the SDKs' header) or `Authorization: Bearer <key>` (the CLI's form).
    pub fn check(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let presented = headers
            .get(envd_protocol::HEADER_API_KEY)
            .and_then(|v| v.to_str().ok())
            .or_else(|| {
                headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
            });
        let Some(presented) = presented else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "authorization header is missing",
            ));
        };
        if constant_time_eq(presented.as_bytes(), self.api_key.as_bytes()) {
            Ok(())
        } else {
            // No path: the data dir's location is the host's business.
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "Invalid API key: use the key sandboxd printed at its start (E2B_API_KEY), \
                 stored as api-key in its data dir, or the --api-key it was started with",
            ))
        }
    }

    /// The envd access token of a secure sandbox: hex HMAC-SHA256 of its ID, as E2B derives it,
    /// so it stays the same across pauses and restarts.
    pub fn envd_access_token(&self, sandbox_id: &str) -> String {
        self.hmac_hex(sandbox_id)
    }

    /// The token the proxy demands on user ports when public traffic is disallowed.
    pub fn traffic_access_token(&self, sandbox_id: &str) -> String {
        self.hmac_hex(&format!("sandbox-traffic-{sandbox_id}"))
    }

    /// The token of the upload link for the files `hash` of a template's `copy` step.
    pub fn template_file_token(&self, template_id: &str, hash: &str) -> String {
        self.hmac_hex(&format!("template-file-{template_id}-{hash}"))
    }

    fn hmac_hex(&self, message: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key");
        mac.update(message.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

fn read_trimmed(path: &Path) -> anyhow::Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => Ok(Some(text.trim().to_string())),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Secrets are written 0600 to a temporary name and renamed, so a crash never leaves half a key.
fn write_private(path: &Path, value: &str) -> anyhow::Result<()> {
    crate::host_files::write_private_atomic(path, format!("{value}\n").as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "sandboxd-cred-test-{name}-{}-{}",
            std::process::id(),
            crate::random::hex(4)
        ));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn first_start_creates_an_e2b_key_and_later_starts_reuse_it() {
        let dir = temp_dir("create");
        let (first, source) = Credentials::load(&dir, &dir, None).unwrap();
        assert!(matches!(source, KeySource::Created));
        let key = first.api_key().to_string();
        assert!(key.starts_with("e2b_") && key.len() == 44);
        assert!(
            key[4..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        let (second, source) = Credentials::load(&dir, &dir, None).unwrap();
        assert!(matches!(source, KeySource::Stored));
        assert_eq!(second.api_key(), key);
        assert_eq!(
            second.envd_access_token("iabc"),
            first.envd_access_token("iabc")
        );
        let (given, _) = Credentials::load(&dir, &dir, Some("e2b_00".into())).unwrap();
        assert_eq!(given.api_key(), "e2b_00");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn key_check_distinguishes_missing_and_wrong() {
        let dir = temp_dir("check");
        let (creds, _) = Credentials::load(&dir, &dir, Some("e2b_abc".into())).unwrap();
        let mut headers = HeaderMap::new();
        let missing = creds.check(&headers).unwrap_err();
        assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
        assert_eq!(missing.message, "authorization header is missing");
        headers.insert("x-api-key", "e2b_abd".parse().unwrap());
        let wrong = creds.check(&headers).unwrap_err();
        assert!(wrong.message.starts_with("Invalid API key: use the key"));
        assert!(
            !wrong.message.contains(dir.to_str().unwrap()),
            "{}",
            wrong.message
        );
        headers.insert("x-api-key", "e2b_abc".parse().unwrap());
        assert!(creds.check(&headers).is_ok());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn tokens_are_64_hex_and_differ_per_sandbox_and_kind() {
        let dir = temp_dir("tokens");
        let (creds, _) = Credentials::load(&dir, &dir, None).unwrap();
        let a = creds.envd_access_token("ia");
        assert_eq!(a.len(), 64);
        assert_ne!(a, creds.envd_access_token("ib"));
        assert_ne!(a, creds.traffic_access_token("ia"));
        fs::remove_dir_all(dir).unwrap();
    }
}
