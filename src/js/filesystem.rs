//! `sandbox.files`: watching directories (a server stream), and the `EntryInfo` of watch events.
//! The request/response calls (`/files`, and the filesystem RPCs in Connect's JSON codec) are
//! JavaScript: pkg-templates/files.js.

use alloc::rc::Rc;

use envd_protocol::filesystem::EntryInfo;
use js_sys::{Function, Object, Promise};
use wasm_bindgen::prelude::*;

use super::opts::{boolean, function, number, request_opts, string};

/// A path argument: wasm-bindgen glue for a `JsValue` is smaller than for a `String`.
fn path_arg(v: &JsValue) -> String {
    v.as_string().unwrap_or_default()
}
use super::watch::WatchHandle;
use crate::envd::Envd;
use crate::envd::filesystem::WatchSpec;
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

#[wasm_bindgen]
impl Filesystem {
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
