//! Signed `/files` URLs (signature v1): the canonical string and the final token. The SHA-256
//! itself is WebCrypto's (`envd::sign`).

use envd_protocol::base64::encode as base64;

use crate::prelude::*;
use crate::util::decimal;

/// `path:operation:user:token[:expiration]`.
pub fn canonical(
    path: &str,
    operation: &str,
    user: &str,
    token: &str,
    expiration: Option<i64>,
) -> String {
    let mut raw = [path, ":", operation, ":", user, ":", token].concat();
    if let Some(exp) = expiration {
        raw.push(':');
        raw.push_str(&decimal(exp));
    }
    raw
}

/// `v1_` + standard base64 of the digest without `=` padding.
pub fn token_from_digest(digest: &[u8]) -> String {
    ["v1_", base64(digest).trim_end_matches('=')].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_strings_match_the_wire_spec() {
        assert_eq!(
            canonical("/home/user/a.txt", "read", "", "tok123", None),
            "/home/user/a.txt:read::tok123"
        );
        assert_eq!(
            canonical(
                "/home/user/a.txt",
                "write",
                "user",
                "tok123",
                Some(1_700_000_000)
            ),
            "/home/user/a.txt:write:user:tok123:1700000000"
        );
        assert_eq!(canonical("", "write", "", "t", Some(-5)), ":write::t:-5");
    }

    #[test]
    fn token_drops_padding_and_keeps_the_standard_alphabet() {
        assert_eq!(token_from_digest(&[0xfb, 0xff]), "v1_+/8");
        assert_eq!(token_from_digest(&[0u8; 32]).len(), 3 + 43);
    }
}
