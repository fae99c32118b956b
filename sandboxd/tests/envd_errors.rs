//! Error paths of every envd RPC, against a real `sandboxd envd` on loopback (run as root on
//! this machine, operations confined to a fresh temporary directory).

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

    fn unary(&self, method: &str, json: &str) -> Result<String, ConnectError> {
        let (status, _, body) = self.request(
            "POST",
            &format!("/{method}"),
            "application/json",
            &[],
            json.as_bytes(),
        );
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
                return (messages, EndStream::from_json(&f.payload).unwrap());
            }
            messages.push(String::from_utf8(f.payload).unwrap());
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

fn code(r: Result<String, ConnectError>) -> Code {
    r.expect_err("call should fail").code
}

#[test]
fn protocol_errors() {
    let e = Envd::start();
    assert_eq!(
        e.request(
            "POST",
            "/filesystem.Filesystem/Nope",
            "application/json",
            &[],
            b"{}"
        )
        .0,
        404
    );
    assert_eq!(
        e.request(
            "POST",
            "/filesystem.Filesystem/Stat",
            "text/plain",
            &[],
            b"{}"
        )
        .0,
        415
    );
    assert_eq!(
        e.request(
            "POST",
            "/process.Process/Start",
            "application/json",
            &[],
            b"{}"
        )
        .0,
        415,
        "unary type on a stream"
    );
    assert_eq!(
        e.request(
            "POST",
            "/process.Process/List",
            "application/connect+json",
            &[],
            b"{}"
        )
        .0,
        415,
        "stream type on unary"
    );
    assert_eq!(
        e.request("GET", "/process.Process/List", "", &[], b"").0,
        405
    );
    assert_eq!(
        code(e.unary("process.Process/List", "{")),
        Code::InvalidArgument
    );
    assert_eq!(
        code(e.unary("process.Process/List", "[]")),
        Code::InvalidArgument
    );
    let (status, _, body) = e.request(
        "POST",
        "/process.Process/List",
        "application/json",
        &[("connect-protocol-version", "2")],
        b"{}",
    );
    assert_eq!(
        (
            status,
            ConnectError::from_unary_response(status, true, &body).code
        ),
        (400, Code::InvalidArgument)
    );
    let big = vec![b' '; 4 * 1024 * 1024 + 10];
    let (status, _, _) = e.request(
        "POST",
        "/process.Process/List",
        "application/json",
        &[],
        &big,
    );
    assert_eq!(status, 429, "oversized messages are resource_exhausted");
    let (status, _, _) = e.request(
        "POST",
        "/process.Process/List",
        "application/proto",
        &[],
        &[0xff],
    );
    assert_eq!(status, 400, "malformed protobuf");
}

