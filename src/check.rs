//! The `check` command: proves before a failover that the config matches
//! the account.
//!
//! A typo in an id or a missing IAM permission otherwise shows up only when
//! the cluster fails over. `check` looks up every id the config names with
//! Describe calls in its region, and checks with DryRun whether each route
//! write that `start` may make is authorized. DryRun changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::join_all;
use serde::Serialize;

use crate::aws::{AwsError, ErrorKind, Owners, Permission, Write};
use crate::engine::Context;
use crate::plan::ObservedTable;
use crate::topology::Topology;
use crate::ExitStatus;

/// The kind of AWS resource an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    Vpc,
    Eni,
    TransitGateway,
    TgwRouteTable,
    TgwAttachment,
    RouteTable,
}

/// One id from the config and where it must exist.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Expected {
    pub region: String,
    pub kind: ResourceKind,
    pub id: String,
    /// The owners the config states for the resource: its VPC or Transit
    /// Gateway, and for a VPC attachment also the attached VPC.
    pub parents: Vec<String>,
}

/// The result of looking up one id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Found {
    Exists,
    NotFound,
    /// The resource exists but belongs to another VPC or Transit Gateway.
    WrongParent {
        expected: String,
        actual: String,
    },
    /// The lookup failed, so existence is unknown.
    NotChecked {
        code: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct ResourceCheck {
    pub region: String,
    pub kind: ResourceKind,
    pub id: String,
    #[serde(flatten)]
    pub found: Found,
}

/// The DryRun result for one write on one route table.
#[derive(Debug, Clone, Serialize)]
pub struct PermissionCheck {
    pub region: String,
    pub table: String,
    /// The IAM action, such as `ec2:ReplaceRoute`.
    pub action: String,
    /// None when the DryRun call itself failed.
    pub permission: Option<Permission>,
    pub error: Option<String>,
}

/// A VPC where start would find no table to change: none is listed under
/// `routeTables` and none has a route for the VIP yet.
#[derive(Debug, Clone, Serialize)]
pub struct Unrouted {
    pub region: String,
    pub vpc: String,
    pub destination: String,
}

#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub resources: Vec<ResourceCheck>,
    pub permissions: Vec<PermissionCheck>,
    pub unrouted: Vec<Unrouted>,
    /// IAM actions that AWS denied, such as `ec2:CreateRoute`, sorted.
    pub missing_actions: Vec<String>,
    pub api_errors: Vec<AwsError>,
    pub exit_code: i32,
}

/// Lists every id the topology names, with its region and owner.
pub fn expected_resources(topology: &Topology) -> Vec<Expected> {
    let mut expected = BTreeSet::new();
    let mut add = |region: &str, kind, id: &str, parents: &[&str]| {
        expected.insert(Expected {
            region: region.to_string(),
            kind,
            id: id.to_string(),
            parents: parents.iter().map(|p| p.to_string()).collect(),
        });
    };

    for vpc in topology.vpcs.values() {
        add(&vpc.region, ResourceKind::Vpc, &vpc.id, &[]);
        for table in &vpc.explicit_tables {
            add(&vpc.region, ResourceKind::RouteTable, table, &[&vpc.id]);
        }
    }
    for server in &topology.servers {
        // `eni: auto` is read from instance metadata at start, not checked.
        let (Some(eni), Some(vpc)) = (server.eni_id(), topology.vpcs.get(&server.vpc)) else {
            continue;
        };
        add(&vpc.region, ResourceKind::Eni, eni, &[&vpc.id]);
    }
    for gateway in topology.gateways.values() {
        let region = gateway.region.as_str();
        add(region, ResourceKind::TransitGateway, &gateway.id, &[]);
        for table in &gateway.route_tables {
            add(region, ResourceKind::TgwRouteTable, table, &[&gateway.id]);
        }
        // A swapped attachment would point the VIP into the wrong VPC, so
        // the attached VPC is checked as well as the gateway.
        for (attachment, vpc) in &gateway.attachments {
            add(
                region,
                ResourceKind::TgwAttachment,
                attachment,
                &[&gateway.id, vpc],
            );
        }
        // A peering attachment is seen from both of its Transit Gateways, so
        // only its existence is checked here.
        for attachment in gateway.peerings.values() {
            add(region, ResourceKind::TgwAttachment, attachment, &[]);
        }
    }
    expected.into_iter().collect()
}

