use super::*;
use crate::{Message, base64};

#[cfg(feature = "json")]
/// The `Start` request of docs/wire.md, "Connect RPC to envd", byte for byte.
const START_JSON: &str =
    r#"{"process":{"cmd":"/bin/bash","args":["-l","-c","echo hi"]},"stdin":false}"#;

#[cfg(feature = "json")]
fn start_request() -> StartRequest {
    StartRequest {
        process: Some(ProcessConfig {
            cmd: "/bin/bash".into(),
            args: vec!["-l".into(), "-c".into(), "echo hi".into()],
            ..Default::default()
        }),
        stdin: Some(false),
        ..Default::default()
    }
}

#[cfg(feature = "json")]
fn json(m: &impl Message) -> String {
    String::from_utf8(m.to_json()).unwrap()
}

#[cfg(feature = "json")]
#[test]
fn start_request_json_is_the_documented_bytes() {
    assert_eq!(json(&start_request()), START_JSON);
    assert_eq!(
        StartRequest::decode_json(START_JSON.as_bytes()).unwrap(),
        start_request()
    );
}

#[cfg(feature = "json")]
#[test]
fn events_match_recorded_envd_json() {
    let cases = [
        (
            StartResponse::new(Event::Start(StartEvent { pid: 19644 })),
            r#"{"event":{"start":{"pid":19644}}}"#,
        ),
        (
            StartResponse::new(Event::Data(DataEvent {
                output: Some(Output::Stdout(b"hello\n".to_vec())),
            })),
            r#"{"event":{"data":{"stdout":"aGVsbG8K"}}}"#,
        ),
        (
            StartResponse::new(Event::End(EndEvent {
                exited: true,
                status: "exit status 0".into(),
                ..Default::default()
            })),
            r#"{"event":{"end":{"exited":true,"status":"exit status 0"}}}"#,
        ),
        (
            StartResponse::new(Event::End(EndEvent {
                exit_code: -1,
                exited: false,
                status: "signal: killed".into(),
                error: Some("signal: killed".into()),
            })),
            r#"{"event":{"end":{"exitCode":-1,"status":"signal: killed","error":"signal: killed"}}}"#,
        ),
        (
            StartResponse::new(Event::Keepalive(Empty)),
            r#"{"event":{"keepalive":{}}}"#,
        ),
    ];
    for (msg, text) in cases {
        assert_eq!(json(&msg), text);
        assert_eq!(StartResponse::decode_json(text.as_bytes()).unwrap(), msg);
        assert_eq!(StartResponse::decode_proto(&msg.to_proto()).unwrap(), msg);
    }
}

#[test]
fn binary_start_matches_recorded_envd_frames() {
    // Request of a hand-made binary Start and the four frames envd answered with.
    let request =
        base64::decode("CjIKCS9iaW4vYmFzaBICLWwSAi1jEh1lY2hvIGhpOyBlY2hvIGVyciA+JjI7IGV4aXQgMg==")
            .unwrap();
    let decoded = StartRequest::decode_proto(&request).unwrap();
    let config = decoded.process.as_ref().unwrap();
    assert_eq!(config.cmd, "/bin/bash");
    assert_eq!(config.args, ["-l", "-c", "echo hi; echo err >&2; exit 2"]);
    assert_eq!(decoded.to_proto(), request);

    let frames = [
        ("CgYKBAjHmwE=", Event::Start(StartEvent { pid: 19911 })),
        (
            "CgcSBQoDaGkK",
            Event::Data(DataEvent {
                output: Some(Output::Stdout(b"hi\n".to_vec())),
            }),
        ),
        (
            "CggSBhIEZXJyCg==",
            Event::Data(DataEvent {
                output: Some(Output::Stderr(b"err\n".to_vec())),
            }),
        ),
        (
            "CiQaIggEEAEaDWV4aXQgc3RhdHVzIDIiDWV4aXQgc3RhdHVzIDI=",
            Event::End(EndEvent {
                exit_code: 2,
                exited: true,
                status: "exit status 2".into(),
                error: Some("exit status 2".into()),
            }),
        ),
    ];
    for (b64, event) in frames {
        let bytes = base64::decode(b64).unwrap();
        let msg = StartResponse::new(event);
        assert_eq!(StartResponse::decode_proto(&bytes).unwrap(), msg);
        assert_eq!(msg.to_proto(), bytes);
    }
}

