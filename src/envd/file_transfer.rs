//! envd's `/files`: downloads in the format asked for, and uploads as one multipart request or
//! one octet-stream request per file. File contents stay JavaScript objects end to end — the
//! response's own `text()`/`arrayBuffer()`/`blob()`/`body`, the caller's string, buffer, Blob or
//! stream as the request body — so they never pass through wasm memory, whatever their size.

use alloc::rc::Rc;

use envd_protocol::{HEADER_ACCEPT_ENCODING, HEADER_CONTENT_ENCODING};
use js_sys::{Array, JSON, Object, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use web_sys::{Blob, Response};

use super::versions::{OCTET_STREAM_UPLOADS, UPLOAD_METADATA};
use super::{Envd, RequestOpts, http_failure};
use crate::error::{ErrorClass, NotFoundAs, Result, error};
use crate::js_object::{get, headers_copy, set};
use crate::prelude::*;
use crate::transport::exchange::{Exchanged, Next, Read, Request, run};
use crate::transport::signal::CallSignal;
use crate::util::encode_uri_component;

#[wasm_bindgen(module = "/pkg-templates/bodies.js")]
extern "C" {
    #[wasm_bindgen(js_name = isStream)]
    fn is_stream(data: &JsValue) -> bool;
    #[wasm_bindgen(js_name = streamsRequestBodies)]
    fn streams_request_bodies(url: &str) -> bool;
    /// `[body, streamed]` for one octet-stream upload, or a promise of it.
    #[wasm_bindgen(js_name = uploadBody)]
    fn upload_body(data: &JsValue, gzip: bool, streaming: bool) -> JsValue;
    /// Resolves with `[FormData, false]`, a part per `[data, filename]`.
    #[wasm_bindgen(js_name = formData)]
    fn form_data(files: &Array) -> Promise;
}

const NO_WRITE_INFO: &str = "Expected to receive information about written file";

/// What `files.read` resolves with.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Bytes,
    Blob,
    /// The response body itself.
    Stream,
}

impl Format {
    /// `'text'` (the default), `'bytes'`, `'blob'` or `'stream'`.
    pub fn parse(name: Option<&str>) -> Format {
        match name {
            Some("bytes") => Format::Bytes,
            Some("blob") => Format::Blob,
            Some("stream") => Format::Stream,
            _ => Format::Text,
        }
    }
}

/// One `files.write` call.
pub struct Upload {
    /// The single-file form's path; `None` for the array form.
    pub path: Option<String>,
    /// Each file's own path (array form) and its data.
    pub files: Vec<(Option<String>, JsValue)>,
    pub user: Option<String>,
    pub gzip: bool,
    pub use_octet_stream: Option<bool>,
    pub metadata: Vec<(String, String)>,
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The first metadata entry envd would refuse: its key, and whether the key (not the value)
/// is at fault. Keys must be HTTP tokens, values printable US-ASCII.
fn invalid_metadata(metadata: &[(String, String)]) -> Option<(&str, bool)> {
    metadata.iter().find_map(|(key, value)| {
        if key.is_empty() || !key.bytes().all(is_token_byte) {
            Some((key.as_str(), true))
        } else if !value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            Some((key.as_str(), false))
        } else {
            None
        }
    })
}

/// Refuses invalid metadata with the official messages.
fn validate_metadata(metadata: &[(String, String)]) -> Result<()> {
    let Some((key, key_at_fault)) = invalid_metadata(metadata) else {
        return Ok(());
    };
    let quoted = String::from(JSON::stringify(&JsValue::from_str(key)).unwrap_or_default());
    let message = if key_at_fault {
        ["Invalid metadata key ", &quoted, ": keys must be non-empty and use only HTTP token characters (letters, digits and !#$%&'*+-.^_`|~)."].concat()
    } else {
        [
            "Invalid metadata value for key ",
            &quoted,
            ": values must be printable US-ASCII.",
        ]
        .concat()
    };
    Err(error(ErrorClass::InvalidArgument, message))
}

/// The written files an upload answered with (its parsed JSON); `{}` metadata becomes
/// `undefined`, as officially.
fn write_infos(infos: JsValue) -> Result<Array> {
    if !Array::is_array(&infos) || Array::from(&infos).length() == 0 {
        return Err(error(ErrorClass::Plain, NO_WRITE_INFO));
    }
    let infos = Array::from(&infos);
    for info in infos.iter() {
        let metadata = get(&info, "metadata");
        let empty =
            !metadata.is_object() || Object::keys(metadata.unchecked_ref::<Object>()).length() == 0;
        let value = if empty { JsValue::UNDEFINED } else { metadata };
        set(info.unchecked_ref(), "metadata", &value);
    }
    Ok(infos)
}

