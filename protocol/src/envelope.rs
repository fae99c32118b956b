//! Connect envelopes: every message of a streaming body is `flags (1 byte) | length (u32 BE) |
//! payload`. Frames may be split across reads or several may arrive in one read, so
//! [`Decoder`] buffers and yields each complete frame.

use crate::prelude::*;
use core::fmt;
use core::mem::MaybeUninit;

/// Flag bit: the payload is compressed. Nobody in this stack compresses, so it is refused.
pub const FLAG_COMPRESSED: u8 = 0x01;
/// Flag bit: the end-of-stream message (last frame of a server stream; JSON payload).
pub const FLAG_END_STREAM: u8 = 0x02;
/// Size of the envelope prefix.
pub const HEADER_LEN: usize = 5;
/// Default largest payload [`Decoder`] accepts (Connect implementations commonly use 4 MiB;
/// envd's largest messages are 256 KiB of output, about 350 KB as JSON).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 4 * 1024 * 1024;

/// Appends one envelope (`flags`, length, `payload`) to `out`.
///
/// # Panics
/// If `payload` is longer than `u32::MAX` bytes, which no Connect peer could accept.
pub fn encode(flags: u8, payload: &[u8], out: &mut Vec<u8>) {
    out.reserve(HEADER_LEN + payload.len());
    out.extend_from_slice(&header(flags, payload.len()));
    out.extend_from_slice(payload);
}

/// The 5-byte prefix for a payload of `len` bytes, for writers that send the payload separately.
///
/// # Panics
/// If `len` exceeds `u32::MAX`.
pub fn header(flags: u8, len: usize) -> [u8; HEADER_LEN] {
    let len = u32::try_from(len).expect("Connect payloads are at most u32::MAX bytes");
    let [a, b, c, d] = len.to_be_bytes();
    [flags, a, b, c, d]
}

/// One decoded frame, its payload still in the decoder's buffer (no copy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub flags: u8,
    pub payload: &'a [u8],
}

impl Frame<'_> {
    /// Whether this is the end-of-stream message.
    pub fn is_end_stream(&self) -> bool {
        self.flags & FLAG_END_STREAM != 0
    }
}

/// Why a byte stream is not a valid sequence of envelopes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The declared payload length exceeds the decoder's maximum.
    TooLarge { len: usize, max: usize },
    /// The compressed flag is set; compression is never negotiated here.
    Compressed,
    /// Flag bits other than compressed/end-of-stream are set.
    UnknownFlags(u8),
    /// The stream ended inside a frame (`have` of the `need` bytes of the frame arrived).
    Truncated { have: usize, need: usize },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::TooLarge { len, max } => {
                write!(f, "message size {len} is larger than configured max {max}")
            }
            FrameError::Compressed => {
                f.write_str("received compressed message, but no compression was negotiated")
            }
            FrameError::UnknownFlags(flags) => write!(f, "invalid envelope flags {flags:#04x}"),
            FrameError::Truncated { have, need } => {
                write!(f, "stream ended inside a message ({have} of {need} bytes)")
            }
        }
    }
}

impl core::error::Error for FrameError {}

/// Incremental envelope decoder: [`push`](Decoder::push) bytes as they arrive, then call
/// [`next`](Decoder::next) until it returns `Ok(None)`. After the input ends, call
/// [`finish`](Decoder::finish) to detect a truncated last frame.
///
/// An error is sticky in practice: the stream cannot be resynchronised, so stop reading.
#[derive(Debug)]
pub struct Decoder {
    buf: Vec<u8>,
    /// Start of unconsumed bytes in `buf`; consumed bytes are dropped lazily to avoid a
    /// memmove per frame.
    start: usize,
    max_message_size: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(DEFAULT_MAX_MESSAGE_SIZE)
    }
}

impl Decoder {
    /// A decoder refusing payloads larger than `max_message_size` bytes.
    pub fn new(max_message_size: usize) -> Self {
        Decoder {
            buf: Vec::new(),
            start: 0,
            max_message_size,
        }
    }

    /// Adds bytes read from the stream.
    pub fn push(&mut self, chunk: &[u8]) {
        let fill = |room: &mut [MaybeUninit<u8>]| {
            let (from, to, len) = (chunk.as_ptr(), room.as_mut_ptr().cast(), chunk.len());
            // SAFETY: `room` has `len` bytes and does not overlap `chunk`.
            unsafe { core::ptr::copy_nonoverlapping(from, to, len) }
        };
        // SAFETY: `fill` initialises all of the room.
        unsafe { self.push_with(chunk.len(), fill) };
    }

    /// Adds `len` bytes that `fill` writes into the buffer itself, for a reader that can copy
    /// them there directly (from JavaScript's memory, say) instead of through a buffer of its
    /// own. The room is not zeroed first: in a size-optimised wasm build that is a byte loop
    /// as slow as the copy.
    ///
    /// # Safety
    /// `fill` must initialise every byte of the room it is given (or panic).
    pub unsafe fn push_with(&mut self, len: usize, fill: impl FnOnce(&mut [MaybeUninit<u8>])) {
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.reserve(len);
        fill(&mut self.buf.spare_capacity_mut()[..len]);
        // SAFETY: the `len` bytes after the initialised ones were initialised by `fill`.
        unsafe { self.buf.set_len(self.buf.len() + len) };
    }