#[test]
fn process_errors() {
    let e = Envd::start();
    let start = "process.Process/Start";
    let err = e.stream_error(
        start,
        r#"{"process":{"cmd":"/bin/true","cwd":"/does/not/exist"}}"#,
    );
    assert_eq!(
        (err.code, err.message.as_str()),
        (
            Code::InvalidArgument,
            "cwd '/does/not/exist' does not exist"
        )
    );
    assert_eq!(
        e.stream_error(start, r#"{"process":{}}"#).code,
        Code::InvalidArgument
    );
    assert_eq!(
        e.stream_error(start, r#"{"process":{"cmd":"no-such-program-xyz"}}"#)
            .code,
        Code::InvalidArgument
    );
    let mut env = Vec::new();
    envelope::encode(0, br#"{"process":{"cmd":"/bin/true"}}"#, &mut env);
    let basic = format!("Basic {}", envd_protocol::base64::encode(b"no-such-user:"));
    let (_, _, body) = e.request(
        "POST",
        "/process.Process/Start",
        "application/connect+json",
        &[("authorization", &basic)],
        &env,
    );
    let mut d = Decoder::default();
    d.push(&body);
    let end = EndStream::from_json(&d.next().unwrap().unwrap().payload).unwrap();
    assert_eq!(
        end.error.unwrap(),
        ConnectError::new(Code::Unauthenticated, "invalid username: 'no-such-user'")
    );

    assert_eq!(
        e.stream_error("process.Process/Connect", r#"{"process":{"pid":999999}}"#)
            .code,
        Code::NotFound
    );
    assert_eq!(
        e.stream_error("process.Process/Connect", r#"{"process":{}}"#)
            .code,
        Code::Unimplemented
    );
    let unknown = r#"{"process":{"pid":999999}}"#;
    assert_eq!(
        code(e.unary(
            "process.Process/SendInput",
            r#"{"process":{"pid":999999},"input":{"stdin":"eA=="}}"#
        )),
        Code::NotFound
    );
    assert_eq!(
        code(e.unary(
            "process.Process/SendSignal",
            r#"{"process":{"pid":999999},"signal":"SIGNAL_SIGKILL"}"#
        )),
        Code::NotFound
    );
    assert_eq!(
        code(e.unary("process.Process/CloseStdin", unknown)),
        Code::NotFound
    );
    assert_eq!(
        code(e.unary("process.Process/Update", unknown)),
        Code::NotFound
    );
    assert_eq!(
        code(e.unary("process.Process/CloseStdin", "{}")),
        Code::Unimplemented
    );
    let tagged = e
        .unary("process.Process/Update", r#"{"process":{"tag":"nope"}}"#)
        .unwrap_err();
    assert_eq!(
        tagged,
        ConnectError::new(Code::NotFound, "process with tag 'nope' not found")
    );

    // The Start deadline kills the process and ends the stream with deadline_exceeded.
    let (messages, end) = e.stream(
        start,
        r#"{"process":{"cmd":"/bin/sleep","args":["30"]},"stdin":false}"#,
        &[("connect-timeout-ms", "300")],
    );
    assert_eq!(end.error.unwrap().code, Code::DeadlineExceeded);
    assert!(messages[0].starts_with(r#"{"event":{"start":{"pid":"#));
}

#[test]
fn input_and_signal_errors_on_a_live_process() {
    let e = Envd::start();
    // Keep a Start stream open on its own connection while other calls run.
    let mut s = TcpStream::connect(("127.0.0.1", e.port)).unwrap();
    let mut req = Vec::new();
    envelope::encode(
        0,
        br#"{"process":{"cmd":"/bin/sleep","args":["30"]},"stdin":false}"#,
        &mut req,
    );
    let head = format!(
        "POST /process.Process/Start HTTP/1.1\r\nHost: t\r\nContent-Type: application/connect+json\r\nContent-Length: {}\r\n\r\n",
        req.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&req).unwrap();
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    let pid = loop {
        let n = s.read(&mut buf).unwrap();
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got);
        if let Some(i) = text.find(r#""pid":"#) {
            let digits: String = text[i + 6..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if text[i + 6 + digits.len()..].starts_with('}') {
                break digits;
            }
        }
    };
    let sel = format!(r#"{{"process":{{"pid":{pid}}}"#);
    assert_eq!(
        code(e.unary(
            "process.Process/SendInput",
            &format!(r#"{sel},"input":{{"stdin":"eA=="}}}}"#)
        )),
        Code::Internal
    );
    assert_eq!(
        code(e.unary(
            "process.Process/SendInput",
            &format!(r#"{sel},"input":{{"pty":"eA=="}}}}"#)
        )),
        Code::Internal
    );
    assert_eq!(
        code(e.unary("process.Process/SendInput", &format!("{sel}}}"))),
        Code::Unimplemented
    );
    assert_eq!(
        code(e.unary(
            "process.Process/Update",
            &format!(r#"{sel},"pty":{{"size":{{"cols":10,"rows":5}}}}}}"#)
        )),
        Code::Internal
    );
    assert!(
        e.unary("process.Process/CloseStdin", &format!("{sel}}}"))
            .is_ok(),
        "closing absent stdin is a no-op"
    );
    assert_eq!(
        code(e.unary(
            "process.Process/SendSignal",
            &format!(r#"{sel},"signal":"SIGNAL_UNSPECIFIED"}}"#)
        )),
        Code::Unimplemented
    );
    let listed = e.unary("process.Process/List", "{}").unwrap();
    assert!(listed.contains(&format!(r#""pid":{pid}"#)), "{listed}");
    assert!(
        e.unary(
            "process.Process/SendSignal",
            &format!(r#"{sel},"signal":"SIGNAL_SIGKILL"}}"#)
        )
        .is_ok()
    );
    let listed = e.unary("process.Process/List", "{}").unwrap();
    assert!(
        !listed.contains(&format!(r#""pid":{pid}"#)),
        "killed processes leave the list: {listed}"
    );
    // The retained end is still reachable through Connect.
    let (messages, end) = e.stream("process.Process/Connect", &format!("{sel}}}"), &[]);
    assert!(end.error.is_none());
    assert!(
        messages[1].contains(r#""status":"signal: killed""#),
        "{messages:?}"
    );
    // StreamInput: data before start is refused.
    let mut body = Vec::new();
    envelope::encode(0, br#"{"data":{"input":{"stdin":"eA=="}}}"#, &mut body);
    let (status, _, resp) = e.request(
        "POST",
        "/process.Process/StreamInput",
        "application/connect+json",
        &[],
        &body,
    );
    assert_eq!(status, 200);
    let mut d = Decoder::default();
    d.push(&resp);
    let end = EndStream::from_json(&d.next().unwrap().unwrap().payload).unwrap();
    assert_eq!(end.error.unwrap().code, Code::InvalidArgument);
}

#[test]
fn filesystem_errors() {
    let e = Envd::start();
    let file = e.path("file.txt");
    std::fs::write(&file, "x").unwrap();
    let missing = e.path("missing");
    let stat = |p: &str| {
        e.unary(
            "filesystem.Filesystem/Stat",
            &format!(r#"{{"path":"{p}"}}"#),
        )
    };
    assert_eq!(code(stat(&missing)), Code::NotFound);
    assert_eq!(code(stat("~other/x")), Code::InvalidArgument);
    let mkdir = |p: &str| {
        e.unary(
            "filesystem.Filesystem/MakeDir",
            &format!(r#"{{"path":"{p}"}}"#),
        )
    };
    assert!(mkdir(&e.path("d/e")).is_ok());
    assert_eq!(code(mkdir(&e.path("d/e"))), Code::AlreadyExists);
    assert_eq!(code(mkdir(&file)), Code::InvalidArgument);
    assert_eq!(
        code(mkdir(&format!("{file}/sub"))),
        Code::Internal,
        "a parent that is a file"
    );
    let mv = |a: &str, b: &str| {
        e.unary(
            "filesystem.Filesystem/Move",
            &format!(r#"{{"source":"{a}","destination":"{b}"}}"#),
        )
    };
    assert_eq!(code(mv(&missing, &e.path("x"))), Code::NotFound);
    std::fs::write(e.path("d/e/inner"), "x").unwrap();
    assert_eq!(
        code(mv(&e.path("d"), &e.path("d/e/inside"))),
        Code::Internal,
        "a directory into itself"
    );
    let list = |p: &str| {
        e.unary(
            "filesystem.Filesystem/ListDir",
            &format!(r#"{{"path":"{p}","depth":2}}"#),
        )
    };
    assert_eq!(code(list(&missing)), Code::NotFound);
    assert_eq!(code(list(&file)), Code::InvalidArgument);
    std::os::unix::fs::symlink(e.path("loop-b"), e.path("loop-a")).unwrap();
    std::os::unix::fs::symlink(e.path("loop-a"), e.path("loop-b")).unwrap();
    assert_eq!(code(list(&e.path("loop-a"))), Code::FailedPrecondition);
    assert!(
        e.unary(
            "filesystem.Filesystem/Remove",
            &format!(r#"{{"path":"{missing}"}}"#)
        )
        .is_ok()
    );
    let watch = e.stream_error(
        "filesystem.Filesystem/WatchDir",
        &format!(r#"{{"path":"{file}"}}"#),
    );
    assert_eq!(watch.code, Code::InvalidArgument);
    assert_eq!(
        e.stream_error(
            "filesystem.Filesystem/WatchDir",
            &format!(r#"{{"path":"{missing}"}}"#)
        )
        .code,
        Code::NotFound
    );
    assert_eq!(
        code(e.unary(
            "filesystem.Filesystem/CreateWatcher",
            &format!(r#"{{"path":"{missing}"}}"#)
        )),
        Code::NotFound
    );
    assert_eq!(
        code(e.unary(
            "filesystem.Filesystem/GetWatcherEvents",
            r#"{"watcherId":"wnope"}"#
        )),
        Code::NotFound
    );
    assert_eq!(
        code(e.unary(
            "filesystem.Filesystem/RemoveWatcher",
            r#"{"watcherId":"wnope"}"#
        )),
        Code::NotFound
    );
    // A polling watcher sees operations that completed before the call.
    let created = e
        .unary(
            "filesystem.Filesystem/CreateWatcher",
            &format!(r#"{{"path":"{}"}}"#, e.dir.display()),
        )
        .unwrap();
    let id = created.split('"').nth(3).unwrap().to_owned();
    std::fs::write(e.path("polled.txt"), "p").unwrap();
    let events = e
        .unary(
            "filesystem.Filesystem/GetWatcherEvents",
            &format!(r#"{{"watcherId":"{id}"}}"#),
        )
        .unwrap();
    assert!(
        events.contains(r#""name":"polled.txt","type":"EVENT_TYPE_CREATE""#),
        "{events}"
    );
    assert!(
        e.unary(
            "filesystem.Filesystem/RemoveWatcher",
            &format!(r#"{{"watcherId":"{id}"}}"#)
        )
        .is_ok()
    );
    assert_eq!(
        code(e.unary(
            "filesystem.Filesystem/GetWatcherEvents",
            &format!(r#"{{"watcherId":"{id}"}}"#)
        )),
        Code::NotFound
    );
}

#[test]
fn files_errors() {
    let e = Envd::start();
    let get = |q: &str| e.request("GET", &format!("/files?{q}"), "", &[], b"");
    let (status, head, body) = get(&format!("path={}", e.path("missing")));
    assert_eq!(status, 404);
    assert!(head.contains("content-type: application/json"));
    assert_eq!(
        String::from_utf8(body).unwrap(),
        format!(
            r#"{{"code":404,"message":"path '{}' does not exist"}}"#,
            e.path("missing")
        )
    );
    assert_eq!(get(&format!("path={}", e.dir.display())).0, 400);
    assert_eq!(get("path=x&username=no-such-user").0, 401);
    assert_eq!(get("path=~other/x").0, 400);
    std::fs::write(e.path("f"), "0123456789").unwrap();
    let (status, _, body) = e.request(
        "GET",
        &format!("/files?path={}", e.path("f")),
        "",
        &[("range", "bytes=2-4")],
        b"",
    );
    assert_eq!((status, body.as_slice()), (206, &b"234"[..]));
    let (status, _, _) = e.request(
        "GET",
        &format!("/files?path={}", e.path("f")),
        "",
        &[("accept-encoding", "identity;q=0")],
        b"",
    );
    assert_eq!(status, 406);
    let post = |q: &str, ct: &str, extra: &[(&str, &str)], body: &[u8]| {
        e.request("POST", &format!("/files?{q}"), ct, extra, body)
    };
    assert_eq!(
        post("", "application/octet-stream", &[], b"x").0,
        400,
        "octet-stream needs a path"
    );
    assert_eq!(
        post(&format!("path={}", e.path("t")), "text/plain", &[], b"x").0,
        400
    );
    assert_eq!(
        post(
            &format!("path={}", e.path("t")),
            "application/octet-stream",
            &[("content-encoding", "br")],
            b"x"
        )
        .0,
        400
    );
    assert_eq!(
        post(
            &format!("path={}", e.path("t")),
            "application/octet-stream",
            &[("x-metadata-k", "caf\u{e9}")],
            b"x"
        )
        .0,
        400
    );
    assert_eq!(
        post(
            &format!("path={}", e.path("t")),
            "application/octet-stream",
            &[("content-encoding", "gzip")],
            b"not gzip"
        )
        .0,
        400
    );
    assert!(
        !e.dir.join("t").exists(),
        "failed uploads leave nothing behind"
    );
    let multipart = |parts: &[&str]| {
        let mut body = String::new();
        for name in parts {
            body.push_str(&format!("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\r\ndata\r\n"));
        }
        body.push_str("--B--\r\n");
        body
    };
    let twice = multipart(&[&e.path("dup"), &e.path("dup")]);
    let (status, _, body) = post("", "multipart/form-data; boundary=B", &[], twice.as_bytes());
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        std::fs::read_to_string(e.path("dup")).unwrap(),
        "data",
        "parts before the duplicate stay written"
    );
    assert_eq!(
        post(
            "",
            "multipart/form-data; boundary=B",
            &[],
            b"--B\r\ngarbage"
        )
        .0,
        500
    );
    assert_eq!(
        post("", "multipart/form-data", &[], b"").0,
        400,
        "no boundary"
    );
    let (status, _, body) = post(
        "",
        "multipart/form-data; boundary=B",
        &[],
        multipart(&[&e.path("ok.txt")]).as_bytes(),
    );
    assert_eq!(status, 200);
    assert_eq!(
        String::from_utf8(body).unwrap(),
        format!(
            r#"[{{"path":"{}","name":"ok.txt","type":"file"}}]"#,
            e.path("ok.txt")
        )
    );
    let leftovers: Vec<_> = std::fs::read_dir(&e.dir)
        .unwrap()
        .flatten()
        .filter(|f| f.file_name().to_string_lossy().starts_with(".envd-upload-"))
        .collect();
    assert!(leftovers.is_empty(), "no staging files remain");
}
