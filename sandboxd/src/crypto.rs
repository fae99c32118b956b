//! Checking secrets, for every part of sandboxd that holds one: the control plane's API key, the
//! proxy finding a presigned URL's sandbox, and envd's access token and signed `/files` URLs.
//! Here rather than in any one of them, so that none imports another for a comparison.

use envd_protocol::signature;
use sha2::{Digest, Sha256};

/// Compares secrets without an early exit that would leak how much of them matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The v1 signature of a presigned `/files` URL (docs/wire.md, "Signed /files URLs") from its
/// [`signature::canonical`] string.
pub fn signature_v1(canonical: &str) -> String {
    signature::token_from_digest(&Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"tok", b"tok"));
        assert!(!constant_time_eq(b"tok", b"tok1"));
        assert!(!constant_time_eq(b"tok", b"tak"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn signatures_match_the_known_answers_of_docs_wire_md() {
        assert_eq!(
            signature_v1(&signature::canonical(
                "/home/user/a.txt",
                "read",
                "",
                "tok123",
                None
            )),
            "v1_byj2OB/vujgbES/1KAKCaR27E+9eOrB6PzeTnIL8L6M"
        );
        assert_eq!(
            signature_v1(&signature::canonical(
                "/home/user/a.txt",
                "write",
                "user",
                "tok123",
                Some("1700000000")
            )),
            "v1_kCwu4usVZBCSzXHSFPk291ud3zHmpwR9v0nRPaSmYqM"
        );
    }
}
