//! `GET /files`: streams a file as the user, gzip-compressed when the client prefers it, with
//! the headers of a static file server (length, type, Last-Modified, single ranges).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use envd_protocol::{Code, ConnectError};
use flate2::Compression;
use flate2::write::GzEncoder;
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use tokio::sync::mpsc;

use super::{FilesError, authorise, target_path};
use crate::envd::creds::{self, as_user};
use crate::envd::filesystem::io_error;
use crate::envd::http::{Body, empty_body, full_body};
use crate::envd::paths::base_name;
use crate::envd::state::Envd;

const READ_CHUNK: usize = 64 * 1024;
/// Files up to this size are read whole and answered from the request's task.
const SMALL_DOWNLOAD: u64 = 64 * 1024;

/// Which encoding to answer with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
}

/// Chooses gzip when the client lists it with q > 0 and ranks it at least as high as identity;
/// identity stays acceptable unless refused (`identity;q=0`, or `*;q=0` without identity).
/// `None` when nothing acceptable remains.
pub fn negotiate(accept_encoding: Option<&str>, allow_gzip: bool) -> Option<Encoding> {
    let (mut gzip, mut identity, mut star) = (None, None, None);
    for item in accept_encoding.unwrap_or_default().split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|v| v.trim().parse::<f32>().ok())
            })
            .next()
            .unwrap_or(1.0);
        match coding.as_str() {
            "gzip" | "x-gzip" => gzip = Some(q),
            "identity" => identity = Some(q),
            "*" => star = Some(q),
            _ => {}
        }
    }
    let gzip_q = if allow_gzip {
        gzip.or(star).unwrap_or(0.0)
    } else {
        0.0
    };
    let identity_q = identity.unwrap_or(if star == Some(0.0) { 0.0 } else { 1.0 });
    if gzip_q > 0.0 && gzip_q >= identity_q {
        Some(Encoding::Gzip)
    } else if identity_q > 0.0 {
        Some(Encoding::Identity)
    } else {
        None
    }
}

/// A single byte range `start..=end` of a file of `size` bytes from a `Range` header.
/// `Err(())` when the header is a bytes range that cannot be satisfied; `Ok(None)` to ignore it.
pub fn parse_range(header: &str, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None); // multiple ranges: answer the whole file
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let (a, b) = (a.trim(), b.trim());
    let range = if a.is_empty() {
        let n: u64 = b.parse().map_err(|_| ())?;
        if n == 0 || size == 0 {
            return Err(());
        }
        (size.saturating_sub(n), size - 1)
    } else {
        let start: u64 = a.parse().map_err(|_| ())?;
        let end = if b.is_empty() {
            size.saturating_sub(1)
        } else {
            b.parse::<u64>()
                .map_err(|_| ())?
                .min(size.saturating_sub(1))
        };
        if start >= size || end < start {
            return Err(());
        }
        (start, end)
    };
    Ok(Some(range))
}

/// `Content-Type` from the extension, else a sniff of the first bytes.
pub fn content_type(name: &str, head: &[u8]) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "log" | "md" | "py" | "sh" | "rs" | "go" | "c" | "h" | "ts" => {
            "text/plain; charset=utf-8"
        }
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "xml" => "text/xml; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "tar" => "application/x-tar",
        "wasm" => "application/wasm",
        _ if !head.is_empty() && std::str::from_utf8(head).is_ok_and(|s| !s.contains('\0')) => {
            "text/plain; charset=utf-8"
        }
        _ => "application/octet-stream",
    }
}

fn http_date(secs: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let ts = envd_protocol::Timestamp {
        seconds: secs,
        nanos: 0,
    }
    .to_rfc3339(); // YYYY-MM-DDTHH:MM:SSZ
    let (y, m, d, time) = (&ts[0..4], &ts[5..7], &ts[8..10], &ts[11..19]);
    let month = MONTHS[m.parse::<usize>().unwrap_or(1) - 1];
    format!(
        "{}, {d} {month} {y} {time} GMT",
        DAYS[secs.div_euclid(86_400).rem_euclid(7) as usize]
    )
}

/// `GET`/`HEAD /files?path=…`: the file at `path`, read as the request's user.
pub async fn download(envd: Arc<Envd>, req: Request<Incoming>) -> Response<Body> {
    match serve(envd, req).await {
        Ok(resp) => resp,
        Err(e) => e.response(),
    }
}

