//! The validated network: servers, Transit Gateways, attached VPCs and the
//! peering graph between gateways.
//!
//! `Topology::build` is the one place that decides whether a configuration
//! is usable. It reads no AWS state, so an inconsistent file is rejected
//! before anything is contacted.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::config::{ConfigError, LoadedConfig};
use crate::messages as msg;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub name: String,
    pub vpc: String,
    pub eni: Option<String>,
}

/// The `eni` value that asks tgw-vip to discover the local server's ENI
/// through instance metadata (IMDSv2).
pub const ENI_AUTO: &str = "auto";

impl Server {
    /// The ENI id given in the config, or the one discovered for `auto`.
    pub fn eni_id(&self) -> Option<&str> {
        self.eni.as_deref().filter(|eni| *eni != ENI_AUTO)
    }

    /// Whether the config asks for the ENI to be read from instance metadata.
    pub fn discovers_eni(&self) -> bool {
        self.eni.as_deref() == Some(ENI_AUTO)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gateway {
    pub id: String,
    pub region: String,
    pub route_tables: Vec<String>,
    /// VPC attachment id to VPC id.
    pub attachments: BTreeMap<String, String>,
    /// Peer Transit Gateway id to peering attachment id.
    pub peerings: BTreeMap<String, String>,
}

/// A VPC attached to a managed Transit Gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vpc {
    pub id: String,
    pub region: String,
    /// The gateway this VPC's route tables point the VIP at when another VPC
    /// is active.
    pub gateway: String,
    /// Tables that always carry the VIP route; created when missing.
    pub explicit_tables: Vec<String>,
    pub cidrs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    pub servers: Vec<Server>,
    pub gateways: BTreeMap<String, Gateway>,
    pub vpcs: BTreeMap<String, Vpc>,
}

/// One step from a gateway toward the active VPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextHop {
    pub peering_attachment: String,
    pub peer: String,
    /// Peering hops to a gateway that attaches the active VPC.
    pub hops: usize,
}

/// Rejects a hook path with a control character in it. In a double-quoted
/// YAML string, `\n` or `\t` in a Windows path such as
/// `"C:\tgw\notify.lua"` turns into a tab or a line break.
fn check_hook_paths(config: &LoadedConfig) -> Result<(), ConfigError> {
    for (index, path) in config.raw.hooks.iter().enumerate() {
        if path.chars().any(char::is_control) {
            return Err(config.error(
                &["hooks", &index.to_string()],
                msg::hook_path_control(&path.escape_debug().to_string()),
                Some(msg::hint_hook_path_quotes()),
            ));
        }
    }
    Ok(())
}

impl Topology {
    /// Checks the parsed file for malformed ids and inconsistent wiring and
    /// builds the typed topology.
    pub fn build(config: &LoadedConfig) -> Result<Self, ConfigError> {
        let raw = &config.raw;
        check_hook_paths(config)?;
        let gateways = build_gateways(config)?;
        let servers = build_servers(config)?;
        let vpcs = build_vpcs(config, &gateways)?;

        for server in &servers {
            if !vpcs.contains_key(&server.vpc) {
                return Err(config.error(
                    &["servers", &server.name, "vpc"],
                    msg::server_vpc_unattached(&server.name, &server.vpc),
                    Some(msg::hint_attach_vpc(&server.vpc)),
                ));
            }
        }
        for vpc_id in raw.vpcs.keys() {
            if !vpcs.contains_key(vpc_id) {
                return Err(config.error(
                    &["vpcs", vpc_id],
                    msg::vpc_section_unattached(vpc_id),
                    Some(msg::hint_attach_vpc(vpc_id)),
                ));
            }
        }

        let topology = Topology {
            servers,
            gateways,
            vpcs,
        };
        for server in &topology.servers {
            topology.check_reachable(config, server)?;
        }
        Ok(topology)
    }

    pub fn server(&self, name: &str) -> Option<&Server> {
        self.servers.iter().find(|server| server.name == name)
    }

