//! `sandbox.commands`: run, connect, list, kill and stdin of processes in the sandbox.

use std::rc::Rc;

use envd_protocol::process::{Input, ProcessInfo};
use js_sys::{Array, Object, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::handle::{Callbacks, CommandHandle};
use super::opts::{boolean, function, given, number, record, string};
use super::sandbox::SandboxState;
use crate::envd::process::{RequestOpts, StartSpec};
use crate::transport::fetch::set;

#[wasm_bindgen]
pub struct Commands {
    sandbox: Rc<SandboxState>,
}

impl Commands {
    pub fn new(sandbox: Rc<SandboxState>) -> Commands {
        Commands { sandbox }
    }
}

pub fn request_opts(v: &JsValue) -> RequestOpts {
    RequestOpts {
        signal: given(v, "signal").and_then(|s| s.dyn_into().ok()),
        request_timeout_ms: number(v, "requestTimeoutMs"),
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

fn process_info(p: ProcessInfo) -> JsValue {
    let config = p.config.unwrap_or_default();
    let info = Object::new();
    set(&info, "pid", &JsValue::from(p.pid));
    if let Some(tag) = p.tag.filter(|t| !t.is_empty()) {
        set(&info, "tag", &JsValue::from(tag));
    }
    set(
        &info,
        "args",
        &config
            .args
            .into_iter()
            .map(JsValue::from)
            .collect::<Array>(),
    );
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
        let sandbox = self.sandbox.clone();
        super::promise(async move {
            let spec = StartSpec {
                cmd,
                envs: record(&v, "envs").unwrap_or_default().into_iter().collect(),
                cwd: string(&v, "cwd"),
                user: string(&v, "user"),
                stdin: boolean(&v, "stdin").unwrap_or(false),
            };
            let (pid, stream) = sandbox
                .envd
                .start(spec, &request_opts(&v), number(&v, "timeoutMs"))
                .await?;
            let handle = CommandHandle::spawn(pid, stream, callbacks(&v), sandbox, true);
            if boolean(&v, "background") == Some(true) {
                return Ok(handle.into());
            }
            Ok(JsFuture::from(handle.wait()).await?)
        })
    }

    /// Reattaches to a running process; only output produced from now on is delivered.
    pub fn connect(&self, pid: u32, v: JsValue) -> Promise {
        let sandbox = self.sandbox.clone();
        super::promise(async move {
            let (pid, stream) = sandbox
                .envd
                .connect_process(pid, &request_opts(&v), number(&v, "timeoutMs"))
                .await?;
            Ok(CommandHandle::spawn(pid, stream, callbacks(&v), sandbox, true).into())
        })
    }

    pub fn list(&self, v: JsValue) -> Promise {
        let sandbox = self.sandbox.clone();
        super::promise(async move {
            let processes = sandbox.envd.list_processes(&request_opts(&v)).await?;
            Ok(processes
                .into_iter()
                .map(process_info)
                .collect::<Array>()
                .into())
        })
    }

    pub fn kill(&self, pid: u32, v: JsValue) -> Promise {
        let sandbox = self.sandbox.clone();
        super::promise(async move {
            Ok(sandbox
                .envd
                .kill_process(pid, &request_opts(&v))
                .await?
                .into())
        })
    }

    #[wasm_bindgen(js_name = sendStdin)]
    pub fn send_stdin(&self, pid: u32, data: JsValue, v: JsValue) -> Promise {
        let sandbox = self.sandbox.clone();
        super::promise(async move {
            sandbox
                .envd
                .send_input(pid, Input::Stdin(stdin_bytes(&data)), &request_opts(&v))
                .await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    #[wasm_bindgen(js_name = closeStdin)]
    pub fn close_stdin(&self, pid: u32, v: JsValue) -> Promise {
        let sandbox = self.sandbox.clone();
        super::promise(async move {
            sandbox.envd.close_stdin(pid, &request_opts(&v)).await?;
            Ok(JsValue::UNDEFINED)
        })
    }
}
