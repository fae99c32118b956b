//! `/files` errors: download and upload refusals with their JSON message, that a refused
//! upload writes nothing, and how the names it writes are decoded (where a decoding slip
//! would write the wrong host file).

use super::Envd;

/// The status and message of a failed `/files` answer (`{"code": <status>, "message": …}`).
fn files_error((status, head, body): (u16, String, Vec<u8>)) -> (u16, String) {
    assert!(head.contains("content-type: application/json"), "{head}");
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["code"], status, "the body repeats the status");
    (status, json["message"].as_str().unwrap().to_owned())
}

// Download.

impl Envd {
    fn get_file(&self, query: &str, extra: &[(&str, &str)]) -> (u16, String, Vec<u8>) {
        self.request("GET", &format!("/files?{query}"), "", extra, b"")
    }

    fn post_file(
        &self,
        query: &str,
        content_type: &str,
        extra: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String, Vec<u8>) {
        self.request(
            "POST",
            &format!("/files?{query}"),
            content_type,
            extra,
            body,
        )
    }
}

#[test]
fn download_of_a_missing_file() {
    let e = Envd::start();
    let missing = e.path("missing");
    assert_eq!(
        files_error(e.get_file(&format!("path={missing}"), &[])),
        (404, format!("path '{missing}' does not exist"))
    );
}

#[test]
fn download_of_a_directory() {
    let e = Envd::start();
    let dir = e.dir.display().to_string();
    assert_eq!(
        files_error(e.get_file(&format!("path={dir}"), &[])),
        (400, format!("path '{dir}' is a directory"))
    );
}

#[test]
fn download_as_an_unknown_user() {
    let e = Envd::start();
    assert_eq!(
        files_error(e.get_file("path=x&username=no-such-user", &[])),
        (401, "invalid username: 'no-such-user'".to_owned())
    );
}

#[test]
fn download_from_an_unknown_users_home() {
    let e = Envd::start();
    assert_eq!(
        files_error(e.get_file("path=~other/x", &[])),
        (
            400,
            "path '~other/x': only '~' and '~/' are supported, not another user's home".to_owned()
        )
    );
}

#[test]
fn download_of_a_range() {
    let e = Envd::start();
    std::fs::write(e.path("f"), "0123456789").unwrap();
    let (status, _, body) = e.get_file(&format!("path={}", e.path("f")), &[("range", "bytes=2-4")]);
    assert_eq!((status, body.as_slice()), (206, &b"234"[..]));
}

#[test]
fn download_refusing_every_encoding() {
    let e = Envd::start();
    std::fs::write(e.path("f"), "0123456789").unwrap();
    assert_eq!(
        files_error(e.get_file(
            &format!("path={}", e.path("f")),
            &[("accept-encoding", "identity;q=0")]
        )),
        (
            406,
            "no acceptable encoding found, supported: [gzip]".to_owned()
        )
    );
}

// Upload. Every refused upload leaves its target absent.

/// A refused upload to `t`: its status and message, after checking `t` was not written.
fn refused_upload(
    e: &Envd,
    content_type: &str,
    extra: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let answer = e.post_file(&format!("path={}", e.path("t")), content_type, extra, body);
    assert!(!e.dir.join("t").exists(), "a refused upload leaves nothing");
    files_error(answer)
}

#[test]
fn octet_stream_upload_without_a_path() {
    let e = Envd::start();
    assert_eq!(
        files_error(e.post_file("", "application/octet-stream", &[], b"x")),
        (
            400,
            "the path query parameter is required for application/octet-stream uploads".to_owned()
        )
    );
}

#[test]
fn upload_of_an_unsupported_content_type() {
    let e = Envd::start();
    assert_eq!(
        refused_upload(&e, "text/plain", &[], b"x"),
        (400, "unsupported content type 'text/plain'".to_owned())
    );
}

#[test]
fn upload_of_an_unsupported_encoding() {
    let e = Envd::start();
    assert_eq!(
        refused_upload(
            &e,
            "application/octet-stream",
            &[("content-encoding", "br")],
            b"x"
        ),
        (
            400,
            "unsupported content encoding 'br' (only gzip)".to_owned()
        )
    );
}

