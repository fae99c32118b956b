//! Pure pieces of the control-plane calls' URLs: sandbox paths, metrics queries and number
//! formatting (lifecycle validation is `lifecycle.rs`; `list`'s query is built by the facade).

use crate::prelude::*;
use crate::util::{decimal, encode_uri_component};

/// A whole JS number as `String(n)` prints it (the API's numbers are counts and seconds;
/// fractions are dropped rather than pulling float formatting into the wasm).
pub fn js_number(n: f64) -> String {
    decimal(n as i64)
}

/// `GET /sandboxes/{id}/metrics` with optional unix-second bounds.
pub fn metrics_path(sandbox_id: &str, start_s: Option<f64>, end_s: Option<f64>) -> String {
    let mut params = Vec::new();
    if let Some(s) = start_s {
        params.push(("start", js_number(s)));
    }
    if let Some(e) = end_s {
        params.push(("end", js_number(e)));
    }
    with_query(&sandbox_path(sandbox_id, "/metrics"), &params)
}

/// `/sandboxes/{id}<rest>` with the id encoded as one path segment.
pub fn sandbox_path(sandbox_id: &str, rest: &str) -> String {
    ["/sandboxes/", &encode_uri_component(sandbox_id), rest].concat()
}

fn with_query(path: &str, params: &[(&str, String)]) -> String {
    let mut out = path.to_string();
    for (i, (k, v)) in params.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_and_sandbox_paths() {
        assert_eq!(
            metrics_path("i1", Some(1700000000.0), None),
            "/sandboxes/i1/metrics?start=1700000000"
        );
        assert_eq!(metrics_path("i1", None, None), "/sandboxes/i1/metrics");
        assert_eq!(sandbox_path("a/b", "/pause"), "/sandboxes/a%2Fb/pause");
    }
}
