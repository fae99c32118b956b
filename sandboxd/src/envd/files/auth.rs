//! Who may use `/files` and as whom: the access token, or a v1 signed URL (docs/wire.md,
//! "Signed /files URLs"), and the `username` query parameter.

use std::collections::HashMap;

use envd_protocol::HEADER_ACCESS_TOKEN;
use envd_protocol::signature::canonical;
use hyper::header::HeaderMap;

use crate::crypto::{constant_time_eq, signature_v1};

/// Checks a `/files` request against the access token: a matching `X-Access-Token`, or a valid,
/// unexpired signature for `operation` (`read`/`write`). `Err` is why it is unauthorised.
pub fn check(
    token: Option<&str>,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    operation: &str,
    now_unix: i64,
) -> Result<(), &'static str> {
    let Some(token) = token else { return Ok(()) };
    if let Some(given) = headers.get(HEADER_ACCESS_TOKEN) {
        return if constant_time_eq(given.as_bytes(), token.as_bytes()) {
            Ok(())
        } else {
            Err("access token present in header but does not match")
        };
    }
    let Some(signature) = params.get("signature") else {
        return Err("missing signature query parameter");
    };
    let get = |k: &str| params.get(k).map_or("", String::as_str);
    let expiration = params.get("signature_expiration").map(String::as_str);
    let expected = signature_v1(&canonical(
        get("path"),
        operation,
        get("username"),
        token,
        expiration,
    ));
    if !constant_time_eq(signature.as_bytes(), expected.as_bytes()) {
        return Err("invalid signature");
    }
    if let Some(exp) = expiration {
        match exp.parse::<i64>() {
            Ok(exp) if exp >= now_unix => {}
            Ok(_) => return Err("signature is already expired"),
            Err(_) => return Err("invalid signature expiration"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn signature_checks() {
        let h = HeaderMap::new();
        let sig = signature_v1(&canonical("/a", "read", "", "tok", Some("2000")));
        let ok = params(&[
            ("path", "/a"),
            ("signature", &sig),
            ("signature_expiration", "2000"),
        ]);
        assert_eq!(check(Some("tok"), &h, &ok, "read", 1999), Ok(()));
        assert_eq!(
            check(Some("tok"), &h, &ok, "read", 2001),
            Err("signature is already expired")
        );
        assert_eq!(
            check(Some("tok"), &h, &ok, "write", 1999),
            Err("invalid signature")
        );
        assert_eq!(
            check(Some("tok"), &h, &params(&[("path", "/a")]), "read", 0).unwrap_err(),
            "missing signature query parameter"
        );
        assert_eq!(check(None, &h, &params(&[]), "read", 0), Ok(()));
        let mut wrong = HeaderMap::new();
        wrong.insert("x-access-token", "nope".parse().unwrap());
        assert_eq!(
            check(Some("tok"), &wrong, &ok, "read", 0).unwrap_err(),
            "access token present in header but does not match"
        );
        let mut right = HeaderMap::new();
        right.insert("x-access-token", "tok".parse().unwrap());
        assert_eq!(check(Some("tok"), &right, &params(&[]), "read", 0), Ok(()));
    }
}