/// Runs every lookup and DryRun and builds the report.
pub async fn check(context: &Context) -> CheckReport {
    let expected = expected_resources(&context.topology);
    let (resources, mut api_errors) = look_up(context, &expected).await;

    let destinations: Vec<String> = context.vips.iter().map(|v| v.destination()).collect();
    let found = write_probes(context, &destinations).await;
    api_errors.extend(found.errors);
    let permissions = run_probes(context, &found.probes).await;

    let missing_actions = missing_actions(&permissions, &api_errors);
    let mut status = status_of(&resources, &permissions, &api_errors);
    if status == ExitStatus::Success && !found.unrouted.is_empty() {
        status = ExitStatus::Failed;
    }
    CheckReport {
        resources,
        permissions,
        unrouted: found.unrouted,
        missing_actions,
        api_errors,
        exit_code: status.code(),
    }
}

/// Looks up the ids with one Describe call per region and kind, all at once.
async fn look_up(context: &Context, expected: &[Expected]) -> (Vec<ResourceCheck>, Vec<AwsError>) {
    let mut groups: BTreeMap<(String, ResourceKind), Vec<String>> = BTreeMap::new();
    for item in expected {
        groups
            .entry((item.region.clone(), item.kind))
            .or_default()
            .push(item.id.clone());
    }

    let calls = groups.iter().map(|((region, kind), ids)| async move {
        let ec2 = &context.ec2;
        let result = match kind {
            ResourceKind::Vpc => ec2.existing_vpcs(region, ids).await,
            ResourceKind::Eni => ec2.existing_enis(region, ids).await,
            ResourceKind::TransitGateway => ec2.existing_transit_gateways(region, ids).await,
            ResourceKind::TgwRouteTable => ec2.existing_tgw_route_tables(region, ids).await,
            ResourceKind::TgwAttachment => ec2.existing_tgw_attachments(region, ids).await,
            ResourceKind::RouteTable => ec2.existing_route_tables(region, ids).await,
        };
        ((region.clone(), *kind), result)
    });
    let answers: BTreeMap<_, _> = join_all(calls).await.into_iter().collect();

    let mut errors = Vec::new();
    for error in answers.values().filter_map(|r| r.as_ref().err()) {
        errors.push(error.clone());
    }
    let checks = expected
        .iter()
        .map(|item| {
            let answer = &answers[&(item.region.clone(), item.kind)];
            ResourceCheck {
                region: item.region.clone(),
                kind: item.kind,
                id: item.id.clone(),
                found: found_of(item, answer),
            }
        })
        .collect();
    (checks, errors)
}

/// Judges one id against the result of its Describe call, which maps each
/// existing id to what it belongs to.
fn found_of(item: &Expected, answer: &Result<Owners, AwsError>) -> Found {
    let existing = match answer {
        Ok(existing) => existing,
        Err(error) => {
            return Found::NotChecked {
                code: error.code.clone(),
            };
        }
    };
    let Some(owners) = existing.get(&item.id) else {
        return Found::NotFound;
    };

    let known: Vec<&String> = owners.iter().filter(|o| !o.is_empty()).collect();
    let wrong = item
        .parents
        .iter()
        .find(|parent| !known.is_empty() && !known.contains(parent));
    match wrong {
        Some(parent) => Found::WrongParent {
            expected: parent.clone(),
            actual: same_kind(parent, &known),
        },
        None => Found::Exists,
    }
}

/// Picks the owner of the same kind as `parent` (a VPC for a VPC, a Transit
/// Gateway for a Transit Gateway), judged by the id prefix.
fn same_kind(parent: &str, owners: &[&String]) -> String {
    let prefix = parent.split('-').next().unwrap_or_default();
    owners
        .iter()
        .find(|owner| owner.split('-').next() == Some(prefix))
        .or(owners.first())
        .map(|owner| owner.to_string())
        .unwrap_or_default()
}

/// One DryRun write to make.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Probe {
    region: String,
    table: String,
    /// True for a TGW route table, false for a VPC route table.
    tgw: bool,
    write: WriteKind,
    /// The target to name in the request: a Transit Gateway for a VPC
    /// table, an attachment for a TGW table.
    target: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum WriteKind {
    Replace,
    Create,
}

