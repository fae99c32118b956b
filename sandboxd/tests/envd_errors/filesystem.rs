//! Filesystem service errors: missing paths, wrong kinds of entries, loops and unknown
//! watchers, each checked on the host side too where the call could have changed something.

use envd_protocol::{Code, ConnectError};

use super::{Envd, assert_error};

impl Envd {
    /// A filesystem call whose request is `{"path": <path>}`.
    fn on_path(&self, method: &str, path: &str) -> Result<String, ConnectError> {
        self.unary(
            &format!("filesystem.Filesystem/{method}"),
            &format!(r#"{{"path":"{path}"}}"#),
        )
    }

    fn file(&self) -> String {
        let file = self.path("file.txt");
        std::fs::write(&file, "x").unwrap();
        file
    }
}

#[test]
fn stat_of_a_missing_path() {
    let e = Envd::start();
    let missing = e.path("missing");
    assert_error(
        e.on_path("Stat", &missing),
        Code::NotFound,
        &format!("file not found: {missing}: No such file or directory (os error 2)"),
    );
}

#[test]
fn stat_in_an_unknown_users_home() {
    let e = Envd::start();
    assert_error(
        e.on_path("Stat", "~other/x"),
        Code::InvalidArgument,
        "path '~other/x': only '~' and '~/' are supported, not another user's home",
    );
}

#[test]
fn make_dir_that_exists() {
    let e = Envd::start();
    let dir = e.path("d/e");
    e.on_path("MakeDir", &dir).unwrap();
    assert!(std::fs::metadata(&dir).unwrap().is_dir());
    assert_error(
        e.on_path("MakeDir", &dir),
        Code::AlreadyExists,
        &format!("directory already exists: {dir}"),
    );
}

#[test]
fn make_dir_over_a_file() {
    let e = Envd::start();
    let file = e.file();
    assert_error(
        e.on_path("MakeDir", &file),
        Code::InvalidArgument,
        &format!("path already exists but is not a directory: {file}"),
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
}

#[test]
fn make_dir_under_a_file() {
    let e = Envd::start();
    let file = e.file();
    assert_error(
        e.on_path("MakeDir", &format!("{file}/sub")),
        Code::Internal,
        &format!("creating directory '{file}/sub': Not a directory (os error 20)"),
    );
}

impl Envd {
    fn move_entry(&self, from: &str, to: &str) -> Result<String, ConnectError> {
        self.unary(
            "filesystem.Filesystem/Move",
            &format!(r#"{{"source":"{from}","destination":"{to}"}}"#),
        )
    }

    fn list(&self, path: &str) -> Result<String, ConnectError> {
        self.unary(
            "filesystem.Filesystem/ListDir",
            &format!(r#"{{"path":"{path}","depth":2}}"#),
        )
    }
}

#[test]
fn move_of_a_missing_path() {
    let e = Envd::start();
    let missing = e.path("missing");
    assert_error(
        e.move_entry(&missing, &e.path("x")),
        Code::NotFound,
        &format!("source file not found: {missing}: No such file or directory (os error 2)"),
    );
    assert!(!e.dir.join("x").exists());
}

#[test]
fn move_of_a_directory_into_itself() {
    let e = Envd::start();
    std::fs::create_dir_all(e.path("d/e")).unwrap();
    std::fs::write(e.path("d/e/inner"), "x").unwrap();
    assert_error(
        e.move_entry(&e.path("d"), &e.path("d/e/inside")),
        Code::Internal,
        &format!(
            "moving '{}' to '{}': Invalid argument (os error 22)",
            e.path("d"),
            e.path("d/e/inside")
        ),
    );
    assert_eq!(std::fs::read_to_string(e.path("d/e/inner")).unwrap(), "x");
}

#[test]
fn list_of_a_missing_path() {
    let e = Envd::start();
    let missing = e.path("missing");
    assert_error(
        e.list(&missing),
        Code::NotFound,
        &format!("path not found: {missing}: No such file or directory (os error 2)"),
    );
}

#[test]
fn list_of_a_file() {
    let e = Envd::start();
    let file = e.file();
    assert_error(
        e.list(&file),
        Code::InvalidArgument,
        &format!("path is not a directory: {file}"),
    );
}

#[test]
fn list_of_a_symlink_loop() {
    let e = Envd::start();
    std::os::unix::fs::symlink(e.path("loop-b"), e.path("loop-a")).unwrap();
    std::os::unix::fs::symlink(e.path("loop-a"), e.path("loop-b")).unwrap();
    assert_error(
        e.list(&e.path("loop-a")),
        Code::FailedPrecondition,
        &format!(
            "symlink loop at {}: Too many levels of symbolic links (os error 40)",
            e.path("loop-a")
        ),
    );
}

#[test]
fn remove_of_a_missing_path_succeeds() {
    let e = Envd::start();
    assert_eq!(e.on_path("Remove", &e.path("missing")), Ok("{}".to_owned()));
}

#[test]
fn watch_of_a_file() {
    let e = Envd::start();
    let file = e.file();
    assert_eq!(
        e.stream_error(
            "filesystem.Filesystem/WatchDir",
            &format!(r#"{{"path":"{file}"}}"#)
        ),
        ConnectError::new(
            Code::InvalidArgument,
            format!("path is not a directory: {file}")
        )
    );
}

#[test]
fn watch_of_a_missing_path() {
    let e = Envd::start();
    let missing = e.path("missing");
    assert_eq!(
        e.stream_error(
            "filesystem.Filesystem/WatchDir",
            &format!(r#"{{"path":"{missing}"}}"#)
        ),
        ConnectError::new(
            Code::NotFound,
            format!("watching '{missing}': No such file or directory (os error 2)")
        )
    );
}

#[test]
fn a_watcher_of_a_missing_path() {
    let e = Envd::start();
    let missing = e.path("missing");
    assert_error(
        e.on_path("CreateWatcher", &missing),
        Code::NotFound,
        &format!("watching '{missing}': No such file or directory (os error 2)"),
    );
}

#[test]
fn events_of_an_unknown_watcher() {
    let e = Envd::start();
    assert_error(
        e.unary(
            "filesystem.Filesystem/GetWatcherEvents",
            r#"{"watcherId":"wnope"}"#,
        ),
        Code::NotFound,
        "watcher with id 'wnope' not found",
    );
}

#[test]
fn removal_of_an_unknown_watcher() {
    let e = Envd::start();
    assert_error(
        e.unary(
            "filesystem.Filesystem/RemoveWatcher",
            r#"{"watcherId":"wnope"}"#,
        ),
        Code::NotFound,
        "watcher with id 'wnope' not found",
    );
}

#[test]
fn a_polling_watcher_sees_earlier_operations_until_removed() {
    let e = Envd::start();
    let created = e
        .on_path("CreateWatcher", &e.dir.display().to_string())
        .unwrap();
    let id = created.split('"').nth(3).unwrap().to_owned();
    std::fs::write(e.path("polled.txt"), "p").unwrap();
    let events = |id: &str| {
        e.unary(
            "filesystem.Filesystem/GetWatcherEvents",
            &format!(r#"{{"watcherId":"{id}"}}"#),
        )
    };
    let seen = events(&id).unwrap();
    assert!(
        seen.contains(r#""name":"polled.txt","type":"EVENT_TYPE_CREATE""#),
        "{seen}"
    );
    e.unary(
        "filesystem.Filesystem/RemoveWatcher",
        &format!(r#"{{"watcherId":"{id}"}}"#),
    )
    .unwrap();
    assert_error(
        events(&id),
        Code::NotFound,
        &format!("watcher with id '{id}' not found"),
    );
}
