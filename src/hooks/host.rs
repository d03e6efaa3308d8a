//! The `tgw` table that hooks call into: logging, running programs,
//! environment variables, the host name and JSON.
//!
//! Programs run without a shell, so arguments are never split or expanded,
//! and every run ends at its timeout or the hook's deadline.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use mlua::{Lua, LuaSerdeExt, Table, Value, Variadic};
use tokio::time::Instant;
use tracing::{debug, error, info, trace, warn};

use super::HookFile;
use crate::messages as msg;

/// Default timeout of `tgw.run`, in seconds.
const RUN_TIMEOUT: f64 = 5.0;

/// Installs the global `tgw` table in `lua`.
pub fn install(lua: &Lua, file: &HookFile, deadline: Instant) -> mlua::Result<()> {
    let tgw = lua.create_table()?;
    install_logging(lua, &tgw, &file.name)?;

    let run = lua.create_function(move |lua, (program, args, options)| {
        run_program(lua, program, args, options, deadline)
    })?;
    tgw.set("run", run)?;

    tgw.set(
        "env",
        lua.create_function(|_, name: String| Ok(std::env::var(name).ok()))?,
    )?;
    tgw.set("hostname", lua.create_function(|_, ()| Ok(host_name()))?)?;
    tgw.set(
        "json_encode",
        lua.create_function(|lua, value: Value| {
            let json: serde_json::Value = lua.from_value(value)?;
            serde_json::to_string(&json).map_err(mlua::Error::external)
        })?,
    )?;
    tgw.set(
        "json_decode",
        lua.create_function(|lua, text: String| {
            let json: serde_json::Value =
                serde_json::from_str(&text).map_err(mlua::Error::external)?;
            lua.to_value(&json)
        })?,
    )?;
    tgw.set("clp", clp_variables(lua)?)?;
    lua.globals().set("tgw", tgw)
}

/// Adds `tgw.log(level, ...)` and one function per level, writing into
/// tgw-vip's own log with the hook's file name as a field.
fn install_logging(lua: &Lua, tgw: &Table, name: &str) -> mlua::Result<()> {
    for level in ["error", "warn", "info", "debug", "trace"] {
        let hook = name.to_string();
        let function = lua.create_function(move |_, parts: Variadic<Value>| {
            log(&hook, level, &join(&parts));
            Ok(())
        })?;
        tgw.set(level, function)?;
    }

    let hook = name.to_string();
    let function = lua.create_function(move |_, (level, parts): (String, Variadic<Value>)| {
        log(&hook, &level, &join(&parts));
        Ok(())
    })?;
    tgw.set("log", function)
}

fn join(parts: &[Value]) -> String {
    let texts: Vec<String> = parts
        .iter()
        .map(|part| match part {
            Value::String(text) => text.to_string_lossy(),
            other => other
                .to_string()
                .unwrap_or_else(|_| other.type_name().into()),
        })
        .collect();
    texts.join(" ")
}

fn log(hook: &str, level: &str, text: &str) {
    match level {
        "error" => error!(hook, "{text}"),
        "warn" | "warning" => warn!(hook, "{text}"),
        "debug" => debug!(hook, "{text}"),
        "trace" => trace!(hook, "{text}"),
        _ => info!(hook, "{text}"),
    }
}

fn host_name() -> String {
    crate::hostnames::primary()
}

/// Every CLP_* variable that CLUSTERPRO sets for its scripts, such as
/// CLP_EVENT and CLP_SERVER, keyed by the name without the prefix in lower
/// case (`tgw.clp.event`).
fn clp_variables(lua: &Lua) -> mlua::Result<Table> {
    let table = lua.create_table()?;
    for (name, value) in std::env::vars() {
        if let Some(key) = name.strip_prefix("CLP_") {
            table.set(key.to_ascii_lowercase(), value)?;
        }
    }
    Ok(table)
}

/// Runs `program` with `args` and returns `{status, stdout, stderr,
/// timed_out}`. `status` is nil when the program was killed.
fn run_program(
    lua: &Lua,
    program: String,
    args: Option<Vec<String>>,
    options: Option<Table>,
    deadline: Instant,
) -> mlua::Result<Table> {
    let seconds = match &options {
        Some(options) => options
            .get::<Option<f64>>("timeout")?
            .unwrap_or(RUN_TIMEOUT),
        None => RUN_TIMEOUT,
    };
    if !seconds.is_finite() || seconds <= 0.0 {
        return Err(mlua::Error::runtime(msg::hook_run_timeout_invalid(seconds)));
    }
    let remaining = deadline.saturating_duration_since(Instant::now());
    let limit = Duration::from_secs_f64(seconds.min(86_400.0)).min(remaining);

    let mut child = Command::new(&program)
        .args(args.unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| mlua::Error::runtime(msg::hook_run_failed(&program, &err.to_string())))?;
    let stdout = read_in_background(child.stdout.take());
    let stderr = read_in_background(child.stderr.take());

    let (status, timed_out) = wait_for(&mut child, limit)?;
    debug!(program = %program, ?status, timed_out, "hook program finished");
    let result = lua.create_table()?;
    result.set("status", status)?;
    result.set("timed_out", timed_out)?;
    result.set(
        "stdout",
        lua.create_string(stdout.join().unwrap_or_default())?,
    )?;
    result.set(
        "stderr",
        lua.create_string(stderr.join().unwrap_or_default())?,
    )?;
    Ok(result)
}

// NOTE: the join waits for end of file, so a program that leaves a
// background child holding stdout or stderr open blocks the hook past its
// timeout.
fn read_in_background<R: Read + Send + 'static>(
    pipe: Option<R>,
) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

/// Waits for the child up to `limit`, killing it when the limit passes.
fn wait_for(child: &mut std::process::Child, limit: Duration) -> mlua::Result<(Option<i32>, bool)> {
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(mlua::Error::external)? {
            return Ok((status.code(), false));
        }
        if started.elapsed() >= limit {
            let _ = child.kill();
            let _ = child.wait();
            return Ok((None, true));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