impl Envd {
    /// `<envd>/files?path=…&username=…`, each present only when given.
    fn files_url(&self, path: Option<&str>, user: Option<&str>) -> String {
        let mut url = [self.url.trim_end_matches('/'), "/files"].concat();
        let mut separator = '?';
        let query = [("path=", path), ("username=", self.effective_user(user))];
        for (key, value) in query.into_iter().filter_map(|(k, v)| Some((k, v?))) {
            url.push(separator);
            url.push_str(key);
            url.push_str(&encode_uri_component(value));
            separator = '&';
        }
        url
    }

    /// `GET /files`. `requestTimeoutMs` bounds the whole download, or only its handshake for
    /// `Format::Stream`, whose body goes to the caller as it is.
    pub fn read_file(
        self: &Rc<Self>,
        path: &str,
        user: Option<&str>,
        format: Format,
        gzip: bool,
        opts: &RequestOpts,
    ) -> Result<Next> {
        let timeout = self.request_timeout(opts.request_timeout_ms);
        let user_signal = opts.signal.clone();
        let (signal, read) = match format {
            Format::Stream => (
                CallSignal::for_stream(user_signal, timeout, None),
                Read::Headers,
            ),
            _ => {
                let signal = CallSignal::for_request(user_signal, timeout);
                let read = match format {
                    Format::Text => Read::Text,
                    Format::Bytes => Read::Bytes,
                    _ => Read::Blob,
                };
                (signal, read)
            }
        };
        // Without `gzip`, ask for the bytes as they are: Node's fetch would otherwise accept
        // gzip and inflate it at 8-14 MB/s. Browsers ignore the header (it is theirs to set).
        let headers = headers_copy(&self.request_headers.download);
        if gzip {
            set(&headers, HEADER_ACCEPT_ENCODING, &JsValue::from_str("gzip"));
        }
        let request = Request {
            method: "GET",
            url: self.files_url(Some(path), user),
            headers,
            body: JsValue::UNDEFINED,
            signal,
            read,
        };
        let envd = self.clone();
        let step = move |exchanged| envd.downloaded(exchanged, format);
        Ok(Next::fetch(request, Box::new(step)))
    }

    fn downloaded(&self, exchanged: Exchanged, format: Format) -> Result<Next> {
        let Exchanged { reply, signal } = exchanged;
        let reply = match reply {
            Ok(reply) => reply,
            Err(failure) => return self.fetch_failure(failure),
        };
        let (response, body) = (reply.response, reply.body);
        if !response.ok() {
            let text = match format {
                Format::Text => body,
                Format::Bytes => {
                    let bytes = Uint8Array::from(body).to_vec();
                    JsValue::from(core::str::from_utf8(&bytes).unwrap_or_default())
                }
                Format::Blob => return error_from(Blob::from(body).text(), response, signal),
                Format::Stream => return error_from(response.text()?, response, signal),
            };
            let text = text.as_string().unwrap_or_default();
            return Err(http_failure(&response, &text, NotFoundAs::File));
        }
        let empty = || response.headers().get("content-length").ok().flatten() == Some("0".into());
        match format {
            Format::Stream => {
                let stream = response.body();
                signal.release();
                Next::done(stream.map_or_else(|| Blob::new().map(|b| b.stream()), Ok)?)
            }
            // An empty file is a plain empty Blob, without the response's content type.
            Format::Blob if empty() => Next::done(Blob::new()?),
            _ => Next::done(body),
        }
    }

