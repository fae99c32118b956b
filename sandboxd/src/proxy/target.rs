//! Which requests are sandbox traffic and where they go (docs/wire.md, "Routing at the sandbox
//! edge"): a per-sandbox host `<port>-<sandboxID>[-<clientID>].<domain>`, or the
//! `E2b-Sandbox-Id`/`E2b-Sandbox-Port` headers on any other host. Everything else is the control
//! plane, except `/files` with none of them: it reaches a sandbox only when signed with that
//! sandbox's own access token, never because some sandbox happens to be running (a page of any
//! origin can send a plain POST).

use envd_protocol::ENVD_PORT;

use crate::api::is_valid_sandbox_id;

#[derive(Debug, PartialEq, Eq)]
pub enum Destination {
    Api,
    /// A CORS preflight that carries no routing information (browsers never send the routing
    /// headers' values in a preflight), answered by sandboxd itself.
    Preflight,
    Sandbox {
        sandbox_id: String,
        port: u16,
    },
    /// Signed `/files` with neither a sandbox host nor routing headers: a presigned URL built
    /// while `E2B_SANDBOX_URL` was set. Only the signature tells which sandbox it is for.
    SignedFiles,
    /// `/files` that names no sandbox in any way: refused, with how to address one.
    UnaddressedFiles,
    /// The real edge proxy's 400s, with its plain-text messages.
    BadRequest(&'static str),
}

pub struct RequestFacts<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub host: Option<&'a str>,
    pub sandbox_id_header: Option<&'a str>,
    pub sandbox_port_header: Option<&'a str>,
    pub is_preflight: bool,
    /// The query has a `signature` parameter (a presigned `/files` URL).
    pub is_signed: bool,
}

pub fn classify(facts: &RequestFacts) -> Destination {
    if let Some(routed) = facts.host.and_then(sandbox_host) {
        return routed;
    }
    if facts.sandbox_id_header.is_some() || facts.sandbox_port_header.is_some() {
        let (Some(id), Some(port)) = (facts.sandbox_id_header, facts.sandbox_port_header) else {
            return Destination::BadRequest("missing header");
        };
        return sandbox(id, port);
    }
    if facts.is_preflight {
        return Destination::Preflight;
    }
    if facts.path == "/files" && matches!(facts.method, "GET" | "POST") {
        return if facts.is_signed {
            Destination::SignedFiles
        } else {
            Destination::UnaddressedFiles
        };
    }
    Destination::Api
}

/// `Some` when the host's first label looks like `<port>-<id>...` and the host has a dot.
/// `sandbox.<domain>` hosts route by headers, like E2B's shared envd host.
fn sandbox_host(host: &str) -> Option<Destination> {
    let name = host.rsplit_once(':').map_or(host, |(name, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            name
        } else {
            host
        }
    });
    let (label, _rest) = name.split_once('.')?;
    let mut parts = label.split('-');
    let port = parts.next()?;
    let id = parts.next()?;
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(sandbox(id, port))
}

fn sandbox(id: &str, port: &str) -> Destination {
    let Ok(port) = port.parse::<u16>() else {
        return Destination::BadRequest("Invalid sandbox port");
    };
    if !is_valid_sandbox_id(id) {
        return Destination::BadRequest("Invalid sandbox ID");
    }
    Destination::Sandbox {
        sandbox_id: id.to_string(),
        port,
    }
}

