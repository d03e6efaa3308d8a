//! Site hooks written in Lua, run at fixed points of `start` and `monitor`.
//!
//! Sites add peerings, client VPC routes, notifications and their own
//! monitor policy without rebuilding tgw-vip. Every call gets a fresh Lua
//! state with only the safe standard libraries, a time limit enforced by an
//! instruction-count hook, a memory limit and chunk names set to the file
//! path, so each error shows `file:line`.

mod activate;
mod host;
pub mod inputs;
mod monitor;
mod permissions;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mlua::{HookTriggers, Lua, LuaOptions, LuaSerdeExt, StdLib, Table, Value, VmState};
use tokio::time::Instant;
use tracing::debug;

use crate::messages as msg;

pub use activate::{HookRoute, PreActivate, PreActivateInput};
pub use monitor::{Decision, MonitorFailInput};

/// Time one hook function may run, cut short by the command's deadline.
pub const CALL_LIMIT: Duration = Duration::from_secs(10);

/// Memory one hook's Lua state may allocate.
pub const MEMORY_LIMIT: usize = 64 * 1024 * 1024;

/// Instructions between two deadline checks; small enough that a runaway
/// loop stops within milliseconds of the limit.
const CHECK_EVERY: u32 = 10_000;

/// A hook failure shown to the user.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct HookError {
    pub message: String,
    pub hint: Option<String>,
}

impl HookError {
    fn new(message: String) -> Self {
        HookError {
            message,
            hint: None,
        }
    }
}

/// One hook file, checked and compiled once at start-up.
#[derive(Debug, Clone)]
pub struct HookFile {
    pub path: PathBuf,
    /// The file name without directories, used to tag log lines.
    pub name: String,
    source: String,
}

/// The hook files of the config, in the order they run.
#[derive(Debug, Clone, Default)]
pub struct Hooks {
    pub files: Vec<HookFile>,
}

impl Hooks {
    /// Reads and checks every file in `paths`; relative paths are resolved
    /// against `config_dir`.
    pub fn load(paths: &[String], config_dir: &Path) -> Result<Hooks, HookError> {
        let mut files = Vec::new();
        for path in paths {
            let path = config_dir.join(path);
            files.push(load_file(&path)?);
        }
        Ok(Hooks { files })
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

fn load_file(path: &Path) -> Result<HookFile, HookError> {
    let display = path.display().to_string();
    let metadata = std::fs::metadata(path)
        .map_err(|err| HookError::new(msg::hook_unreadable(&display, &err.to_string())))?;
    permissions::check(path, &metadata)?;

    let source = std::fs::read_to_string(path)
        .map_err(|err| HookError::new(msg::hook_unreadable(&display, &err.to_string())))?;
    let lua = Lua::new();
    lua.load(&source)
        .set_name(format!("@{display}"))
        .into_function()
        .map_err(|err| HookError::new(msg::hook_syntax(&display, &error_text(&err))))?;

    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| display.clone());
    Ok(HookFile {
        path: path.to_path_buf(),
        name,
        source,
    })
}

/// A Lua state prepared for one call of one hook file.
pub(crate) struct Session {
    pub lua: Lua,
    pub exports: Table,
}

impl HookFile {
    pub fn display(&self) -> String {
        self.path.display().to_string()
    }

    /// Creates a sandboxed state, runs the chunk and returns its table.
    pub(crate) fn open(&self, deadline: Instant) -> Result<Session, HookError> {
        let failed =
            |err: mlua::Error| HookError::new(msg::hook_failed(&self.display(), &error_text(&err)));
        let lua = sandbox().map_err(failed)?;
        lua.set_memory_limit(MEMORY_LIMIT).map_err(failed)?;
        self.limit_time(&lua, deadline).map_err(failed)?;
        host::install(&lua, self, deadline).map_err(failed)?;

        let value: Value = lua
            .load(&self.source)
            .set_name(format!("@{}", self.display()))
            .eval()
            .map_err(failed)?;
        match value {
            Value::Table(exports) => Ok(Session { lua, exports }),
            other => Err(HookError::new(msg::hook_not_table(
                &self.display(),
                other.type_name(),
            ))),
        }
    }

