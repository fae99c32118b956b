//! Forwarding one request into a sandbox over a connection the runtime opens inside its
//! network namespace: HTTP/1.1 both ways, bodies streamed frame by frame, WebSocket (any)
//! upgrades tunnelled. When the sandbox stops, everything in flight is cut, not finished.

use std::error::Error;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use super::responses;
use super::server::ClientConnection;
use crate::api::RouteTarget;

type BoxError = Box<dyn Error + Send + Sync>;

pub async fn forward(
    target: RouteTarget,
    sandbox_id: &str,
    port: u16,
    mut req: Request,
) -> Response {
    let headers = req.headers().clone();
    let stream = match target.live.connect(port).await {
        Ok(stream) => stream,
        Err(_) => return responses::port_not_open(&headers, sandbox_id, port),
    };
    let _ = stream.set_nodelay(true);
    let cut = target.live.cut_token();
    // Only an HTTP/1 connection ends with its response; HTTP/2 resets just the stream.
    let client_connection = req
        .extensions()
        .get::<ClientConnection>()
        .filter(|_| req.version() < hyper::Version::HTTP_2)
        .cloned();
    let client_upgrade = wants_upgrade(req.headers()).then(|| hyper::upgrade::on(&mut req));
    prepare_request(&mut req);

    let (mut sender, connection) = match hyper::client::conn::http1::Builder::new()
        // Header names as the client wrote them (recorded by the server, see `server`), and
        // title case for the ones added here.
        .preserve_header_case(true)
        .title_case_headers(true)
        .handshake::<_, Body>(TokioIo::new(stream))
        .await
    {
        Ok(pair) => pair,
        Err(e) => return responses::upstream_failed(&headers, sandbox_id, &e.to_string()),
    };
    let connection_cut = cut.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = connection.with_upgrades() => {}
            _ = connection_cut.cancelled() => {}
        }
    });

    let mut response = match sender.send_request(req).await {
        Ok(response) => response,
        Err(_) if cut.is_cancelled() => return responses::sandbox_not_found(&headers, sandbox_id),
        Err(e) => return responses::upstream_failed(&headers, sandbox_id, &e.to_string()),
    };
    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
        if let Some(client_upgrade) = client_upgrade {
            let sandbox_upgrade = hyper::upgrade::on(&mut response);
            tokio::spawn(tunnel(client_upgrade, sandbox_upgrade, cut.clone()));
        }
    } else {
        strip_hop_by_hop(response.headers_mut());
    }
    response.map(|body| Body::new(CutBody::new(body, cut, client_connection)))
}

fn wants_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| {
                v.split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
            })
}

/// Origin-form target and a `Host` for HTTP/1.1; hop-by-hop headers stay on this hop, except
/// the pair that asks the sandbox's server to upgrade.
fn prepare_request(req: &mut Request) {
    let upgrade = wants_upgrade(req.headers());
    let authority = req.uri().authority().map(|a| a.to_string());
    let path = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    *req.uri_mut() = path.parse().unwrap_or_else(|_| Uri::from_static("/"));
    *req.version_mut() = hyper::Version::HTTP_11;
    let upgrade_value = req.headers().get(header::UPGRADE).cloned();
    let headers = req.headers_mut();
    strip_hop_by_hop(headers);
    if let (true, Some(value)) = (upgrade, upgrade_value) {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, value);
    }
    if !headers.contains_key(header::HOST)
        && let Some(host) = authority.and_then(|a| HeaderValue::from_str(&a).ok())
    {
        headers.insert(header::HOST, host);
    }
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|t| t.trim().to_ascii_lowercase()))
        .collect();
    for name in named {
        headers.remove(name.as_str());
    }
    for name in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ] {
        headers.remove(name);
    }
}

async fn tunnel(
    client: hyper::upgrade::OnUpgrade,
    sandbox: hyper::upgrade::OnUpgrade,
    cut: CancellationToken,
) {
    let (Ok(client), Ok(sandbox)) = tokio::join!(client, sandbox) else {
        return;
    };
    let mut client = TokioIo::new(client);
    let mut sandbox = TokioIo::new(sandbox);
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut sandbox) => {}
        _ = cut.cancelled() => {}
    }
}

/// A response body from the sandbox that fails (so the server aborts the connection instead
/// of ending the body cleanly) as soon as the sandbox is stopped or paused; an HTTP/1 client
/// connection is then reset, not closed.
struct CutBody {
    inner: Incoming,
    cut: Pin<Box<WaitForCancellationFutureOwned>>,
    client_connection: Option<ClientConnection>,
}

impl CutBody {
    fn new(
        inner: Incoming,
        cut: CancellationToken,
        client_connection: Option<ClientConnection>,
    ) -> CutBody {
        CutBody {
            inner,
            cut: Box::pin(cut.cancelled_owned()),
            client_connection,
        }
    }
}

impl hyper::body::Body for CutBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.cut.as_mut().poll(cx).is_ready() {
            if let Some(connection) = &this.client_connection {
                connection.reset_on_close();
            }
            return Poll::Ready(Some(Err("the sandbox stopped".into())));
        }
        Pin::new(&mut this.inner).poll_frame(cx).map_err(Into::into)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
