//! Every example config parses and builds a topology of the documented
//! shape. Nothing here contacts AWS or the emulator.

use tgw_vip::config;
use tgw_vip::topology::Topology;

fn load(name: &str) -> (config::LoadedConfig, Topology) {
    let path = crate::support::root().join("examples").join(name);
    let loaded = config::load(&path).unwrap_or_else(|err| panic!("{name}: {err:?}"));
    let topology = Topology::build(&loaded).unwrap_or_else(|err| panic!("{name}: {err:?}"));
    (loaded, topology)
}

fn max_hops(topology: &Topology) -> usize {
    let mut max = 0;
    for server in &topology.servers {
        for gateway in topology.gateways.keys() {
            if let Some(hop) = topology.next_hop(gateway, &server.vpc) {
                max = max.max(hop.hops);
            }
        }
    }
    max
}

#[test]
fn mesh_example_shape() {
    let (_, topology) = load("tgw-mesh.conf");
    assert_eq!(topology.servers.len(), 3);
    assert_eq!(topology.regions().len(), 3);
    assert_eq!(max_hops(&topology), 1);
}

#[test]
fn chain_example_shape() {
    let (_, topology) = load("tgw-chain.conf");
    assert_eq!(topology.regions().len(), 3);
    assert_eq!(max_hops(&topology), 2);
}

#[test]
fn segmented_example_shape() {
    let (_, topology) = load("tgw-segmented.conf");
    let tables: Vec<usize> = topology
        .gateways
        .values()
        .map(|g| g.route_tables.len())
        .collect();
    assert_eq!(tables, vec![2, 3]);
    assert_eq!(topology.vpcs["vpc-1234abcd"].explicit_tables.len(), 2);
}

#[test]
fn client_region_example_shape() {
    let (_, topology) = load("tgw-client-region.conf");
    assert_eq!(topology.regions().len(), 3);
    let client = &topology.vpcs["vpc-9999cccc"];
    assert_eq!(client.region, "us-east-1");
    assert!(topology.servers.iter().all(|s| s.vpc != client.id));
    assert_eq!(max_hops(&topology), 1);
}

#[test]
fn multi_vip_example_shape() {
    let (loaded, _) = load("tgw-multi-vip.conf");
    assert_eq!(loaded.raw.vips.len(), 3);
}

#[test]
fn ipv6_example_shape() {
    let (loaded, _) = load("tgw-ipv6.conf");
    let vip = tgw_vip::vip::Vip::parse(&loaded.raw.vips[0]).unwrap();
    assert!(vip.is_ipv6());
    assert_eq!(vip.destination(), "fd00:16::1/128");
}

#[test]
fn standalone_example_shape() {
    let (_, topology) = load("tgw-standalone.conf");
    let a = topology.server("server-a.test.local").unwrap();
    assert!(a.discovers_eni());
    assert_eq!(a.eni_id(), None);
    let b = topology.server("server-b.test.local").unwrap();
    assert_eq!(b.eni_id(), Some("eni-0bbbbbbbbbbbbbbbb"));
}

#[test]
fn original_examples_still_load() {
    load("tgw.conf");
}
