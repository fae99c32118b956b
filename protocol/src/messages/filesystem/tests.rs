use super::*;
use crate::Message;

fn entry() -> EntryInfo {
    let mut metadata = crate::StringMap::new();
    metadata.insert("k".to_string(), "v".to_string());
    EntryInfo {
        name: "a.txt".into(),
        file_type: FileType::File,
        path: "/home/user/dir1/a.txt".into(),
        size: 17,
        mode: 0o644,
        permissions: "-rw-r--r--".into(),
        owner: "user".into(),
        group: "user".into(),
        modified_time: Some(Timestamp {
            seconds: 1_735_787_045,
            nanos: 123_456_789,
        }),
        symlink_target: None,
        metadata,
    }
}

#[cfg(feature = "json")]
#[test]
fn entry_json_follows_protojson() {
    let text = String::from_utf8(
        EntryResponse {
            entry: Some(entry()),
        }
        .to_json(),
    )
    .unwrap();
    assert_eq!(
        text,
        r#"{"entry":{"name":"a.txt","type":"FILE_TYPE_FILE","path":"/home/user/dir1/a.txt","size":"17","mode":420,"permissions":"-rw-r--r--","owner":"user","group":"user","modifiedTime":"2025-01-02T03:04:05.123456789Z","metadata":{"k":"v"}}}"#
    );
    assert_eq!(
        EntryResponse::decode_json(text.as_bytes()).unwrap().entry,
        Some(entry())
    );
    // Numbers for int64, snake_case names, enum numbers.
    let e = EntryInfo::decode_json(br#"{"size":17,"modified_time":"2025-01-02T05:04:05.123456789+02:00","type":2,"symlink_target":"/x"}"#).unwrap();
    assert_eq!(
        (e.size, e.file_type, e.symlink_target.as_deref()),
        (17, FileType::Directory, Some("/x"))
    );
    assert_eq!(e.modified_time, entry().modified_time);
}

#[test]
fn entry_round_trips_in_binary() {
    let list = ListDirResponse {
        entries: vec![
            entry(),
            EntryInfo {
                symlink_target: Some(String::new()),
                ..entry()
            },
        ],
    };
    assert_eq!(
        ListDirResponse::decode_proto(&list.to_proto()).unwrap(),
        list
    );
}

#[cfg(feature = "json")]
#[test]
fn watch_messages_match_recorded_envd_json() {
    let start = WatchDirResponse::new(WatchEvent::Start(crate::messages::Empty));
    assert_eq!(start.to_json(), br#"{"start":{}}"#);
    let ev = WatchDirResponse::new(WatchEvent::Filesystem(FilesystemEvent {
        name: "f.txt".into(),
        event_type: EventType::Create,
        entry: None,
    }));
    let text = br#"{"filesystem":{"name":"f.txt","type":"EVENT_TYPE_CREATE"}}"#;
    assert_eq!(ev.to_json(), text);
    assert_eq!(WatchDirResponse::decode_json(text).unwrap(), ev);
    assert_eq!(WatchDirResponse::decode_proto(&ev.to_proto()).unwrap(), ev);
    let req = WatchDirRequest::decode_json(
        br#"{"path":"/p","recursive":true,"include_entry":true,"allowNetworkMounts":true}"#,
    )
    .unwrap();
    assert!(req.recursive && req.include_entry && req.allow_network_mounts);
    let id = CreateWatcherResponse {
        watcher_id: "wabc".into(),
    };
    assert_eq!(id.to_json(), br#"{"watcherId":"wabc"}"#);
    assert_eq!(
        WatcherId::decode_json(br#"{"watcher_id":"wabc"}"#)
            .unwrap()
            .watcher_id,
        "wabc"
    );
}

#[test]
fn defaults_are_omitted_in_both_codecs() {
    let empty = ListDirRequest::default();
    assert!(empty.to_proto().is_empty());
    #[cfg(feature = "json")]
    assert_eq!(empty.to_json(), b"{}");
    let depth = ListDirRequest {
        path: "/".into(),
        depth: 2,
    };
    assert_eq!(depth.to_proto(), [0x0a, 0x01, b'/', 0x10, 0x02]);
}
