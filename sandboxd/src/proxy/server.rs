//! The listener's connection loop, used instead of `axum::serve` for two things proxied traffic
//! needs from the connection itself:
//! - HTTP/1.1 header names keep the case the client sent: hyper records it per request
//!   (`preserve_header_case`) and the forwarding client writes it back, so a server inside the
//!   sandbox that reads `Host:` as sent sees it.
//! - Each request carries its [`ClientConnection`], so a response cut because its sandbox
//!   stopped can end the TCP connection with a reset. A plain close after a cut chunked body
//!   reads as a truncated response, which the Python SDK (2.45) blames on the sandbox's timeout;
//!   a reset makes it check the sandbox and report that it was killed.

use std::future::Future;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tower::ServiceExt;

/// The client's TCP connection a request arrived on (a second descriptor of its socket).
#[derive(Clone)]
pub struct ClientConnection(Arc<OwnedFd>);

impl ClientConnection {
    /// Makes closing the connection send a reset (`SO_LINGER` 0) instead of a FIN.
    pub fn reset_on_close(&self) {
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: setsockopt on a descriptor we own, with a correctly sized option value.
        unsafe {
            libc::setsockopt(
                self.0.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&raw const linger).cast(),
                size_of::<libc::linger>() as libc::socklen_t,
            );
        }
    }
}

/// Serves `app` on `listener` until `stop` completes, then waits for open connections to end.
pub async fn serve(listener: tokio::net::TcpListener, app: Router, stop: impl Future<Output = ()>) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().preserve_header_case(true);
    // WebSockets over HTTP/2 need the CONNECT protocol (as axum::serve enables it).
    builder.http2().enable_connect_protocol();
    let graceful = GracefulShutdown::new();
    let mut stop = std::pin::pin!(stop);
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                // Out of descriptors or a connection reset before accept: keep serving.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        // Streamed responses are many small writes (one per Connect frame); without NODELAY
        // each one after the first waits for the client's delayed ACK.
        let _ = tcp.set_nodelay(true);
        let Ok(socket) = tcp.as_fd().try_clone_to_owned() else {
            continue;
        };
        let connection = ClientConnection(Arc::new(socket));
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(connection.clone());
            app.clone().oneshot(req)
        });
        let served = builder
            .serve_connection_with_upgrades(TokioIo::new(tcp), service)
            .into_owned();
        let served = graceful.watch(served);
        tokio::spawn(async move {
            let _ = served.await;
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