async fn serve(envd: Arc<Envd>, req: Request<Incoming>) -> Result<Response<Body>, FilesError> {
    let (user, params) = authorise(&envd, &req, "read")?;
    let path = target_path(&envd, &user, params.get("path").map_or("", String::as_str))?;
    let head_only = req.method() == Method::HEAD;
    if let Some(open) = creds::scoped(&user, || Ok(open_small(&path)))
        .ok()
        .flatten()
    {
        return Ok(respond(open, req.headers(), head_only));
    }
    let shown = path.display().to_string();
    let open = as_user(&user, move || open_file(path))
        .await
        .map_err(|e| match e.code {
            Code::NotFound => FilesError::new(
                StatusCode::NOT_FOUND,
                format!("path '{shown}' does not exist"),
            ),
            _ => FilesError::from(e),
        })?;
    // Metadata and the sniffed head are file reads: off the async runtime.
    let headers = req.headers().clone();
    tokio::task::spawn_blocking(move || respond(open, &headers, head_only))
        .await
        .map_err(|_| FilesError::new(StatusCode::INTERNAL_SERVER_ERROR, "the download failed"))
}

/// Opens `path` for reading (on a thread that has taken the user's credentials); a directory
/// is refused.
fn open_file(path: PathBuf) -> Result<OpenFile, ConnectError> {
    let shown = path.display().to_string();
    let file = File::open(&path).map_err(|e| io_error(&shown, e))?;
    let meta = file.metadata().map_err(|e| io_error(&shown, e))?;
    if meta.is_dir() {
        return Err(ConnectError::new(
            Code::InvalidArgument,
            format!("path '{shown}' is a directory"),
        ));
    }
    Ok(OpenFile {
        file,
        name: base_name(&path),
    })
}

/// Opens `path` when it is a regular file of at most [`SMALL_DOWNLOAD`] bytes, to be answered
/// from the request's task: for a small file, the hops to a blocking thread and back cost more
/// than the open, stat and read (and most of the tail latency on a busy machine). `None` leaves
/// the path to the blocking path, which also reports the errors.
fn open_small(path: &Path) -> Option<OpenFile> {
    let small = |m: &std::fs::Metadata| m.is_file() && m.len() <= SMALL_DOWNLOAD;
    if !small(&std::fs::metadata(path).ok()?) {
        return None;
    }
    // Non-blocking, should the path have become a FIFO since the stat: its open must not wait
    // for a writer here. Reads of a regular file ignore the flag.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    small(&file.metadata().ok()?).then(|| OpenFile {
        file,
        name: base_name(path),
    })
}

/// The file, opened (as the user) and checked to be a regular file or similar.
struct OpenFile {
    file: File,
    name: String,
}

/// Builds the response for an opened file (on a blocking thread: it reads the file).
fn respond(open: OpenFile, headers: &HeaderMap, head_only: bool) -> Response<Body> {
    let OpenFile { mut file, name } = open;
    let meta = match file.metadata() {
        Ok(m) => m,
        Err(e) => {
            return FilesError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("reading '{name}': {e}"),
            )
            .response();
        }
    };
    let size = meta.len();
    let modified = http_date(meta.mtime());
    let conditional = headers.contains_key(header::IF_MODIFIED_SINCE)
        || headers.contains_key(header::IF_NONE_MATCH);
    let range_header = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let accept = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok());
    // Ranges, conditionals and empty files are answered in identity (empty files then carry
    // the Content-Length: 0 the JS SDK relies on).
    let Some(encoding) = negotiate(accept, range_header.is_none() && !conditional && size > 0)
    else {
        return FilesError::new(
            StatusCode::NOT_ACCEPTABLE,
            "no acceptable encoding found, supported: [gzip]",
        )
        .response();
    };
    let mut head = [0u8; 512];
    let sniffed = file.read(&mut head).unwrap_or(0);
    let mut resp = Response::new(empty_body());
    describe_file(resp.headers_mut(), &name, &head[..sniffed], &modified);
    if encoding == Encoding::Identity {
        resp.headers_mut()
            .insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        if headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            == Some(modified.as_str())
        {
            *resp.status_mut() = StatusCode::NOT_MODIFIED;
            return resp;
        }
    }
    let (start, len) = match select_range(&mut resp, range_header, size) {
        Ok(range) => range,
        Err(refused) => return *refused,
    };
    let h = resp.headers_mut();
    match encoding {
        Encoding::Identity => {
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        }
        Encoding::Gzip => {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
    }
    if head_only {
        return resp;
    }
    if len > SMALL_DOWNLOAD {
        *resp.body_mut() = stream(file, start, len, encoding);
        return resp;
    }
    let mut data = Vec::new();
    let read = encode_range(file, start, len, encoding, |chunk| {
        data.extend_from_slice(&chunk);
        true
    });
    if let Err(e) = read {
        return FilesError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reading '{name}': {e}"),
        )
        .response();
    }
    *resp.body_mut() = full_body(data);
    resp
}

/// The headers that say what the file is: type (by name, else sniffed from its head), name,
/// modification time, and that the answer varies with Accept-Encoding.
fn describe_file(h: &mut HeaderMap, name: &str, head: &[u8], modified: &str) {
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(name, head)),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    let disposition = format!("inline; filename=\"{}\"", name.replace(['"', '\\'], "_"));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(modified) {
        h.insert(header::LAST_MODIFIED, v);
    }
}