#[test]
fn oneof_members_are_written_even_when_empty() {
    // An empty stdout chunk and pid 0 still say which member is set.
    let data = DataEvent {
        output: Some(Output::Stdout(Vec::new())),
    };
    assert_eq!(data.to_proto(), [0x0a, 0x00]);
    assert_eq!(DataEvent::decode_proto(&data.to_proto()).unwrap(), data);
    let sel = ProcessSelector::pid(0);
    assert_eq!(sel.to_proto(), [0x08, 0x00]);
    #[cfg(feature = "json")]
    {
        assert_eq!(json(&data), r#"{"stdout":""}"#);
        assert_eq!(json(&sel), r#"{"pid":0}"#);
    }
}

#[cfg(feature = "json")]
#[test]
fn json_input_accepts_protojson_variants() {
    // snake_case names, int64/uint32 as strings, enum as number, url-safe unpadded base64,
    // unknown fields and nulls.
    let req = SendSignalRequest::decode_json(br#"{"process":{"pid":"42"},"signal":9,"extra":[1]}"#)
        .unwrap();
    assert_eq!(req.process, Some(ProcessSelector::pid(42)));
    assert_eq!(req.signal, Signal::Sigkill);
    let req = SendInputRequest::decode_json(br#"{"process":{"tag":"t"},"input":{"stdin":"-_8"}}"#)
        .unwrap();
    assert_eq!(
        req.input.unwrap().input,
        Some(Input::Stdin(vec![0xfb, 0xff]))
    );
    let end = EndEvent::decode_json(br#"{"exit_code":3,"exited":true,"error":null}"#).unwrap();
    assert_eq!((end.exit_code, end.exited, end.error), (3, true, None));
    let req = StartRequest::decode_json(br#"{"process":{"cmd":"x","envs":{"A":"1"},"cwd":""},"pty":{"size":{"cols":80,"rows":24}}}"#).unwrap();
    let p = req.process.unwrap();
    assert_eq!(p.envs.get("A").map(String::as_str), Some("1"));
    assert_eq!(p.cwd.as_deref(), Some(""));
    assert_eq!(req.pty.unwrap().size, Some(PtySize { cols: 80, rows: 24 }));
    assert_eq!(req.stdin, None);
}

#[cfg(feature = "json")]
#[test]
fn json_errors_name_the_field() {
    let err = |text: &str| {
        SendSignalRequest::decode_json(text.as_bytes())
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        err(r#"{"process":{"pid":-1}}"#),
        "process.pid: integer out of range"
    );
    assert_eq!(
        err(r#"{"signal":"SIGNAL_NOPE"}"#),
        "signal: unknown enum value \"SIGNAL_NOPE\""
    );
    assert_eq!(
        err(r#"{"process":{"pid":1,"tag":"x"}}"#),
        "process.tag: more than one member of a oneof is set"
    );
    assert_eq!(err(r#"[]"#), "expected an object, found array");
    assert!(err(r#"{"process":"#).starts_with("invalid JSON"));
    let input = SendInputRequest::decode_json(br#"{"input":{"stdin":"!!"}}"#).unwrap_err();
    assert_eq!(input.to_string(), "input.stdin: invalid base64");
}

#[test]
fn unknown_signal_numbers_decode_to_unspecified() {
    let mut bytes = Vec::new();
    crate::pb::Writer::new(&mut bytes).varint(2, 2);
    assert_eq!(
        SendSignalRequest::decode_proto(&bytes).unwrap().signal,
        Signal::Unspecified
    );
}

#[test]
fn config_round_trips_in_binary() {
    let mut envs = crate::StringMap::new();
    envs.insert("A".to_string(), "1".to_string());
    envs.insert("B".to_string(), String::new());
    let list = ListResponse {
        processes: vec![ProcessInfo {
            config: Some(ProcessConfig {
                cmd: "sleep".into(),
                args: vec!["10".into()],
                envs,
                cwd: Some(String::new()),
            }),
            pid: 7,
            tag: Some("t".into()),
        }],
    };
    assert_eq!(ListResponse::decode_proto(&list.to_proto()).unwrap(), list);
    #[cfg(feature = "json")]
    {
        let text = json(&list);
        assert_eq!(
            text,
            r#"{"processes":[{"config":{"cmd":"sleep","args":["10"],"envs":{"A":"1","B":""},"cwd":""},"pid":7,"tag":"t"}]}"#
        );
        assert_eq!(ListResponse::decode_json(text.as_bytes()).unwrap(), list);
    }
}
