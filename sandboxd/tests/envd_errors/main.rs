//! Error paths of every envd RPC and of `/files`, against a real `sandboxd envd` on loopback
//! (run as root on this machine, operations confined to a fresh temporary directory): one test
//! a case, each asserting the status and the message a user sees. This file holds the harness
//! and the protocol-level cases; the services' cases are in the modules below.

mod files;
mod filesystem;
mod process;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use envd_protocol::envelope::{self, Decoder};
use envd_protocol::{Code, ConnectError, EndStream};

struct Envd {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Envd {
    fn start() -> Envd {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sandboxd"))
            .args(["envd", "--listen", "127.0.0.1:0", "--user", "root"])
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sandboxd envd");
        let mut stderr = child.stderr.take().unwrap();
        let mut log = Vec::new();
        let port = loop {
            let mut byte = [0u8; 1];
            assert_eq!(
                stderr.read(&mut byte).unwrap(),
                1,
                "envd exited: {}",
                String::from_utf8_lossy(&log)
            );
            log.push(byte[0]);
            let text = String::from_utf8_lossy(&log);
            if let Some(line) = text.lines().find(|l| l.contains("listening on")) {
                if text.ends_with('\n') {
                    break line.rsplit(':').next().unwrap().trim().parse().unwrap();
                }
            }
        };
        let dir = std::env::temp_dir().join(format!("envd-errors-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Envd { child, port, dir }
    }

    fn path(&self, rel: &str) -> String {
        self.dir.join(rel).to_string_lossy().into_owned()
    }

    /// Sends one request and reads the whole response (status, body with chunking undone).
    fn request(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        extra: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String, Vec<u8>) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        if !content_type.is_empty() {
            head.push_str(&format!("Content-Type: {content_type}\r\n"));
        }
        for (k, v) in extra {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(body).unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
        let status = head[9..12].parse().unwrap();
        let mut body = raw[split + 4..].to_vec();
        if head.contains("transfer-encoding: chunked") {
            body = dechunk(&body);
        }
        (status, head, body)
    }

    /// A `POST` of `body` as `content_type`, without other headers.
    fn post(&self, path: &str, content_type: &str, body: &[u8]) -> (u16, String, Vec<u8>) {
        self.request("POST", path, content_type, &[], body)
    }

    fn unary(&self, method: &str, json: &str) -> Result<String, ConnectError> {
        let (status, _, body) =
            self.post(&format!("/{method}"), "application/json", json.as_bytes());
        if status == 200 {
            Ok(String::from_utf8(body).unwrap())
        } else {
            let e = ConnectError::from_unary_response(status, true, &body);
            assert_eq!(
                e.code.http_status(),
                status,
                "status matches the code for {method}"
            );
            Err(e)
        }
    }

    /// A server-streaming call: the messages (JSON) and the end-of-stream.
    fn stream(&self, method: &str, json: &str, extra: &[(&str, &str)]) -> (Vec<String>, EndStream) {
        let mut req = Vec::new();
        envelope::encode(0, json.as_bytes(), &mut req);
        let (status, _, body) = self.request(
            "POST",
            &format!("/{method}"),
            "application/connect+json",
            extra,
            &req,
        );
        assert_eq!(status, 200, "streams answer 200 even when they fail");
        let mut d = Decoder::default();
        d.push(&body);
        let mut messages = Vec::new();
        while let Some(f) = d.next().unwrap() {
            if f.is_end_stream() {
                return (messages, EndStream::from_json(f.payload).unwrap());
            }
            messages.push(String::from_utf8(f.payload.to_vec()).unwrap());
        }
        panic!("stream ended without end-of-stream");
    }

    fn stream_error(&self, method: &str, json: &str) -> ConnectError {
        self.stream(method, json, &[])
            .1
            .error
            .expect("stream error")
    }
}

impl Drop for Envd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&body[..line_end]).unwrap().trim(), 16)
                .unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&body[line_end + 2..line_end + 2 + size]);
        body = &body[line_end + 4 + size..];
    }
}

/// Asserts a call failed with `code` and `message`: the error a user of an SDK sees.
fn assert_error(result: Result<String, ConnectError>, code: Code, message: &str) {
    assert_eq!(
        result.expect_err("call should fail"),
        ConnectError::new(code, message)
    );
}