/// envd paths only the orchestrator may call; refused on the public side before any lookup.
pub fn is_internal_envd_path(port: u16, path: &str) -> bool {
    const INTERNAL: [&str; 7] = [
        "/init",
        "/freeze",
        "/unfreeze",
        "/collapse",
        "/fsfreeze",
        "/fsthaw",
        "/upgrade",
    ];
    port == ENVD_PORT && INTERNAL.contains(&path.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(host: &'a str, id: Option<&'a str>, port: Option<&'a str>) -> RequestFacts<'a> {
        RequestFacts {
            method: "POST",
            path: "/process.Process/Start",
            host: Some(host),
            sandbox_id_header: id,
            sandbox_port_header: port,
            is_preflight: false,
            is_signed: false,
        }
    }

    fn to(id: &str, port: u16) -> Destination {
        Destination::Sandbox {
            sandbox_id: id.into(),
            port,
        }
    }

    #[test]
    fn headers_route_on_loopback_and_ip_hosts() {
        assert_eq!(
            classify(&facts("127.0.0.1:3000", Some("iabc"), Some("49983"))),
            to("iabc", 49983)
        );
        assert_eq!(
            classify(&facts("localhost:3000", Some("iabc"), Some("8080"))),
            to("iabc", 8080)
        );
        assert_eq!(
            classify(&facts("sandbox.localhost:3000", Some("iabc"), Some("1"))),
            to("iabc", 1)
        );
        assert_eq!(
            classify(&facts("[::1]:3000", Some("iabc"), Some("1"))),
            to("iabc", 1)
        );
    }

    #[test]
    fn header_errors_use_the_edge_proxys_messages() {
        let missing = Destination::BadRequest("missing header");
        assert_eq!(classify(&facts("127.0.0.1", Some("iabc"), None)), missing);
        assert_eq!(classify(&facts("127.0.0.1", None, Some("49983"))), missing);
        assert_eq!(
            classify(&facts("127.0.0.1", Some("iabc"), Some("x1"))),
            Destination::BadRequest("Invalid sandbox port")
        );
        assert_eq!(
            classify(&facts("127.0.0.1", Some("iABC"), Some("1"))),
            Destination::BadRequest("Invalid sandbox ID")
        );
    }

    #[test]
    fn per_sandbox_hosts_route_by_their_first_label() {
        assert_eq!(
            classify(&facts("8080-iabc.localhost:3000", None, None)),
            to("iabc", 8080)
        );
        assert_eq!(
            classify(&facts("49983-iabc-6532622b.e2b.local", None, None)),
            to("iabc", 49983)
        );
        // The host wins over headers, as at E2B's edge.
        assert_eq!(
            classify(&facts("3000-iabc.localhost", Some("ixyz"), Some("1"))),
            to("iabc", 3000)
        );
        assert_eq!(
            classify(&facts("99999-iabc.localhost", None, None)),
            Destination::BadRequest("Invalid sandbox port")
        );
        assert_eq!(
            classify(&facts("80-i_b.localhost", None, None)),
            Destination::BadRequest("Invalid sandbox ID")
        );
    }

    #[test]
    fn everything_else_is_the_api_or_local_handling() {
        assert_eq!(
            classify(&facts("127.0.0.1:3000", None, None)),
            Destination::Api
        );
        assert_eq!(
            classify(&facts("my-host.example:3000", None, None)),
            Destination::Api
        );
        let mut preflight = facts("127.0.0.1:3000", None, None);
        preflight.is_preflight = true;
        assert_eq!(classify(&preflight), Destination::Preflight);
    }

    #[test]
    fn files_without_routing_need_a_signature_to_reach_any_sandbox() {
        let mut files = facts("127.0.0.1:3000", None, None);
        files.path = "/files";
        for method in ["GET", "POST"] {
            files.method = method;
            files.is_signed = false;
            assert_eq!(classify(&files), Destination::UnaddressedFiles);
            files.is_signed = true;
            assert_eq!(classify(&files), Destination::SignedFiles);
        }
        // Routing wins over a signature: envd checks it for the addressed sandbox.
        let mut routed = facts("127.0.0.1:3000", Some("iabc"), Some("49983"));
        routed.path = "/files";
        assert_eq!(classify(&routed), to("iabc", 49983));
        routed.is_signed = true;
        assert_eq!(classify(&routed), to("iabc", 49983));
        let mut other_method = facts("127.0.0.1:3000", None, None);
        other_method.path = "/files";
        other_method.method = "DELETE";
        assert_eq!(classify(&other_method), Destination::Api);
    }

    #[test]
    fn internal_envd_paths_are_recognised_only_on_the_envd_port() {
        assert!(is_internal_envd_path(49983, "/init"));
        assert!(is_internal_envd_path(49983, "/fsfreeze/"));
        assert!(!is_internal_envd_path(8080, "/init"));
        assert!(!is_internal_envd_path(49983, "/files"));
    }
}
