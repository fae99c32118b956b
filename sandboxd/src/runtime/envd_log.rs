//! envd's own output (its stdout and stderr, and the init's errors before it): a pipe that
//! sandboxd drains continuously into a bounded in-memory ring of timestamped lines.
//!
//! It used to be a file in the writable layer, which root inside could grow without bound
//! through `/proc/1/fd/1`, outside the disk quota. Now a writer inside can only make old lines
//! fall out of the ring; what it costs sandboxd is at most [`MAX_BYTES`] per sandbox.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// Bytes of line text a ring keeps (older lines are dropped first).
const MAX_BYTES: usize = 256 * 1024;
/// Lines a ring keeps.
const MAX_LINES: usize = 2000;
/// Longer lines are cut here (the rest of such a line is dropped).
const MAX_LINE: usize = 8 * 1024;

/// One line of a sandbox's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub timestamp: SystemTime,
    /// Who wrote it: `envd` (its output) or `sandboxd` (the runtime's start-up lines).
    pub source: &'static str,
    pub line: String,
}

/// The log of one sandbox run; cheap to clone (shared ring).
#[derive(Clone, Debug, Default)]
pub(crate) struct EnvdLog {
    ring: Arc<Mutex<Ring>>,
}

#[derive(Debug, Default)]
struct Ring {
    lines: VecDeque<LogLine>,
    bytes: usize,
}

impl EnvdLog {
    /// Adds a line of the runtime's own (start-up events).
    pub fn push(&self, line: &str) {
        self.push_from("sandboxd", line);
    }

    fn push_from(&self, source: &'static str, line: &str) {
        let mut ring = self.ring.lock().unwrap();
        let line = truncate(line, MAX_LINE);
        ring.bytes += line.len();
        ring.lines.push_back(LogLine {
            timestamp: SystemTime::now(),
            source,
            line: line.to_string(),
        });
        while ring.lines.len() > MAX_LINES || ring.bytes > MAX_BYTES {
            let Some(old) = ring.lines.pop_front() else {
                break;
            };
            ring.bytes -= old.line.len();
        }
    }

    pub fn lines(&self) -> Vec<LogLine> {
        self.ring.lock().unwrap().lines.iter().cloned().collect()
    }

    /// The last lines as one text, at most `max` bytes (for error messages).
    pub fn tail(&self, max: usize) -> String {
        let ring = self.ring.lock().unwrap();
        let mut taken = Vec::new();
        let mut size = 0;
        for line in ring.lines.iter().rev() {
            if size + line.line.len() + 1 > max {
                break;
            }
            size += line.line.len() + 1;
            taken.push(line.line.as_str());
        }
        taken.reverse();
        taken.join("\n")
    }

    /// Reads `pipe` on a thread of its own until every writer has closed it (the sandbox's
    /// processes are gone), splitting it into lines.
    pub fn drain(&self, pipe: OwnedFd) -> std::io::Result<()> {
        let log = self.clone();
        std::thread::Builder::new()
            .name("envd-log".into())
            .spawn(move || {
                let mut pipe = File::from(pipe);
                let mut chunk = vec![0u8; 64 * 1024];
                let mut pending: Vec<u8> = Vec::new();
                // A line being cut: its rest is skipped up to the next newline.
                let mut skipping = false;
                while let Ok(n) = pipe.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    for piece in chunk[..n].split_inclusive(|b| *b == b'\n') {
                        let ends = piece.ends_with(b"\n");
                        let text = piece.strip_suffix(b"\n").unwrap_or(piece);
                        if !skipping {
                            let room = MAX_LINE.saturating_sub(pending.len());
                            pending.extend_from_slice(&text[..text.len().min(room)]);
                        }
                        if ends {
                            if !skipping {
                                log.push_from("envd", &String::from_utf8_lossy(&pending));
                            }
                            pending.clear();
                            skipping = false;
                        } else if pending.len() >= MAX_LINE && !skipping {
                            log.push_from("envd", &String::from_utf8_lossy(&pending));
                            pending.clear();
                            skipping = true;
                        }
                    }
                }
                if !pending.is_empty() {
                    log.push_from("envd", &String::from_utf8_lossy(&pending));
                }
            })
            .map(drop)
    }
}

/// `text` cut to at most `max` bytes, at a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn the_ring_keeps_the_newest_lines_within_its_bounds() {
        let log = EnvdLog::default();
        for i in 0..(MAX_LINES + 10) {
            log.push(&format!("line {i}"));
        }
        let lines = log.lines();
        assert_eq!(lines.len(), MAX_LINES);
        assert_eq!(
            lines.last().unwrap().line,
            format!("line {}", MAX_LINES + 9)
        );
        let big = "x".repeat(MAX_LINE);
        for _ in 0..100 {
            log.push(&big);
        }
        let kept: usize = log.lines().iter().map(|l| l.line.len()).sum();
        assert!(kept <= MAX_BYTES, "{kept}");
        assert_eq!(log.tail(MAX_LINE + 1), big);
    }

    #[test]
    fn a_drained_pipe_becomes_lines_and_overlong_lines_are_cut() {
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        let log = EnvdLog::default();
        log.drain(read).unwrap();
        let mut write = File::from(write);
        write.write_all(b"first\nsec").unwrap();
        write.write_all(b"ond\n").unwrap();
        write.write_all(&vec![b'y'; MAX_LINE * 3]).unwrap();
        write.write_all("\nlast é".as_bytes()).unwrap();
        drop(write);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while log.lines().len() < 4 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let lines: Vec<String> = log.lines().into_iter().map(|l| l.line).collect();
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert_eq!(lines[0], "first");
        assert_eq!(lines[1], "second");
        assert_eq!(lines[2].len(), MAX_LINE);
        assert_eq!(lines[3], "last é");
    }
}