    /// Regions that hold at least one managed gateway.
    pub fn regions(&self) -> BTreeSet<String> {
        self.gateways.values().map(|g| g.region.clone()).collect()
    }

    /// Gateways with a VPC attachment to `vpc`.
    pub fn gateways_attaching(&self, vpc: &str) -> Vec<&Gateway> {
        self.gateways
            .values()
            .filter(|g| g.attachments.values().any(|v| v == vpc))
            .collect()
    }

    /// Finds the first peering on a shortest path from `from` to any gateway that
    /// attaches `vpc`, found by breadth-first search. Ties go to the peer
    /// whose id sorts first, so the choice is stable across runs and nodes.
    pub fn next_hop(&self, from: &str, vpc: &str) -> Option<NextHop> {
        let targets: BTreeSet<&str> = self
            .gateways_attaching(vpc)
            .iter()
            .map(|g| g.id.as_str())
            .collect();
        let start = self.gateways.get(from)?;
        let mut seen: BTreeSet<&str> = BTreeSet::from([from]);
        let mut queue: VecDeque<(&str, &str, &str, usize)> = VecDeque::new();

        for (peer, attachment) in &start.peerings {
            if seen.insert(peer.as_str()) {
                queue.push_back((peer.as_str(), peer.as_str(), attachment.as_str(), 1));
            }
        }
        while let Some((node, first_peer, first_attachment, hops)) = queue.pop_front() {
            if targets.contains(node) {
                return Some(NextHop {
                    peering_attachment: first_attachment.to_string(),
                    peer: first_peer.to_string(),
                    hops,
                });
            }
            let Some(gateway) = self.gateways.get(node) else {
                continue;
            };
            for peer in gateway.peerings.keys() {
                if seen.insert(peer.as_str()) {
                    queue.push_back((peer.as_str(), first_peer, first_attachment, hops + 1));
                }
            }
        }
        None
    }

    /// Rejects a server whose VPC some managed gateway cannot reach.
    fn check_reachable(&self, config: &LoadedConfig, server: &Server) -> Result<(), ConfigError> {
        let attaching: BTreeSet<&str> = self
            .gateways_attaching(&server.vpc)
            .iter()
            .map(|g| g.id.as_str())
            .collect();
        for gateway in self.gateways.values() {
            if attaching.contains(gateway.id.as_str()) {
                continue;
            }
            if self.next_hop(&gateway.id, &server.vpc).is_none() {
                return Err(config.error(
                    &["gateways", &gateway.id, "peerings"],
                    msg::gateway_no_path(&gateway.id, &server.name, &server.vpc),
                    Some(msg::hint_add_peering(&gateway.id)),
                ));
            }
        }
        Ok(())
    }
}

