//! The Filesystem service's WatchDir stream (`filesystem.Filesystem/WatchDir`), acting as the
//! caller's `user`; `not_found` is `FileNotFoundError`. The service's unary calls are
//! JavaScript (pkg-templates/files.js), which takes their failures' mapping from the wasm.

use alloc::rc::Rc;

use envd_protocol::ConnectError;
use envd_protocol::filesystem::{
    FilesystemEvent, WatchDirRequest, WatchDirResponse, WatchEvent, path,
};

use super::{Envd, OnStarted, RequestOpts, versions};
use crate::error::{ErrorClass, NotFoundAs, Result, error};
use crate::prelude::*;
use crate::transport::codec;
use crate::transport::connect::ServerStream;
use crate::transport::exchange::Next;

const FILE: NotFoundAs = NotFoundAs::File;

/// What `watchDir` asks for.
pub struct WatchSpec {
    pub path: String,
    pub recursive: bool,
    pub include_entry: bool,
    pub allow_network_mounts: bool,
    pub user: Option<String>,
    pub timeout_ms: Option<f64>,
}

impl Envd {
    /// Opens a WatchDir stream; `then` takes it over after its start message. Recursive,
    /// entry-carrying and network-mount watches need newer envd (`TemplateError`).
    pub fn watch_dir(
        self: &Rc<Self>,
        spec: WatchSpec,
        opts: &RequestOpts,
        then: OnStarted,
    ) -> Result<Next> {
        let gates = [
            (
                spec.recursive,
                versions::RECURSIVE_WATCH,
                "use recursive watching.",
            ),
            (
                spec.include_entry,
                versions::WATCH_ENTRY_INFO,
                "include entry info in watch events.",
            ),
            (
                spec.allow_network_mounts,
                versions::WATCH_NETWORK_MOUNTS,
                "watch directories on network mounts.",
            ),
        ];
        for (wanted, version, what) in gates {
            if wanted && !self.version.is_empty() && !self.supports(version) {
                let message = ["You need to update the template to ", what].concat();
                return Err(error(ErrorClass::Template, message));
            }
        }
        let call = self.stream_options(opts, spec.timeout_ms, spec.user.as_deref());
        let request = WatchDirRequest {
            path: spec.path,
            recursive: spec.recursive,
            include_entry: spec.include_entry,
            allow_network_mounts: spec.allow_network_mounts,
        };
        let started = |bytes: &[u8]| {
            let message = codec::decode::<WatchDirResponse>(bytes)?;
            Ok(matches!(message.event, Some(WatchEvent::Start(_))).then_some(0))
        };
        self.open_started(path::WATCH_DIR, &request, call, FILE, started, then)
    }
}

/// The next watch event of `stream`, keepalives skipped; `Ok(None)` at a clean end.
pub async fn next_watch_event(
    stream: &mut ServerStream,
) -> core::result::Result<Option<FilesystemEvent>, ConnectError> {
    loop {
        let mut message = None;
        let read = &mut |bytes: &[u8]| {
            message = Some(codec::decode::<WatchDirResponse>(bytes)?);
            Ok(())
        };
        if !stream.next_message(read).await? {
            return Ok(None);
        }
        if let Some(WatchEvent::Filesystem(event)) = message.and_then(|m| m.event) {
            return Ok(Some(event));
        }
    }
}
