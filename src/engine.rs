//! The one procedure behind every command: observe, diff, apply, report.
//!
//! Each command builds the desired routes (pure), observes the managed
//! tables with parallel reads, diffs (pure) and, for `start` and a repairing
//! `monitor`, applies only what differs with parallel writes. Every AWS call
//! runs under the command's deadline, so a region that does not respond
//! delays the result by at most that long.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::future::join_all;
use serde::Serialize;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::aws::{AwsError, Ec2, ErrorKind, Write};
use crate::plan::{
    self, Action, DesiredRoute, Diff, Observation, ObservedTable, RouteChange, TableKind, Tables,
    Target,
};
use crate::topology::{Server, Topology};
use crate::vip::Vip;

/// Everything a command needs, resolved from the config and command line.
pub struct Context {
    pub topology: Topology,
    pub vips: Vec<Vip>,
    pub server: Server,
    pub strict: bool,
    pub ec2: Ec2,
    pub deadline: Instant,
    /// The config's hook files; empty for commands that run no hooks.
    pub hooks: crate::hooks::Hooks,
}

/// The result for one route.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    Unchanged,
    Changed {
        old: Option<Target>,
    },
    Created,
    Failed {
        error: AwsError,
    },
    /// Not read, so not compared or written.
    NotRead {
        reason: String,
    },
    /// Read and different, but not written because a required route could
    /// not be read, which would have left a partial switch.
    Withheld {
        reason: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct RouteOutcome {
    pub region: String,
    pub kind: TableKind,
    pub owner: String,
    pub table: String,
    pub destination: String,
    pub target: Target,
    pub required: bool,
    #[serde(flatten)]
    pub outcome: Outcome,
    pub elapsed_ms: u64,
}

impl RouteOutcome {
    pub fn is_failure(&self) -> bool {
        matches!(
            self.outcome,
            Outcome::Failed { .. } | Outcome::NotRead { .. }
        )
    }

    fn error_kind(&self) -> Option<ErrorKind> {
        match &self.outcome {
            Outcome::Failed { error } => Some(error.kind),
            Outcome::NotRead { .. } | Outcome::Withheld { .. } => Some(ErrorKind::Connection),
            _ => None,
        }
    }
}

/// Computes the routes the active server needs for every VIP.
pub fn desired(context: &Context) -> Vec<DesiredRoute> {
    plan::desired_routes(
        &context.topology,
        &context.server,
        &context.vips,
        context.strict,
        context.server.eni_id(),
    )
}

/// Reads every table that `routes` name: one DescribeRouteTables per region
/// for all its VPCs, and one exact-match search per TGW table and VIP, all
/// at once.
///
/// Reads for routes that are not required give up at `optional_cutoff`, so
/// that a region that does not respond cannot hold back the writes in the
/// active region until the command's deadline.
pub async fn observe(ec2: &Ec2, routes: &[DesiredRoute], optional_cutoff: Instant) -> Observation {
    let destinations: Vec<String> = routes
        .iter()
        .map(|r| r.destination.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let optional = ec2.with_deadline(optional_cutoff);
    let client_for = |required: bool| if required { ec2 } else { &optional };
    let mut vpcs_by_region: BTreeMap<String, VpcRead> = BTreeMap::new();
    let mut tgw_tables: BTreeMap<(String, String, String), bool> = BTreeMap::new();

    for route in routes {
        match &route.tables {
            Tables::Vpc { vpc, listed } => {
                let entry = vpcs_by_region.entry(route.region.clone()).or_default();
                entry.vpcs.insert(vpc.clone());
                entry.all_tables |= !listed.is_empty();
                entry.required |= route.required;
            }
            Tables::Tgw { table, .. } => {
                let key = (
                    route.region.clone(),
                    table.clone(),
                    route.destination.clone(),
                );
                *tgw_tables.entry(key).or_default() |= route.required;
            }
        }
    }

    let vpc_reads = vpcs_by_region.iter().map(|(region, read)| {
        let vpcs: Vec<String> = read.vpcs.iter().cloned().collect();
        let destinations = destinations.clone();
        let client = client_for(read.required);
        async move {
            let result = client
                .vpc_tables(region, &vpcs, &destinations, read.all_tables)
                .await;
            (region.clone(), vpcs, result)
        }
    });
    let tgw_reads = tgw_tables
        .iter()
        .map(|((region, table, destination), required)| {
            let client = client_for(*required);
            async move {
                let result = client.tgw_table(region, table, destination).await;
                (table.clone(), result)
            }
        });
    let (vpc_results, tgw_results) = futures::join!(join_all(vpc_reads), join_all(tgw_reads));

    let mut observation = Observation::default();
    for (region, vpcs, result) in vpc_results {
        record_vpc_read(&mut observation, &region, vpcs, result);
    }
    for (table, result) in tgw_results {
        match result {
            Ok(contents) => merge_tgw(&mut observation, table, contents),
            Err(error) => {
                warn!(table = %table, code = %error.code, "TGW route table could not be read");
                observation.failed.insert(table, error);
            }
        }
    }
    observation
}

/// The VPCs of one region that one DescribeRouteTables call covers.
#[derive(Default)]
struct VpcRead {
    vpcs: BTreeSet<String>,
    all_tables: bool,
    required: bool,
}

fn record_vpc_read(
    observation: &mut Observation,
    region: &str,
    vpcs: Vec<String>,
    result: Result<Vec<(String, String, ObservedTable)>, AwsError>,
) {
    match result {
        Ok(tables) => {
            for vpc in &vpcs {
                observation.vpc_tables.entry(vpc.clone()).or_default();
            }
            for (vpc, table, contents) in tables {
                observation
                    .vpc_tables
                    .entry(vpc)
                    .or_default()
                    .push((table, contents));
            }
        }
        Err(error) => {
            warn!(region = %region, code = %error.code, "route tables of the region could not be read");
            for vpc in vpcs {
                observation.failed.insert(vpc, error.clone());
            }
        }
    }
}

/// Returns the moment when reads of routes that are not required give up:
/// half of the time left, so the other half remains for writes.
pub fn optional_cutoff(ec2: &Ec2) -> Instant {
    let now = Instant::now();
    let left = ec2.deadline().saturating_duration_since(now);
    now + left / 2
}

fn merge_tgw(observation: &mut Observation, table: String, contents: ObservedTable) {
    let entry = observation.tgw_tables.entry(table).or_default();
    entry.routes.extend(contents.routes);
    entry.propagated.extend(contents.propagated);
}

/// Writes every pending change of `diff` at once and reports each route,
/// the unchanged and unread ones included. With `withhold`, nothing is
/// written and each pending change is reported as withheld for that reason.
pub async fn apply(ec2: &Ec2, diff: &Diff, withhold: Option<&str>) -> Vec<RouteOutcome> {
    let writes = diff.changes.iter().map(|change| async move {
        let started = Instant::now();
        let outcome = match (change.action, withhold) {
            (Action::Keep, _) => Outcome::Unchanged,
            (_, Some(reason)) => Outcome::Withheld {
                reason: reason.to_string(),
            },
            _ => write_change(ec2, change).await,
        };
        log_outcome(change, &outcome);
        to_outcome(change, outcome, started.elapsed())
    });
    let mut outcomes = join_all(writes).await;

    for unobserved in &diff.unobserved {
        let route = &unobserved.route;
        let (kind, owner, table) = match &route.tables {
            Tables::Vpc { vpc, .. } => (TableKind::Vpc, vpc.clone(), String::new()),
            Tables::Tgw { gateway, table } => (TableKind::Tgw, gateway.clone(), table.clone()),
        };
        outcomes.push(RouteOutcome {
            region: route.region.clone(),
            kind,
            owner,
            table,
            destination: route.destination.clone(),
            target: route.target.clone(),
            required: route.required,
            outcome: Outcome::NotRead {
                reason: unobserved.reason.clone(),
            },
            elapsed_ms: 0,
        });
    }
    outcomes.sort_by(|a, b| {
        (&a.region, a.kind, &a.owner, &a.table).cmp(&(&b.region, b.kind, &b.owner, &b.table))
    });
    outcomes
}

fn to_outcome(change: &RouteChange, outcome: Outcome, elapsed: Duration) -> RouteOutcome {
    RouteOutcome {
        region: change.region.clone(),
        kind: change.kind,
        owner: change.owner.clone(),
        table: change.table.clone(),
        destination: change.destination.clone(),
        target: change.desired.clone(),
        required: change.required,
        outcome,
        elapsed_ms: elapsed.as_millis() as u64,
    }
}

fn log_outcome(change: &RouteChange, outcome: &Outcome) {
    let old = change
        .current
        .as_ref()
        .map(|r| r.target.id().to_string())
        .unwrap_or_else(|| "none".to_string());
    match outcome {
        Outcome::Changed { .. } | Outcome::Created => info!(
            table = %change.table,
            region = %change.region,
            destination = %change.destination,
            old = %old,
            new = %change.desired.id(),
            "route switched"
        ),
        Outcome::Failed { error } => warn!(
            table = %change.table,
            region = %change.region,
            destination = %change.destination,
            code = %error.code,
            "route not switched: {}",
            error.message
        ),
        _ => debug!(table = %change.table, "route already correct"),
    }
}

/// Performs one change, falling back between Replace and Create when the
/// table changed between the read and the write.
async fn write_change(ec2: &Ec2, change: &RouteChange) -> Outcome {
    let first = if change.action == Action::Create {
        Write::Create
    } else {
        Write::Replace
    };
    let old = change.current.as_ref().map(|r| r.target.clone());

    match write_once(ec2, change, first).await {
        Ok(()) => done(first, old),
        Err(error) if first == Write::Replace && error.kind == ErrorKind::NotFound => {
            debug!(table = %change.table, "route vanished since the read; creating it");
            match write_once(ec2, change, Write::Create).await {
                Ok(()) => Outcome::Created,
                Err(error) => Outcome::Failed { error },
            }
        }
        Err(error) if first == Write::Create && error.kind == ErrorKind::AlreadyExists => {
            // Another node created the route between our read and write:
            // read it again and replace it unless it is already right.
            debug!(table = %change.table, "route appeared since the read; replacing it");
            if already_right(ec2, change).await {
                return Outcome::Unchanged;
            }
            match write_once(ec2, change, Write::Replace).await {
                Ok(()) => Outcome::Changed { old },
                Err(error) => Outcome::Failed { error },
            }
        }
        Err(error) => Outcome::Failed { error },
    }
}

fn done(write: Write, old: Option<Target>) -> Outcome {
    match write {
        Write::Replace => Outcome::Changed { old },
        Write::Create => Outcome::Created,
    }
}

async fn write_once(ec2: &Ec2, change: &RouteChange, write: Write) -> Result<(), AwsError> {
    match change.kind {
        TableKind::Vpc => {
            ec2.write_vpc_route(
                &change.region,
                &change.table,
                &change.destination,
                &change.desired,
                write,
            )
            .await
        }
        TableKind::Tgw => {
            ec2.write_tgw_route(
                &change.region,
                &change.table,
                &change.destination,
                change.desired.id(),
                write,
            )
            .await
        }
    }
}

async fn already_right(ec2: &Ec2, change: &RouteChange) -> bool {
    if change.kind != TableKind::Tgw {
        return false;
    }
    match ec2
        .tgw_table(&change.region, &change.table, &change.destination)
        .await
    {
        Ok(table) => table
            .routes
            .get(&change.destination)
            .is_some_and(|r| r.target == change.desired && r.state == plan::RouteState::Active),
        Err(_) => false,
    }
}

/// Returns the exit status for a set of outcomes: 0 when every required
/// route is set, 3 when a required route failed only because AWS could not
/// be reached, 1 when AWS rejected a required write.
pub fn start_status(outcomes: &[RouteOutcome]) -> crate::ExitStatus {
    let failed: Vec<&RouteOutcome> = outcomes
        .iter()
        .filter(|o| o.required && o.is_failure())
        .collect();
    if failed.is_empty() {
        return crate::ExitStatus::Success;
    }
    let unreachable = failed
        .iter()
        .all(|o| o.error_kind().is_some_and(ErrorKind::is_unreachable));
    if unreachable {
        crate::ExitStatus::AwsUnavailable
    } else {
        crate::ExitStatus::Failed
    }
}