fn build_gateways(config: &LoadedConfig) -> Result<BTreeMap<String, Gateway>, ConfigError> {
    let raw = &config.raw;
    let mut gateways = BTreeMap::new();
    let mut attachment_owner: BTreeMap<&str, &str> = BTreeMap::new();

    if raw.gateways.is_empty() {
        return Err(config.error(&["gateways"], msg::gateways_empty(), None));
    }
    // Every gateway id is checked first, so a malformed id is reported as
    // such and not as an unknown peer of a gateway that sorts before it.
    for id in raw.gateways.keys() {
        check_id(config, &["gateways", id], id, "tgw-")?;
    }
    for (id, gateway) in &raw.gateways {
        let key = |leaf: &'static str| vec!["gateways", id.as_str(), leaf];
        if gateway.kind != "tgw" {
            return Err(config.error(
                &key("type"),
                msg::gateway_type_unknown(&gateway.kind),
                Some(msg::hint_gateway_type()),
            ));
        }
        check_region(config, &key("region"), &gateway.region)?;

        let mut tables = Vec::new();
        tables.extend(gateway.route_table.iter().cloned());
        tables.extend(gateway.route_tables.iter().cloned());
        if tables.is_empty() {
            return Err(config.error(
                &["gateways", id],
                msg::gateway_no_route_table(id),
                Some(msg::hint_route_table()),
            ));
        }
        let mut unique = BTreeSet::new();
        for table in &tables {
            check_id(config, &key("routeTable"), table, "tgw-rtb-")?;
            if !unique.insert(table.as_str()) {
                return Err(config.error(&key("routeTables"), msg::duplicate_id(table), None));
            }
        }

        for (attachment, vpc) in &gateway.attaches {
            let path = ["gateways", id.as_str(), "attaches", attachment.as_str()];
            check_id(config, &path, attachment, "tgw-attach-")?;
            check_id(config, &path, vpc, "vpc-")?;
            if let Some(other) = attachment_owner.insert(attachment, id) {
                return Err(config.error(
                    &path,
                    msg::attachment_reused(attachment, other, id),
                    None,
                ));
            }
        }
        for (peer, attachment) in &gateway.peerings {
            let path = ["gateways", id.as_str(), "peerings", peer.as_str()];
            check_id(config, &path, peer, "tgw-")?;
            check_id(config, &path, attachment, "tgw-attach-")?;
            if peer == id {
                return Err(config.error(&path, msg::peering_to_self(id), None));
            }
            if !raw.gateways.contains_key(peer) {
                return Err(config.error(
                    &path,
                    msg::peer_unknown(peer),
                    Some(msg::hint_peer_unknown(peer)),
                ));
            }
        }

        gateways.insert(
            id.clone(),
            Gateway {
                id: id.clone(),
                region: gateway.region.clone(),
                route_tables: tables,
                attachments: gateway.attaches.clone(),
                peerings: gateway.peerings.clone(),
            },
        );
    }
    Ok(gateways)
}

fn build_servers(config: &LoadedConfig) -> Result<Vec<Server>, ConfigError> {
    let raw = &config.raw;
    let mut servers = Vec::new();
    let mut lowered = BTreeMap::new();

    if raw.servers.is_empty() {
        return Err(config.error(&["servers"], msg::servers_empty(), None));
    }
    for (name, server) in &raw.servers {
        if name.trim().is_empty() {
            return Err(config.error(&["servers"], msg::server_name_empty(), None));
        }
        if let Some(other) = lowered.insert(name.to_lowercase(), name.clone()) {
            return Err(config.error(
                &["servers", name],
                msg::server_duplicate(name, &other),
                None,
            ));
        }
        check_id(config, &["servers", name, "vpc"], &server.vpc, "vpc-")?;
        if let Some(eni) = server.eni.as_deref().filter(|eni| *eni != ENI_AUTO) {
            check_id(config, &["servers", name, "eni"], eni, "eni-")?;
        }
        servers.push(Server {
            name: name.clone(),
            vpc: server.vpc.clone(),
            eni: server.eni.clone(),
        });
    }
    Ok(servers)
}

fn build_vpcs(
    config: &LoadedConfig,
    gateways: &BTreeMap<String, Gateway>,
) -> Result<BTreeMap<String, Vpc>, ConfigError> {
    let raw = &config.raw;
    let mut attached: BTreeMap<&str, Vec<&Gateway>> = BTreeMap::new();
    for gateway in gateways.values() {
        for vpc in gateway.attachments.values() {
            attached.entry(vpc.as_str()).or_default().push(gateway);
        }
    }

    let mut vpcs = BTreeMap::new();
    for (vpc_id, gateway_list) in attached {
        let settings = raw.vpcs.get(vpc_id).cloned().unwrap_or_default();
        let gateway = choose_gateway(config, vpc_id, &gateway_list, settings.gateway.as_deref())?;
        for (index, table) in settings.route_tables.iter().enumerate() {
            let index = index.to_string();
            check_id(
                config,
                &["vpcs", vpc_id, "routeTables", &index],
                table,
                "rtb-",
            )?;
        }
        for cidr in &settings.cidrs {
            if crate::vip::Vip::parse_network(cidr).is_none() {
                return Err(config.error(
                    &["vpcs", vpc_id, "cidrs"],
                    msg::cidr_invalid(cidr),
                    None,
                ));
            }
        }
        vpcs.insert(
            vpc_id.to_string(),
            Vpc {
                id: vpc_id.to_string(),
                region: gateway.region.clone(),
                gateway: gateway.id.clone(),
                explicit_tables: settings.route_tables.clone(),
                cidrs: settings.cidrs.clone(),
            },
        );
    }
    Ok(vpcs)
}

