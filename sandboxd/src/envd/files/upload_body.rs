//! Reading an upload's body: drained to its end even when the upload is refused, inflated when
//! gzip-encoded, and the file names of its multipart parts.

use std::io;
use std::pin::Pin;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use hyper::body::Incoming;
use hyper::header;

use super::FilesError;

/// An upload's body as a stream of bytes.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, io::Error>> + Send>>;

/// How much of a refused upload is read and dropped before the connection is given up.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

/// Reads a request body as the handler asks for it, on the handler's own task (no hop to a
/// reader task per request). Dropped before the end (the handler refused the upload), it leaves
/// a task reading and dropping the rest, up to a limit, so the client that is still sending
/// receives the answer instead of a reset connection.
pub fn body_stream(body: Incoming) -> ByteStream {
    Box::pin(UploadBody { body: Some(body) })
}

/// The body's data frames; `None` once the body has ended or failed.
struct UploadBody {
    body: Option<Incoming>,
}

impl Stream for UploadBody {
    type Item = Result<Bytes, io::Error>;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use hyper::body::Body as _;
        use std::task::Poll;
        loop {
            let Some(body) = self.body.as_mut() else {
                return Poll::Ready(None);
            };
            match std::task::ready!(Pin::new(body).poll_frame(cx)) {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        return Poll::Ready(Some(Ok(data)));
                    }
                }
                Some(Err(e)) => {
                    self.body = None;
                    return Poll::Ready(Some(Err(io::Error::other(e))));
                }
                None => {
                    self.body = None;
                    return Poll::Ready(None);
                }
            }
        }
    }
}

impl Drop for UploadBody {
    fn drop(&mut self) {
        use hyper::body::Body as _;
        let Some(body) = self.body.take().filter(|b| !b.is_end_stream()) else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            use http_body_util::BodyExt;
            let mut body = body;
            let mut discarded = 0;
            while let Some(Ok(frame)) = body.frame().await {
                discarded += frame.data_ref().map_or(0, Bytes::len);
                if discarded > DRAIN_LIMIT {
                    return;
                }
            }
        });
    }
}

/// The body as bytes, inflated when it is gzip-encoded.
pub fn decoded_body(
    headers: &hyper::HeaderMap,
    body: ByteStream,
) -> Result<ByteStream, FilesError> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("") | Some("identity") => Ok(body),
        Some("gzip") => Ok(Box::pin(inflate(body))),
        Some(other) => Err(FilesError::bad_request(format!(
            "unsupported content encoding '{other}' (only gzip)"
        ))),
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

/// The `filename` of a multipart part's Content-Disposition (`filename*=UTF-8''…` preferred,
/// its `%XX` escapes decoded, a `+` kept as it is), taken verbatim: it may be a full path.
pub fn part_filename(disposition: &str) -> Option<String> {
    let mut plain = None;
    for param in disposition.split(';').skip(1) {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name == "filename*" {
            let encoded = value.split_once("''").map_or(value, |(_, v)| v);
            let decoded = percent_encoding::percent_decode_str(encoded).decode_utf8_lossy();
            return Some(decoded.into_owned());
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
}
