//! Small encoders shared by the layers: integers as text, URL component encoding, semver
//! compare. Hand-written because each is a few lines and pulling in a crate or `core::fmt`
//! for them costs wasm bytes. Hex digits and base64 are `envd_protocol`'s (`hex`, `base64`),
//! whose JSON writer and protobuf-JSON codec use them too.

use envd_protocol::hex;

use crate::prelude::*;

/// An integer in decimal, as `String(n)` writes it.
pub fn decimal(n: i64) -> String {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        i -= 1;
        digits[i] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let mut out = String::with_capacity(21 - i);
    if n < 0 {
        out.push('-');
    }
    out.extend(digits[i..].iter().map(|&d| d as char));
    out
}

/// JavaScript's `encodeURIComponent`.
pub fn encode_uri_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(hex::digit(b >> 4, hex::UPPER)));
            out.push(char::from(hex::digit(b, hex::UPPER)));
        }
    }
    out
}

/// Compares two `major.minor.patch` versions (pre-release suffixes ignored);
/// unparsable parts count as 0, like a missing version.
pub fn version_at_least(version: &str, min: &str) -> bool {
    fn parts(v: &str) -> [u64; 3] {
        let core = v
            .trim_start_matches('v')
            .split(['-', '+'])
            .next()
            .unwrap_or("");
        let mut out = [0; 3];
        for (slot, part) in out.iter_mut().zip(core.split('.')) {
            *slot = part.parse().unwrap_or(0);
        }
        out
    }
    parts(version) >= parts(min)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_print_like_javascript() {
        assert_eq!(decimal(0), "0");
        assert_eq!(decimal(300), "300");
        assert_eq!(decimal(-5), "-5");
        assert_eq!(decimal(i64::MIN), "-9223372036854775808");
        assert_eq!(decimal(i64::MAX), "9223372036854775807");
    }

    #[test]
    fn uri_component_keeps_the_js_unreserved_set() {
        assert_eq!(encode_uri_component("a b/c?d=e&f"), "a%20b%2Fc%3Fd%3De%26f");
        assert_eq!(encode_uri_component("-_.!~*'()"), "-_.!~*'()");
        assert_eq!(encode_uri_component("ü"), "%C3%BC");
    }

    #[test]
    fn versions_compare_numerically() {
        assert!(version_at_least("0.6.13", "0.5.2"));
        assert!(version_at_least("0.10.0", "0.4.0"));
        assert!(!version_at_least("0.3.9", "0.4.0"));
        assert!(version_at_least("99.99.99", "0.6.4"));
        assert!(version_at_least("0.4.0", "0.4.0"));
        assert!(!version_at_least("", "0.1.0"));
    }
}
