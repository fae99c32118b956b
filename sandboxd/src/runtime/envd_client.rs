//! The requests the runtime itself sends to envd: `GET /health` until it answers, then
//! `POST /init` (docs/envd.md, "POST /init"), plain HTTP/1.1 with `Connection: close` on a
//! stream into the sandbox; and, for template build steps, a file upload (`POST /files`) and a
//! command run to its end (`process.Process/Start`, a Connect server stream).

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use base64::Engine;
use bytes::Bytes;
use envd_protocol::envelope::{self, Decoder};
use envd_protocol::process::{
    self as rpc, DataEvent, Event, Output, ProcessConfig, StartRequest, StartResponse,
};
use envd_protocol::{HEADER_AUTHORIZATION, HEADER_CONTENT_TYPE, Message};
use futures_util::TryStreamExt;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::EnvdInit;

/// Largest reply we read (envd's answers to these two requests are empty or tiny).
const MAX_REPLY: u64 = 64 * 1024;

/// Whether envd answers `/health` with a success status.
pub(crate) async fn healthy(stream: TcpStream) -> io::Result<bool> {
    let (status, _) = request(stream, "GET", "/health", &[], b"").await?;
    Ok((200..300).contains(&status))
}

/// Sends `/init` and fails unless envd accepts it.
pub(crate) async fn init(
    stream: TcpStream,
    init: &EnvdInit,
    current_token: Option<&str>,
) -> io::Result<()> {
    let mut body = json!({ "envVars": init.env_vars });
    if let Some(token) = &init.access_token {
        body["accessToken"] = json!(token);
    }
    if !init.default_user.is_empty() {
        body["defaultUser"] = json!(init.default_user);
    }
    if let Some(workdir) = init.default_workdir.as_ref().filter(|w| !w.is_empty()) {
        body["defaultWorkdir"] = json!(workdir);
    }
    let body = body.to_string();
    let mut headers = vec![(envd_protocol::HEADER_CONTENT_TYPE, "application/json")];
    // A configured envd takes a new configuration only from who knows its current token.
    if let Some(token) = current_token {
        headers.push((envd_protocol::HEADER_ACCESS_TOKEN, token));
    }
    let (status, reply) = request(stream, "POST", "/init", &headers, body.as_bytes()).await?;
    if !(200..300).contains(&status) {
        return Err(io::Error::other(format!(
            "envd refused /init: HTTP {status}: {}",
            String::from_utf8_lossy(&reply)
        )));
    }
    Ok(())
}

async fn request(
    mut stream: TcpStream,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<(u16, Vec<u8>)> {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut reply = Vec::new();
    (&mut stream)
        .take(MAX_REPLY)
        .read_to_end(&mut reply)
        .await?;
    parse_reply(&reply)
}

/// A command for [`run`] and [`spawn`]: `cmd args...` as `user`, with `envs` added to envd's
/// environment; `access_token` is the sandbox's envd token when it has one.
pub(crate) struct Command<'a> {
    pub user: &'a str,
    pub cmd: &'a str,
    pub args: Vec<String>,
    pub envs: BTreeMap<String, String>,
    pub cwd: Option<String>,
    pub access_token: Option<&'a str>,
}

impl<'a> Command<'a> {
    /// `/bin/bash -l -c <script>`, as the SDKs run commands.
    pub fn shell(user: &'a str, script: &str, access_token: Option<&'a str>) -> Command<'a> {
        Command {
            user,
            cmd: "/bin/bash",
            args: vec!["-l".into(), "-c".into(), script.to_string()],
            envs: BTreeMap::new(),
            cwd: None,
            access_token,
        }
    }
}

/// Runs `command` through envd and returns its exit code once it ended (-1 when a signal
/// ended it); each chunk of its output (stdout and stderr alike) goes to `output` as it comes.
pub(crate) async fn run(
    stream: TcpStream,
    command: Command<'_>,
    mut output: impl FnMut(&[u8]),
) -> anyhow::Result<i32> {
    let mut events = Events::start(stream, command).await?;
    while let Some(event) = events.next().await? {
        match event {
            Event::Data(DataEvent {
                output: Some(Output::Stdout(b) | Output::Stderr(b) | Output::Pty(b)),
            }) => output(&b),
            Event::End(end) => return Ok(if end.exited { end.exit_code } else { -1 }),
            _ => {}
        }
    }
    anyhow::bail!("envd closed the command's stream before it ended")
}

/// Starts `command` through envd and returns its pid once it runs; it keeps running in the
/// sandbox (envd owns it) after this returns.
pub(crate) async fn spawn(stream: TcpStream, command: Command<'_>) -> anyhow::Result<u32> {
    let mut events = Events::start(stream, command).await?;
    while let Some(event) = events.next().await? {
        if let Event::Start(start) = event {
            return Ok(start.pid);
        }
    }
    anyhow::bail!("envd closed the command's stream before it started")
}

