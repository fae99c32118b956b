//! The Connect protocol as envd speaks it, shared by the SDK (wasm) and sandboxd.
//!
//! Dependency-free and allocation-conscious, so it stays small in wasm:
//!
//! - [`envelope`]: the 5-byte framing of streaming bodies ([`envelope::encode`],
//!   [`envelope::Decoder`] that buffers partial chunks and yields every complete frame).
//! - [`Code`]: Connect error codes, their names, the HTTP status a server answers with, and the
//!   code a client derives from a non-Connect HTTP error ([`Code::from_http_status`]).
//! - [`ConnectError`] and [`EndStream`]: the unary error body and the end-of-stream message
//!   (always JSON, whatever the codec).
//! - [`ContentType`]: `application/{json,proto,connect+json,connect+proto}` parsing.
//! - [`Message`]: the binary protobuf codec (always) and the protobuf-JSON codec (feature
//!   `json`) of every envd message in [`process`] and [`filesystem`].
//! - [`StringMap`]: the value of `map<string, string>` fields.
//! - [`json`], [`base64`] and [`hex`]: the small JSON reader/writer, base64 and hex digits
//!   used by the above and by the SDK.
//! - [`signature`]: the v1 signature of presigned `/files` URLs, built alike by SDK and envd.
//! - [`ENVD_PORT`] and the header names both sides use (Connect's, envd's, the control plane's).
//!
//! `no_std` (with `alloc`), so the SDK's wasm can leave out std's panic and formatting runtime.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod base64;
mod code;
mod content_type;
pub mod envelope;
mod error;
pub mod hex;
pub mod json;
mod message;
mod messages;
pub mod pb;
pub mod signature;
mod string_map;

/// What std's prelude would bring, for a `no_std` crate.
mod prelude {
    pub use alloc::borrow::ToOwned;
    pub use alloc::format;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec::Vec;
}

pub use code::Code;
pub use content_type::{Codec, ContentType};
pub use error::{ConnectError, EndStream};
pub use message::{DecodeError, Message, ProtoEnum};
pub use messages::{filesystem, process, timestamp::Timestamp};
pub use string_map::StringMap;

/// The port envd listens on inside every sandbox, and the port a client names to reach it.
pub const ENVD_PORT: u16 = 49983;

// Header names, spelled as the SDK (like the official one) sends them; HTTP compares names
// without regard to case, and sandboxd's `HeaderMap::get` looks them up that way.

/// Header carrying the call deadline in milliseconds (at most 10 digits).
pub const HEADER_TIMEOUT_MS: &str = "Connect-Timeout-Ms";
/// Header carrying the protocol version; when present it must be `1`.
pub const HEADER_PROTOCOL_VERSION: &str = "Connect-Protocol-Version";
/// envd's header asking for keepalive messages every N seconds on server streams.
pub const HEADER_KEEPALIVE_INTERVAL: &str = "Keepalive-Ping-Interval";
/// The sandbox a request to the shared sandbox host is for.
pub const HEADER_SANDBOX_ID: &str = "E2b-Sandbox-Id";
/// The port inside that sandbox the request is for.
pub const HEADER_SANDBOX_PORT: &str = "E2b-Sandbox-Port";
/// envd's access token of a secured sandbox.
pub const HEADER_ACCESS_TOKEN: &str = "X-Access-Token";
/// The control plane's API key.
pub const HEADER_API_KEY: &str = "X-API-KEY";
/// The control plane's pagination cursor on list answers (lower case: sandboxd writes it, and
/// a static header name must be).
pub const HEADER_NEXT_TOKEN: &str = "x-next-token";
/// A Connect (and REST) body's media type.
pub const HEADER_CONTENT_TYPE: &str = "Content-Type";
/// The acting user of an envd RPC (`Basic base64("<user>:")`).
pub const HEADER_AUTHORIZATION: &str = "Authorization";
/// The SDK's name and version, on every request.
pub const HEADER_USER_AGENT: &str = "User-Agent";
/// What a `/files` download accepts: `gzip` or `identity`.
pub const HEADER_ACCEPT_ENCODING: &str = "Accept-Encoding";
/// A gzip-compressed `/files` upload.
pub const HEADER_CONTENT_ENCODING: &str = "Content-Encoding";

/// Parses a `Connect-Timeout-Ms` value: 1 to 10 ASCII digits. `None` for anything else.
pub fn parse_timeout_ms(value: &str) -> Option<u64> {
    let ok = !value.is_empty() && value.len() <= 10 && value.bytes().all(|b| b.is_ascii_digit());
    if ok { value.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    #[test]
    fn timeout_header_accepts_only_short_digit_strings() {
        assert_eq!(super::parse_timeout_ms("60000"), Some(60000));
        assert_eq!(super::parse_timeout_ms("0"), Some(0));
        assert_eq!(super::parse_timeout_ms("9999999999"), Some(9_999_999_999));
        for bad in ["", "12345678901", "-1", "1.5", " 1", "1e3"] {
            assert_eq!(super::parse_timeout_ms(bad), None, "{bad:?}");
        }
    }
}
