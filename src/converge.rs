//! Settling a race between two nodes that run `start` at the same moment.
//!
//! After its writes, a start reads back every route it set. If another
//! writer changed some of them, the shared anchor route (`plan::anchor`)
//! decides: the node that finds the anchor still pointing at itself
//! rewrites the rest, and a node that finds the anchor taken stops and
//! reports which server took it. Because the losing node stops writing, the
//! owner's read-back eventually finds every route pointing at it.

use serde::Serialize;
use tracing::warn;

use crate::engine::{self, Context, Outcome, RouteOutcome};
use crate::plan::{self, DesiredRoute, Diff, Tables};

/// Read-back rounds after the first writes; each round costs one read and,
/// when another writer interfered, one write per changed route.
const MAX_ROUNDS: usize = 3;

/// Another node wrote the anchor route after this one.
#[derive(Debug, Clone, Serialize)]
pub struct Conflict {
    pub table: String,
    pub owner: Option<String>,
}

/// Reads back what `outcomes` set and repairs interference from another
/// writer, unless that writer owns the anchor. Does nothing when the start
/// wrote nothing.
pub async fn settle(
    context: &Context,
    desired: &[DesiredRoute],
    outcomes: &mut [RouteOutcome],
) -> Option<Conflict> {
    let wrote = outcomes
        .iter()
        .any(|o| matches!(o.outcome, Outcome::Changed { .. } | Outcome::Created));
    let anchor = plan::anchor(&context.topology, &context.server, &context.vips);
    let (Some((anchor_table, anchor_destination, _)), true) = (anchor, wrote) else {
        return None;
    };
    let settled: Vec<DesiredRoute> = desired
        .iter()
        .filter(|route| succeeded(route, outcomes))
        .cloned()
        .collect();

    for _ in 0..MAX_ROUNDS {
        let cutoff = engine::optional_cutoff(&context.ec2);
        let observation = engine::observe(&context.ec2, &settled, cutoff).await;
        let diff = plan::diff(&settled, &observation);
        let pending: Vec<plan::RouteChange> = diff.pending().cloned().collect();
        if pending.is_empty() {
            return None;
        }

        let taken = pending
            .iter()
            .find(|c| c.table == anchor_table && c.destination == anchor_destination);
        if let Some(change) = taken {
            let owner = change.current.as_ref().and_then(|route| {
                plan::owner_of(
                    &context.topology,
                    &context.vips,
                    &anchor_table,
                    &route.target,
                )
            });
            warn!(table = %anchor_table, owner = ?owner, "another node took the VIP during start");
            return Some(Conflict {
                table: anchor_table,
                owner,
            });
        }

        warn!(
            routes = pending.len(),
            "routes changed by another writer during start; rewriting them"
        );
        let again = Diff {
            changes: pending,
            ..Diff::default()
        };
        for rewritten in engine::apply(&context.ec2, &again, None).await {
            record(outcomes, rewritten);
        }
    }
    None
}

/// Tells whether every table of `route` was written or already correct.
fn succeeded(route: &DesiredRoute, outcomes: &[RouteOutcome]) -> bool {
    let owner = match &route.tables {
        Tables::Vpc { vpc, .. } => vpc,
        Tables::Tgw { table, .. } => table,
    };
    let related: Vec<&RouteOutcome> = outcomes
        .iter()
        .filter(|o| o.destination == route.destination && (&o.owner == owner || &o.table == owner))
        .collect();
    !related.is_empty() && related.iter().all(|o| !o.is_failure())
}

/// Keeps the first outcome of a table unless the rewrite failed.
fn record(outcomes: &mut [RouteOutcome], rewritten: RouteOutcome) {
    let entry = outcomes
        .iter_mut()
        .find(|o| o.table == rewritten.table && o.destination == rewritten.destination);
    if let Some(entry) = entry {
        if rewritten.is_failure() {
            *entry = rewritten;
        }
    }
}