/// The events of a `process.Process/Start` stream.
struct Events {
    body: hyper::body::Incoming,
    decoder: Decoder,
}

impl Events {
    async fn start(stream: TcpStream, command: Command<'_>) -> anyhow::Result<Events> {
        let request = StartRequest {
            process: Some(ProcessConfig {
                cmd: command.cmd.to_string(),
                args: command.args,
                envs: command.envs.into_iter().collect(),
                cwd: command.cwd,
            }),
            ..StartRequest::default()
        };
        let mut body = Vec::new();
        envelope::encode(0, &request.to_proto(), &mut body);
        let mut request = hyper::Request::post(rpc::path::START)
            .header(HEADER_CONTENT_TYPE, "application/connect+proto")
            .header(HEADER_AUTHORIZATION, basic_auth(command.user));
        if let Some(token) = command.access_token {
            request = request.header(envd_protocol::HEADER_ACCESS_TOKEN, token);
        }
        let body = Full::new(Bytes::from(body)).map_err(|e| match e {}).boxed();
        let response = send(stream, request.body(body)?).await?;
        let status = response.status();
        let body = response.into_body();
        if !status.is_success() {
            let text = body.collect().await?.to_bytes();
            anyhow::bail!(
                "envd refused the command: HTTP {status}: {}",
                String::from_utf8_lossy(&text)
            );
        }
        Ok(Events {
            body,
            decoder: Decoder::default(),
        })
    }

    /// The next event; `None` when the stream ended without an error message.
    async fn next(&mut self) -> anyhow::Result<Option<Event>> {
        loop {
            while let Some(message) = self.decoder.next().map_err(|e| anyhow::anyhow!("{e:?}"))? {
                if message.is_end_stream() {
                    let end = String::from_utf8_lossy(message.payload);
                    anyhow::bail!("envd ended the command's stream: {end}");
                }
                let mut event = StartResponse::default();
                event.merge_proto(message.payload)?;
                if let Some(event) = event.event.and_then(|e| e.event) {
                    return Ok(Some(event));
                }
            }
            let Some(frame) = self.body.frame().await else {
                return Ok(None);
            };
            if let Ok(data) = frame?.into_data() {
                self.decoder.push(&data);
            }
        }
    }
}

/// Writes the host file `from` to `to` inside the sandbox, owned by `user` (`POST /files`).
pub(crate) async fn upload(
    stream: TcpStream,
    from: &Path,
    to: &str,
    user: &str,
) -> anyhow::Result<()> {
    let file = tokio::fs::File::open(from).await?;
    let chunks = tokio_util::io::ReaderStream::new(file).map_ok(Frame::data);
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("path", to)
        .append_pair("username", user)
        .finish();
    let response = send(
        stream,
        hyper::Request::post(format!("/files?{query}"))
            .header(HEADER_CONTENT_TYPE, "application/octet-stream")
            .body(BoxBody::new(StreamBody::new(chunks)))?,
    )
    .await?;
    let status = response.status();
    if !status.is_success() {
        let text = response.into_body().collect().await?.to_bytes();
        anyhow::bail!(
            "envd refused the upload: HTTP {status}: {}",
            String::from_utf8_lossy(&text)
        );
    }
    Ok(())
}

async fn send(
    stream: TcpStream,
    mut request: hyper::Request<BoxBody<Bytes, io::Error>>,
) -> anyhow::Result<hyper::Response<hyper::body::Incoming>> {
    request.headers_mut().insert(
        hyper::header::HOST,
        hyper::header::HeaderValue::from_static("localhost"),
    );
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender.send_request(request).await?)
}

/// envd takes the user of a call from `Authorization: Basic base64(user:)`.
fn basic_auth(user: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:"));
    format!("Basic {encoded}")
}

/// (status, body) of an HTTP/1.1 response read to the end of the connection.
fn parse_reply(reply: &[u8]) -> io::Result<(u16, Vec<u8>)> {
    let invalid = || io::Error::new(io::ErrorKind::InvalidData, "malformed HTTP reply from envd");
    let text = String::from_utf8_lossy(reply);
    let status_line = text.lines().next().ok_or_else(invalid)?;
    let mut parts = status_line.split_whitespace();
    if !parts.next().is_some_and(|v| v.starts_with("HTTP/1.")) {
        return Err(invalid());
    }
    let status = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(invalid)?;
    let body_start = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(reply.len(), |p| p + 4);
    Ok((status, reply[body_start..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_parsed_into_status_and_body() {
        let (status, body) =
            parse_reply(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 3\r\n\r\nno!").unwrap();
        assert_eq!((status, body.as_slice()), (401, &b"no!"[..]));
        assert_eq!(
            parse_reply(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap().0,
            204
        );
        assert!(parse_reply(b"garbage").is_err());
        assert!(parse_reply(b"").is_err());
    }
}
