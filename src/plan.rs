//! Desired routes and the diff against observed routes.
//!
//! Both steps are pure: `desired_routes` reads only the topology, and `diff`
//! reads only what `aws` observed. Neither performs I/O, so the routing rule
//! is tested here without AWS.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::topology::{Server, Topology};
use crate::vip::Vip;

/// The next hop of a route.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Target {
    /// An elastic network interface (VPC route tables).
    Eni(String),
    /// A Transit Gateway (VPC route tables).
    TransitGateway(String),
    /// A Transit Gateway attachment (TGW route tables).
    Attachment(String),
    /// A static TGW route with no attachment.
    Blackhole,
    /// Anything else, such as an internet gateway or an instance id.
    Other(String),
}

impl Target {
    pub fn id(&self) -> &str {
        match self {
            Target::Eni(id) | Target::TransitGateway(id) | Target::Attachment(id) => id,
            Target::Other(id) => id,
            Target::Blackhole => "blackhole",
        }
    }
}

/// The tables a desired route applies to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Tables {
    /// Every table of the VPC that already contains a route for the VIP, plus
    /// the tables listed for it in the config.
    Vpc { vpc: String, listed: Vec<String> },
    /// One route table of a Transit Gateway.
    Tgw { gateway: String, table: String },
}

/// One route the active server needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DesiredRoute {
    pub region: String,
    pub tables: Tables,
    pub destination: String,
    pub target: Target,
    /// A required route failing fails the action; others are best effort.
    pub required: bool,
    /// Peering hops to the active VPC, for TGW routes through peerings.
    pub hops: usize,
}

/// Computes every route for `vips` with `active` as the active server.
///
/// The four rules: the active VPC's tables point at the server's ENI (only
/// when the ENI is known), each gateway attaching the active VPC points at
/// that VPC attachment, every other gateway points at the peering on its
/// shortest path, and every other attached VPC points at its own gateway.
/// Routes in the active server's region are required; the others are
/// required only when `strict` is set.
pub fn desired_routes(
    topology: &Topology,
    active: &Server,
    vips: &[Vip],
    strict: bool,
    eni: Option<&str>,
) -> Vec<DesiredRoute> {
    let active_region = topology
        .vpcs
        .get(&active.vpc)
        .map(|v| v.region.clone())
        .unwrap_or_default();
    let required = |region: &str| strict || region == active_region;
    let mut routes = Vec::new();

    for vip in vips {
        let destination = vip.destination();
        let route = |region: &str, tables: Tables, target: Target, hops: usize| DesiredRoute {
            region: region.to_string(),
            tables,
            destination: destination.clone(),
            target,
            required: required(region),
            hops,
        };

        // Rule 1 and rule 4: VPC route tables.
        for vpc in topology.vpcs.values() {
            let target = if vpc.id == active.vpc {
                match eni {
                    Some(eni) => Target::Eni(eni.to_string()),
                    None => continue,
                }
            } else {
                Target::TransitGateway(vpc.gateway.clone())
            };
            let tables = Tables::Vpc {
                vpc: vpc.id.clone(),
                listed: vpc.explicit_tables.clone(),
            };
            routes.push(route(&vpc.region, tables, target, 0));
        }

        // Rule 2 and rule 3: Transit Gateway route tables.
        for gateway in topology.gateways.values() {
            let local = gateway
                .attachments
                .iter()
                .find(|(_, vpc)| **vpc == active.vpc)
                .map(|(attachment, _)| attachment.clone());
            let (target, hops) = match local {
                Some(attachment) => (Target::Attachment(attachment), 0),
                None => match topology.next_hop(&gateway.id, &active.vpc) {
                    Some(hop) => (Target::Attachment(hop.peering_attachment), hop.hops),
                    None => continue,
                },
            };
            for table in &gateway.route_tables {
                let tables = Tables::Tgw {
                    gateway: gateway.id.clone(),
                    table: table.clone(),
                };
                routes.push(route(&gateway.region, tables, target.clone(), hops));
            }
        }
    }
    routes
}

