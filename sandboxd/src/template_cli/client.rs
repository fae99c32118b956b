//! The few REST calls `template build` makes, over plain HTTP/1.1 to a sandboxd (which serves
//! `http://` only): JSON in and out, the API key as `X-API-Key`, and the server's `message`
//! as the error of a failed call.

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::Value;

pub struct Api {
    /// `host:port`.
    authority: String,
    key: String,
}

impl Api {
    pub fn new(url: &str, key: &str) -> anyhow::Result<Api> {
        Ok(Api {
            authority: authority_of(url)?.to_string(),
            key: key.to_string(),
        })
    }

    /// A JSON call; the reply's JSON (`null` for an empty reply).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let reply = self
            .send(
                method,
                &self.authority,
                path,
                body,
                "application/json",
                true,
            )
            .await?;
        if reply.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&reply)
            .with_context(|| format!("{method} {path}: the reply is not JSON"))
    }

    /// Whether a template of this name exists (the SDKs' `Template.exists`).
    pub async fn template_exists(&self, name: &str) -> anyhow::Result<bool> {
        let path = format!(
            "/templates/aliases/{}",
            percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC)
        );
        match self.call("GET", &path, None).await {
            Ok(_) => Ok(true),
            Err(e) if e.downcast_ref::<Status>().is_some_and(|s| s.0 == 404) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `PUT`s an archive to an upload link the server gave; the link authorises the upload
    /// itself, so the API key is not sent (as the SDK does).
    pub async fn upload(&self, url: &str, archive: Vec<u8>) -> anyhow::Result<()> {
        let authority = authority_of(url)?;
        let path = &url[url.find(authority).unwrap_or(0) + authority.len()..];
        self.send("PUT", authority, path, archive, "application/x-tar", false)
            .await
            .map(drop)
    }

    async fn send(
        &self,
        method: &str,
        authority: &str,
        path: &str,
        body: Vec<u8>,
        content_type: &str,
        with_key: bool,
    ) -> anyhow::Result<Bytes> {
        let stream = tokio::net::TcpStream::connect(authority)
            .await
            .with_context(|| format!("connecting to sandboxd at {authority}"))?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, authority)
            .header(hyper::header::CONTENT_TYPE, content_type);
        if with_key {
            request = request.header(envd_protocol::HEADER_API_KEY, &self.key);
        }
        let request = request.body(Full::new(Bytes::from(body)))?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let reply = response.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            let message = serde_json::from_slice::<Value>(&reply)
                .ok()
                .and_then(|v| v["message"].as_str().map(str::to_string))
                .unwrap_or_else(|| String::from_utf8_lossy(&reply).into_owned());
            return Err(anyhow::Error::new(Status(status.as_u16()))
                .context(format!("{method} {path}: {status}: {message}")));
        }
        Ok(reply)
    }
}

/// The HTTP status of a failed call, for callers that treat some as answers.
#[derive(Debug)]
struct Status(u16);

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}", self.0)
    }
}

impl std::error::Error for Status {}

/// `host:port` of an `http://` URL.
fn authority_of(url: &str) -> anyhow::Result<&str> {
    let Some(rest) = url.strip_prefix("http://") else {
        bail!("{url}: sandboxd is reached over http:// only");
    };
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        bail!("{url}: no host");
    }
    if authority.contains(':') {
        Ok(authority)
    } else {
        bail!("{url}: give the port (sandboxd has no default one)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls_with_a_port() {
        assert_eq!(
            authority_of("http://127.0.0.1:3000/x").unwrap(),
            "127.0.0.1:3000"
        );
        assert!(authority_of("https://127.0.0.1:3000").is_err());
        assert!(authority_of("http://localhost").is_err());
    }
}