fn choose_gateway<'a>(
    config: &LoadedConfig,
    vpc_id: &str,
    gateways: &[&'a Gateway],
    chosen: Option<&str>,
) -> Result<&'a Gateway, ConfigError> {
    if let Some(chosen) = chosen {
        return gateways
            .iter()
            .find(|g| g.id == chosen)
            .copied()
            .ok_or_else(|| {
                config.error(
                    &["vpcs", vpc_id, "gateway"],
                    msg::vpc_gateway_not_attaching(vpc_id, chosen),
                    None,
                )
            });
    }

    let regions: BTreeSet<&str> = gateways.iter().map(|g| g.region.as_str()).collect();
    if regions.len() > 1 {
        return Err(config.error(
            &["gateways", &gateways[1].id, "attaches"],
            msg::vpc_in_two_regions(vpc_id),
            None,
        ));
    }
    if gateways.len() > 1 {
        let ids: Vec<&str> = gateways.iter().map(|g| g.id.as_str()).collect();
        return Err(config.error(
            &["gateways", &gateways[1].id, "attaches"],
            msg::vpc_two_gateways(vpc_id, &ids.join(", ")),
            Some(msg::hint_vpc_gateway(vpc_id, ids[0])),
        ));
    }
    Ok(gateways[0])
}

/// Rejects an id that does not have the AWS shape `prefix` + hex digits.
fn check_id(
    config: &LoadedConfig,
    key: &[&str],
    id: &str,
    prefix: &str,
) -> Result<(), ConfigError> {
    let body = id.strip_prefix(prefix).unwrap_or("");
    // AWS ids are lowercase hex, but documentation placeholders such as
    // `tgw-attach-xxxxxxxxxxxxxxxxx` use other letters, so any lowercase
    // letter is accepted.
    let lowercase = body
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let well_formed = lowercase && matches!(body.len(), 8 | 17);
    // A TGW route table id also starts with `tgw-`, and an attachment id too,
    // so a gateway id must not be one of them.
    let confused =
        prefix == "tgw-" && (id.starts_with("tgw-rtb-") || id.starts_with("tgw-attach-"));
    if well_formed && !confused {
        return Ok(());
    }
    Err(config.error(
        key,
        msg::id_malformed(id, prefix),
        Some(msg::hint_id_shape(prefix)),
    ))
}

/// Commercial, China and GovCloud regions with EC2 as of 2025, from the
/// AWS general reference. Used only to warn about a likely typo.
const KNOWN_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

fn check_region(config: &LoadedConfig, key: &[&str], region: &str) -> Result<(), ConfigError> {
    let parts: Vec<&str> = region.split('-').collect();
    let well_formed = parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
    if !well_formed {
        return Err(config.error(key, msg::region_malformed(region), Some(msg::hint_region())));
    }
    // A new region must not be rejected, so an unknown name only warns.
    if !KNOWN_REGIONS.contains(&region) {
        tracing::warn!("{}", msg::region_unknown(region, &key.join(".")));
    }
    Ok(())
}

