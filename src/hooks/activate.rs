//! `pre_activate` and `post_activate`, the hooks around the writes of
//! `start`.
//!
//! `pre_activate` receives the planned changes and may add routes, skip
//! tables or abort, because nothing has been written when it runs.
//! `post_activate` receives every outcome. Its errors are logged and never
//! change the exit code.

use std::collections::BTreeSet;

use mlua::{Lua, LuaSerdeExt, MultiValue, Table, Value};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tracing::{error, info};

use super::{error_text, function_of, to_lua, HookError, HookFile, Hooks, Shared};
use crate::messages as msg;
use crate::plan::Target;

/// The context passed to `pre_activate`.
#[derive(Debug, Clone, Serialize)]
pub struct PreActivateInput {
    pub action: String,
    pub vips: Vec<String>,
    /// The VIPs as route destinations (`172.16.0.1/32`).
    pub destinations: Vec<String>,
    pub server: serde_json::Value,
    pub regions: Vec<String>,
    pub gateways: serde_json::Value,
    pub vpcs: serde_json::Value,
    pub changes: serde_json::Value,
}

/// A route requested by a hook, checked against the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookRoute {
    /// The path of the hook file that added the route.
    pub hook: String,
    pub region: String,
    /// `rtb-...` or `tgw-rtb-...`.
    pub table: String,
    /// The VPC of a VPC table, or the gateway of a TGW table.
    pub owner: String,
    pub destination: String,
    pub target: Target,
}

/// The routes added and the tables skipped by all `pre_activate` hooks.
#[derive(Debug, Clone, Default)]
pub struct PreActivate {
    pub added: Vec<HookRoute>,
    /// Table id and, when given, the one destination skipped in it.
    pub skipped: Vec<(String, Option<String>)>,
}

/// The fields a hook passes to `ctx.add_route`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddRoute {
    region: String,
    table: String,
    destination: Option<String>,
    target: String,
    vpc: Option<String>,
    gateway: Option<String>,
}

impl Hooks {
    /// Runs every `pre_activate` in order. An error, or `false` as the
    /// first return value, aborts the start with the reason.
    pub fn pre_activate(
        &self,
        input: &PreActivateInput,
        deadline: Instant,
    ) -> Result<PreActivate, HookError> {
        let regions: BTreeSet<String> = input.regions.iter().cloned().collect();
        let mut result = PreActivate::default();
        for file in &self.files {
            let found = run_pre_activate(file, input, &regions, deadline)?;
            result.added.extend(found.added);
            result.skipped.extend(found.skipped);
        }
        Ok(result)
    }

    /// Runs every `post_activate` in order and logs failures without
    /// returning them.
    pub fn post_activate<T: Serialize>(&self, input: &T, deadline: Instant) {
        for file in &self.files {
            if let Err(err) = run_post_activate(file, input, deadline) {
                error!(hook = %file.name, "{err}");
            }
        }
    }
}

fn run_pre_activate(
    file: &HookFile,
    input: &PreActivateInput,
    regions: &BTreeSet<String>,
    deadline: Instant,
) -> Result<PreActivate, HookError> {
    let session = file.open(deadline)?;
    let Some(function) = function_of(&session, file, "pre_activate")? else {
        return Ok(PreActivate::default());
    };
    let failed =
        |err: mlua::Error| HookError::new(msg::hook_aborted(&file.display(), &error_text(&err)));

    let collected: Shared<PreActivate> = Shared::default();
    let requests: Shared<Vec<Result<HookRoute, String>>> = Shared::default();
    let ctx = context_table(&session.lua, input).map_err(failed)?;
    add_route_function(&session.lua, &ctx, file, input, requests.clone()).map_err(failed)?;
    skip_function(&session.lua, &ctx, collected.clone()).map_err(failed)?;

    let returned: MultiValue = function.call(ctx).map_err(failed)?;
    check_abort(file, &returned)?;

    let mut result = std::mem::take(&mut *collected.lock().unwrap_or_else(|e| e.into_inner()));
    for request in requests.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
        let route = request.map_err(HookError::new)?;
        if !regions.contains(&route.region) {
            let known: Vec<&str> = regions.iter().map(String::as_str).collect();
            return Err(HookError::new(msg::hook_region_unknown(
                &file.display(),
                &route.region,
                &known.join(", "),
            )));
        }
        info!(hook = %file.name, table = %route.table, target = %route.target.id(), "hook added a route");
        result.added.push(route);
    }
    Ok(result)
}