    /// Stops the chunk with an error once `deadline` or the per-call limit
    /// passes, whichever comes first.
    fn limit_time(&self, lua: &Lua, deadline: Instant) -> mlua::Result<()> {
        let limit = CALL_LIMIT.min(deadline.saturating_duration_since(Instant::now()));
        let stop_at = std::time::Instant::now() + limit;
        let file = self.display();
        lua.set_hook(
            HookTriggers::new().every_nth_instruction(CHECK_EVERY),
            move |_lua, debug| {
                if std::time::Instant::now() < stop_at {
                    return Ok(VmState::Continue);
                }
                let line = debug.current_line().unwrap_or(0);
                Err(mlua::Error::runtime(msg::hook_time_limit(
                    &file,
                    line,
                    limit.as_secs_f64(),
                )))
            },
        )
    }
}

/// A state with only the libraries a hook needs: no `io`, no `package`,
/// and an `os` table reduced to its time functions.
fn sandbox() -> mlua::Result<Lua> {
    let libs = StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::UTF8 | StdLib::OS;
    let lua = Lua::new_with(libs, LuaOptions::default())?;
    let globals = lua.globals();

    let os: Table = globals.get("os")?;
    let reduced = lua.create_table()?;
    for name in ["time", "clock", "date", "difftime"] {
        reduced.set(name, os.get::<Value>(name)?)?;
    }
    globals.set("os", reduced)?;
    for name in ["dofile", "loadfile"] {
        globals.set(name, Value::Nil)?;
    }
    Ok(lua)
}

/// The readable part of a Lua error: the message with `file:line`, without
/// the Rust wrapper text and the stack traceback.
pub(crate) fn error_text(err: &mlua::Error) -> String {
    match err {
        mlua::Error::CallbackError { cause, .. } => error_text(cause),
        mlua::Error::WithContext { cause, .. } => error_text(cause),
        mlua::Error::RuntimeError(text) | mlua::Error::SyntaxError { message: text, .. } => {
            first_paragraph(text)
        }
        mlua::Error::MemoryError(_) => msg::hook_memory_limit(MEMORY_LIMIT >> 20),
        other => first_paragraph(&other.to_string()),
    }
}

fn first_paragraph(text: &str) -> String {
    let head = text.split("\nstack traceback:").next().unwrap_or(text);
    head.trim().to_string()
}

/// Gets the named function from a hook's table, or None when it is absent.
pub(crate) fn function_of(
    session: &Session,
    file: &HookFile,
    name: &str,
) -> Result<Option<mlua::Function>, HookError> {
    match session.exports.get::<Value>(name) {
        Ok(Value::Function(function)) => {
            debug!(hook = %file.name, function = name, "running hook");
            Ok(Some(function))
        }
        Ok(Value::Nil) => Ok(None),
        Ok(other) => Err(HookError::new(msg::hook_not_function(
            &file.display(),
            name,
            other.type_name(),
        ))),
        Err(err) => Err(HookError::new(msg::hook_failed(
            &file.display(),
            &error_text(&err),
        ))),
    }
}

/// The `file:line` where a function is defined.
pub(crate) fn location_of(file: &HookFile, function: &mlua::Function) -> String {
    let line = function.info().line_defined.unwrap_or(0);
    format!("{}:{line}", file.display())
}

pub(crate) type Shared<T> = Arc<std::sync::Mutex<T>>;

/// Converts `value` for Lua with JSON null and `None` as nil, so hooks can
/// test `if route.current == nil`.
pub(crate) fn to_lua<T: serde::Serialize>(lua: &Lua, value: &T) -> mlua::Result<Value> {
    let options = mlua::serde::ser::Options::new()
        .serialize_none_to_null(false)
        .serialize_unit_to_null(false);
    lua.to_value_with(value, options)
}
