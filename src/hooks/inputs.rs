//! Translation between tgw-vip's own types and the flat tables hooks see,
//! and back from the routes hooks add to desired routes.
//!
//! Targets are passed as plain ids (`eni-...`, `tgw-attach-...`), so a hook
//! compares strings instead of nested records.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::{HookError, HookRoute, MonitorFailInput, PreActivateInput};
use crate::aws::AwsError;
use crate::engine::{Context, Outcome, RouteOutcome};
use crate::messages as msg;
use crate::plan::{Action, DesiredRoute, Diff, ObservedRoute, RouteChange, TableKind, Tables};

fn kind_name(kind: TableKind) -> &'static str {
    match kind {
        TableKind::Vpc => "vpc",
        TableKind::Tgw => "tgw",
    }
}

fn action_name(action: Action) -> &'static str {
    match action {
        Action::Keep => "keep",
        Action::Replace => "replace",
        Action::Create => "create",
    }
}

fn current_fields(current: Option<&ObservedRoute>) -> (Value, Value) {
    match current {
        Some(route) => (json!(route.target.id()), json!(route.state.as_str())),
        None => (Value::Null, Value::Null),
    }
}

fn server_of(context: &Context) -> Value {
    let region = context
        .topology
        .vpcs
        .get(&context.server.vpc)
        .map(|v| v.region.clone());
    json!({
        "name": context.server.name,
        "vpc": context.server.vpc,
        "region": region,
        "eni": context.server.eni,
    })
}

fn vips_of(context: &Context) -> (Vec<String>, Vec<String>) {
    let vips = context.vips.iter().map(ToString::to_string).collect();
    let destinations = context.vips.iter().map(|v| v.destination()).collect();
    (vips, destinations)
}

fn change_of(change: &RouteChange) -> Value {
    let (current, current_state) = current_fields(change.current.as_ref());
    json!({
        "region": change.region,
        "kind": kind_name(change.kind),
        "owner": change.owner,
        "table": change.table,
        "destination": change.destination,
        "current": current,
        "current_state": current_state,
        "desired": change.desired.id(),
        "action": action_name(change.action),
        "required": change.required,
    })
}

/// Builds the context of `pre_activate`: the command, the topology and the diff.
/// `action` is `start`, or `plan` when nothing will be written.
pub fn pre_activate(context: &Context, diff: &Diff, action: &str) -> PreActivateInput {
    let (vips, destinations) = vips_of(context);
    let gateways: Vec<Value> = context
        .topology
        .gateways
        .values()
        .map(|g| json!({"id": g.id, "region": g.region, "route_tables": g.route_tables}))
        .collect();
    let vpcs: Vec<Value> = context
        .topology
        .vpcs
        .values()
        .map(|v| json!({"id": v.id, "region": v.region, "gateway": v.gateway, "route_tables": v.explicit_tables}))
        .collect();
    PreActivateInput {
        action: action.to_string(),
        vips,
        destinations,
        server: server_of(context),
        regions: context.topology.regions().into_iter().collect(),
        gateways: Value::Array(gateways),
        vpcs: Value::Array(vpcs),
        changes: Value::Array(diff.changes.iter().map(change_of).collect()),
    }
}

fn outcome_of(outcome: &RouteOutcome) -> Value {
    let mut value = json!({
        "region": outcome.region,
        "kind": kind_name(outcome.kind),
        "owner": outcome.owner,
        "table": outcome.table,
        "destination": outcome.destination,
        "target": outcome.target.id(),
        "required": outcome.required,
        "elapsed_ms": outcome.elapsed_ms,
    });
    let (result, extra) = match &outcome.outcome {
        Outcome::Unchanged => ("unchanged", json!({})),
        Outcome::Changed { old } => ("changed", json!({"old": old.as_ref().map(|t| t.id())})),
        Outcome::Created => ("created", json!({})),
        Outcome::Failed { error } => ("failed", json!({"error": error_of(error)})),
        Outcome::NotRead { reason } => ("not_read", json!({"reason": reason})),
        Outcome::Withheld { reason } => ("withheld", json!({"reason": reason})),
    };
    value["result"] = json!(result);
    if let (Some(target), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
        target.extend(extra.clone());
    }
    value
}

fn error_of(error: &AwsError) -> Value {
    json!({
        "operation": error.operation,
        "region": error.region,
        "resource": error.resource,
        "code": error.code,
        "message": error.message,
    })
}

/// Builds the context of `post_activate`: every outcome and the timings.
pub fn post_activate(
    context: &Context,
    routes: &[RouteOutcome],
    elapsed_ms: u64,
    exit_code: i32,
) -> Value {
    let (vips, destinations) = vips_of(context);
    json!({
        "action": "start",
        "vips": vips,
        "destinations": destinations,
        "server": server_of(context),
        "routes": routes.iter().map(outcome_of).collect::<Vec<_>>(),
        "elapsed_ms": elapsed_ms,
        "exit_code": exit_code,
    })
}