/// Finds the server entry for this host, given every name the host goes by
/// (see `hostnames`). Looser rules apply only when stricter ones match
/// nothing: the exact name, then the name ignoring case, then the short
/// name (up to the first dot) ignoring case, then the NetBIOS form (short
/// name in upper case, cut to 15 characters). The last two are what let a
/// Windows host that reports `SERVER-A` or `TOKYO-CLUSTER-N` match
/// `server-a.test.local` or `tokyo-cluster-node-a`.
pub fn match_host<'a>(
    servers: &'a [Server],
    host_names: &[String],
) -> Result<&'a Server, HostMatchError> {
    let rules: [fn(&str, &str) -> bool; 4] = [
        |a, b| a == b,
        |a, b| a.eq_ignore_ascii_case(b),
        |a, b| short_name(a) == short_name(b),
        |a, b| netbios_name(a) == netbios_name(b),
    ];
    for rule in rules {
        let matched: Vec<&Server> = servers
            .iter()
            .filter(|s| host_names.iter().any(|host| rule(&s.name, host)))
            .collect();
        match matched.len() {
            0 => continue,
            1 => return Ok(matched[0]),
            _ => {
                return Err(HostMatchError::Ambiguous(
                    matched.iter().map(|s| s.name.clone()).collect(),
                ))
            }
        }
    }
    Err(HostMatchError::NotFound)
}

fn short_name(name: &str) -> String {
    name.split('.').next().unwrap_or(name).to_ascii_lowercase()
}