/// Picks the route that decides which node owns the VIP when two nodes run
/// `start` at the same moment: the first TGW route table, by gateway and
/// table id, for the first VIP. Every node picks the same one, and the
/// last node to write it keeps going while the others stop.
///
/// Returns `None` when that route would point at the same target for
/// `active` as for another server (two servers behind one VPC
/// attachment), because the route then cannot tell the writers apart.
pub fn anchor(
    topology: &Topology,
    active: &Server,
    vips: &[Vip],
) -> Option<(String, String, Target)> {
    let plan_for =
        |server: &Server| desired_routes(topology, server, &vips[..1.min(vips.len())], false, None);
    let is_tgw = |route: &&DesiredRoute| matches!(route.tables, Tables::Tgw { .. });
    let mine = plan_for(active);
    let first = mine
        .iter()
        .filter(is_tgw)
        .min_by(|a, b| a.tables.cmp(&b.tables))?;
    let Tables::Tgw { table, .. } = &first.tables else {
        return None;
    };

    for other in topology.servers.iter().filter(|s| s.name != active.name) {
        let theirs = plan_for(other);
        let same = theirs
            .iter()
            .any(|r| r.tables == first.tables && r.target == first.target);
        if same {
            return None;
        }
    }
    Some((
        table.clone(),
        first.destination.clone(),
        first.target.clone(),
    ))
}

/// Finds the server whose plan points the anchor route at `target`, if any.
pub fn owner_of(topology: &Topology, vips: &[Vip], table: &str, target: &Target) -> Option<String> {
    topology
        .servers
        .iter()
        .find(|server| {
            desired_routes(topology, server, &vips[..1.min(vips.len())], false, None)
                .iter()
                .any(|r| {
                    matches!(&r.tables, Tables::Tgw { table: t, .. } if t == table)
                        && r.target == *target
                })
        })
        .map(|server| server.name.clone())
}

/// Route state as AWS reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteState {
    Active,
    Blackhole,
    Other(String),
}

impl RouteState {
    pub fn parse(text: &str) -> Self {
        match text {
            "active" => RouteState::Active,
            "blackhole" => RouteState::Blackhole,
            other => RouteState::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            RouteState::Active => "active",
            RouteState::Blackhole => "blackhole",
            RouteState::Other(text) => text,
        }
    }
}

/// A route for the destination as read from a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObservedRoute {
    pub target: Target,
    pub state: RouteState,
}

/// The exact-destination routes that one read returned for one table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedTable {
    /// VPC tables: the route for each destination present in the table.
    /// TGW tables: the static route for each destination present.
    pub routes: BTreeMap<String, ObservedRoute>,
    /// TGW tables: destinations that only have a propagated route.
    pub propagated: BTreeMap<String, ObservedRoute>,
}

/// Everything observed, keyed by table id, plus the VPC each VPC table
/// belongs to. A table or region that could not be read is in `failed`.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    pub vpc_tables: BTreeMap<String, Vec<(String, ObservedTable)>>,
    pub tgw_tables: BTreeMap<String, ObservedTable>,
    /// Region or table id to the error that prevented reading it.
    pub failed: BTreeMap<String, crate::aws::AwsError>,
}

/// The write a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Already correct.
    Keep,
    /// Exists with another target or not active.
    Replace,
    /// Missing; the table is listed in the config or is a TGW table.
    Create,
}

/// The kind of table a change is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TableKind {
    Vpc,
    Tgw,
}

/// One concrete table and what it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteChange {
    pub region: String,
    pub kind: TableKind,
    /// The VPC or the Transit Gateway that owns the table.
    pub owner: String,
    pub table: String,
    pub destination: String,
    pub desired: Target,
    pub current: Option<ObservedRoute>,
    /// A propagated route that the static route overrides, for reports.
    pub propagated: Option<ObservedRoute>,
    pub action: Action,
    pub required: bool,
}