    /// The next complete frame, `Ok(None)` when more bytes are needed. Its payload is lent
    /// from the buffer, not copied: readers decode it at once (a client receiving output
    /// copies each byte once).
    #[allow(clippy::should_implement_trait)] // fallible and lending, so not an Iterator
    pub fn next(&mut self) -> Result<Option<Frame<'_>>, FrameError> {
        let avail = &self.buf[self.start..];
        if avail.len() < HEADER_LEN {
            return Ok(None);
        }
        let flags = avail[0];
        if flags & FLAG_COMPRESSED != 0 {
            return Err(FrameError::Compressed);
        }
        if flags & !(FLAG_COMPRESSED | FLAG_END_STREAM) != 0 {
            return Err(FrameError::UnknownFlags(flags));
        }
        let len = u32::from_be_bytes([avail[1], avail[2], avail[3], avail[4]]) as usize;
        if len > self.max_message_size {
            return Err(FrameError::TooLarge {
                len,
                max: self.max_message_size,
            });
        }
        if avail.len() < HEADER_LEN + len {
            // Grow once to the frame's size instead of repeatedly as chunks trickle in.
            self.buf.reserve(HEADER_LEN + len - avail.len());
            return Ok(None);
        }
        let at = self.start + HEADER_LEN;
        self.start = at + len;
        Ok(Some(Frame {
            flags,
            payload: &self.buf[at..at + len],
        }))
    }

    /// Bytes received but not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Checks that the input ended on a frame boundary.
    pub fn finish(&self) -> Result<(), FrameError> {
        let have = self.buffered();
        if have == 0 {
            return Ok(());
        }
        let avail = &self.buf[self.start..];
        let need = if have >= HEADER_LEN {
            HEADER_LEN + u32::from_be_bytes([avail[1], avail[2], avail[3], avail[4]]) as usize
        } else {
            HEADER_LEN
        };
        Err(FrameError::Truncated { have, need })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const START_JSON: &[u8] =
        br#"{"process":{"cmd":"/bin/bash","args":["-l","-c","echo hi"]},"stdin":false}"#;

    /// A frame kept past the decoder's next call.
    #[derive(Debug, PartialEq)]
    struct Envelope {
        flags: u8,
        payload: Vec<u8>,
    }

    impl Envelope {
        fn is_end_stream(&self) -> bool {
            self.flags & FLAG_END_STREAM != 0
        }
    }

    fn drain(d: &mut Decoder) -> Vec<Envelope> {
        let mut out = Vec::new();
        while let Some(e) = d.next().unwrap() {
            out.push(Envelope {
                flags: e.flags,
                payload: e.payload.to_vec(),
            });
        }
        out
    }

    #[test]
    fn start_request_frame_matches_wire_md() {
        assert_eq!(START_JSON.len(), 74);
        let mut out = Vec::new();
        encode(0, START_JSON, &mut out);
        assert_eq!(&out[..5], &[0x00, 0x00, 0x00, 0x00, 0x4a]);
        assert_eq!(&out[5..], START_JSON);
    }

    #[test]
    fn end_stream_frame_layout() {
        let mut out = Vec::new();
        encode(FLAG_END_STREAM, b"{}", &mut out);
        assert_eq!(out, [0x02, 0, 0, 0, 2, b'{', b'}']);
    }

    #[test]
    fn frames_split_at_every_byte_are_reassembled() {
        let mut wire = Vec::new();
        encode(0, START_JSON, &mut wire);
        encode(0, b"", &mut wire);
        encode(FLAG_END_STREAM, b"{}", &mut wire);
        let mut d = Decoder::default();
        let mut got = Vec::new();
        for b in &wire {
            d.push(core::slice::from_ref(b));
            got.extend(drain(&mut d));
        }
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].payload, START_JSON);
        assert!(got[1].payload.is_empty() && !got[1].is_end_stream());
        assert!(got[2].is_end_stream());
        d.finish().unwrap();
    }

    #[test]
    fn merged_frames_in_one_read_all_come_out() {
        let mut wire = Vec::new();
        for i in 0..10u8 {
            encode(0, &[i; 3], &mut wire);
        }
        let mut d = Decoder::default();
        // One read with 9.5 frames, then the rest.
        d.push(&wire[..wire.len() - 4]);
        let first = drain(&mut d);
        assert_eq!(first.len(), 9);
        d.push(&wire[wire.len() - 4..]);
        let rest = drain(&mut d);
        assert_eq!(
            rest,
            vec![Envelope {
                flags: 0,
                payload: vec![9; 3]
            }]
        );
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn oversized_frame_is_refused_before_its_payload_arrives() {
        let mut d = Decoder::new(10);
        d.push(&header(0, 11));
        assert_eq!(d.next(), Err(FrameError::TooLarge { len: 11, max: 10 }));
    }

    #[test]
    fn compressed_and_unknown_flags_are_refused() {
        let mut d = Decoder::default();
        d.push(&[FLAG_COMPRESSED, 0, 0, 0, 0]);
        assert_eq!(d.next(), Err(FrameError::Compressed));
        let mut d = Decoder::default();
        d.push(&[0x80, 0, 0, 0, 0]);
        assert_eq!(d.next(), Err(FrameError::UnknownFlags(0x80)));
    }

    #[test]
    fn truncated_input_is_reported_by_finish() {
        let mut d = Decoder::default();
        d.push(&[0, 0, 0]);
        assert_eq!(d.next(), Ok(None));
        assert_eq!(d.finish(), Err(FrameError::Truncated { have: 3, need: 5 }));
        d.push(&[0, 4, 1]);
        assert_eq!(d.next(), Ok(None));
        assert_eq!(d.finish(), Err(FrameError::Truncated { have: 6, need: 9 }));
    }
}
