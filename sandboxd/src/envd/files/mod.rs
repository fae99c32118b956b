//! `/files`: download (`GET`) and upload (`POST`, multipart or octet-stream) as a user, with
//! access-token or signed-URL authorisation.

mod auth;
mod download;
mod upload;

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::creds::as_user;
use super::http::{Body, full_body, json_error};
use super::paths::{base_name, resolve};
use super::state::Envd;
use super::users::User;
use upload::HttpError;

/// Prefix of the hidden names uploads are staged under before they replace their target.
pub const STAGING_PREFIX: &[u8] = b".envd-upload-";

/// Whether a directory entry is one of envd's upload staging files (watchers skip those).
pub fn is_staging_name(name: &[u8]) -> bool {
    name.starts_with(STAGING_PREFIX)
}

fn error(status: StatusCode, message: &str) -> Response<Body> {
    json_error(status, message)
}

/// A filesystem failure as `/files` answers it: the status of its Connect code, its message.
fn from_connect_error(e: envd_protocol::ConnectError) -> HttpError {
    let status =
        StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, e.message)
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Authorises the request and finds its user (`username` query parameter or the default).
fn authorise(
    envd: &Envd,
    req: &Request<Incoming>,
    operation: &str,
) -> Result<(User, BTreeMap<String, String>), HttpError> {
    let params = auth::query_params(req.uri().query());
    let config = envd.config();
    auth::check(
        config.access_token.as_deref(),
        req.headers(),
        &params,
        operation,
        now_unix(),
    )
    .map_err(|(s, m)| (s, m.to_owned()))?;
    let name = params
        .get("username")
        .filter(|u| !u.is_empty())
        .cloned()
        .unwrap_or(config.default_user);
    let user = envd
        .users
        .lookup(&name)
        .map_err(|e| (StatusCode::UNAUTHORIZED, e.message))?;
    Ok((user, params.into_iter().collect()))
}

fn target_path(envd: &Envd, user: &User, raw: &str) -> Result<PathBuf, HttpError> {
    resolve(raw, user, envd.config().default_workdir.as_deref())
        .map_err(|e| (StatusCode::BAD_REQUEST, e.message))
}

pub async fn download(envd: Arc<Envd>, req: Request<Incoming>) -> Response<Body> {
    let target = authorise(&envd, &req, "read").and_then(|(user, params)| {
        let path = target_path(&envd, &user, params.get("path").map_or("", String::as_str))?;
        Ok((user, path))
    });
    let (user, path) = match target {
        Ok(v) => v,
        Err((status, message)) => return error(status, &message),
    };
    let shown = path.display().to_string();
    let opened = as_user(&user, move || {
        let shown = path.display().to_string();
        let file =
            std::fs::File::open(&path).map_err(|e| super::filesystem::io_error(&shown, e))?;
        let meta = file
            .metadata()
            .map_err(|e| super::filesystem::io_error(&shown, e))?;
        if meta.is_dir() {
            return Err(envd_protocol::ConnectError::new(
                envd_protocol::Code::InvalidArgument,
                format!("path '{shown}' is a directory"),
            ));
        }
        Ok(download::OpenFile {
            file,
            name: base_name(&path),
        })
    })
    .await;
    match opened {
        Ok(open) => {
            // Metadata and the sniffed head are file reads: off the async runtime.
            let (headers, head_only) = (req.headers().clone(), req.method() == Method::HEAD);
            tokio::task::spawn_blocking(move || download::respond(open, &headers, head_only))
                .await
                .unwrap_or_else(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "the download failed"))
        }
        Err(e) if e.code == envd_protocol::Code::NotFound => error(
            StatusCode::NOT_FOUND,
            &format!("path '{shown}' does not exist"),
        ),
        Err(e) => {
            let (status, message) = from_connect_error(e);
            error(status, &message)
        }
    }
}

/// A file an upload wrote.
pub struct Written {
    path: PathBuf,
    metadata: BTreeMap<String, String>,
}