/// A desired route that could not be compared because its table or region
/// was not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unobserved {
    pub route: DesiredRoute,
    pub reason: String,
}

/// The comparison of desired and observed routes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Diff {
    pub changes: Vec<RouteChange>,
    pub unobserved: Vec<Unobserved>,
    /// VPCs for which no table contains the VIP route and none is listed, so
    /// nothing can be managed there.
    pub vpcs_without_route: Vec<(String, String)>,
}

impl Diff {
    pub fn pending(&self) -> impl Iterator<Item = &RouteChange> {
        self.changes.iter().filter(|c| c.action != Action::Keep)
    }
}

/// Compares each desired route with what was observed.
pub fn diff(desired: &[DesiredRoute], observed: &Observation) -> Diff {
    let mut result = Diff::default();

    for route in desired {
        match &route.tables {
            Tables::Vpc { vpc, listed } => diff_vpc(route, vpc, listed, observed, &mut result),
            Tables::Tgw { gateway, table } => {
                diff_tgw(route, gateway, table, observed, &mut result)
            }
        }
    }
    result
}

fn diff_vpc(
    route: &DesiredRoute,
    vpc: &str,
    listed: &[String],
    observed: &Observation,
    result: &mut Diff,
) {
    let failure = observed
        .failed
        .get(vpc)
        .or_else(|| observed.failed.get(&route.region));
    if let Some(error) = failure {
        result.unobserved.push(Unobserved {
            route: route.clone(),
            reason: error.to_string(),
        });
        return;
    }

    let tables = observed.vpc_tables.get(vpc).cloned().unwrap_or_default();
    let mut seen = 0;
    for (table, contents) in &tables {
        let current = contents.routes.get(&route.destination).cloned();
        let is_listed = listed.iter().any(|t| t == table);
        if current.is_none() && !is_listed {
            continue;
        }
        seen += 1;
        let action = compare(&route.target, current.as_ref());
        result.changes.push(RouteChange {
            region: route.region.clone(),
            kind: TableKind::Vpc,
            owner: vpc.to_string(),
            table: table.clone(),
            destination: route.destination.clone(),
            desired: route.target.clone(),
            current,
            propagated: None,
            action,
            required: route.required,
        });
    }
    if seen == 0 {
        result
            .vpcs_without_route
            .push((vpc.to_string(), route.destination.clone()));
    }
}

fn diff_tgw(
    route: &DesiredRoute,
    gateway: &str,
    table: &str,
    observed: &Observation,
    result: &mut Diff,
) {
    let failure = observed
        .failed
        .get(table)
        .or_else(|| observed.failed.get(&route.region));
    let contents = match (failure, observed.tgw_tables.get(table)) {
        (None, Some(contents)) => contents,
        (failure, _) => {
            let reason = failure.map(ToString::to_string).unwrap_or_default();
            result.unobserved.push(Unobserved {
                route: route.clone(),
                reason,
            });
            return;
        }
    };

    let current = contents.routes.get(&route.destination).cloned();
    result.changes.push(RouteChange {
        region: route.region.clone(),
        kind: TableKind::Tgw,
        owner: gateway.to_string(),
        table: table.to_string(),
        destination: route.destination.clone(),
        desired: route.target.clone(),
        propagated: contents.propagated.get(&route.destination).cloned(),
        action: compare(&route.target, current.as_ref()),
        current,
        required: route.required,
    });
}

