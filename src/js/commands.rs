//! `sandbox.commands`: run, connect, list, kill and stdin of processes in the sandbox.

use alloc::rc::Rc;

use envd_protocol::StringMap;
use envd_protocol::process::{Input, ProcessInfo};
use js_sys::{Array, Object, Promise, Uint8Array};
use wasm_bindgen::prelude::*;

use super::handle::{Callbacks, CommandHandle};
use super::opts::{boolean, function, number, record, request_opts, string};
use crate::envd::process::StartSpec;
use crate::envd::versions;
use crate::envd::{Envd, OnStarted};
use crate::js_object::set;
use crate::prelude::*;
use crate::transport::exchange::{Next, run};

#[wasm_bindgen]
pub struct Commands {
    envd: Rc<Envd>,
}

impl Commands {
    pub fn new(envd: Rc<Envd>) -> Commands {
        Commands { envd }
    }
}

/// `sendStdin` data: strings are sent as UTF-8, byte arrays as they are.
pub fn stdin_bytes(data: &JsValue) -> Vec<u8> {
    match data.as_string() {
        Some(s) => s.into_bytes(),
        None => Uint8Array::new(data).to_vec(),
    }
}

fn callbacks(v: &JsValue) -> Callbacks {
    Callbacks {
        on_stdout: function(v, "onStdout"),
        on_stderr: function(v, "onStderr"),
        on_pty: None,
    }
}

/// Continues a started command as a handle (or, with `foreground`, as its result).
fn handle_of(envd: Rc<Envd>, callbacks: Callbacks, foreground: bool) -> OnStarted {
    Box::new(move |pid, stream| {
        let handle = CommandHandle::spawn(pid, stream, callbacks, envd, true);
        if foreground {
            return Ok(Next::Wait(handle.wait(), Box::new(Next::done)));
        }
        Next::done(handle)
    })
}

fn process_info(p: ProcessInfo) -> JsValue {
    let config = p.config.unwrap_or_default();
    let info = Object::new();
    set(&info, "pid", &JsValue::from(p.pid));
    if let Some(tag) = p.tag.filter(|t| !t.is_empty()) {
        set(&info, "tag", &JsValue::from(tag));
    }
    let args: Array = config.args.into_iter().map(JsValue::from).collect();
    set(&info, "args", &args);
    let envs = Object::new();
    for (k, v) in config.envs {
        set(&envs, &k, &JsValue::from(v));
    }
    set(&info, "envs", &envs);
    set(&info, "cmd", &JsValue::from(config.cmd));
    if let Some(cwd) = config.cwd.filter(|c| !c.is_empty()) {
        set(&info, "cwd", &JsValue::from(cwd));
    }
    info.into()
}

#[wasm_bindgen]
impl Commands {
    /// `run(cmd, opts)`: a `CommandResult` (foreground) or a `CommandHandle` (`background: true`).
    pub fn run(&self, cmd: String, v: JsValue) -> Promise {
        let spec = StartSpec {
            cmd,
            envs: StringMap::from_iter(record(&v, "envs").unwrap_or_default()),
            cwd: string(&v, "cwd"),
            user: string(&v, "user"),
            stdin: boolean(&v, "stdin").unwrap_or(false),
        };
        let foreground = boolean(&v, "background") != Some(true);
        let then = handle_of(self.envd.clone(), callbacks(&v), foreground);
        let timeout = number(&v, "timeoutMs");
        run(self.envd.start(spec, &request_opts(&v), timeout, then))
    }

    /// Reattaches to a running process; only output produced from now on is delivered.
    pub fn connect(&self, pid: u32, v: JsValue) -> Promise {
        let then = handle_of(self.envd.clone(), callbacks(&v), false);
        let timeout = number(&v, "timeoutMs");
        run(self
            .envd
            .connect_process(pid, &request_opts(&v), timeout, then))
    }

    pub fn list(&self, v: JsValue) -> Promise {
        run(self.envd.list_processes(&request_opts(&v), |processes| {
            processes
                .into_iter()
                .map(process_info)
                .collect::<Array>()
                .into()
        }))
    }

    pub fn kill(&self, pid: u32, v: JsValue) -> Promise {
        run(self.envd.kill_process(pid, &request_opts(&v)))
    }

    #[wasm_bindgen(js_name = sendStdin)]
    pub fn send_stdin(&self, pid: u32, data: JsValue, v: JsValue) -> Promise {
        let input = Input::Stdin(stdin_bytes(&data));
        run(self.envd.send_input(pid, input, &request_opts(&v)))
    }

    /// Whether envd can close a process's stdin (0.5.2 and later).
    #[wasm_bindgen(getter, js_name = supportsStdinClose)]
    pub fn supports_stdin_close(&self) -> bool {
        self.envd.supports(versions::CLOSE_STDIN)
    }

    #[wasm_bindgen(js_name = closeStdin)]
    pub fn close_stdin(&self, pid: u32, v: JsValue) -> Promise {
        run(self.envd.close_stdin(pid, &request_opts(&v)))
    }
}
