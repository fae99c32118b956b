//! Sandbox IDs: `i` + 20 characters of `[a-z0-9]`, like E2B's. Routers accept `^[a-z0-9]+$`;
//! paths may carry the legacy `<id>-<clientID>` form.

use super::error::ApiError;

/// The legacy client ID every sandbox reports (clients treat it as opaque).
pub const CLIENT_ID: &str = "6532622b";

const ID_RANDOM_CHARS: usize = 20;

pub fn new_sandbox_id() -> String {
    format!("i{}", crate::random::name(ID_RANDOM_CHARS))
}

pub fn is_valid_sandbox_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Parses a `{sandboxID}` path segment: strips a legacy `-<clientID>` suffix; more than one `-`
/// or characters outside `[a-z0-9]` are a 400.
pub fn parse_path_sandbox_id(raw: &str) -> Result<String, ApiError> {
    let mut parts = raw.split('-');
    let id = parts.next().unwrap_or_default();
    let _client_id = parts.next();
    if parts.next().is_some() || !is_valid_sandbox_id(id) {
        return Err(ApiError::bad_request("Invalid sandbox ID"));
    }
    Ok(id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_have_e2b_shape_and_differ() {
        let a = new_sandbox_id();
        let b = new_sandbox_id();
        assert_eq!(a.len(), 21);
        assert!(a.starts_with('i'));
        assert!(is_valid_sandbox_id(&a));
        assert_ne!(a, b);
    }

    #[test]
    fn path_ids_accept_legacy_client_suffix() {
        assert_eq!(parse_path_sandbox_id("iabc123").unwrap(), "iabc123");
        assert_eq!(
            parse_path_sandbox_id("iabc123-6532622b").unwrap(),
            "iabc123"
        );
    }

    #[test]
    fn path_ids_reject_bad_shapes() {
        for raw in ["", "iabc-1-2", "iABC", "i_abc", "-x", "i.b"] {
            let err = parse_path_sandbox_id(raw).unwrap_err();
            assert_eq!(err.status.as_u16(), 400, "{raw}");
            assert_eq!(err.message, "Invalid sandbox ID");
        }
    }
}
