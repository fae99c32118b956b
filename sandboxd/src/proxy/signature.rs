//! Finding the sandbox of a presigned `/files` URL that names none: the one whose access token
//! reproduces the URL's v1 signature (docs/wire.md, "Signed /files URLs"), computed exactly as
//! envd does.

use envd_protocol::signature::canonical;

use crate::crypto::{constant_time_eq, signature_v1};

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
        let expected = signature_v1(&canonical(
            self.path,
            self.operation,
            self.username,
            token,
            self.expiration,
        ));
        constant_time_eq(expected.as_bytes(), self.signature.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_token_that_signed_validates() {
        let mut req = SignedRequest {
            path: "/home/user/a.txt",
            operation: "write",
            username: "user",
            expiration: Some("1700000000"),
            signature: "v1_kCwu4usVZBCSzXHSFPk291ud3zHmpwR9v0nRPaSmYqM",
        };
        assert!(req.is_signed_with("tok123"));
        assert!(!req.is_signed_with("tok124"));
        req.operation = "read";
        assert!(!req.is_signed_with("tok123"));
    }
}