/// Lists the writes `start` may make on every managed table. Listed VPC
/// tables may get ReplaceRoute or CreateRoute, other VPC tables that hold a
/// VIP route only ReplaceRoute, TGW tables both TGW route writes.
async fn write_probes(context: &Context, destinations: &[String]) -> Probes {
    let topology = &context.topology;
    let mut probes = BTreeSet::new();
    let mut errors = Vec::new();
    let mut unrouted = Vec::new();

    for vpc in topology.vpcs.values() {
        for table in &vpc.explicit_tables {
            for write in [WriteKind::Replace, WriteKind::Create] {
                probes.insert(vpc_probe(&vpc.region, table, &vpc.gateway, write));
            }
        }
    }
    for region in topology.regions() {
        let vpcs: Vec<String> = topology
            .vpcs
            .values()
            .filter(|v| v.region == region)
            .map(|v| v.id.clone())
            .collect();
        if vpcs.is_empty() {
            continue;
        }
        match context
            .ec2
            .vpc_tables(&region, &vpcs, destinations, false)
            .await
        {
            Ok(tables) => {
                unrouted.extend(unrouted_vpcs(topology, &region, destinations, &tables));
                for (vpc, table, _) in tables {
                    let gateway = topology.vpcs.get(&vpc).map(|v| v.gateway.clone());
                    let gateway = gateway.unwrap_or_default();
                    probes.insert(vpc_probe(&region, &table, &gateway, WriteKind::Replace));
                }
            }
            Err(error) => errors.push(error),
        }
    }

    for gateway in topology.gateways.values() {
        let attachment = gateway
            .attachments
            .keys()
            .chain(gateway.peerings.values())
            .next()
            .cloned()
            .unwrap_or_default();
        for table in &gateway.route_tables {
            for write in [WriteKind::Replace, WriteKind::Create] {
                probes.insert(Probe {
                    region: gateway.region.clone(),
                    table: table.clone(),
                    tgw: true,
                    write,
                    target: attachment.clone(),
                });
            }
        }
    }
    Probes {
        probes: probes.into_iter().collect(),
        unrouted,
        errors,
    }
}

/// The DryRun writes to make, and what finding them showed.
struct Probes {
    probes: Vec<Probe>,
    /// VPCs without listed tables where no table has a VIP route yet.
    unrouted: Vec<Unrouted>,
    errors: Vec<AwsError>,
}

/// Lists the VPCs of `region` that have no listed tables and no table with
/// a route for one of `destinations`: start finds no table to change there.
fn unrouted_vpcs(
    topology: &Topology,
    region: &str,
    destinations: &[String],
    tables: &[(String, String, ObservedTable)],
) -> Vec<Unrouted> {
    let mut unrouted = Vec::new();
    let vpcs = topology.vpcs.values().filter(|v| v.region == region);

    for vpc in vpcs.filter(|v| v.explicit_tables.is_empty()) {
        for destination in destinations {
            let routed = tables.iter().any(|(owner, _, table)| {
                *owner == vpc.id && table.routes.contains_key(destination)
            });
            if !routed {
                unrouted.push(Unrouted {
                    region: region.to_string(),
                    vpc: vpc.id.clone(),
                    destination: destination.clone(),
                });
            }
        }
    }
    unrouted
}

fn vpc_probe(region: &str, table: &str, gateway: &str, write: WriteKind) -> Probe {
    Probe {
        region: region.to_string(),
        table: table.to_string(),
        tgw: false,
        write,
        target: gateway.to_string(),
    }
}

/// The IAM action a probe needs.
fn action_of(probe: &Probe) -> &'static str {
    match (probe.tgw, probe.write) {
        (false, WriteKind::Replace) => "ec2:ReplaceRoute",
        (false, WriteKind::Create) => "ec2:CreateRoute",
        (true, WriteKind::Replace) => "ec2:ReplaceTransitGatewayRoute",
        (true, WriteKind::Create) => "ec2:CreateTransitGatewayRoute",
    }
}