/// The status and Connect error of a unary response that failed at the protocol level.
fn protocol_error((status, _, body): (u16, String, Vec<u8>)) -> (u16, ConnectError) {
    (
        status,
        ConnectError::from_unary_response(status, true, &body),
    )
}

/// The types a 415 answer offers (`Accept-Post`), after checking it has no body: as
/// connect-go, the client reads only the status.
fn unsupported_type((status, head, body): (u16, String, Vec<u8>)) -> String {
    assert_eq!((status, body.as_slice()), (415, &b""[..]));
    let line = head.lines().find_map(|l| l.strip_prefix("accept-post: "));
    line.expect("an Accept-Post header").to_owned()
}

// Protocol: routing, content types, envelopes and limits.

#[test]
fn an_unknown_method_is_not_found() {
    let e = Envd::start();
    // As connect-go behind Go's mux: a plain-text 404, which clients read as unimplemented.
    let (status, head, body) = e.post("/filesystem.Filesystem/Nope", "application/json", b"{}");
    assert_eq!(
        (status, body.as_slice()),
        (404, &b"404 page not found\n"[..])
    );
    assert!(head.contains("content-type: text/plain"), "{head}");
    assert_eq!(
        ConnectError::from_unary_response(status, true, &body),
        ConnectError::new(Code::Unimplemented, "HTTP 404")
    );
}

#[test]
fn a_unary_call_in_text_is_unsupported() {
    let e = Envd::start();
    let resp = e.post("/filesystem.Filesystem/Stat", "text/plain", b"{}");
    assert_eq!(
        unsupported_type(resp),
        "application/json, application/proto"
    );
}

#[test]
fn a_stream_called_as_unary_is_unsupported() {
    let e = Envd::start();
    let resp = e.post("/process.Process/Start", "application/json", b"{}");
    assert_eq!(
        unsupported_type(resp),
        "application/connect+json, application/connect+proto"
    );
}

#[test]
fn a_unary_call_as_a_stream_is_unsupported() {
    let e = Envd::start();
    let resp = e.post("/process.Process/List", "application/connect+json", b"{}");
    assert_eq!(
        unsupported_type(resp),
        "application/json, application/proto"
    );
}

#[test]
fn get_on_a_method_is_not_allowed() {
    let e = Envd::start();
    let resp = e.request("GET", "/process.Process/List", "", &[], b"");
    assert_eq!(
        protocol_error(resp),
        (405, ConnectError::new(Code::Unknown, "method not allowed"))
    );
}

#[test]
fn truncated_json_is_invalid_argument() {
    let e = Envd::start();
    assert_error(
        e.unary("process.Process/List", "{"),
        Code::InvalidArgument,
        "unmarshal message: invalid JSON at byte 1: expected a string key",
    );
}

#[test]
fn a_json_array_is_invalid_argument() {
    let e = Envd::start();
    assert_error(
        e.unary("process.Process/List", "[]"),
        Code::InvalidArgument,
        "unmarshal message: expected an object, found array",
    );
}

#[test]
fn an_unknown_connect_protocol_version_is_invalid_argument() {
    let e = Envd::start();
    let resp = e.request(
        "POST",
        "/process.Process/List",
        "application/json",
        &[("connect-protocol-version", "2")],
        b"{}",
    );
    assert_eq!(
        protocol_error(resp),
        (
            400,
            ConnectError::new(
                Code::InvalidArgument,
                "connect-protocol-version must be \"1\""
            )
        )
    );
}

#[test]
fn an_oversized_message_is_resource_exhausted() {
    let e = Envd::start();
    let big = vec![b' '; 4 * 1024 * 1024 + 10];
    let resp = e.post("/process.Process/List", "application/json", &big);
    assert_eq!(
        protocol_error(resp),
        (
            429,
            ConnectError::new(
                Code::ResourceExhausted,
                "request larger than the 4194304-byte limit"
            )
        )
    );
}

#[test]
fn malformed_protobuf_is_invalid_argument() {
    let e = Envd::start();
    let resp = e.post("/process.Process/List", "application/proto", &[0xff]);
    assert_eq!(
        protocol_error(resp),
        (
            400,
            ConnectError::new(Code::InvalidArgument, "unmarshal message: truncated varint")
        )
    );
}