type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, io::Error>> + Send>>;

/// Reads a request body to its end on its own task and hands the data over a channel. Once the
/// handler stops listening (it refused the upload) the rest is read and dropped, up to a limit,
/// so the client that is still sending receives the answer instead of a reset connection.
fn read_to_end(body: Incoming) -> ByteStream {
    use http_body_util::BodyExt;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, io::Error>>(4);
    tokio::spawn(async move {
        let mut body = body;
        let mut discarded = 0;
        while let Some(frame) = body.frame().await {
            let data = match frame {
                Ok(f) => match f.into_data() {
                    Ok(d) => d,
                    Err(_) => continue,
                },
                Err(e) => {
                    let _ = tx.send(Err(io::Error::other(e))).await;
                    return;
                }
            };
            if tx.is_closed() || tx.send(Ok(data.clone())).await.is_err() {
                discarded += data.len();
                if discarded > DRAIN_LIMIT {
                    return;
                }
            }
        }
    });
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|c| (c, rx))
    }))
}

/// The body as bytes, inflated when it is gzip-encoded.
fn decoded_body(headers: &hyper::HeaderMap, body: ByteStream) -> Result<ByteStream, HttpError> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("") | Some("identity") => Ok(body),
        Some("gzip") => Ok(Box::pin(inflate(body))),
        Some(other) => Err((
            StatusCode::BAD_REQUEST,
            format!("unsupported content encoding '{other}' (only gzip)"),
        )),
    }
}

/// Decompresses a gzip stream chunk by chunk.
fn inflate(
    input: impl Stream<Item = Result<Bytes, io::Error>> + Send + Unpin,
) -> impl Stream<Item = Result<Bytes, io::Error>> + Send {
    use std::io::Write;
    let decoder = Some(flate2::write::GzDecoder::new(Vec::new()));
    futures_util::stream::unfold((input, decoder), |(mut input, mut decoder)| async move {
        loop {
            let d = decoder.as_mut()?;
            match input.next().await {
                Some(Ok(chunk)) => {
                    if let Err(e) = d.write_all(&chunk) {
                        return Some((Err(e), (input, None)));
                    }
                    let out = std::mem::take(d.get_mut());
                    if !out.is_empty() {
                        return Some((Ok(Bytes::from(out)), (input, decoder)));
                    }
                }
                Some(Err(e)) => return Some((Err(e), (input, None))),
                None => {
                    return match decoder.take()?.finish() {
                        Ok(rest) if rest.is_empty() => None,
                        Ok(rest) => Some((Ok(Bytes::from(rest)), (input, None))),
                        Err(e) => Some((Err(e), (input, None))),
                    };
                }
            }
        }
    })
}

/// The `filename` of a multipart part's Content-Disposition (`filename*=UTF-8''…` preferred),
/// taken verbatim: it may be a full path.
fn part_filename(disposition: &str) -> Option<String> {
    let mut plain = None;
    for param in disposition.split(';').skip(1) {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name == "filename*" {
            let encoded = value.split_once("''").map_or(value, |(_, v)| v);
            let decoded =
                auth::query_params(Some(&format!("f={}", encoded.replace('+', "%2B")))).remove("f");
            if decoded.is_some() {
                return decoded;
            }
        } else if name == "filename" {
            let v = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            plain = Some(v.replace("\\\"", "\"").replace("\\\\", "\\"));
        }
    }
    plain
}

/// How much of a refused upload is read and dropped before the connection is given up.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