#[test]
fn upload_with_non_ascii_metadata() {
    let e = Envd::start();
    assert_eq!(
        refused_upload(
            &e,
            "application/octet-stream",
            &[("x-metadata-k", "caf\u{e9}")],
            b"x"
        ),
        (
            400,
            "invalid metadata: invalid metadata value for 'k': printable ASCII only".to_owned()
        )
    );
}

#[test]
fn upload_of_broken_gzip() {
    let e = Envd::start();
    assert_eq!(
        refused_upload(
            &e,
            "application/octet-stream",
            &[("content-encoding", "gzip")],
            b"not gzip"
        ),
        (
            400,
            "reading the upload: incomplete deflate stream".to_owned()
        )
    );
}

/// A multipart body with one `file` part per name, each holding `data`.
fn multipart(names: &[&str]) -> String {
    let mut body = String::new();
    for name in names {
        body.push_str(&format!("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\r\ndata\r\n"));
    }
    body.push_str("--B--\r\n");
    body
}

const MULTIPART: &str = "multipart/form-data; boundary=B";

#[test]
fn multipart_upload_naming_one_path_twice() {
    let e = Envd::start();
    let dup = e.path("dup");
    assert_eq!(
        files_error(e.post_file("", MULTIPART, &[], multipart(&[&dup, &dup]).as_bytes())),
        (
            400,
            "cannot upload multiple files to the same path".to_owned()
        )
    );
    assert_eq!(
        std::fs::read_to_string(&dup).unwrap(),
        "data",
        "parts before the duplicate stay written"
    );
}

#[test]
fn multipart_upload_of_garbage() {
    let e = Envd::start();
    assert_eq!(
        files_error(e.post_file("", MULTIPART, &[], b"--B\r\ngarbage")),
        (
            500,
            "malformed multipart body: incomplete multipart stream".to_owned()
        )
    );
}

#[test]
fn multipart_upload_without_a_boundary() {
    let e = Envd::start();
    assert_eq!(
        files_error(e.post_file("", "multipart/form-data", &[], b"")),
        (400, "multipart upload without a boundary".to_owned())
    );
}

#[test]
fn multipart_upload_leaves_no_staging_files() {
    let e = Envd::start();
    let ok = e.path("ok.txt");
    let (status, _, body) = e.post_file("", MULTIPART, &[], multipart(&[&ok]).as_bytes());
    assert_eq!(status, 200);
    assert_eq!(
        String::from_utf8(body).unwrap(),
        format!(r#"[{{"path":"{ok}","name":"ok.txt","type":"file"}}]"#)
    );
    assert_eq!(std::fs::read_to_string(&ok).unwrap(), "data");
    let leftovers: Vec<_> = std::fs::read_dir(&e.dir)
        .unwrap()
        .flatten()
        .filter(|f| f.file_name().to_string_lossy().starts_with(".envd-upload-"))
        .collect();
    assert!(leftovers.is_empty(), "no staging files remain");
}

#[test]
fn upload_paths_are_decoded_as_go_reads_a_query() {
    let e = Envd::start();
    let query = format!("path={}/a+b%2Bc%zz.txt", e.dir.display());
    let (status, _, _) = e.post_file(&query, "application/octet-stream", &[], b"q");
    assert_eq!(status, 200);
    assert_eq!(
        std::fs::read_to_string(e.path("a b+c%zz.txt")).unwrap(),
        "q",
        "`+` is a space, `%2B` a plus, a malformed escape stays as written"
    );
}

#[test]
fn multipart_file_names_keep_a_plus() {
    let e = Envd::start();
    let name = format!("{}/%C3%A9t%C3%A9+1.txt", e.dir.display());
    let body = format!(
        "--B\r\nContent-Disposition: form-data; name=\"file\"; filename*=UTF-8''{name}\r\n\r\ndata\r\n--B--\r\n"
    );
    let (status, _, _) = e.post_file("", MULTIPART, &[], body.as_bytes());
    assert_eq!(status, 200);
    assert_eq!(
        std::fs::read_to_string(e.path("été+1.txt")).unwrap(),
        "data"
    );
}
