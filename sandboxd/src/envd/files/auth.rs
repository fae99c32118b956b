//! Who may use `/files` and as whom: the access token, or a v1 signed URL (docs/wire.md,
//! "Signed /files URLs"), and the `username` query parameter.

use std::collections::HashMap;

use envd_protocol::HEADER_ACCESS_TOKEN;
use envd_protocol::signature::canonical;
use hyper::StatusCode;
use hyper::header::HeaderMap;

use crate::crypto::{constant_time_eq, signature_v1};

/// Decoded query parameters (`+` is a space, as browsers and Go read them); first value wins.
pub fn query_params(query: Option<&str>) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.entry(percent_decode(k))
            .or_insert_with(|| percent_decode(v));
    }
    out
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Checks a `/files` request against the access token: a matching `X-Access-Token`, or a valid,
/// unexpired signature for `operation` (`read`/`write`). `Err` is (status, message).
pub fn check(
    token: Option<&str>,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    operation: &str,
    now_unix: i64,
) -> Result<(), (StatusCode, &'static str)> {
    let Some(token) = token else { return Ok(()) };
    let unauthorized = |msg| Err((StatusCode::UNAUTHORIZED, msg));
    if let Some(given) = headers.get(HEADER_ACCESS_TOKEN) {
        return if constant_time_eq(given.as_bytes(), token.as_bytes()) {
            Ok(())
        } else {
            unauthorized("access token present in header but does not match")
        };
    }
    let Some(signature) = params.get("signature") else {
        return unauthorized("missing signature query parameter");
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
        return unauthorized("invalid signature");
    }
    if let Some(exp) = expiration {
        match exp.parse::<i64>() {
            Ok(exp) if exp >= now_unix => {}
            Ok(_) => return unauthorized("signature is already expired"),
            Err(_) => return unauthorized("invalid signature expiration"),
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
            Err((StatusCode::UNAUTHORIZED, "signature is already expired"))
        );
        assert_eq!(
            check(Some("tok"), &h, &ok, "write", 1999),
            Err((StatusCode::UNAUTHORIZED, "invalid signature"))
        );
        assert_eq!(
            check(Some("tok"), &h, &params(&[("path", "/a")]), "read", 0)
                .unwrap_err()
                .1,
            "missing signature query parameter"
        );
        assert_eq!(check(None, &h, &params(&[]), "read", 0), Ok(()));
        let mut wrong = HeaderMap::new();
        wrong.insert("x-access-token", "nope".parse().unwrap());
        assert_eq!(
            check(Some("tok"), &wrong, &ok, "read", 0).unwrap_err().1,
            "access token present in header but does not match"
        );
        let mut right = HeaderMap::new();
        right.insert("x-access-token", "tok".parse().unwrap());
        assert_eq!(check(Some("tok"), &right, &params(&[]), "read", 0), Ok(()));
    }

    #[test]
    fn query_decoding() {
        let q = query_params(Some(
            "path=%2Fhome%2Fuser%2Fa+b.txt&username=user&path=ignored&bad=%zz&end=%4",
        ));
        assert_eq!(q["path"], "/home/user/a b.txt");
        assert_eq!(q["username"], "user");
        assert_eq!(q["bad"], "%zz");
        assert_eq!(q["end"], "%4");
    }
}
