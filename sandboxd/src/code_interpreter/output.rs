//! The lines of `POST /execute`'s answer (one JSON object per line, `type` first), and how a
//! kernel's iopub messages become them; field names are those the code-interpreter SDKs parse
//! (docs/code-interpreter.md, "The HTTP API").

use chrono::SecondsFormat;
use jupyter_protocol::{JupyterMessage, JupyterMessageContent, Media, Stdio};
use serde_json::{Map, Value, json};

pub enum Line {
    Stdout {
        text: String,
        timestamp: String,
    },
    Stderr {
        text: String,
        timestamp: String,
    },
    Result {
        data: Map<String, Value>,
        is_main_result: bool,
    },
    Error {
        name: String,
        value: String,
        traceback: String,
    },
    NumberOfExecutions(usize),
    EndOfExecution,
    UnexpectedEndOfExecution,
    /// Not an output: written while a cell is silent so that a gone client is noticed.
    Keepalive,
}

/// MIME types the SDKs give a field of their own; everything else goes to `extra`.
const NAMED_FORMATS: [(&str, &str); 12] = [
    ("text/plain", "text"),
    ("text/html", "html"),
    ("text/markdown", "markdown"),
    ("image/svg+xml", "svg"),
    ("image/png", "png"),
    ("image/jpeg", "jpeg"),
    ("application/pdf", "pdf"),
    ("text/latex", "latex"),
    ("application/json", "json"),
    ("application/javascript", "javascript"),
    ("e2b/data", "data"),
    ("e2b/chart", "chart"),
];

impl Line {
    pub fn error(name: &str, value: &str) -> Line {
        Line::Error {
            name: name.into(),
            value: value.into(),
            traceback: String::new(),
        }
    }

    /// The line for an iopub message of the running cell, if it is one the SDKs show.
    pub fn from_iopub(msg: &JupyterMessage) -> Option<Line> {
        let timestamp = || msg.header.date.to_rfc3339_opts(SecondsFormat::Micros, true);
        Some(match &msg.content {
            JupyterMessageContent::StreamContent(stream) => match stream.name {
                Stdio::Stdout => Line::Stdout {
                    text: stream.text.clone(),
                    timestamp: timestamp(),
                },
                Stdio::Stderr => Line::Stderr {
                    text: stream.text.clone(),
                    timestamp: timestamp(),
                },
            },
            JupyterMessageContent::ExecuteInput(input) => {
                Line::NumberOfExecutions(input.execution_count.0)
            }
            JupyterMessageContent::ExecuteResult(result) => Line::Result {
                data: mime_bundle(&result.data),
                is_main_result: true,
            },
            JupyterMessageContent::DisplayData(display) => Line::Result {
                data: mime_bundle(&display.data),
                is_main_result: false,
            },
            JupyterMessageContent::ErrorOutput(error) => Line::Error {
                name: error.ename.clone(),
                value: error.evalue.clone(),
                // IPython's traceback entries are lines without their newline.
                traceback: error.traceback.join("\n"),
            },
            _ => return None,
        })
    }

    /// The line's JSON with its newline.
    pub fn to_json_line(&self) -> Vec<u8> {
        let value = match self {
            Line::Stdout { text, timestamp } => {
                json!({"type": "stdout", "text": text, "timestamp": timestamp})
            }
            Line::Stderr { text, timestamp } => {
                json!({"type": "stderr", "text": text, "timestamp": timestamp})
            }
            Line::Result {
                data,
                is_main_result,
            } => result_json(data, *is_main_result),
            Line::Error {
                name,
                value,
                traceback,
            } => json!({"type": "error", "name": name, "value": value, "traceback": traceback}),
            Line::NumberOfExecutions(n) => {
                json!({"type": "number_of_executions", "execution_count": n})
            }
            Line::EndOfExecution => json!({"type": "end_of_execution"}),
            Line::UnexpectedEndOfExecution => json!({"type": "unexpected_end_of_execution"}),
            Line::Keepalive => json!({"type": "keepalive"}),
        };
        let mut line = serde_json::to_vec(&value).unwrap_or_default();
        line.push(b'\n');
        line
    }
}

fn mime_bundle(data: &Media) -> Map<String, Value> {
    match serde_json::to_value(data) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// A `result` line as E2B's server writes it: the named formats as fields, the rest under
/// `extra` (always there, `{}` when empty), `is_main_result`. A `text/plain` string that starts
/// and ends with the same quote loses both, as E2B's server strips them (`'a'` is shown as `a`).
fn result_json(data: &Map<String, Value>, is_main_result: bool) -> Value {
    let mut line = Map::new();
    line.insert("type".into(), json!("result"));
    let mut extra = Map::new();
    for (mime, value) in data {
        match NAMED_FORMATS.iter().find(|(m, _)| m == mime) {
            Some((_, "text")) => {
                line.insert("text".into(), unquoted(value));
            }
            Some((_, field)) => {
                line.insert((*field).into(), value.clone());
            }
            None => {
                extra.insert(mime.clone(), value.clone());
            }
        }
    }
    line.insert("extra".into(), Value::Object(extra));
    line.insert("is_main_result".into(), json!(is_main_result));
    Value::Object(line)
}

/// `text/plain` without the quotes of a string's repr. It is a string by then (jupyter-protocol
/// refuses a bundle whose `text/plain` is not); any other value would pass as it came.
fn unquoted(text: &Value) -> Value {
    match text.as_str() {
        Some(text)
            if ['\'', '"']
                .iter()
                .any(|q| text.starts_with(*q) && text.ends_with(*q)) =>
        {
            // A lone quote is both first and last character: it becomes "", as in E2B's server.
            json!(&text[1..text.len().max(2) - 1])
        }
        _ => text.clone(),
    }
}
