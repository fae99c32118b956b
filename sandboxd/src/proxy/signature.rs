//! envd's v1 signature of presigned `/files` URLs (WIRE.md §2.4), recomputed here to find the
//! sandbox an unaddressed signed URL belongs to.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use sha2::{Digest, Sha256};

/// The fields of a presigned URL that enter its signature.
pub struct SignedRequest<'a> {
    pub path: &'a str,
    /// `read` for GET, `write` for POST.
    pub operation: &'a str,
    pub username: &'a str,
    pub expiration: Option<&'a str>,
    pub signature: &'a str,
}

impl SignedRequest<'_> {
    pub fn is_signed_with(&self, token: &str) -> bool {
        let expected = signature_v1(
            self.path,
            self.operation,
            self.username,
            token,
            self.expiration,
        );
        crate::api::constant_time_eq(expected.as_bytes(), self.signature.as_bytes())
    }
}

pub fn signature_v1(
    path: &str,
    operation: &str,
    username: &str,
    token: &str,
    expiration: Option<&str>,
) -> String {
    let mut raw = format!("{path}:{operation}:{username}:{token}");
    if let Some(expiration) = expiration {
        raw.push(':');
        raw.push_str(expiration);
    }
    format!(
        "v1_{}",
        STANDARD_NO_PAD.encode(Sha256::digest(raw.as_bytes()))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_test_vectors() {
        assert_eq!(
            signature_v1("/home/user/a.txt", "read", "", "tok123", None),
            "v1_byj2OB/vujgbES/1KAKCaR27E+9eOrB6PzeTnIL8L6M"
        );
        assert_eq!(
            signature_v1(
                "/home/user/a.txt",
                "write",
                "user",
                "tok123",
                Some("1700000000")
            ),
            "v1_kCwu4usVZBCSzXHSFPk291ud3zHmpwR9v0nRPaSmYqM"
        );
    }

    #[test]
    fn only_the_right_token_validates() {
        let req = SignedRequest {
            path: "/home/user/a.txt",
            operation: "read",
            username: "",
            expiration: None,
            signature: "v1_byj2OB/vujgbES/1KAKCaR27E+9eOrB6PzeTnIL8L6M",
        };
        assert!(req.is_signed_with("tok123"));
        assert!(!req.is_signed_with("tok124"));
    }
}
