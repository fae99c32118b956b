//! Connection options and their resolution: per-call option → environment variable → default,
//! exactly in the official SDK's order. Pure: the environment is passed in as a lookup.

use envd_protocol::HEADER_USER_AGENT;

use crate::prelude::*;
use crate::util::decimal;

pub const REQUEST_TIMEOUT_MS: f64 = 60_000.0;
/// Retries of a control-plane call answered 429 with `Retry-After`.
pub const DEFAULT_RETRIES: u32 = 3;
/// Default lifetime of a command, PTY or reconnect stream (`timeoutMs`).
pub const STREAM_TIMEOUT_MS: f64 = 60_000.0;
pub const HEALTH_CHECK_TIMEOUT_MS: f64 = 5_000.0;
pub use envd_protocol::ENVD_PORT;
/// Seconds between keepalive messages asked of envd on streams.
pub const KEEPALIVE_PING_INTERVAL: &str = "50";
/// User named on behalf of the caller when envd is too old to pick its default user.
pub const DEFAULT_USERNAME: &str = "user";
/// Official SDK whose wire behaviour we reproduce; ours is appended like an integration tag.
pub const USER_AGENT: &str = concat!("e2b-js-sdk/2.51.0 e2b-wasm/", env!("CARGO_PKG_VERSION"));

/// Sandbox domains served through the shared `sandbox.<domain>` host outside browsers.
const SHARED_HOST_DOMAINS: [&str; 4] = ["e2b.app", "e2b.dev", "e2b.pro", "e2b-staging.dev"];

/// `ConnectionOpts` as given by the caller; `None` = not given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConnectionOpts {
    pub api_key: Option<String>,
    pub domain: Option<String>,
    pub api_url: Option<String>,
    pub sandbox_url: Option<String>,
    pub debug: Option<bool>,
    pub request_timeout_ms: Option<f64>,
    pub headers: Option<Vec<(String, String)>>,
    pub api_headers: Option<Vec<(String, String)>>,
    /// Retries of a control-plane call answered 429 with `Retry-After`.
    pub retries: Option<f64>,
}

/// The number of retries `retries` asks for: `None` unless it is a non-negative integer.
pub fn valid_retries(retries: f64) -> Option<u32> {
    let whole = retries >= 0.0 && retries <= u32::MAX as f64 && (retries as u32) as f64 == retries;
    whole.then_some(retries as u32)
}

