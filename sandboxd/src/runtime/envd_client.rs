//! The two requests the runtime itself sends to envd: `GET /health` until it answers, then
//! `POST /init` (docs/envd.md, "POST /init"). Plain HTTP/1.1 with `Connection: close` on a
//! stream into the sandbox; nothing else needs a client here.

use std::io;

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
pub(crate) async fn init(stream: TcpStream, init: &EnvdInit) -> io::Result<()> {
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
    let headers = [(envd_protocol::HEADER_CONTENT_TYPE, "application/json")];
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