/// The part of a `size`-byte file to send, as (start, length): all of it, or the one range
/// asked for (then `resp` becomes a 206 with its Content-Range); `Err` is the 416 answer.
fn select_range(
    resp: &mut Response<Body>,
    range_header: Option<&str>,
    size: u64,
) -> Result<(u64, u64), Box<Response<Body>>> {
    match range_header.map(|r| parse_range(r, size)) {
        Some(Err(())) => {
            let mut r = FilesError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "requested range not satisfiable",
            )
            .response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            Err(Box::new(r))
        }
        Some(Ok(Some((a, b)))) => {
            *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
            if let Ok(v) = HeaderValue::from_str(&format!("bytes {a}-{b}/{size}")) {
                resp.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            Ok((a, b - a + 1))
        }
        _ => Ok((0, size)),
    }
}

type Chunk = Result<Frame<Bytes>, std::io::Error>;

/// Streams `len` bytes from `start` on a blocking thread; a slow client back-pressures reads.
fn stream(file: File, start: u64, len: u64, encoding: Encoding) -> Body {
    let (tx, rx) = mpsc::channel::<Chunk>(4);
    tokio::task::spawn_blocking(move || {
        let send = |data: Vec<u8>| tx.blocking_send(Ok(Frame::data(Bytes::from(data)))).is_ok();
        if let Err(e) = encode_range(file, start, len, encoding, send) {
            // Aborts the response instead of ending it as if complete.
            let _ = tx.blocking_send(Err(e));
        }
    });
    let chunks =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    http_body_util::StreamBody::new(chunks).boxed()
}

/// Reads `len` bytes from `start`, encoded, and hands them to `send` chunk by chunk (never an
/// empty one) until it returns false.
fn encode_range(
    mut file: File,
    start: u64,
    len: u64,
    encoding: Encoding,
    mut send: impl FnMut(Vec<u8>) -> bool,
) -> std::io::Result<()> {
    let mut send = |data: Vec<u8>| data.is_empty() || send(data);
    file.seek(SeekFrom::Start(start))?;
    let mut reader = file.take(len);
    let mut gzip =
        (encoding == Encoding::Gzip).then(|| GzEncoder::new(Vec::new(), Compression::fast()));
    let mut buf = vec![0u8; READ_CHUNK.min(len as usize + 1)];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let out = match &mut gzip {
            None => buf[..n].to_vec(),
            Some(gz) => {
                gz.write_all(&buf[..n])?;
                std::mem::take(gz.get_mut())
            }
        };
        if !send(out) {
            return Ok(());
        }
    }
    if let Some(gz) = gzip {
        send(gz.finish()?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_negotiation() {
        assert_eq!(negotiate(Some("gzip, deflate"), true), Some(Encoding::Gzip));
        assert_eq!(
            negotiate(Some("gzip, deflate"), false),
            Some(Encoding::Identity)
        );
        assert_eq!(negotiate(None, true), Some(Encoding::Identity));
        assert_eq!(
            negotiate(Some("deflate, br"), true),
            Some(Encoding::Identity)
        );
        assert_eq!(
            negotiate(Some("gzip;q=0.5, identity"), true),
            Some(Encoding::Identity)
        );
        assert_eq!(negotiate(Some("gzip;q=0"), true), Some(Encoding::Identity));
        assert_eq!(negotiate(Some("identity;q=0"), true), None);
        assert_eq!(negotiate(Some("*;q=0"), true), None);
        assert_eq!(negotiate(Some("*"), true), Some(Encoding::Gzip));
        assert_eq!(
            negotiate(Some("identity;q=0, gzip"), true),
            Some(Encoding::Gzip)
        );
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-4", 10), Ok(Some((0, 4))));
        assert_eq!(parse_range("bytes=5-", 10), Ok(Some((5, 9))));
        assert_eq!(parse_range("bytes=-3", 10), Ok(Some((7, 9))));
        assert_eq!(parse_range("bytes=8-100", 10), Ok(Some((8, 9))));
        assert_eq!(parse_range("bytes=10-", 10), Err(()));
        assert_eq!(parse_range("bytes=5-2", 10), Err(()));
        assert_eq!(parse_range("bytes=0-1,3-4", 10), Ok(None));
        assert_eq!(parse_range("items=0-1", 10), Ok(None));
    }

    #[test]
    fn content_types_and_dates() {
        assert_eq!(content_type("a.txt", b""), "text/plain; charset=utf-8");
        assert_eq!(
            content_type("hostname", b"box\n"),
            "text/plain; charset=utf-8"
        );
        assert_eq!(
            content_type("blob", &[0, 159, 146]),
            "application/octet-stream"
        );
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(1_735_787_045), "Thu, 02 Jan 2025 03:04:05 GMT");
    }
}