async fn run_probes(context: &Context, probes: &[Probe]) -> Vec<PermissionCheck> {
    // Every probe uses the first VIP: permissions do not depend on the
    // destination, and one call per write and table keeps the check short.
    let destination = context
        .vips
        .first()
        .map(|v| v.destination())
        .unwrap_or_default();

    let calls = probes.iter().map(|probe| {
        let destination = destination.clone();
        async move {
            let write = match probe.write {
                WriteKind::Replace => Write::Replace,
                WriteKind::Create => Write::Create,
            };
            let ec2 = &context.ec2;
            let (region, table, target) = (&probe.region, &probe.table, &probe.target);
            let result = if probe.tgw {
                ec2.probe_tgw_write(region, table, &destination, target, write)
                    .await
            } else {
                ec2.probe_vpc_write(region, table, &destination, target, write)
                    .await
            };
            PermissionCheck {
                region: region.clone(),
                table: table.clone(),
                action: action_of(probe).to_string(),
                permission: result.as_ref().ok().copied(),
                error: result.err().map(|e| format!("{}: {}", e.code, e.message)),
            }
        }
    });
    join_all(calls).await
}

/// The denied write actions and the Describe actions AWS refused.
fn missing_actions(permissions: &[PermissionCheck], errors: &[AwsError]) -> Vec<String> {
    let mut missing: BTreeSet<String> = permissions
        .iter()
        .filter(|p| p.permission == Some(Permission::Denied))
        .map(|p| p.action.clone())
        .collect();
    for error in errors.iter().filter(|e| e.kind == ErrorKind::Unauthorized) {
        missing.insert(format!("ec2:{}", error.operation));
    }
    missing.into_iter().collect()
}

/// Exit 3 when AWS could not be reached, 1 when anything is missing or
/// could not be checked, 0 otherwise.
fn status_of(
    resources: &[ResourceCheck],
    permissions: &[PermissionCheck],
    errors: &[AwsError],
) -> ExitStatus {
    if errors.iter().any(|e| e.kind.is_unreachable()) {
        return ExitStatus::AwsUnavailable;
    }
    let resources_ok = resources.iter().all(|r| r.found == Found::Exists);
    let permissions_ok = permissions
        .iter()
        .all(|p| p.permission == Some(Permission::Allowed));
    if resources_ok && permissions_ok && errors.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expected(parents: &[&str]) -> Expected {
        Expected {
            region: "ap-northeast-1".to_string(),
            kind: ResourceKind::Eni,
            id: "eni-0aaaaaaaaaaaaaaaa".to_string(),
            parents: parents.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn found_of_reports_missing_id() {
        let answer = Ok(BTreeMap::new());
        assert_eq!(found_of(&expected(&[]), &answer), Found::NotFound);
    }

    #[test]
    fn found_of_reports_wrong_vpc() {
        let answer = Ok(BTreeMap::from([(
            "eni-0aaaaaaaaaaaaaaaa".to_string(),
            vec!["vpc-99999999".to_string()],
        )]));
        let found = found_of(&expected(&["vpc-1234abcd"]), &answer);
        assert_eq!(
            found,
            Found::WrongParent {
                expected: "vpc-1234abcd".to_string(),
                actual: "vpc-99999999".to_string()
            }
        );
    }

    #[test]
    fn found_of_reports_attachment_of_other_vpc() {
        let owners = vec!["tgw-0aaaaaaaa".to_string(), "vpc-99999999".to_string()];
        let answer = Ok(BTreeMap::from([(
            "eni-0aaaaaaaaaaaaaaaa".to_string(),
            owners,
        )]));

        let right = found_of(&expected(&["tgw-0aaaaaaaa", "vpc-99999999"]), &answer);
        let swapped = found_of(&expected(&["tgw-0aaaaaaaa", "vpc-1234abcd"]), &answer);

        assert_eq!(right, Found::Exists);
        assert_eq!(
            swapped,
            Found::WrongParent {
                expected: "vpc-1234abcd".to_string(),
                actual: "vpc-99999999".to_string()
            }
        );
    }

    #[test]
    fn missing_actions_lists_denied_and_refused_reads() {
        let denied = PermissionCheck {
            region: "ap-northeast-1".to_string(),
            table: "rtb-0a1a1a1a1a1a1a1a1".to_string(),
            action: "ec2:CreateRoute".to_string(),
            permission: Some(Permission::Denied),
            error: None,
        };
        let mut refused = AwsError::test("DescribeVpcs", "UnauthorizedOperation");
        refused.kind = ErrorKind::Unauthorized;

        let missing = missing_actions(&[denied], &[refused]);

        assert_eq!(missing, vec!["ec2:CreateRoute", "ec2:DescribeVpcs"]);
    }
}
