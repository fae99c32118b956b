//! Decoding of command output to text exactly as the official SDK's `TextDecoder` in stream
//! mode does (a code point split across chunks is joined, invalid bytes become U+FFFD, a
//! leading byte order mark is dropped), but with the runtime's one-shot decode: Node's
//! `TextDecoder` leaves its fast path for good once called with `{ stream: true }` (2–4 times
//! slower). Only the unfinished code point at a chunk's end is held back, found here by
//! looking at its last three bytes; the runtime reads the rest straight from wasm memory.

use js_sys::{JsString, Object, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::js_object::set;
use crate::prelude::*;

#[wasm_bindgen]
extern "C" {
    type TextDecoder;
    #[wasm_bindgen(constructor)]
    fn new(label: &str, options: &Object) -> TextDecoder;
    #[wasm_bindgen(method)]
    fn decode(this: &TextDecoder, input: &Uint8Array) -> JsString;
}

/// One output stream's decoder (stdout and stderr each have their own).
pub struct TextStream {
    /// Keeps a byte order mark (each call would drop its own); the stream's is dropped here.
    decoder: TextDecoder,
    /// The valid start of a code point that the last chunk ended inside (at most 3 bytes).
    pending: Vec<u8>,
    /// Whether text came out already, so a U+FEFF now is content, not the stream's BOM.
    started: bool,
}

impl Default for TextStream {
    fn default() -> Self {
        let options = Object::new();
        set(&options, "ignoreBOM", &JsValue::TRUE);
        TextStream {
            decoder: TextDecoder::new("utf-8", &options),
            pending: Vec::new(),
            started: false,
        }
    }
}

/// How many bytes at the end of `bytes` are the valid start of an unfinished code point, by
/// the Encoding Standard's UTF-8 decoder (its bounds on the byte after E0, ED, F0 and F4).
fn unfinished_tail(bytes: &[u8]) -> usize {
    let from = bytes.len().saturating_sub(3);
    let Some(lead) = (from..bytes.len())
        .rev()
        .find(|&i| !(0x80..=0xBF).contains(&bytes[i]))
    else {
        return 0;
    };
    let (need, second) = match bytes[lead] {
        0xC2..=0xDF => (1, 0x80..=0xBF),
        0xE0 => (2, 0xA0..=0xBF),
        0xED => (2, 0x80..=0x9F),
        0xE1..=0xEF => (2, 0x80..=0xBF),
        0xF0 => (3, 0x90..=0xBF),
        0xF4 => (3, 0x80..=0x8F),
        0xF1..=0xF3 => (3, 0x80..=0xBF),
        _ => return 0,
    };
    let after = &bytes[lead + 1..];
    let fits = after.first().is_none_or(|b| second.contains(b));
    if after.len() < need && fits {
        bytes.len() - lead
    } else {
        0
    }
}

impl TextStream {
    /// The text of `chunk`; the bytes of a code point it ends inside wait for the next one.
    pub fn decode(&mut self, chunk: &[u8]) -> JsString {
        let joined;
        let bytes = if self.pending.is_empty() {
            chunk
        } else {
            let mut with_pending = core::mem::take(&mut self.pending);
            with_pending.extend_from_slice(chunk);
            joined = with_pending;
            &joined
        };
        let complete = bytes.len() - unfinished_tail(bytes);
        let text = self.text(&bytes[..complete]);
        self.pending = bytes[complete..].to_vec();
        text
    }

    /// The end of the stream: an unfinished code point becomes U+FFFD.
    pub fn flush(&mut self) -> JsString {
        let unfinished = core::mem::take(&mut self.pending);
        self.text(&unfinished)
    }

    fn text(&mut self, bytes: &[u8]) -> JsString {
        if bytes.is_empty() {
            return JsString::from("");
        }
        // SAFETY: the view is only read by `decode`, before anything in wasm can allocate
        // (and so grow, and detach, the memory it views).
        let view = unsafe { Uint8Array::view(bytes) };
        let text = self.decoder.decode(&view);
        if !core::mem::replace(&mut self.started, true) && text.char_code_at(0) == f64::from(0xFEFF)
        {
            return text.slice(1, text.length());
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_valid_unfinished_code_point_is_held_back() {
        let text = "añ€😀";
        for end in 0..=text.len() {
            let cut = &text.as_bytes()[..end];
            let held = unfinished_tail(cut);
            assert!(
                core::str::from_utf8(&cut[..end - held]).is_ok(),
                "cut at {end}"
            );
            assert_eq!(held > 0, core::str::from_utf8(cut).is_err(), "cut at {end}");
        }
        // Not a valid start: decoded (as U+FFFD) at once, as a streaming TextDecoder does.
        assert_eq!(unfinished_tail(b"a\xe0\x80"), 0, "E0 needs A0..BF next");
        assert_eq!(unfinished_tail(b"a\xed\xa0"), 0, "ED A0 is a surrogate");
        assert_eq!(unfinished_tail(b"a\xf4\x90"), 0, "F4 90 is past U+10FFFF");
        assert_eq!(unfinished_tail(b"a\xf5"), 0);
        assert_eq!(unfinished_tail(b"a\xc1"), 0);
        assert_eq!(unfinished_tail(b"\x80\x80\x80"), 0);
        assert_eq!(unfinished_tail(b"\xf0\x9f\x98"), 3);
        assert_eq!(unfinished_tail(b"\xf0\x9f\xe2\x82"), 2);
    }
}
