//! `process.Process`: starting commands as a user (pipes or a terminal), streaming their output
//! to any number of attached clients, input, signals, resizing.

mod pty;
mod reaper;
mod rpc;
mod spawn;
mod table;

use std::sync::Arc;

use envd_protocol::process::path;
use hyper::body::Incoming;
use hyper::{Request, Response};

pub use reaper::{become_subreaper, start as start_reaper};
pub use table::Table;

use super::connect::{client_stream, server_stream, unary};
use super::http::Body;
use super::state::Envd;

/// Serves `/process.Process/*`; hands the request back for other paths.
pub async fn dispatch(
    envd: Arc<Envd>,
    path: &str,
    req: Request<Incoming>,
) -> Result<Response<Body>, Request<Incoming>> {
    Ok(match path {
        path::START => server_stream(envd, req, rpc::start).await,
        path::CONNECT => server_stream(envd, req, rpc::connect).await,
        path::LIST => unary(envd, req, rpc::list).await,
        path::SEND_INPUT => unary(envd, req, rpc::send_input).await,
        path::STREAM_INPUT => client_stream(envd, req, rpc::stream_input).await,
        path::SEND_SIGNAL => unary(envd, req, rpc::send_signal).await,
        path::CLOSE_STDIN => unary(envd, req, rpc::close_stdin).await,
        path::UPDATE => unary(envd, req, rpc::update).await,
        _ => return Err(req),
    })
}
