//! `on_monitor_fail`, the hook that decides what `monitor` does about drift
//! and failed AWS reads.

use mlua::Value;
use serde::Serialize;
use tokio::time::Instant;

use super::{error_text, function_of, location_of, to_lua, HookError, HookFile, Hooks};
use crate::messages as msg;

/// The action a hook requests from monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Report the findings and exit 0.
    Ignore,
    /// Converge the routes, check again and exit by the result.
    Repair,
    /// Exit with a failure.
    Fail,
}

/// The context passed to `on_monitor_fail`.
#[derive(Debug, Clone, Serialize)]
pub struct MonitorFailInput {
    pub action: String,
    pub vips: Vec<String>,
    pub destinations: Vec<String>,
    pub server: serde_json::Value,
    pub servers: serde_json::Value,
    pub drift: serde_json::Value,
    pub api_errors: serde_json::Value,
}

impl Hooks {
    /// Runs every `on_monitor_fail` in order. The strictest decision wins
    /// (fail over repair over ignore), and None means no file defines the
    /// hook. An error or an unknown return value is returned as an error,
    /// which the caller treats as fail.
    pub fn on_monitor_fail(
        &self,
        input: &MonitorFailInput,
        deadline: Instant,
    ) -> Result<Option<Decision>, HookError> {
        let mut decision = None;
        for file in &self.files {
            let answer = ask(file, input, deadline)?;
            decision = decision.max(answer);
        }
        Ok(decision)
    }
}

fn ask(
    file: &HookFile,
    input: &MonitorFailInput,
    deadline: Instant,
) -> Result<Option<Decision>, HookError> {
    let session = file.open(deadline)?;
    let Some(function) = function_of(&session, file, "on_monitor_fail")? else {
        return Ok(None);
    };
    let failed =
        |err: mlua::Error| HookError::new(msg::hook_failed(&file.display(), &error_text(&err)));

    let ctx = to_lua(&session.lua, input).map_err(failed)?;
    let answer: Value = function.call(ctx).map_err(failed)?;
    let text = match &answer {
        Value::String(text) => text.to_string_lossy(),
        other => other
            .to_string()
            .unwrap_or_else(|_| other.type_name().to_string()),
    };
    match text.as_str() {
        "repair" => Ok(Some(Decision::Repair)),
        "fail" => Ok(Some(Decision::Fail)),
        "ignore" => Ok(Some(Decision::Ignore)),
        _ => Err(HookError::new(msg::hook_bad_decision(
            &location_of(file, &function),
            &text,
        ))),
    }
}
