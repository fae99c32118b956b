//! Serving HTTP/1.1 and h2c connections from a listener until the process ends, each on a task
//! of its own: the accept loop of the daemons inside a sandbox (envd, the code-interpreter
//! server).

use std::convert::Infallible;
use std::future::Future;

use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

/// Accepts connections on `listener` forever, answering each request with `handle`; `name`
/// prefixes the log line of a failed accept.
pub async fn serve<H, F, B>(listener: tokio::net::TcpListener, name: &'static str, handle: H)
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<Response<B>, Infallible>> + Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            // Out of descriptors or a connection reset before accept: keep serving.
            Err(e) => {
                eprintln!("{name}: accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let handle = handle.clone();
        tokio::spawn(async move {
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), hyper::service::service_fn(handle))
                .await;
        });
    }
}
