//! Incremental UTF-8 decoding of process output: chunks may split a code point; invalid bytes
//! become U+FFFD exactly as `TextDecoder` (`{ stream: true }`, then a final flush) does.

use crate::prelude::*;

#[derive(Default)]
pub struct Utf8Stream {
    /// The incomplete code point at the end of the previous chunk (at most 3 bytes).
    pending: Vec<u8>,
}

impl Utf8Stream {
    pub fn decode(&mut self, chunk: &[u8]) -> String {
        let joined;
        let mut rest: &[u8] = if self.pending.is_empty() {
            chunk
        } else {
            let mut buf = core::mem::take(&mut self.pending);
            buf.extend_from_slice(chunk);
            joined = buf;
            &joined
        };
        let mut out = String::with_capacity(rest.len());
        loop {
            match core::str::from_utf8(rest) {
                Ok(s) => {
                    out.push_str(s);
                    return out;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    out.push_str(core::str::from_utf8(valid).unwrap_or_default());
                    match e.error_len() {
                        Some(n) => {
                            out.push('\u{FFFD}');
                            rest = &after[n..];
                        }
                        None => {
                            self.pending = after.to_vec();
                            return out;
                        }
                    }
                }
            }
        }
    }

    /// The end of the stream: an unfinished code point becomes U+FFFD.
    pub fn flush(&mut self) -> String {
        if self.pending.is_empty() {
            return String::new();
        }
        self.pending.clear();
        "\u{FFFD}".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_points_split_across_chunks_are_joined() {
        let text = "añ€😀";
        let bytes = text.as_bytes();
        for split in 0..=bytes.len() {
            let mut d = Utf8Stream::default();
            let out = d.decode(&bytes[..split]) + &d.decode(&bytes[split..]) + &d.flush();
            assert_eq!(out, text, "split at {split}");
        }
        let mut d = Utf8Stream::default();
        let byte_by_byte: String = bytes.iter().map(|b| d.decode(&[*b])).collect();
        assert_eq!(byte_by_byte, text);
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        let mut d = Utf8Stream::default();
        assert_eq!(d.decode(b"a\xffb"), "a\u{FFFD}b");
        assert_eq!(d.decode(b"\xe2\x82"), "");
        assert_eq!(
            d.decode(b"x"),
            "\u{FFFD}x",
            "a truncated sequence followed by ASCII"
        );
        assert_eq!(d.decode(b"\xf0\x9f"), "");
        assert_eq!(d.flush(), "\u{FFFD}");
        assert_eq!(d.flush(), "");
    }
}