fn compare(desired: &Target, current: Option<&ObservedRoute>) -> Action {
    match current {
        None => Action::Create,
        Some(route) if route.target == *desired && route.state == RouteState::Active => {
            Action::Keep
        }
        Some(_) => Action::Replace,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;
    use std::path::Path;

    const REFERENCE: &str = "
servers:
  server-a.test.local: {vpc: vpc-1234abcd, eni: eni-aaaaaaaa}
  server-b.test.local: {vpc: vpc-5678cdef, eni: eni-bbbbbbbb}
gateways:
  tgw-aaaaaaaaaaaaaaaaa:
    type: tgw
    region: ap-northeast-1
    routeTable: tgw-rtb-aaaaaaaaaaaaaaaaa
    attaches: {tgw-attach-aaaaaaaaaaaaaaaaa: vpc-1234abcd, tgw-attach-ccccccccccccccccc: vpc-99999999}
    peerings: {tgw-bbbbbbbbbbbbbbbbb: tgw-attach-xxxxxxxxxxxxxxxxx}
  tgw-bbbbbbbbbbbbbbbbb:
    type: tgw
    region: ap-southeast-1
    routeTable: tgw-rtb-bbbbbbbbbbbbbbbbb
    attaches: {tgw-attach-bbbbbbbbbbbbbbbbb: vpc-5678cdef}
    peerings: {tgw-aaaaaaaaaaaaaaaaa: tgw-attach-xxxxxxxxxxxxxxxxx}
";

    fn topology(text: &str) -> Topology {
        let loaded = parse(Path::new("tgw.conf"), text.as_bytes()).unwrap();
        Topology::build(&loaded).unwrap()
    }

    fn plan_for(text: &str, server: &str) -> Vec<DesiredRoute> {
        let topology = topology(text);
        let active = topology.server(server).unwrap().clone();
        let vip = Vip::parse("172.16.0.1").unwrap();
        desired_routes(&topology, &active, &[vip], false, active.eni.as_deref())
    }

    fn target_of<'a>(routes: &'a [DesiredRoute], owner: &str) -> &'a Target {
        &routes
            .iter()
            .find(|r| match &r.tables {
                Tables::Vpc { vpc, .. } => vpc == owner,
                Tables::Tgw { gateway, .. } => gateway == owner,
            })
            .unwrap_or_else(|| panic!("no route for {owner}"))
            .target
    }

    #[test]
    fn reference_server_a_active() {
        // The reference layout with a client VPC (vpc-99999999) on tgw-a.
        let text = REFERENCE.to_string();
        let routes = plan_for(&text, "server-a.test.local");
        assert_eq!(routes.len(), 5);
        assert_eq!(
            target_of(&routes, "vpc-1234abcd"),
            &Target::Eni("eni-aaaaaaaa".into())
        );
        assert_eq!(
            target_of(&routes, "tgw-aaaaaaaaaaaaaaaaa"),
            &Target::Attachment("tgw-attach-aaaaaaaaaaaaaaaaa".into())
        );
        assert_eq!(
            target_of(&routes, "tgw-bbbbbbbbbbbbbbbbb"),
            &Target::Attachment("tgw-attach-xxxxxxxxxxxxxxxxx".into())
        );
        assert_eq!(
            target_of(&routes, "vpc-5678cdef"),
            &Target::TransitGateway("tgw-bbbbbbbbbbbbbbbbb".into())
        );
        assert_eq!(
            target_of(&routes, "vpc-99999999"),
            &Target::TransitGateway("tgw-aaaaaaaaaaaaaaaaa".into())
        );
    }

    #[test]
    fn reference_server_b_is_mirror() {
        let text = REFERENCE.to_string();
        let routes = plan_for(&text, "server-b.test.local");
        assert_eq!(
            target_of(&routes, "vpc-5678cdef"),
            &Target::Eni("eni-bbbbbbbb".into())
        );
        assert_eq!(
            target_of(&routes, "vpc-1234abcd"),
            &Target::TransitGateway("tgw-aaaaaaaaaaaaaaaaa".into())
        );
        assert_eq!(
            target_of(&routes, "tgw-aaaaaaaaaaaaaaaaa"),
            &Target::Attachment("tgw-attach-xxxxxxxxxxxxxxxxx".into())
        );
        assert_eq!(
            target_of(&routes, "tgw-bbbbbbbbbbbbbbbbb"),
            &Target::Attachment("tgw-attach-bbbbbbbbbbbbbbbbb".into())
        );
        // The client VPC on tgw-a keeps pointing at its own gateway.
        assert_eq!(
            target_of(&routes, "vpc-99999999"),
            &Target::TransitGateway("tgw-aaaaaaaaaaaaaaaaa".into())
        );
    }

    #[test]
    fn required_only_in_active_region() {
        let text = REFERENCE.to_string();
        let routes = plan_for(&text, "server-a.test.local");
        for route in &routes {
            assert_eq!(
                route.required,
                route.region == "ap-northeast-1",
                "{route:?}"
            );
        }
    }

    #[test]
    fn active_vpc_skipped_without_eni() {
        let text = REFERENCE.replace(", eni: eni-aaaaaaaa", "");
        let routes = plan_for(&text, "server-a.test.local");
        assert!(routes.iter().all(|r| r.tables
            != Tables::Vpc {
                vpc: "vpc-1234abcd".into(),
                listed: vec![]
            }));
        assert_eq!(routes.len(), 4);
    }

    #[test]
    fn full_mesh_uses_direct_peerings() {
        let mesh = "
servers:
  s1: {vpc: vpc-11111111}
  s2: {vpc: vpc-22222222}
  s3: {vpc: vpc-33333333}
gateways:
  tgw-11111111:
    {type: tgw, region: ap-northeast-1, routeTable: tgw-rtb-11111111,
     attaches: {tgw-attach-11111111: vpc-11111111},
     peerings: {tgw-22222222: tgw-attach-12121212, tgw-33333333: tgw-attach-13131313}}
  tgw-22222222:
    {type: tgw, region: ap-southeast-1, routeTable: tgw-rtb-22222222,
     attaches: {tgw-attach-22222222: vpc-22222222},
     peerings: {tgw-11111111: tgw-attach-12121212, tgw-33333333: tgw-attach-23232323}}
  tgw-33333333:
    {type: tgw, region: us-east-1, routeTable: tgw-rtb-33333333,
     attaches: {tgw-attach-33333333: vpc-33333333},
     peerings: {tgw-11111111: tgw-attach-13131313, tgw-22222222: tgw-attach-23232323}}
";
        let routes = plan_for(mesh, "s3");
        assert_eq!(
            target_of(&routes, "tgw-11111111"),
            &Target::Attachment("tgw-attach-13131313".into())
        );
        assert_eq!(
            target_of(&routes, "tgw-22222222"),
            &Target::Attachment("tgw-attach-23232323".into())
        );
        assert_eq!(
            target_of(&routes, "tgw-33333333"),
            &Target::Attachment("tgw-attach-33333333".into())
        );
        assert_eq!(
            target_of(&routes, "vpc-11111111"),
            &Target::TransitGateway("tgw-11111111".into())
        );
        assert!(routes.iter().all(|r| r.hops <= 1));
    }

    #[test]
    fn anchor_is_shared_and_distinct() {
        let text = REFERENCE.to_string();
        let topology = topology(&text);
        let vips = [Vip::parse("172.16.0.1").unwrap()];
        let a = topology.server("server-a.test.local").unwrap();
        let b = topology.server("server-b.test.local").unwrap();

        let (table_a, _, target_a) = anchor(&topology, a, &vips).unwrap();
        let (table_b, _, target_b) = anchor(&topology, b, &vips).unwrap();

        assert_eq!(table_a, "tgw-rtb-aaaaaaaaaaaaaaaaa");
        assert_eq!(table_a, table_b);
        assert_ne!(target_a, target_b);
        assert_eq!(
            owner_of(&topology, &vips, &table_a, &target_b).as_deref(),
            Some("server-b.test.local")
        );
    }

    fn observed_route(target: Target, state: &str) -> ObservedRoute {
        ObservedRoute {
            target,
            state: RouteState::parse(state),
        }
    }

    fn tgw_route(table: &str, target: Target) -> DesiredRoute {
        DesiredRoute {
            region: "ap-northeast-1".into(),
            tables: Tables::Tgw {
                gateway: "tgw-1".into(),
                table: table.into(),
            },
            destination: "172.16.0.1/32".into(),
            target,
            required: true,
            hops: 0,
        }
    }

    #[test]
    fn diff_tgw_actions() {
        let want = Target::Attachment("tgw-attach-a".into());
        let desired = vec![
            tgw_route("tgw-rtb-keep", want.clone()),
            tgw_route("tgw-rtb-wrong", want.clone()),
            tgw_route("tgw-rtb-blackhole", want.clone()),
            tgw_route("tgw-rtb-propagated", want.clone()),
        ];
        let mut observed = Observation::default();
        let with_static = |route: ObservedRoute| ObservedTable {
            routes: BTreeMap::from([("172.16.0.1/32".to_string(), route)]),
            propagated: BTreeMap::new(),
        };
        observed.tgw_tables.insert(
            "tgw-rtb-keep".into(),
            with_static(observed_route(want.clone(), "active")),
        );
        observed.tgw_tables.insert(
            "tgw-rtb-wrong".into(),
            with_static(observed_route(
                Target::Attachment("tgw-attach-b".into()),
                "active",
            )),
        );
        observed.tgw_tables.insert(
            "tgw-rtb-blackhole".into(),
            with_static(observed_route(Target::Blackhole, "blackhole")),
        );
        observed.tgw_tables.insert(
            "tgw-rtb-propagated".into(),
            ObservedTable {
                routes: BTreeMap::new(),
                propagated: BTreeMap::from([(
                    "172.16.0.1/32".to_string(),
                    observed_route(Target::Attachment("tgw-attach-b".into()), "active"),
                )]),
            },
        );

        let result = diff(&desired, &observed);
        let actions: Vec<Action> = result.changes.iter().map(|c| c.action).collect();
        assert_eq!(
            actions,
            vec![
                Action::Keep,
                Action::Replace,
                Action::Replace,
                Action::Create
            ]
        );
        assert!(result.changes[3].propagated.is_some());
    }

    #[test]
    fn diff_vpc_exact_destination_only() {
        let desired = vec![DesiredRoute {
            region: "ap-northeast-1".into(),
            tables: Tables::Vpc {
                vpc: "vpc-1".into(),
                listed: vec!["rtb-listed".into()],
            },
            destination: "172.16.0.1/32".into(),
            target: Target::TransitGateway("tgw-1".into()),
            required: true,
            hops: 0,
        }];
        let mut observed = Observation::default();
        let table = |dest: &str, target: Target| ObservedTable {
            routes: BTreeMap::from([(dest.to_string(), observed_route(target, "active"))]),
            propagated: BTreeMap::new(),
        };
        observed.vpc_tables.insert(
            "vpc-1".into(),
            vec![
                (
                    "rtb-wrong".into(),
                    table("172.16.0.1/32", Target::Eni("eni-1".into())),
                ),
                (
                    "rtb-other".into(),
                    table("172.16.0.10/32", Target::Eni("eni-1".into())),
                ),
                ("rtb-listed".into(), ObservedTable::default()),
            ],
        );

        let result = diff(&desired, &observed);
        let tables: Vec<(&str, Action)> = result
            .changes
            .iter()
            .map(|c| (c.table.as_str(), c.action))
            .collect();
        assert_eq!(
            tables,
            vec![
                ("rtb-wrong", Action::Replace),
                ("rtb-listed", Action::Create)
            ]
        );
    }

    #[test]
    fn diff_reports_unread_region() {
        let desired = vec![tgw_route(
            "tgw-rtb-1",
            Target::Attachment("tgw-attach-a".into()),
        )];
        let mut observed = Observation::default();
        observed.failed.insert(
            "ap-northeast-1".into(),
            crate::aws::AwsError::test("SearchTransitGatewayRoutes", "RequestTimeout"),
        );
        let result = diff(&desired, &observed);
        assert!(result.changes.is_empty());
        assert_eq!(result.unobserved.len(), 1);
    }
}
