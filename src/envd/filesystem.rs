//! The Filesystem service (`filesystem.Filesystem/*`): listing, stat, creating, moving and
//! removing entries, and the WatchDir stream. `not_found` is `FileNotFoundError` throughout;
//! every call acts as the caller's `user`.

use alloc::rc::Rc;

use envd_protocol::filesystem::{
    EntryInfo, EntryResponse, FilesystemEvent, ListDirRequest, ListDirResponse, MoveRequest,
    PathRequest, RemoveResponse, WatchDirRequest, WatchDirResponse, WatchEvent, path,
};
use envd_protocol::{Code, ConnectError};
use wasm_bindgen::JsValue;

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

/// The entry of a Stat or Move answer; its absence is a plain `Error` saying `missing`.
fn entry_of(res: EntryResponse, missing: &str) -> Result<EntryInfo> {
    res.entry.ok_or_else(|| error(ErrorClass::Plain, missing))
}

fn path_request(path: String) -> PathRequest {
    PathRequest { path }
}

impl Envd {
    pub fn list_dir(
        self: &Rc<Self>,
        path: String,
        depth: u32,
        opts: &RequestOpts,
        then: impl FnOnce(Vec<EntryInfo>) -> JsValue + 'static,
    ) -> Result<Next> {
        let request = ListDirRequest { path, depth };
        self.unary(
            path::LIST_DIR,
            &request,
            opts,
            FILE,
            |res: ListDirResponse| Next::done(then(res.entries)),
        )
    }

    pub fn stat(
        self: &Rc<Self>,
        path: String,
        opts: &RequestOpts,
        then: impl FnOnce(EntryInfo) -> JsValue + 'static,
    ) -> Result<Next> {
        let missing = "Expected to receive information about the file or directory";
        self.unary(path::STAT, &path_request(path), opts, FILE, move |res| {
            Next::done(then(entry_of(res, missing)?))
        })
    }

    /// `Stat`: `false` for a missing path.
    pub fn exists(self: &Rc<Self>, path: String, opts: &RequestOpts) -> Result<Next> {
        let request = path_request(path);
        self.unary_flag(path::STAT, &request, opts, Code::NotFound, FILE)
    }

    /// `MakeDir` with parents: `false` when the directory already exists.
    pub fn make_dir(self: &Rc<Self>, path: String, opts: &RequestOpts) -> Result<Next> {
        let request = path_request(path);
        self.unary_flag(path::MAKE_DIR, &request, opts, Code::AlreadyExists, FILE)
    }

    /// `Move`; `then` gets the entry at its new path.
    pub fn rename(
        self: &Rc<Self>,
        source: String,
        destination: String,
        opts: &RequestOpts,
        then: impl FnOnce(EntryInfo) -> JsValue + 'static,
    ) -> Result<Next> {
        let request = MoveRequest {
            source,
            destination,
        };
        let missing = "Expected to receive information about moved object";
        self.unary(path::MOVE, &request, opts, FILE, move |res| {
            Next::done(then(entry_of(res, missing)?))
        })
    }

    /// `Remove`, recursive; a missing path is not an error.
    pub fn remove(self: &Rc<Self>, path: String, opts: &RequestOpts) -> Result<Next> {
        self.unary(
            path::REMOVE,
            &path_request(path),
            opts,
            FILE,
            |_: RemoveResponse| Next::done(JsValue::UNDEFINED),
        )
    }

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
