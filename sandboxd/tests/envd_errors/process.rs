//! Process service errors: Start, Connect and the calls that name a process, on unknown and on
//! live processes.

use std::io::{Read, Write};
use std::net::TcpStream;

use envd_protocol::envelope::{self, Decoder};
use envd_protocol::{Code, ConnectError, EndStream};

use super::{Envd, assert_error};

const START: &str = "process.Process/Start";
const UNKNOWN_PID: &str = r#"{"process":{"pid":999999}}"#;

#[test]
fn start_in_a_missing_cwd() {
    let e = Envd::start();
    let err = e.stream_error(
        START,
        r#"{"process":{"cmd":"/bin/true","cwd":"/does/not/exist"}}"#,
    );
    assert_eq!(
        err,
        ConnectError::new(
            Code::InvalidArgument,
            "cwd '/does/not/exist' does not exist"
        )
    );
}

#[test]
fn start_without_a_command() {
    let e = Envd::start();
    assert_eq!(
        e.stream_error(START, r#"{"process":{}}"#),
        ConnectError::new(Code::InvalidArgument, "process.cmd is required")
    );
}

#[test]
fn start_of_a_missing_program() {
    let e = Envd::start();
    assert_eq!(
        e.stream_error(START, r#"{"process":{"cmd":"no-such-program-xyz"}}"#),
        ConnectError::new(
            Code::InvalidArgument,
            "exec: \"no-such-program-xyz\": executable file not found in $PATH"
        )
    );
}

#[test]
fn start_as_an_unknown_user() {
    let e = Envd::start();
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
    let end = EndStream::from_json(d.next().unwrap().unwrap().payload).unwrap();
    assert_eq!(
        end.error.unwrap(),
        ConnectError::new(Code::Unauthenticated, "invalid username: 'no-such-user'")
    );
}

#[test]
fn start_past_its_deadline_is_killed() {
    let e = Envd::start();
    let (messages, end) = e.stream(
        START,
        r#"{"process":{"cmd":"/bin/sleep","args":["30"]},"stdin":false}"#,
        &[("connect-timeout-ms", "300")],
    );
    assert_eq!(
        end.error.unwrap(),
        ConnectError::new(
            Code::DeadlineExceeded,
            "the operation timed out (connect-timeout-ms reached)"
        )
    );
    assert!(messages[0].starts_with(r#"{"event":{"start":{"pid":"#));
}

#[test]
fn connect_to_an_unknown_pid() {
    let e = Envd::start();
    assert_eq!(
        e.stream_error("process.Process/Connect", UNKNOWN_PID),
        ConnectError::new(Code::NotFound, "process with pid 999999 not found")
    );
}

#[test]
fn connect_without_a_selector() {
    let e = Envd::start();
    assert_eq!(
        e.stream_error("process.Process/Connect", r#"{"process":{}}"#),
        ConnectError::new(
            Code::Unimplemented,
            "a process selector (pid or tag) is required"
        )
    );
}

#[test]
fn send_input_to_an_unknown_pid() {
    let e = Envd::start();
    assert_error(
        e.unary(
            "process.Process/SendInput",
            r#"{"process":{"pid":999999},"input":{"stdin":"eA=="}}"#,
        ),
        Code::NotFound,
        "process with pid 999999 not found",
    );
}

#[test]
fn send_signal_to_an_unknown_pid() {
    let e = Envd::start();
    assert_error(
        e.unary(
            "process.Process/SendSignal",
            r#"{"process":{"pid":999999},"signal":"SIGNAL_SIGKILL"}"#,
        ),
        Code::NotFound,
        "process with pid 999999 not found",
    );
}

#[test]
fn close_stdin_of_an_unknown_pid() {
    let e = Envd::start();
    assert_error(
        e.unary("process.Process/CloseStdin", UNKNOWN_PID),
        Code::NotFound,
        "process with pid 999999 not found",
    );
}

#[test]
fn update_of_an_unknown_pid() {
    let e = Envd::start();
    assert_error(
        e.unary("process.Process/Update", UNKNOWN_PID),
        Code::NotFound,
        "process with pid 999999 not found",
    );
}

#[test]
fn close_stdin_without_a_selector() {
    let e = Envd::start();
    assert_error(
        e.unary("process.Process/CloseStdin", "{}"),
        Code::Unimplemented,
        "a process selector (pid or tag) is required",
    );
}

#[test]
fn update_of_an_unknown_tag() {
    let e = Envd::start();
    assert_error(
        e.unary("process.Process/Update", r#"{"process":{"tag":"nope"}}"#),
        Code::NotFound,
        "process with tag 'nope' not found",
    );
}

#[test]
fn stream_input_before_its_start_message() {
    let e = Envd::start();
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
    let end = EndStream::from_json(d.next().unwrap().unwrap().payload).unwrap();
    assert_eq!(
        end.error.unwrap(),
        ConnectError::new(
            Code::InvalidArgument,
            "the first message must be start{process}"
        )
    );
}

/// A `sleep 30` started without stdin or pty, its Start stream kept open on its own
/// connection (dropping it ends the process); returns the stream and the pid selector JSON.
fn sleeper(e: &Envd) -> (TcpStream, String, String) {
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
    let selector = format!(r#"{{"process":{{"pid":{pid}}}"#);
    (s, pid, selector)
}

#[test]
fn stdin_input_to_a_process_without_stdin() {
    let e = Envd::start();
    let (_stream, _, sel) = sleeper(&e);
    assert_error(
        e.unary(
            "process.Process/SendInput",
            &format!(r#"{sel},"input":{{"stdin":"eA=="}}}}"#),
        ),
        Code::Internal,
        "stdin is not enabled or was closed",
    );
}

#[test]
fn pty_input_to_a_process_without_pty() {
    let e = Envd::start();
    let (_stream, _, sel) = sleeper(&e);
    assert_error(
        e.unary(
            "process.Process/SendInput",
            &format!(r#"{sel},"input":{{"pty":"eA=="}}}}"#),
        ),
        Code::Internal,
        "process has no terminal: send the input as stdin",
    );
}

#[test]
fn send_input_without_input() {
    let e = Envd::start();
    let (_stream, _, sel) = sleeper(&e);
    assert_error(
        e.unary("process.Process/SendInput", &format!("{sel}}}")),
        Code::Unimplemented,
        "input must carry stdin or pty bytes",
    );
}

#[test]
fn resize_of_a_process_without_pty() {
    let e = Envd::start();
    let (_stream, _, sel) = sleeper(&e);
    assert_error(
        e.unary(
            "process.Process/Update",
            &format!(r#"{sel},"pty":{{"size":{{"cols":10,"rows":5}}}}}}"#),
        ),
        Code::Internal,
        "process has no terminal to resize",
    );
}

#[test]
fn closing_absent_stdin_is_a_no_op() {
    let e = Envd::start();
    let (_stream, _, sel) = sleeper(&e);
    assert_eq!(
        e.unary("process.Process/CloseStdin", &format!("{sel}}}")),
        Ok("{}".to_owned())
    );
}

#[test]
fn an_unspecified_signal() {
    let e = Envd::start();
    let (_stream, _, sel) = sleeper(&e);
    assert_error(
        e.unary(
            "process.Process/SendSignal",
            &format!(r#"{sel},"signal":"SIGNAL_UNSPECIFIED"}}"#),
        ),
        Code::Unimplemented,
        "only SIGNAL_SIGTERM and SIGNAL_SIGKILL are supported",
    );
}

#[test]
fn a_killed_process_leaves_the_list_and_keeps_its_end() {
    let e = Envd::start();
    let (_stream, pid, sel) = sleeper(&e);
    let listed = e.unary("process.Process/List", "{}").unwrap();
    assert!(listed.contains(&format!(r#""pid":{pid}"#)), "{listed}");
    e.unary(
        "process.Process/SendSignal",
        &format!(r#"{sel},"signal":"SIGNAL_SIGKILL"}}"#),
    )
    .unwrap();
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
}