    /// `files.write`: octet-stream (one request per file, in parallel) when asked for, when
    /// gzip is, or — option unset — for the single-file form and when some data is a stream the
    /// runtime can send as it is read; otherwise one multipart request for all files.
    pub fn write_files(self: &Rc<Self>, upload: Upload, opts: &RequestOpts) -> Result<Next> {
        if upload.files.is_empty() {
            return Next::done(Array::new());
        }
        validate_metadata(&upload.metadata)?;
        if !upload.metadata.is_empty() && !self.supports(UPLOAD_METADATA) {
            let message = "File metadata requires envd 0.6.2 or later.";
            return Err(error(ErrorClass::Template, message));
        }
        let streaming = streams_request_bodies(&self.url);
        let has_streams = streaming && upload.files.iter().any(|(_, data)| is_stream(data));
        // The official SDK sends a single file as multipart unless asked otherwise; envd
        // writes it the same either way, and the raw body is twice as fast to send as a form.
        let by_default = has_streams || upload.path.is_some();
        let octet_stream = (upload.use_octet_stream.unwrap_or(by_default) || upload.gzip)
            && self.supports(OCTET_STREAM_UPLOADS);
        let headers = self.upload_headers(&upload, octet_stream);
        let user = upload.user.as_deref();
        let single = upload.path.as_deref();
        // Each request: its URL and its body (`[body, streamed]`) or the promise of it.
        let bodies: Vec<(String, JsValue)> = if octet_stream {
            let each = upload.files.iter().map(|(path, data)| {
                let url = self.files_url(path.as_deref().or(single), user);
                (url, upload_body(data, upload.gzip, streaming))
            });
            each.collect()
        } else {
            let files: Array = upload
                .files
                .iter()
                .map(|(path, data)| {
                    let name = path.as_deref().or(single);
                    Array::of2(data, &name.map_or(JsValue::UNDEFINED, JsValue::from))
                })
                .collect();
            vec![(self.files_url(single, user), form_data(&files).into())]
        };
        let timeout = self.request_timeout(opts.request_timeout_ms);
        let single = single.is_some();
        let mut requests: Vec<Result<Next>> = bodies
            .into_iter()
            .map(|(url, body)| {
                let (envd, headers, user_signal) =
                    (self.clone(), headers.clone(), opts.signal.clone());
                let send = move |prepared: JsValue| {
                    let prepared = Array::from(&prepared);
                    // A streamed body has no request timeout: only the caller's signal ends it.
                    let timeout = timeout.filter(|_| !prepared.get(1).is_truthy());
                    let signal = CallSignal::for_request(user_signal, timeout);
                    Ok(envd.post_files(url, headers, prepared.get(0), signal, single))
                };
                // A body ready now is sent now (see `Next::fetch`).
                match body.dyn_into::<Promise>() {
                    Ok(body) => Ok(Next::Wait(body, Box::new(send))),
                    Err(body) => send(body),
                }
            })
            .collect();
        // One request (the single-file form always) is the call itself.
        if requests.len() == 1
            && let Some(request) = requests.pop()
        {
            return request;
        }
        let all: Array = requests
            .into_iter()
            .map(|r| JsValue::from(run(r)))
            .collect();
        let step = |lists: JsValue| Next::done(Array::from(&lists).flat(1));
        Ok(Next::Wait(Promise::all(&all), Box::new(step)))
    }

    fn upload_headers(&self, upload: &Upload, octet_stream: bool) -> Object {
        let headers = if octet_stream {
            headers_copy(&self.request_headers.upload)
        } else {
            headers_copy(&self.request_headers.own)
        };
        for (key, value) in &upload.metadata {
            let name = ["X-Metadata-", key].concat();
            set(&headers, &name, &JsValue::from_str(value));
        }
        if octet_stream && upload.gzip {
            set(
                &headers,
                HEADER_CONTENT_ENCODING,
                &JsValue::from_str("gzip"),
            );
        }
        headers
    }

    /// One `POST /files` whose answer lists the written files; `single` (the single-file form)
    /// answers the one `WriteInfo` of a one-entry list, as officially.
    fn post_files(
        self: &Rc<Self>,
        url: String,
        headers: Object,
        body: JsValue,
        signal: CallSignal,
        single: bool,
    ) -> Next {
        let request = Request {
            method: "POST",
            url,
            headers,
            body,
            signal,
            read: Read::Json,
        };
        let envd = self.clone();
        let step = move |exchanged: Exchanged| {
            let reply = match exchanged.reply {
                Ok(reply) => reply,
                Err(failure) => return envd.fetch_failure(failure),
            };
            if !reply.response.ok() {
                let text = reply.body.as_string().unwrap_or_default();
                return Err(http_failure(&reply.response, &text, NotFoundAs::File));
            }
            let infos = write_infos(reply.body)?;
            Next::done(if single && infos.length() == 1 {
                infos.get(0)
            } else {
                infos.into()
            })
        };
        Next::fetch(request, Box::new(step))
    }
}

/// Rejects with the envd HTTP error once the error body (`text`) is read; `signal` keeps the
/// request alive until then.
fn error_from(text: Promise, response: Response, signal: CallSignal) -> Result<Next> {
    let step = move |text: JsValue| {
        drop(signal);
        let text = text.as_string().unwrap_or_default();
        Err(http_failure(&response, &text, NotFoundAs::File))
    };
    Ok(Next::Wait(text, Box::new(step)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(entries: &[(&str, &str)]) -> Vec<(String, String)> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn metadata_keys_must_be_tokens_and_values_printable_ascii() {
        assert_eq!(
            invalid_metadata(&pairs(&[("owner-id_1.x", "printable ~!"), ("k", "")])),
            None
        );
        for key in ["", "has space", "colon:", "ü", "a/b"] {
            assert_eq!(
                invalid_metadata(&pairs(&[("ok", "v"), (key, "v")])),
                Some((key, true))
            );
        }
        for value in ["tab\t", "é", "new\nline", "\u{7f}"] {
            assert_eq!(
                invalid_metadata(&pairs(&[("k", value)])),
                Some(("k", false))
            );
        }
    }

    #[test]
    fn formats_default_to_text() {
        assert!(Format::parse(None) == Format::Text);
        assert!(Format::parse(Some("nonsense")) == Format::Text);
        assert!(Format::parse(Some("stream")) == Format::Stream);
        assert!(Format::parse(Some("bytes")) == Format::Bytes);
        assert!(Format::parse(Some("blob")) == Format::Blob);
    }
}
