//! `sandbox.pty`: interactive terminals. A terminal is a process whose output arrives as raw
//! bytes (`onData` gets `Uint8Array` chunks in order) on a `CommandHandle` without stdin.

use alloc::rc::Rc;

use envd_protocol::StringMap;
use envd_protocol::process::Input;
use js_sys::Promise;
use wasm_bindgen::prelude::*;

use super::commands::stdin_bytes;
use super::handle::{Callbacks, CommandHandle};
use super::opts::{function, number, record, request_opts, string};
use crate::envd::process::PtySpec;
use crate::envd::{Envd, OnStarted};
use crate::prelude::*;
use crate::transport::exchange::{Next, run};

/// Terminal settings a PTY gets unless the caller sets them.
const DEFAULT_ENVS: [(&str, &str); 3] = [
    ("TERM", "xterm-256color"),
    ("LANG", "C.UTF-8"),
    ("LC_ALL", "C.UTF-8"),
];

#[wasm_bindgen]
pub struct Pty {
    envd: Rc<Envd>,
}

impl Pty {
    pub fn new(envd: Rc<Envd>) -> Pty {
        Pty { envd }
    }

    /// Continues a started terminal as a handle whose output goes to `onData`.
    fn handle_of(&self, v: &JsValue) -> OnStarted {
        let callbacks = Callbacks {
            on_pty: function(v, "onData"),
            ..Default::default()
        };
        let envd = self.envd.clone();
        Box::new(move |pid, stream| {
            Next::done(CommandHandle::spawn(pid, stream, callbacks, envd, false))
        })
    }
}

/// A dimension of the terminal (`cols`, `rows`); absent means 0, as on the wire.
fn cells(v: &JsValue, key: &str) -> u32 {
    number(v, key).unwrap_or(0.0) as u32
}

#[wasm_bindgen]
impl Pty {
    /// `create({ cols, rows, onData, cwd, envs, user, timeoutMs })`: an interactive login shell.
    pub fn create(&self, v: JsValue) -> Promise {
        let mut envs = record(&v, "envs").unwrap_or_default();
        for (key, value) in DEFAULT_ENVS {
            if !envs.iter().any(|(k, _)| k == key) {
                envs.push((key.into(), value.into()));
            }
        }
        let spec = PtySpec {
            cols: cells(&v, "cols"),
            rows: cells(&v, "rows"),
            envs: StringMap::from_iter(envs),
            cwd: string(&v, "cwd"),
            user: string(&v, "user"),
        };
        let timeout = number(&v, "timeoutMs");
        let envd = &self.envd;
        run(envd.start_pty(spec, &request_opts(&v), timeout, self.handle_of(&v)))
    }

    /// Reattaches to a running terminal; only output produced from now on is delivered.
    pub fn connect(&self, pid: u32, v: JsValue) -> Promise {
        let timeout = number(&v, "timeoutMs");
        let envd = &self.envd;
        run(envd.connect_process(pid, &request_opts(&v), timeout, self.handle_of(&v)))
    }

    /// Sends bytes to the terminal, as typed (a string is sent as UTF-8).
    #[wasm_bindgen(js_name = sendInput)]
    pub fn send_input(&self, pid: u32, data: JsValue, v: JsValue) -> Promise {
        let input = Input::Pty(stdin_bytes(&data));
        run(self.envd.send_input(pid, input, &request_opts(&v)))
    }

    /// Resizes the terminal to `{ cols, rows }`.
    pub fn resize(&self, pid: u32, size: JsValue, v: JsValue) -> Promise {
        let (cols, rows) = (cells(&size, "cols"), cells(&size, "rows"));
        run(self.envd.resize_pty(pid, cols, rows, &request_opts(&v)))
    }

    /// SIGKILL; `false` when there is no such terminal.
    pub fn kill(&self, pid: u32, v: JsValue) -> Promise {
        run(self.envd.kill_process(pid, &request_opts(&v)))
    }
}