/// Builds the context of `on_monitor_fail`. `drift` is the serialized
/// drift list.
pub fn monitor_fail(context: &Context, drift: &Value, api_errors: &[AwsError]) -> MonitorFailInput {
    let (vips, destinations) = vips_of(context);
    let servers: Vec<Value> = context
        .topology
        .servers
        .iter()
        .map(|s| json!({"name": s.name, "vpc": s.vpc, "eni": s.eni}))
        .collect();
    MonitorFailInput {
        action: "monitor".to_string(),
        vips,
        destinations,
        server: server_of(context),
        servers: Value::Array(servers),
        drift: flat_drift(drift),
        api_errors: Value::Array(api_errors.iter().map(error_of).collect()),
    }
}

/// Replaces the tagged targets of the drift list with plain ids.
fn flat_drift(drift: &Value) -> Value {
    let rows = drift.as_array().cloned().unwrap_or_default();
    let flat: Vec<Value> = rows
        .into_iter()
        .map(|mut row| {
            let expected = row["expected"]["id"].clone();
            let expected = if expected.is_null() {
                json!("blackhole")
            } else {
                expected
            };
            let actual = row["actual"]["target"]["id"].clone();
            let state = row["actual"]["state"].clone();
            row["expected"] = expected;
            row["actual"] = actual;
            row["actual_state"] = state;
            row
        })
        .collect();
    Value::Array(flat)
}

/// Turns the routes hooks added into desired routes. A VPC that the config
/// already manages is rejected, because its tables are planned already.
pub fn added_routes(
    context: &Context,
    added: &[HookRoute],
) -> Result<Vec<DesiredRoute>, HookError> {
    let active_region = context
        .topology
        .vpcs
        .get(&context.server.vpc)
        .map(|v| v.region.clone())
        .unwrap_or_default();
    let mut routes: Vec<DesiredRoute> = Vec::new();

    for route in added {
        let tables = if route.table.starts_with("tgw-rtb-") {
            Tables::Tgw {
                gateway: route.owner.clone(),
                table: route.table.clone(),
            }
        } else {
            if context.topology.vpcs.contains_key(&route.owner) {
                return Err(HookError::new(msg::hook_vpc_managed(
                    &route.hook,
                    &route.owner,
                )));
            }
            Tables::Vpc {
                vpc: route.owner.clone(),
                listed: vec![route.table.clone()],
            }
        };
        merge_route(
            &mut routes,
            DesiredRoute {
                region: route.region.clone(),
                tables,
                destination: route.destination.clone(),
                target: route.target.clone(),
                required: context.strict || route.region == active_region,
                hops: 0,
            },
        );
    }
    Ok(routes)
}

/// Adds `route`, folding VPC tables of the same VPC, destination and target
/// into one desired route so each table is diffed once.
fn merge_route(routes: &mut Vec<DesiredRoute>, route: DesiredRoute) {
    if let Tables::Vpc { vpc, listed } = &route.tables {
        let same = routes.iter_mut().find(|r| {
            r.destination == route.destination
                && r.target == route.target
                && matches!(&r.tables, Tables::Vpc { vpc: v, .. } if v == vpc)
        });
        if let Some(Tables::Vpc {
            listed: existing, ..
        }) = same.map(|r| &mut r.tables)
        {
            existing.extend(listed.iter().cloned());
            return;
        }
    }
    routes.push(route);
}

/// Merges the diff of added routes into `diff`. An added route replaces a
/// planned change for the same table and destination.
pub fn merge_diff(diff: &mut Diff, added: Diff) {
    let taken: BTreeSet<(String, String)> = added
        .changes
        .iter()
        .map(|c| (c.table.clone(), c.destination.clone()))
        .collect();
    diff.changes
        .retain(|c| !taken.contains(&(c.table.clone(), c.destination.clone())));

    let mut seen = BTreeSet::new();
    for change in added.changes {
        if seen.insert((change.table.clone(), change.destination.clone())) {
            diff.changes.push(change);
        }
    }
    diff.unobserved.extend(added.unobserved);
    diff.vpcs_without_route.extend(added.vpcs_without_route);
}

/// Removes the changes in skipped tables (and destinations, when given).
pub fn apply_skips(diff: &mut Diff, skipped: &[(String, Option<String>)]) {
    let is_skipped = |table: &str, destination: &str| {
        skipped
            .iter()
            .any(|(t, d)| t == table && d.as_deref().map_or(true, |d| d == destination))
    };
    diff.changes
        .retain(|c| !is_skipped(&c.table, &c.destination));
    diff.unobserved.retain(|u| match &u.route.tables {
        Tables::Tgw { table, .. } => !is_skipped(table, &u.route.destination),
        Tables::Vpc { .. } => true,
    });
}
