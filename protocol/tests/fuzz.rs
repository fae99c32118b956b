//! Property tests over the decoders that face untrusted bytes: the envelope decoder, the JSON
//! reader and both message codecs. A seeded generator keeps runs reproducible and short (well
//! under a second in release, a few seconds in debug); set `FUZZ_ITERATIONS` to run longer.

use envd_protocol::envelope::{self, Decoder, FLAG_END_STREAM};
#[cfg(feature = "json")]
use envd_protocol::filesystem::{EntryInfo, ListDirResponse, WatchDirRequest, WatchDirResponse};
#[cfg(feature = "json")]
use envd_protocol::process::{StartRequest, StartResponse, StreamInputRequest};
#[cfg(feature = "json")]
use envd_protocol::{EndStream, Message, json};

/// xorshift64*: tiny, deterministic, good enough to shake out parser bugs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max + 1);
        (0..n).map(|_| self.next() as u8).collect()
    }
    #[cfg(feature = "json")]
    /// Flips, inserts, deletes or duplicates a few bytes.
    fn mutate(&mut self, input: &[u8]) -> Vec<u8> {
        let mut out = input.to_vec();
        for _ in 0..1 + self.below(4) {
            let at = if out.is_empty() {
                0
            } else {
                self.below(out.len())
            };
            match self.below(5) {
                0 if !out.is_empty() => out[at] ^= 1 << self.below(8),
                1 => out.insert(at, self.next() as u8),
                2 if !out.is_empty() => {
                    out.remove(at);
                }
                3 => {
                    let tokens: [&[u8]; 10] = [
                        b"{", b"}", b"[", b"\"", b":", b",", b"\\u", b"null", b"-0", b"1e999",
                    ];
                    let t = tokens[self.below(tokens.len())];
                    out.splice(at..at, t.iter().copied());
                }
                _ => out.truncate(at),
            }
        }
        out
    }
}