pub async fn upload(envd: Arc<Envd>, req: Request<Incoming>) -> Response<Body> {
    let (user, params) = match authorise(&envd, &req, "write") {
        Ok(v) => v,
        Err((status, message)) => {
            // Dropping the stream leaves the reader discarding the rest of the body.
            drop(read_to_end(req.into_body()));
            return error(status, &message);
        }
    };
    let (parts, body) = req.into_parts();
    let body = read_to_end(body);
    let metadata = match upload::metadata_from_headers(&parts.headers) {
        Ok(m) => m,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("invalid metadata: {e}")),
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let query_path = params.get("path").filter(|p| !p.is_empty()).cloned();
    let body = match decoded_body(&parts.headers, body) {
        Ok(b) => b,
        Err((status, message)) => return error(status, &message),
    };
    let written = match media.as_str() {
        "application/octet-stream" => {
            let Some(raw) = query_path else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "the path query parameter is required for application/octet-stream uploads",
                );
            };
            let target = match target_path(&envd, &user, &raw) {
                Ok(t) => t,
                Err((status, message)) => return error(status, &message),
            };
            upload::write_file(&user, target, body, &metadata)
                .await
                .map(|w| vec![w])
        }
        m if m.starts_with("multipart/") => {
            let Ok(boundary) = multer::parse_boundary(&content_type) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "multipart upload without a boundary",
                );
            };
            upload_parts(
                &envd,
                &user,
                multer::Multipart::new(body, boundary),
                query_path,
                &metadata,
            )
            .await
        }
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("unsupported content type '{content_type}'"),
            );
        }
    };
    match written {
        Ok(files) => {
            let mut out = b"[".to_vec();
            for (i, f) in files.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                envd_protocol::json::Writer::object(&mut out, |w| {
                    w.field_str("path", &f.path.to_string_lossy());
                    w.field_str("name", &base_name(&f.path));
                    w.field_str("type", "file");
                    if !f.metadata.is_empty() {
                        w.field_object("metadata", |w| {
                            for (k, v) in &f.metadata {
                                w.field_str(k, v);
                            }
                        });
                    }
                });
            }
            out.push(b']');
            let mut resp = Response::new(full_body(out));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            resp
        }
        Err((status, message)) => error(status, &message),
    }
}

/// Writes every `file` part in order; a second part for the same target is refused (the
/// parts before it stay written).
async fn upload_parts(
    envd: &Envd,
    user: &User,
    mut multipart: multer::Multipart<'static>,
    query_path: Option<String>,
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<Written>, HttpError> {
    let mut written: Vec<Written> = Vec::new();
    let mut targets = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(written),
            Err(e) => {
                return Err((
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("malformed multipart body: {e}"),
                ));
            }
        };
        if field.name() != Some("file") {
            continue;
        }
        let disposition = field
            .headers()
            .get(header::CONTENT_DISPOSITION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let Some(raw) = query_path.clone().or_else(|| part_filename(disposition)) else {
            return Err((
                StatusCode::BAD_REQUEST,
                "a file part has neither a path query parameter nor a filename".into(),
            ));
        };
        let target = resolve(&raw, user, envd.config().default_workdir.as_deref())
            .map_err(|e| (StatusCode::BAD_REQUEST, e.message))?;
        if targets.contains(&target) {
            return Err((
                StatusCode::BAD_REQUEST,
                "cannot upload multiple files to the same path".into(),
            ));
        }
        targets.push(target.clone());
        written.push(upload::write_file(user, target, Box::pin(field), metadata).await?);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_from_content_disposition() {
        assert_eq!(
            part_filename(r#"form-data; name="file"; filename="/home/user/a.txt""#).as_deref(),
            Some("/home/user/a.txt")
        );
        assert_eq!(
            part_filename(r#"form-data; name="file"; filename="dir/b.txt""#).as_deref(),
            Some("dir/b.txt")
        );
        assert_eq!(
            part_filename(
                r#"form-data; name="file"; filename="x"; filename*=UTF-8''%C3%A9t%C3%A9%20a+b.txt"#
            )
            .as_deref(),
            Some("été a+b.txt")
        );
        assert_eq!(part_filename(r#"form-data; name="file""#), None);
    }

    #[test]
    fn staging_names_are_recognised() {
        assert!(is_staging_name(b".envd-upload-0a1b"));
        assert!(!is_staging_name(b"envd-upload"));
    }
}
