//! `sandbox.files`: listing, stat, create/move/remove, and watching directories. Reading and
//! writing files (`/files`, plain HTTP) are JavaScript: pkg-templates/files.js.

use alloc::rc::Rc;

use envd_protocol::filesystem::{EntryInfo, FileType};
use js_sys::{Array, Function, Object, Promise};
use wasm_bindgen::prelude::*;

use super::opts::{boolean, function, number, request_opts, string};

/// A path argument: wasm-bindgen glue for a `JsValue` is smaller than for a `String`.
fn path_arg(v: &JsValue) -> String {
    v.as_string().unwrap_or_default()
}
use super::watch::WatchHandle;
use crate::envd::filesystem::WatchSpec;
use crate::envd::{Envd, RequestOpts};
use crate::error::{ErrorClass, error};
use crate::js_object::set;
use crate::prelude::*;
use crate::transport::exchange::{Next, run};

#[wasm_bindgen]
pub struct Filesystem {
    envd: Rc<Envd>,
}

impl Filesystem {
    pub fn new(envd: Rc<Envd>) -> Filesystem {
        Filesystem { envd }
    }

    /// `requestTimeoutMs`, `signal` and `user` of a filesystem RPC.
    fn rpc_opts(&self, v: &JsValue) -> RequestOpts {
        let user = string(v, "user");
        self.envd.as_user(request_opts(v), user.as_deref())
    }
}

#[wasm_bindgen(module = "/pkg-templates/promises.js")]
extern "C" {
    #[wasm_bindgen(js_name = entryInfo)]
    fn entry_object(
        name: &str,
        file_type: u32,
        path: &str,
        size: f64,
        mode: u32,
        permissions: &str,
        owner: &str,
        group: &str,
        modified_ms: Option<f64>,
        symlink_target: Option<&str>,
        metadata: JsValue,
    ) -> JsValue;
}

/// The official `EntryInfo`: `Date` modified time, `undefined` for what envd left out, and
/// empty metadata as `undefined`.
pub fn entry_info(e: EntryInfo) -> JsValue {
    let modified_ms = e
        .modified_time
        .map(|t| t.seconds as f64 * 1000.0 + f64::from(t.nanos / 1_000_000));
    let metadata = if e.metadata.is_empty() {
        JsValue::UNDEFINED
    } else {
        let map = Object::new();
        for (k, v) in e.metadata {
            set(&map, &k, &v.into());
        }
        map.into()
    };
    entry_object(
        &e.name,
        e.file_type as u32,
        &e.path,
        e.size as f64,
        e.mode,
        &e.permissions,
        &e.owner,
        &e.group,
        modified_ms,
        e.symlink_target.as_deref(),
        metadata,
    )
}

/// The entries `list` reports: those of a type the SDK knows.
fn entry_list(entries: Vec<EntryInfo>) -> JsValue {
    let known = entries
        .into_iter()
        .filter(|e| e.file_type != FileType::Unspecified);
    known.map(entry_info).collect::<Array>().into()
}

#[wasm_bindgen]
impl Filesystem {
    /// `list(path, { depth })`: entries down to `depth` levels (default 1).
    pub fn list(&self, path: JsValue, v: JsValue) -> Promise {
        let depth = number(&v, "depth");
        if depth.is_some_and(|d| d < 1.0) {
            let e = error(ErrorClass::InvalidArgument, "depth should be at least one");
            return run(Err(e));
        }
        let depth = depth.unwrap_or(1.0) as u32;
        let envd = &self.envd;
        run(envd.list_dir(path_arg(&path), depth, &self.rpc_opts(&v), entry_list))
    }

    pub fn exists(&self, path: JsValue, v: JsValue) -> Promise {
        run(self.envd.exists(path_arg(&path), &self.rpc_opts(&v)))
    }

    #[wasm_bindgen(js_name = getInfo)]
    pub fn get_info(&self, path: JsValue, v: JsValue) -> Promise {
        run(self
            .envd
            .stat(path_arg(&path), &self.rpc_opts(&v), entry_info))
    }

    pub fn remove(&self, path: JsValue, v: JsValue) -> Promise {
        run(self.envd.remove(path_arg(&path), &self.rpc_opts(&v)))
    }

    /// `rename(oldPath, newPath)`: the entry at its new path.
    pub fn rename(&self, old_path: JsValue, new_path: JsValue, v: JsValue) -> Promise {
        let opts = self.rpc_opts(&v);
        let (from, to) = (path_arg(&old_path), path_arg(&new_path));
        run(self.envd.rename(from, to, &opts, entry_info))
    }

    /// `makeDir(path)`: `true` when created (with parents), `false` when it already existed.
    #[wasm_bindgen(js_name = makeDir)]
    pub fn make_dir(&self, path: JsValue, v: JsValue) -> Promise {
        run(self.envd.make_dir(path_arg(&path), &self.rpc_opts(&v)))
    }

    /// `watchDir(path, onEvent, opts?)`: resolves with a `WatchHandle` once watching started.
    #[wasm_bindgen(js_name = watchDir)]
    pub fn watch_dir(&self, path: JsValue, on_event: JsValue, v: JsValue) -> Promise {
        let spec = WatchSpec {
            path: path_arg(&path),
            recursive: boolean(&v, "recursive") == Some(true),
            include_entry: boolean(&v, "includeEntry") == Some(true),
            allow_network_mounts: boolean(&v, "allowNetworkMounts") == Some(true),
            user: string(&v, "user"),
            timeout_ms: number(&v, "timeoutMs"),
        };
        let on_event = on_event.dyn_into::<Function>().ok();
        let on_exit = function(&v, "onExit");
        let envd = self.envd.clone();
        let start =
            move |_, stream| Next::done(WatchHandle::spawn(stream, on_event, on_exit, envd));
        let opts = request_opts(&v);
        run(self.envd.watch_dir(spec, &opts, Box::new(start)))
    }
}