/// Returns the abort for `return false, "reason"`. Any other return
/// value lets the start continue.
fn check_abort(file: &HookFile, returned: &MultiValue) -> Result<(), HookError> {
    let mut values = returned.iter();
    if !matches!(values.next(), Some(Value::Boolean(false))) {
        return Ok(());
    }
    let reason = match values.next() {
        Some(Value::String(text)) => text.to_string_lossy(),
        Some(other) => other.to_string().unwrap_or_default(),
        None => msg::hook_no_reason(),
    };
    Err(HookError::new(msg::hook_aborted(&file.display(), &reason)))
}

fn context_table<T: Serialize>(lua: &Lua, input: &T) -> mlua::Result<Table> {
    match to_lua(lua, input)? {
        Value::Table(table) => Ok(table),
        _ => lua.create_table(),
    }
}

fn add_route_function(
    lua: &Lua,
    ctx: &Table,
    file: &HookFile,
    input: &PreActivateInput,
    requests: Shared<Vec<Result<HookRoute, String>>>,
) -> mlua::Result<()> {
    let display = file.display();
    let hook = file.display();
    let default_destination = input.destinations.first().cloned().unwrap_or_default();
    let gateways = input.gateways.clone();
    let function = lua.create_function(move |lua, fields: Value| {
        let fields: AddRoute = lua.from_value(fields).map_err(|err| {
            mlua::Error::runtime(msg::hook_route_invalid(&display, &error_text(&err)))
        })?;
        let route = checked_route(&hook, fields, &default_destination, &gateways)
            .map_err(|detail| msg::hook_route_invalid(&display, &detail));
        if let Err(text) = &route {
            return Err(mlua::Error::runtime(text.clone()));
        }
        requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(route);
        Ok(())
    })?;
    ctx.set("add_route", function)
}

/// Checks the shape of a requested route: table kind, target kind, owner.
fn checked_route(
    hook: &str,
    fields: AddRoute,
    default_destination: &str,
    gateways: &serde_json::Value,
) -> Result<HookRoute, String> {
    let destination = fields
        .destination
        .unwrap_or_else(|| default_destination.to_string());
    if crate::vip::Vip::parse_network(&destination).is_none() {
        return Err(msg::hook_route_destination(&destination));
    }

    let (target, owner) = if fields.table.starts_with("tgw-rtb-") {
        if !fields.target.starts_with("tgw-attach-") {
            return Err(msg::hook_route_target(
                &fields.table,
                &fields.target,
                "tgw-attach-",
            ));
        }
        let owner = fields
            .gateway
            .or_else(|| gateway_of_table(gateways, &fields.table))
            .unwrap_or_default();
        (Target::Attachment(fields.target), owner)
    } else if fields.table.starts_with("rtb-") {
        let target = if fields.target.starts_with("eni-") {
            Target::Eni(fields.target)
        } else if fields.target.starts_with("tgw-") && !fields.target.starts_with("tgw-attach-") {
            Target::TransitGateway(fields.target)
        } else {
            return Err(msg::hook_route_target(
                &fields.table,
                &fields.target,
                "eni-, tgw-",
            ));
        };
        let owner = fields
            .vpc
            .ok_or_else(|| msg::hook_route_vpc(&fields.table))?;
        (target, owner)
    } else {
        return Err(msg::hook_route_table(&fields.table));
    };

    Ok(HookRoute {
        hook: hook.to_string(),
        region: fields.region,
        table: fields.table,
        owner,
        destination,
        target,
    })
}

fn gateway_of_table(gateways: &serde_json::Value, table: &str) -> Option<String> {
    gateways.as_array()?.iter().find_map(|gateway| {
        let tables = gateway["route_tables"].as_array()?;
        tables
            .iter()
            .any(|t| t.as_str() == Some(table))
            .then(|| gateway["id"].as_str().unwrap_or_default().to_string())
    })
}

fn skip_function(lua: &Lua, ctx: &Table, collected: Shared<PreActivate>) -> mlua::Result<()> {
    let function =
        lua.create_function(move |_, (table, destination): (String, Option<String>)| {
            info!(table = %table, "hook skipped a table");
            collected
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .skipped
                .push((table, destination));
            Ok(())
        })?;
    ctx.set("skip", function)
}

fn run_post_activate<T: Serialize>(
    file: &HookFile,
    input: &T,
    deadline: Instant,
) -> Result<(), HookError> {
    let session = file.open(deadline)?;
    let Some(function) = function_of(&session, file, "post_activate")? else {
        return Ok(());
    };
    let failed =
        |err: mlua::Error| HookError::new(msg::hook_failed(&file.display(), &error_text(&err)));

    let ctx = context_table(&session.lua, input).map_err(failed)?;
    function.call::<MultiValue>(ctx).map_err(failed)?;
    Ok(())
}
