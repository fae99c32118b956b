//! `POST /init` (configuration from the control plane), `GET /envs` and `GET /metrics`.

use std::collections::BTreeMap;
use std::sync::Arc;

use envd_protocol::Timestamp;
use envd_protocol::json::{self, Value};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Request, Response, StatusCode};

use super::http::{Body, has_access_token, json_error, json_ok, no_content};
use super::state::Envd;
use crate::crypto::constant_time_eq;

/// What an `/init` body may set (docs/envd.md, "POST /init"); E2B-only fields are accepted and
/// ignored.
#[derive(Debug, Default, PartialEq)]
struct InitRequest {
    env_vars: Option<BTreeMap<String, String>>,
    access_token: Option<String>,
    default_user: Option<String>,
    default_workdir: Option<String>,
    /// Nanoseconds since the epoch.
    timestamp: Option<i128>,
}

fn parse_init(body: &[u8]) -> Result<InitRequest, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(InitRequest::default());
    }
    let v = json::parse(body).map_err(|e| e.to_string())?;
    if v.as_object().is_none() {
        return Err("expected a JSON object".into());
    }
    let string = |name: &str| -> Result<Option<String>, String> {
        match v.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!("{name}: expected a string, found {}", other.kind())),
        }
    };
    let env_vars = match v.get("envVars") {
        None | Some(Value::Null) => None,
        Some(Value::Object(members)) => {
            let mut vars = BTreeMap::new();
            for (k, val) in members {
                let val = val
                    .as_str()
                    .ok_or_else(|| format!("envVars.{k}: expected a string"))?;
                vars.insert(k.clone(), val.to_owned());
            }
            Some(vars)
        }
        Some(other) => {
            return Err(format!(
                "envVars: expected an object, found {}",
                other.kind()
            ));
        }
    };
    let timestamp = match string("timestamp")? {
        None => None,
        Some(t) => {
            let ts = Timestamp::parse_rfc3339(&t).map_err(|e| format!("timestamp: {e}"))?;
            Some(i128::from(ts.seconds) * 1_000_000_000 + i128::from(ts.nanos))
        }
    };
    Ok(InitRequest {
        env_vars,
        access_token: string("accessToken")?,
        default_user: string("defaultUser")?,
        default_workdir: string("defaultWorkdir")?,
        timestamp,
    })
}

/// Applies an `/init`. Once a token is set, only a caller that knows it (header or body) may
/// change anything; the very first `/init` may set any token.
pub async fn init(envd: Arc<Envd>, req: Request<Incoming>) -> Response<Body> {
    let authorised_by_header = has_access_token(&envd, req.headers());
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return json_error(StatusCode::BAD_REQUEST, &format!("reading body: {e}")),
    };
    let init = match parse_init(&body) {
        Ok(init) => init,
        Err(e) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                &format!("invalid init request: {e}"),
            );
        }
    };
    let current = envd.config();
    let authorised_by_body = match (&current.access_token, &init.access_token) {
        (Some(token), Some(given)) => constant_time_eq(token.as_bytes(), given.as_bytes()),
        _ => false,
    };
    if current.access_token.is_some() && !authorised_by_header && !authorised_by_body {
        return json_error(
            StatusCode::UNAUTHORIZED,
            "init request must carry the current access token",
        );
    }
    let stale =
        matches!((init.timestamp, current.last_init), (Some(new), Some(last)) if new <= last);
    if !stale {
        envd.update_config(|c| {
            if let Some(vars) = init.env_vars {
                c.env_vars = vars;
            }
            c.access_token = init.access_token.filter(|t| !t.is_empty());
            if let Some(user) = init.default_user.filter(|u| !u.is_empty()) {
                c.default_user = user;
            }
            if let Some(dir) = init.default_workdir.filter(|d| !d.is_empty()) {
                c.default_workdir = Some(dir);
            }
            if init.timestamp.is_some() {
                c.last_init = init.timestamp;
            }
        });
    }
    let mut resp = no_content();
    resp.headers_mut().insert(
        "x-envd-version",
        HeaderValue::from_static(super::ENVD_VERSION),
    );
    resp
}

/// `GET /envs`: the sandbox-wide variables.
pub fn envs(envd: &Envd) -> Response<Body> {
    let mut out = Vec::new();
    json::Writer::object(&mut out, |w| {
        for (k, v) in envd.sandbox_env() {
            w.field_str(&k, &v);
        }
    });
    json_ok(out)
}

/// `GET /metrics`.
pub async fn metrics(envd: &Envd) -> Response<Body> {
    match envd.metrics.sample().await {
        Ok(m) => json_ok(m.to_json()),
        Err(e) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("reading metrics: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_body_fields() {
        let init = parse_init(
            br#"{"envVars":{"A":"1"},"accessToken":"t","defaultUser":"user","defaultWorkdir":"/home/user",
                "timestamp":"2025-01-02T03:04:05.5Z","hyperloopIP":"x","volumeMounts":[]}"#,
        )
        .unwrap();
        assert_eq!(
            init.env_vars.unwrap().get("A").map(String::as_str),
            Some("1")
        );
        assert_eq!(init.access_token.as_deref(), Some("t"));
        assert_eq!(init.default_user.as_deref(), Some("user"));
        assert_eq!(init.default_workdir.as_deref(), Some("/home/user"));
        assert_eq!(init.timestamp, Some(1_735_787_045_500_000_000));
        assert_eq!(parse_init(b"").unwrap(), InitRequest::default());
        assert_eq!(parse_init(b"{}").unwrap(), InitRequest::default());
    }

    #[test]
    fn init_body_errors() {
        assert!(parse_init(b"[]").is_err());
        assert!(
            parse_init(br#"{"envVars":{"A":1}}"#)
                .unwrap_err()
                .contains("envVars.A")
        );
        assert!(
            parse_init(br#"{"timestamp":"yesterday"}"#)
                .unwrap_err()
                .starts_with("timestamp")
        );
        assert!(parse_init(br#"{"defaultUser":5}"#).is_err());
    }
}