fn iterations() -> usize {
    std::env::var("FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

#[cfg(feature = "json")]
const JSON_SEEDS: &[&[u8]] = &[
    br#"{"process":{"cmd":"/bin/bash","args":["-l","-c","echo hi"],"envs":{"A":"1"},"cwd":"~"},"pty":{"size":{"cols":80,"rows":24}},"tag":"t","stdin":false}"#,
    br#"{"event":{"data":{"stdout":"aGVsbG8K"}}}"#,
    br#"{"event":{"end":{"exitCode":-1,"exited":false,"status":"signal: killed","error":"signal: killed"}}}"#,
    br#"{"entries":[{"name":"a","type":"FILE_TYPE_FILE","path":"/a","size":"12","mode":420,"modifiedTime":"2025-01-02T03:04:05.123Z","metadata":{"k":"v"}}]}"#,
    br#"{"start":{"process":{"pid":"12"}}}"#,
    br#"{"error":{"code":"not_found","message":"x"},"metadata":{"a":["b"]}}"#,
    br#"{"filesystem":{"name":"f","type":5,"entry":{"symlinkTarget":"/t"}}}"#,
];

/// Every decoder must return (not panic, not hang) on any input.
#[cfg(feature = "json")]
fn decode_everything(bytes: &[u8]) {
    let _ = json::parse(bytes);
    let _ = EndStream::from_json(bytes);
    let _ = StartRequest::decode_json(bytes);
    let _ = StartResponse::decode_json(bytes);
    let _ = StreamInputRequest::decode_json(bytes);
    let _ = ListDirResponse::decode_json(bytes);
    let _ = WatchDirRequest::decode_json(bytes);
    let _ = WatchDirResponse::decode_json(bytes);
    let _ = StartRequest::decode_proto(bytes);
    let _ = StartResponse::decode_proto(bytes);
    let _ = ListDirResponse::decode_proto(bytes);
    let _ = EntryInfo::decode_proto(bytes);
}

#[cfg(feature = "json")]
#[test]
fn decoders_survive_random_and_mutated_input() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for i in 0..iterations() {
        let input = if i % 3 == 0 {
            rng.bytes(64)
        } else {
            let seed = JSON_SEEDS[rng.below(JSON_SEEDS.len())];
            if i % 3 == 1 {
                rng.mutate(seed)
            } else {
                rng.mutate(&StartRequest::decode_json(JSON_SEEDS[0]).unwrap().to_proto())
            }
        };
        decode_everything(&input);
    }
}

#[cfg(feature = "json")]
#[test]
fn accepted_json_messages_round_trip_through_both_codecs() {
    let mut rng = Rng(42);
    let mut accepted = 0;
    for _ in 0..iterations() {
        let seed = JSON_SEEDS[rng.below(JSON_SEEDS.len())];
        let input = rng.mutate(seed);
        if let Ok(m) = StartRequest::decode_json(&input) {
            accepted += 1;
            assert_eq!(StartRequest::decode_json(&m.to_json()).unwrap(), m);
            assert_eq!(StartRequest::decode_proto(&m.to_proto()).unwrap(), m);
        }
        if let Ok(m) = ListDirResponse::decode_json(&input) {
            assert_eq!(ListDirResponse::decode_json(&m.to_json()).unwrap(), m);
            assert_eq!(ListDirResponse::decode_proto(&m.to_proto()).unwrap(), m);
        }
        if let Ok(m) = StartResponse::decode_json(&input) {
            assert_eq!(StartResponse::decode_json(&m.to_json()).unwrap(), m);
            assert_eq!(StartResponse::decode_proto(&m.to_proto()).unwrap(), m);
        }
    }
    assert!(
        accepted > 0,
        "the mutator never produced a valid message; the test would prove nothing"
    );
}

#[test]
fn envelope_decoding_does_not_depend_on_read_boundaries() {
    let mut rng = Rng(7);
    for _ in 0..iterations() / 20 {
        // A valid stream of random frames, then optional garbage.
        let mut wire = Vec::new();
        let mut frames = Vec::new();
        for _ in 0..rng.below(6) {
            let payload = rng.bytes(40);
            let flags = if rng.below(4) == 0 {
                FLAG_END_STREAM
            } else {
                0
            };
            envelope::encode(flags, &payload, &mut wire);
            frames.push((flags, payload));
        }
        let garbage = if rng.below(2) == 0 {
            rng.bytes(12)
        } else {
            Vec::new()
        };
        wire.extend_from_slice(&garbage);

        let whole = decode_in_chunks(&wire, &mut |_| wire.len());
        let split = decode_in_chunks(&wire, &mut |left| 1 + rng.below(left));
        assert_eq!(whole, split);
        let (got, _) = &whole;
        assert!(got.len() >= frames.len());
        for (env, (flags, payload)) in got.iter().zip(&frames) {
            assert_eq!((&env.0, &env.1), (flags, payload));
        }
        if garbage.is_empty() {
            assert_eq!(whole.1, Ok(()));
        }
    }
}

/// The frames (flags, payload) and the first error.
type Decoded = (Vec<(u8, Vec<u8>)>, Result<(), envelope::FrameError>);

/// Feeds `wire` to a decoder in chunks whose sizes `chunk` picks; returns the frames and the
/// first error (or the `finish` result).
fn decode_in_chunks(wire: &[u8], chunk: &mut dyn FnMut(usize) -> usize) -> Decoded {
    let mut d = Decoder::new(64);
    let mut frames = Vec::new();
    let mut rest = wire;
    while !rest.is_empty() {
        let n = chunk(rest.len()).min(rest.len());
        d.push(&rest[..n]);
        rest = &rest[n..];
        loop {
            match d.next() {
                Ok(Some(f)) => frames.push((f.flags, f.payload.to_vec())),
                Ok(None) => break,
                Err(e) => return (frames, Err(e)),
            }
        }
    }
    let end = d.finish();
    (frames, end)
}
