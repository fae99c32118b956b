//! `GET /sandboxes/{id}/logs` (v1) and `GET /v2/sandboxes/{id}/logs`: the lines envd of a
//! running or memory-paused sandbox wrote in its current run, with the runtime's start-up
//! lines, from the runtime's bounded ring (a filesystem-paused sandbox has none).
//!
//! v1 answers `{logs: [{timestamp, line}], logEntries: [...]}` where `line` is a JSON object
//! with `level`, `logger` and `message`: the official CLI (`e2b sandbox logs`) parses it so.
//! v2 answers `{logs: [{timestamp, level, message, fields}]}`.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::controller::{Controller, visible_entry};
use super::error::ApiError;
use super::ids::parse_path_sandbox_id;
use super::model::rfc3339;
use crate::runtime::LogLine;

const DEFAULT_LIMIT: usize = 1000;
/// Every line is reported at this level: envd's output carries none.
const LEVEL: &str = "info";
const LEVELS: [&str; 4] = ["debug", "info", "warn", "error"];

pub(super) async fn logs_v1(
    State(ctl): State<Arc<Controller>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let id = parse_path_sandbox_id(&id)?;
    let (mut start, mut limit) = (0, DEFAULT_LIMIT);
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "start" => start = number(&key, &value)?,
            "limit" => limit = number(&key, &value)? as usize,
            _ => {}
        }
    }
    let lines: Vec<LogLine> = sandbox_logs(&ctl, &id)
        .await?
        .into_iter()
        .filter(|l| millis(l) >= start)
        .take(limit)
        .collect();
    let logs: Vec<Value> = lines
        .iter()
        .map(|l| {
            let line = json!({ "level": LEVEL, "logger": l.source, "message": l.line });
            json!({ "timestamp": timestamp(l), "line": line.to_string() })
        })
        .collect();
    let entries: Vec<Value> = lines.iter().map(entry).collect();
    Ok(axum::Json(json!({ "logs": logs, "logEntries": entries })).into_response())
}

pub(super) async fn logs_v2(
    State(ctl): State<Arc<Controller>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let id = parse_path_sandbox_id(&id)?;
    let (mut cursor, mut limit, mut backward) = (None, DEFAULT_LIMIT, false);
    let (mut min_level, mut search) = (0, String::new());
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "cursor" => cursor = Some(number(&key, &value)?),
            "limit" => {
                limit = number(&key, &value)? as usize;
                if limit > DEFAULT_LIMIT {
                    return Err(ApiError::bad_request("limit must be at most 1000"));
                }
            }
            "direction" => {
                backward = match value.as_ref() {
                    "forward" => false,
                    "backward" => true,
                    _ => return Err(ApiError::bad_request(format!("invalid direction: {value}"))),
                }
            }
            "level" => {
                min_level = LEVELS
                    .iter()
                    .position(|l| *l == value)
                    .ok_or_else(|| ApiError::bad_request(format!("invalid level: {value}")))?
            }
            "search" => {
                if value.chars().count() > 256 {
                    return Err(ApiError::bad_request(
                        "search must be at most 256 characters",
                    ));
                }
                search = value.into_owned();
            }
            _ => {}
        }
    }
    let level_ok = LEVELS.iter().position(|l| *l == LEVEL) >= Some(min_level);
    let mut lines: Vec<LogLine> = sandbox_logs(&ctl, &id)
        .await?
        .into_iter()
        .filter(|l| level_ok && l.line.contains(&search))
        .collect();
    // Forward: from the cursor on, oldest first; backward: up to the cursor, newest first.
    if backward {
        lines.retain(|l| cursor.is_none_or(|c| millis(l) <= c));
        lines.reverse();
    } else {
        lines.retain(|l| millis(l) >= cursor.unwrap_or(0));
    }
    let entries: Vec<Value> = lines.iter().take(limit).map(entry).collect();
    Ok(axum::Json(json!({ "logs": entries })).into_response())
}

async fn sandbox_logs(ctl: &Controller, id: &str) -> Result<Vec<LogLine>, ApiError> {
    let live = visible_entry(&ctl.lock(), id)?.live.clone();
    Ok(match live {
        Some(live) => live.logs().await,
        None => Vec::new(),
    })
}

fn entry(line: &LogLine) -> Value {
    json!({
        "timestamp": timestamp(line),
        "level": LEVEL,
        "message": line.line,
        "fields": { "logger": line.source },
    })
}

fn timestamp(line: &LogLine) -> String {
    rfc3339(DateTime::<Utc>::from(line.timestamp))
}

fn millis(line: &LogLine) -> i64 {
    DateTime::<Utc>::from(line.timestamp).timestamp_millis()
}

fn number(key: &str, value: &str) -> Result<i64, ApiError> {
    value
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| ApiError::bad_request(format!("invalid {key}: {value}")))
}