/// Windows keeps at most 15 characters of the computer name for NetBIOS.
fn netbios_name(name: &str) -> String {
    short_name(name)
        .to_ascii_uppercase()
        .chars()
        .take(15)
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostMatchError {
    NotFound,
    Ambiguous(Vec<String>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;
    use std::path::Path;

    pub(crate) fn load(text: &str) -> Result<Topology, ConfigError> {
        let loaded = parse(Path::new("tgw.conf"), text.as_bytes())?;
        Topology::build(&loaded)
    }

    const MESH: &str = "
servers:
  s1: {vpc: vpc-11111111}
  s2: {vpc: vpc-22222222}
  s3: {vpc: vpc-33333333}
gateways:
  tgw-11111111:
    type: tgw
    region: ap-northeast-1
    routeTable: tgw-rtb-11111111
    attaches: {tgw-attach-11111111: vpc-11111111}
    peerings: {tgw-22222222: tgw-attach-12121212, tgw-33333333: tgw-attach-13131313}
  tgw-22222222:
    type: tgw
    region: ap-southeast-1
    routeTable: tgw-rtb-22222222
    attaches: {tgw-attach-22222222: vpc-22222222}
    peerings: {tgw-11111111: tgw-attach-12121212, tgw-33333333: tgw-attach-23232323}
  tgw-33333333:
    type: tgw
    region: us-east-1
    routeTable: tgw-rtb-33333333
    attaches: {tgw-attach-33333333: vpc-33333333}
    peerings: {tgw-11111111: tgw-attach-13131313, tgw-22222222: tgw-attach-23232323}
";

    #[test]
    fn mesh_next_hop_is_direct() {
        let topology = load(MESH).unwrap();
        let hop = topology.next_hop("tgw-22222222", "vpc-33333333").unwrap();
        assert_eq!(hop.peering_attachment, "tgw-attach-23232323");
        assert_eq!(hop.hops, 1);
    }

    #[test]
    fn chain_next_hop_counts_hops() {
        let chain = MESH
            .replace(", tgw-33333333: tgw-attach-13131313}", "}")
            .replace("{tgw-11111111: tgw-attach-13131313, ", "{");
        let topology = load(&chain).unwrap();
        let hop = topology.next_hop("tgw-11111111", "vpc-33333333").unwrap();
        assert_eq!(hop.peering_attachment, "tgw-attach-12121212");
        assert_eq!(hop.hops, 2);
    }

    #[test]
    fn gateway_without_path_is_rejected() {
        let isolated = MESH
            .replace(", tgw-33333333: tgw-attach-13131313}", "}")
            .replace(", tgw-33333333: tgw-attach-23232323}", "}")
            .replace(
                "{tgw-11111111: tgw-attach-13131313, tgw-22222222: tgw-attach-23232323}",
                "{}",
            );
        let err = load(&isolated).unwrap_err();
        assert!(err.key.ends_with("peerings"), "{err:?}");
    }

    #[test]
    fn vpc_on_two_gateways_needs_choice() {
        let doubled = MESH.replace(
            "attaches: {tgw-attach-33333333: vpc-33333333}",
            "attaches: {tgw-attach-33333333: vpc-33333333, tgw-attach-34343434: vpc-22222222}",
        );
        let err = load(&doubled).unwrap_err();
        assert!(err.message.contains("vpc-22222222"), "{err:?}");
    }

    #[test]
    fn malformed_ids_are_rejected() {
        let cases = [
            ("vpc: vpc-11111111}", "vpc: vpc-XYZ}"),
            ("routeTable: tgw-rtb-11111111", "routeTable: rtb-11111111"),
            ("region: ap-northeast-1", "region: tokyo"),
            (
                "type: tgw\n    region: us-east-1",
                "type: vgw\n    region: us-east-1",
            ),
        ];
        for (from, to) in cases {
            let text = MESH.replacen(from, to, 1);
            assert!(load(&text).is_err(), "accepted {to}");
        }
    }

    fn servers(names: &[&str]) -> Vec<Server> {
        names
            .iter()
            .map(|name| Server {
                name: name.to_string(),
                vpc: format!("vpc-{name}"),
                eni: None,
            })
            .collect()
    }

    fn matched(servers: &[Server], host: &[&str]) -> Result<String, HostMatchError> {
        let host: Vec<String> = host.iter().map(|h| h.to_string()).collect();
        match_host(servers, &host).map(|s| s.name.clone())
    }

    #[test]
    fn host_match_order() {
        let list = servers(&["server-a.test.local", "server-b.test.local"]);
        let found = |host: &str| matched(&list, &[host]);

        assert_eq!(found("server-a.test.local").unwrap(), "server-a.test.local");
        assert_eq!(found("SERVER-B.TEST.LOCAL").unwrap(), "server-b.test.local");
        assert_eq!(found("SERVER-A").unwrap(), "server-a.test.local");
        assert_eq!(found("server-c"), Err(HostMatchError::NotFound));
    }

    #[test]
    fn windows_names_match_by_dns_or_netbios() {
        let list = servers(&["tokyo-cluster-node-a", "osaka-cluster-b"]);
        let windows = [
            "Tokyo-Cluster-Node-A",
            "Tokyo-Cluster-Node-A.corp.example",
            "TOKYO-CLUSTER-N",
        ];

        assert_eq!(matched(&list, &windows).unwrap(), "tokyo-cluster-node-a");
        assert_eq!(
            matched(&list, &["TOKYO-CLUSTER-N"]).unwrap(),
            "tokyo-cluster-node-a"
        );
        assert_eq!(
            matched(&list, &["OSAKA-CLUSTER-B"]).unwrap(),
            "osaka-cluster-b"
        );
    }

    #[test]
    fn netbios_key_matches_long_dns_name() {
        let list = servers(&["TOKYO-CLUSTER-N", "OSAKA-CLUSTER-B"]);

        assert_eq!(
            matched(&list, &["tokyo-cluster-node-a"]).unwrap(),
            "TOKYO-CLUSTER-N"
        );
    }

    #[test]
    fn stricter_rule_wins_over_looser() {
        let list = servers(&["node-a", "NODE-A.corp.example"]);

        assert_eq!(matched(&list, &["node-a"]).unwrap(), "node-a");
        assert_eq!(
            matched(&list, &["node-a.corp.example"]).unwrap(),
            "NODE-A.corp.example"
        );
    }

    #[test]
    fn shared_netbios_prefix_is_ambiguous() {
        let list = servers(&["tokyo-cluster-node-a", "tokyo-cluster-node-b"]);

        assert_eq!(
            matched(&list, &["TOKYO-CLUSTER-N"]),
            Err(HostMatchError::Ambiguous(vec![
                "tokyo-cluster-node-a".into(),
                "tokyo-cluster-node-b".into()
            ]))
        );
    }
}
