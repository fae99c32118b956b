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

/// Reads a request body to its end on its own task and hands the data over a channel. Once the
/// handler stops listening (it refused the upload) the rest is read and dropped, up to a limit,
/// so the client that is still sending receives the answer instead of a reset connection.
pub fn read_to_end(body: Incoming) -> ByteStream {
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
