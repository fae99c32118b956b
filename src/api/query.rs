//! Pure pieces of the control-plane calls' URLs: list query encoding, paginator state and
//! number formatting (lifecycle validation is `lifecycle.rs`).

use crate::prelude::*;
use crate::util::{decimal, encode_uri_component, form_encode};

/// `Sandbox.list` filters as given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListQuery {
    pub metadata: Option<Vec<(String, String)>>,
    pub state: Option<Vec<String>>,
    /// ISO 8601 (`Date.toISOString()`).
    pub started_after: Option<String>,
    pub template: Option<String>,
    pub order: Option<String>,
    pub limit: Option<f64>,
}

/// A whole JS number as `String(n)` prints it (the API's numbers are counts and seconds;
/// fractions are dropped rather than pulling float formatting into the wasm).
pub fn js_number(n: f64) -> String {
    decimal(n as i64)
}

/// `GET /v2/sandboxes?…` with the official encoding: metadata pairs `encodeURIComponent`-ed,
/// form-encoded, then encoded once more as one parameter; states comma-joined (comma raw);
/// parameters in the official order, unset ones left out.
pub fn list_path(q: &ListQuery, next_token: Option<&str>) -> String {
    let mut params: Vec<(&str, String)> = Vec::new();
    if let Some(meta) = &q.metadata {
        let pairs: Vec<(String, String)> = meta
            .iter()
            .map(|(k, v)| (encode_uri_component(k), encode_uri_component(v)))
            .collect();
        params.push(("metadata", encode_uri_component(&form_encode(&pairs))));
    }
    if let Some(states) = &q.state {
        params.push((
            "state",
            states
                .iter()
                .map(|s| encode_uri_component(s))
                .collect::<Vec<_>>()
                .join(","),
        ));
    }
    if let Some(after) = &q.started_after {
        params.push(("startedAfter", encode_uri_component(after)));
    }
    if let Some(template) = q.template.as_deref().filter(|t| !t.is_empty()) {
        params.push(("template", encode_uri_component(template)));
    }
    if let Some(order) = &q.order {
        params.push(("order", encode_uri_component(order)));
    }
    if let Some(limit) = q.limit {
        params.push(("limit", js_number(limit)));
    }
    if let Some(token) = next_token {
        params.push(("nextToken", encode_uri_component(token)));
    }
    with_query("/v2/sandboxes", &params)
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

/// Pagination state shared by the paginators: `hasNext` starts true; after each page the
/// `x-next-token` header (empty = none) decides.
#[derive(Clone, Debug, PartialEq)]
pub struct PageState {
    pub has_next: bool,
    pub next_token: Option<String>,
}

impl PageState {
    pub fn new(next_token: Option<String>) -> Self {
        PageState {
            has_next: true,
            next_token,
        }
    }

    pub fn advance(&mut self, header: Option<String>) {
        self.next_token = header.filter(|t| !t.is_empty());
        self.has_next = self.next_token.is_some();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_query_matches_the_official_encoding() {
        let q = ListQuery {
            metadata: Some(vec![("a b".into(), "c".into())]),
            state: Some(vec!["running".into(), "paused".into()]),
            started_after: Some("2025-01-02T03:04:05.000Z".into()),
            template: Some(String::new()),
            order: Some("asc".into()),
            limit: Some(10.0),
        };
        assert_eq!(
            list_path(&q, Some("tok/1")),
            "/v2/sandboxes?metadata=a%252520b%3Dc&state=running,paused&startedAfter=2025-01-02T03%3A04%3A05.000Z&order=asc&limit=10&nextToken=tok%2F1"
        );
        let user = ListQuery {
            metadata: Some(vec![("user".into(), "abc".into())]),
            ..Default::default()
        };
        assert_eq!(list_path(&user, None), "/v2/sandboxes?metadata=user%3Dabc");
        assert_eq!(list_path(&ListQuery::default(), None), "/v2/sandboxes");
    }

    #[test]
    fn metrics_and_sandbox_paths() {
        assert_eq!(
            metrics_path("i1", Some(1700000000.0), None),
            "/sandboxes/i1/metrics?start=1700000000"
        );
        assert_eq!(metrics_path("i1", None, None), "/sandboxes/i1/metrics");
        assert_eq!(sandbox_path("a/b", "/pause"), "/sandboxes/a%2Fb/pause");
    }

    #[test]
    fn paginator_follows_the_next_token_header() {
        let mut p = PageState::new(None);
        assert!(p.has_next);
        p.advance(Some("abc".into()));
        assert_eq!((p.has_next, p.next_token.as_deref()), (true, Some("abc")));
        p.advance(Some(String::new()));
        assert_eq!((p.has_next, p.next_token), (false, None));
    }
}
