//! Connect content types: unary or streaming, JSON or binary protobuf.

/// The message codec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Codec {
    Json,
    Proto,
}

/// A Connect request/response content type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ContentType {
    /// `application/connect+*` (enveloped stream) rather than `application/*` (bare message).
    pub streaming: bool,
    pub codec: Codec,
}

impl ContentType {
    pub const UNARY_JSON: ContentType = ContentType {
        streaming: false,
        codec: Codec::Json,
    };
    pub const UNARY_PROTO: ContentType = ContentType {
        streaming: false,
        codec: Codec::Proto,
    };
    pub const STREAM_JSON: ContentType = ContentType {
        streaming: true,
        codec: Codec::Json,
    };
    pub const STREAM_PROTO: ContentType = ContentType {
        streaming: true,
        codec: Codec::Proto,
    };

    /// Parses a `Content-Type` header value: case-insensitive media type, parameters such as
    /// `; charset=utf-8` accepted (a charset must be UTF-8). `None` for anything else.
    pub fn parse(header: &str) -> Option<ContentType> {
        let mut parts = header.split(';');
        let media = parts.next()?.trim();
        for param in parts {
            let (name, value) = param.split_once('=')?;
            if name.trim().eq_ignore_ascii_case("charset") {
                let value = value.trim().trim_matches('"');
                if !value.eq_ignore_ascii_case("utf-8") && !value.eq_ignore_ascii_case("utf8") {
                    return None;
                }
            }
        }
        let sub = media
            .get(..12)
            .filter(|p| p.eq_ignore_ascii_case("application/"))
            .and(media.get(12..))?;
        let (streaming, codec) = if sub.eq_ignore_ascii_case("json") {
            (false, Codec::Json)
        } else if sub.eq_ignore_ascii_case("proto") {
            (false, Codec::Proto)
        } else if sub.eq_ignore_ascii_case("connect+json") {
            (true, Codec::Json)
        } else if sub.eq_ignore_ascii_case("connect+proto") {
            (true, Codec::Proto)
        } else {
            return None;
        };
        Some(ContentType { streaming, codec })
    }

    /// The canonical header value.
    pub fn as_str(self) -> &'static str {
        match (self.streaming, self.codec) {
            (false, Codec::Json) => "application/json",
            (false, Codec::Proto) => "application/proto",
            (true, Codec::Json) => "application/connect+json",
            (true, Codec::Proto) => "application/connect+proto",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_four_types_and_round_trips() {
        for ct in [
            ContentType::UNARY_JSON,
            ContentType::UNARY_PROTO,
            ContentType::STREAM_JSON,
            ContentType::STREAM_PROTO,
        ] {
            assert_eq!(ContentType::parse(ct.as_str()), Some(ct));
        }
    }

    #[test]
    fn accepts_charset_and_case() {
        assert_eq!(
            ContentType::parse("application/json; charset=utf-8"),
            Some(ContentType::UNARY_JSON)
        );
        assert_eq!(
            ContentType::parse("Application/Connect+JSON;charset=UTF-8"),
            Some(ContentType::STREAM_JSON)
        );
        assert_eq!(
            ContentType::parse("application/connect+proto"),
            Some(ContentType::STREAM_PROTO)
        );
    }

    #[test]
    fn refuses_other_types() {
        for bad in [
            "text/plain",
            "application/grpc",
            "application/json; charset=latin1",
            "application/jsonx",
            "",
            "application/",
            "application/json; charset",
        ] {
            assert_eq!(ContentType::parse(bad), None, "{bad:?}");
        }
    }
}
