//! Signed `/files` URLs, version 1 (see `docs/wire.md`, "Signed /files URLs"): the string that
//! is hashed and the token made from its digest. The SDK (digest by WebCrypto) and envd (digest
//! by `sha2`) both build them here, so the two cannot drift apart. The SHA-256 itself stays
//! with each caller: this crate has no dependencies.

use crate::prelude::*;

/// `path:operation:user:token[:expiration]`; `expiration` is the decimal unix time exactly as
/// it travels in the URL's `signature_expiration`.
pub fn canonical(
    path: &str,
    operation: &str,
    user: &str,
    token: &str,
    expiration: Option<&str>,
) -> String {
    let mut raw = [path, ":", operation, ":", user, ":", token].concat();
    if let Some(exp) = expiration {
        raw.push(':');
        raw.push_str(exp);
    }
    raw
}

/// `v1_` + standard base64 of the SHA-256 digest of [`canonical`], without `=` padding.
pub fn token_from_digest(digest: &[u8]) -> String {
    ["v1_", crate::base64::encode(digest).trim_end_matches('=')].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_strings_join_the_fields_with_colons() {
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
                Some("1700000000")
            ),
            "/home/user/a.txt:write:user:tok123:1700000000"
        );
        assert_eq!(canonical("", "write", "", "t", Some("-5")), ":write::t:-5");
    }

    #[test]
    fn token_drops_padding_and_keeps_the_standard_alphabet() {
        assert_eq!(token_from_digest(&[0xfb, 0xff]), "v1_+/8");
        assert_eq!(token_from_digest(&[0u8; 32]).len(), 3 + 43);
    }
}