/// Resolved configuration (the official `ConnectionConfig`).
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectionConfig {
    pub api_key: Option<String>,
    pub domain: String,
    pub api_url: String,
    pub sandbox_url: Option<String>,
    pub debug: bool,
    pub request_timeout_ms: f64,
    pub retries: u32,
    /// REST headers from `headers` then `apiHeaders`, with the SDK's `User-Agent` unless set.
    pub headers: Vec<(String, String)>,
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

fn set_header(headers: &mut Vec<(String, String)>, name: &str, value: &str) {
    match headers
        .iter_mut()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
    {
        Some(slot) => slot.1 = value.to_string(),
        None => headers.push((name.to_string(), value.to_string())),
    }
}

impl ConnectionConfig {
    pub fn resolve(opts: &ConnectionOpts, env: &dyn Fn(&str) -> Option<String>) -> Self {
        let debug = opts
            .debug
            .unwrap_or_else(|| env("E2B_DEBUG").is_some_and(|v| v.eq_ignore_ascii_case("true")));
        let domain = non_empty(opts.domain.clone())
            .or_else(|| non_empty(env("E2B_DOMAIN")))
            .unwrap_or_else(|| "e2b.app".into());
        let api_url = non_empty(opts.api_url.clone())
            .or_else(|| non_empty(env("E2B_API_URL")))
            .unwrap_or_else(|| {
                if debug {
                    "http://localhost:3000".into()
                } else {
                    ["https://api.", &domain].concat()
                }
            });
        let mut headers = Vec::new();
        for (k, v) in opts.headers.iter().chain(opts.api_headers.iter()).flatten() {
            set_header(&mut headers, k, v);
        }
        // A caller's own User-Agent wins; one the SDK built earlier is rebuilt.
        let own_agent = headers.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case(HEADER_USER_AGENT) && !v.starts_with("e2b-js-sdk/")
        });
        if !own_agent {
            set_header(&mut headers, HEADER_USER_AGENT, USER_AGENT);
        }
        ConnectionConfig {
            api_key: non_empty(opts.api_key.clone()).or_else(|| non_empty(env("E2B_API_KEY"))),
            domain,
            api_url,
            sandbox_url: non_empty(opts.sandbox_url.clone())
                .or_else(|| non_empty(env("E2B_SANDBOX_URL"))),
            debug,
            request_timeout_ms: opts.request_timeout_ms.unwrap_or(REQUEST_TIMEOUT_MS),
            retries: opts
                .retries
                .and_then(valid_retries)
                .unwrap_or(DEFAULT_RETRIES),
            headers,
        }
    }

    /// `host:port` a sandbox port is reachable at (no scheme).
    pub fn host(&self, sandbox_id: &str, port: u16, sandbox_domain: Option<&str>) -> String {
        if self.debug {
            return ["localhost:", &decimal(port.into())].concat();
        }
        let domain = sandbox_domain.unwrap_or(&self.domain);
        [&decimal(port.into()), "-", sandbox_id, ".", domain].concat()
    }

    /// Base URL of a sandbox's envd (on `port`) for RPC, `/health` and the SDK's own `/files`
    /// calls (the official `getSandboxUrl`).
    pub fn envd_url(
        &self,
        sandbox_id: &str,
        sandbox_domain: Option<&str>,
        port: u16,
        browser: bool,
    ) -> String {
        if let Some(url) = &self.sandbox_url {
            return url.clone();
        }
        let domain = sandbox_domain.unwrap_or(&self.domain);
        if !self.debug && !browser && SHARED_HOST_DOMAINS.contains(&domain) {
            return ["https://sandbox.", domain].concat();
        }
        self.envd_direct_url(sandbox_id, sandbox_domain, port)
    }

    /// Base URL of a sandbox's envd for presigned URLs: never the shared host (the official
    /// `getSandboxDirectUrl`).
    pub fn envd_direct_url(
        &self,
        sandbox_id: &str,
        sandbox_domain: Option<&str>,
        port: u16,
    ) -> String {
        if let Some(url) = &self.sandbox_url {
            return url.clone();
        }
        let scheme = if self.debug { "http" } else { "https" };
        [scheme, "://", &self.host(sandbox_id, port, sandbox_domain)].concat()
    }

    /// The `requestTimeoutMs` of one call: its own value over the configured one; 0 = none.
    pub fn request_timeout(&self, call: Option<f64>) -> Option<f64> {
        Some(call.unwrap_or(self.request_timeout_ms)).filter(|ms| *ms > 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn defaults_without_options_or_environment() {
        let c = ConnectionConfig::resolve(&ConnectionOpts::default(), &env_of(&[]));
        assert_eq!(c.api_key, None);
        assert_eq!(c.domain, "e2b.app");
        assert_eq!(c.api_url, "https://api.e2b.app");
        assert!(!c.debug);
        assert_eq!(c.request_timeout_ms, 60_000.0);
        assert_eq!(
            c.headers,
            vec![(HEADER_USER_AGENT.to_string(), USER_AGENT.to_string())]
        );
    }

    #[test]
    fn options_win_over_environment_and_empty_strings_fall_back() {
        let env = env_of(&[
            ("E2B_API_KEY", "e2b_env"),
            ("E2B_DOMAIN", "env.dev"),
            ("E2B_DEBUG", "TRUE"),
        ]);
        let opts = ConnectionOpts {
            api_key: Some(String::new()),
            domain: Some("opt.dev".into()),
            ..Default::default()
        };
        let c = ConnectionConfig::resolve(&opts, &env);
        assert_eq!(c.api_key.as_deref(), Some("e2b_env"));
        assert_eq!(c.domain, "opt.dev");
        assert!(c.debug, "E2B_DEBUG is case-insensitive");
        assert_eq!(c.api_url, "http://localhost:3000", "debug mode API");
        let c = ConnectionConfig::resolve(
            &ConnectionOpts {
                debug: Some(false),
                ..Default::default()
            },
            &env,
        );
        assert_eq!(c.api_url, "https://api.env.dev");
    }

    #[test]
    fn api_headers_win_over_headers_and_a_user_agent_is_kept() {
        let opts = ConnectionOpts {
            headers: Some(vec![
                ("X-A".into(), "1".into()),
                (HEADER_USER_AGENT.into(), "mine/1".into()),
            ]),
            api_headers: Some(vec![("x-a".into(), "2".into())]),
            ..Default::default()
        };
        let c = ConnectionConfig::resolve(&opts, &env_of(&[]));
        assert_eq!(
            c.headers,
            vec![
                ("X-A".to_string(), "2".to_string()),
                (HEADER_USER_AGENT.to_string(), "mine/1".to_string())
            ]
        );
    }

    #[test]
    fn envd_urls_follow_the_official_order() {
        let plain = ConnectionConfig::resolve(&ConnectionOpts::default(), &env_of(&[]));
        assert_eq!(
            plain.envd_url("i1", None, ENVD_PORT, false),
            "https://sandbox.e2b.app"
        );
        assert_eq!(
            plain.envd_url("i1", None, ENVD_PORT, true),
            "https://49983-i1.e2b.app"
        );
        assert_eq!(
            plain.envd_url("i1", Some("my.dev"), ENVD_PORT, false),
            "https://49983-i1.my.dev"
        );
        assert_eq!(
            plain.envd_direct_url("i1", None, ENVD_PORT),
            "https://49983-i1.e2b.app"
        );
        assert_eq!(plain.host("i1", 8080, Some("x.dev")), "8080-i1.x.dev");
        let debug = ConnectionConfig::resolve(
            &ConnectionOpts {
                debug: Some(true),
                ..Default::default()
            },
            &env_of(&[]),
        );
        assert_eq!(
            debug.envd_url("i1", None, ENVD_PORT, false),
            "http://localhost:49983"
        );
        assert_eq!(debug.host("i1", 3000, None), "localhost:3000");
        let fixed = ConnectionConfig::resolve(
            &ConnectionOpts::default(),
            &env_of(&[("E2B_SANDBOX_URL", "http://127.0.0.1:9")]),
        );
        assert_eq!(
            fixed.envd_url("i1", None, ENVD_PORT, false),
            "http://127.0.0.1:9"
        );
        assert_eq!(
            fixed.envd_direct_url("i1", None, ENVD_PORT),
            "http://127.0.0.1:9"
        );
    }

    #[test]
    fn a_zero_request_timeout_disables_it() {
        let opts = ConnectionOpts {
            request_timeout_ms: Some(0.0),
            retries: Some(1.0),
            ..Default::default()
        };
        let c = ConnectionConfig::resolve(&opts, &env_of(&[]));
        assert_eq!(c.request_timeout(None), None);
        assert_eq!(c.request_timeout(Some(7.0)), Some(7.0));
        assert_eq!(c.retries, 1);
    }

    #[test]
    fn retries_must_be_non_negative_integers() {
        assert_eq!(valid_retries(0.0), Some(0));
        assert_eq!(valid_retries(3.0), Some(3));
        for bad in [-1.0, 1.5, f64::NAN, f64::INFINITY, 1e12] {
            assert_eq!(valid_retries(bad), None, "{bad}");
        }
        let c = ConnectionConfig::resolve(&ConnectionOpts::default(), &|_| None);
        assert_eq!(c.retries, DEFAULT_RETRIES);
    }
}
