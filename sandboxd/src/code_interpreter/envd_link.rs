//! The one question the server asks the sandbox's envd: its env vars (`GET /envs`), with the
//! request's `X-Access-Token`. envd holds the sandbox's token (set by `/init`, also for a
//! pooled sandbox claimed later), so its answer is the token check too: 401 means the
//! request may not run code, and the server keeps no copy of the token.

use std::collections::HashMap;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;

pub enum Envs {
    Allowed(HashMap<String, String>),
    Unauthorized,
}

pub async fn sandbox_envs(envd: SocketAddr, access_token: Option<&[u8]>) -> anyhow::Result<Envs> {
    let stream = tokio::net::TcpStream::connect(envd).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let mut request = Request::get("/envs").header(hyper::header::HOST, envd.to_string());
    if let Some(token) = access_token {
        request = request.header(envd_protocol::HEADER_ACCESS_TOKEN, token);
    }
    let response = sender
        .send_request(request.body(Empty::<Bytes>::new())?)
        .await?;
    match response.status() {
        StatusCode::OK => {
            let body = response.into_body().collect().await?.to_bytes();
            Ok(Envs::Allowed(serde_json::from_slice(&body)?))
        }
        StatusCode::UNAUTHORIZED => Ok(Envs::Unauthorized),
        status => anyhow::bail!("envd answered {status}"),
    }
}
