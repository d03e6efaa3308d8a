//! Topologies beyond the reference layout: three or more regions as a full
//! mesh and as a chain, several TGW route tables, a client VPC in a region
//! without a server, several VIPs in one call and an IPv6 VIP.

use std::collections::{BTreeSet, VecDeque};

use serde_json::Value;

use crate::support::{
    routes, routes_for, target_in, tgw_vip, tgw_vip_no_vip, Emulator, Layout, RouteRow,
};

const TOKYO: &str = "ap-northeast-1";
const SINGAPORE: &str = "ap-southeast-1";
const A: &str = "server-a.test.local";
const B: &str = "server-b.test.local";

fn text(value: &Value) -> String {
    value.as_str().expect("string id").to_string()
}

fn server_names(layout: &Layout) -> Vec<String> {
    layout.ids["servers"]
        .as_object()
        .expect("servers map")
        .keys()
        .cloned()
        .collect()
}

/// The peering attachment that `from` uses toward the gateway `to`: the
/// first hop of a breadth-first search with peers taken in id order, as
/// tgw-vip chooses it.
fn first_hop(layout: &Layout, from: &str, to: &str) -> String {
    let gateways = &layout.ids["gateways"];
    let mut seen = BTreeSet::from([from.to_string()]);
    let mut queue = VecDeque::new();
    for (peer, attachment) in gateways[from]["peerings"].as_object().unwrap() {
        seen.insert(peer.clone());
        queue.push_back((peer.clone(), text(attachment)));
    }
    while let Some((node, first)) = queue.pop_front() {
        if node == to {
            return first;
        }
        for peer in gateways[&node]["peerings"].as_object().unwrap().keys() {
            if seen.insert(peer.clone()) {
                queue.push_back((peer.clone(), first.clone()));
            }
        }
    }
    panic!("no peering path from {from} to {to}");
}

/// Asserts that every server VPC table and every TGW table of the layout
/// routes `destination` to `active`.
fn assert_routed_to(rows: &[RouteRow], layout: &Layout, active: &str) {
    let active_ids = layout.server(active);
    let active_tgw = text(&active_ids["tgw"]);
    for name in server_names(layout) {
        let server = layout.server(&name);
        let expected = if name == active {
            text(&server["eni"])
        } else {
            text(&server["tgw"])
        };
        for table in server["route_tables"].as_array().unwrap() {
            let table = text(table);
            assert_eq!(target_in(rows, &table), expected, "{name} table {table}");
        }
    }
    for (tgw, gateway) in layout.ids["gateways"].as_object().unwrap() {
        let expected = if *tgw == active_tgw {
            text(&active_ids["attachment"])
        } else {
            first_hop(layout, tgw, &active_tgw)
        };
        let table = text(&gateway["route_table"]);
        assert_eq!(target_in(rows, &table), expected, "{tgw} table {table}");
    }
    assert!(rows.iter().all(|r| r.state == "active"), "{rows:?}");
}

fn start_and_check(emulator: &Emulator, layout: &Layout, server: &str) -> String {
    let run = tgw_vip(emulator, &layout.conf, &["--server", server, "start"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_routed_to(&routes(emulator, layout), layout, server);

    let run = tgw_vip(emulator, &layout.conf, &["--server", server, "monitor"]);
    assert_eq!(run.code, 0, "{run:?}");
    format!("{}{}", run.stdout, run.stderr)
}

#[test]
fn mesh_start_on_each_server() {
    let emulator = Emulator::start();
    let layout = emulator.build("mesh", &["--regions", "3"]);

    for server in server_names(&layout) {
        let run = tgw_vip(&emulator, &layout.conf, &["--server", &server, "start"]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(!run.stdout.contains("peering hops"), "{run:?}");
        start_and_check(&emulator, &layout, &server);
    }
}

#[test]
fn chain_start_on_each_server() {
    let emulator = Emulator::start();
    let layout = emulator.build("chain", &["--regions", "4"]);
    let names = server_names(&layout);

    for server in &names {
        start_and_check(&emulator, &layout, server);
    }

    // From the last server, the first gateway is three peerings away.
    let last = names.last().unwrap();
    let run = tgw_vip(&emulator, &layout.conf, &["--server", last, "start"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("3 peering hops"), "{run:?}");
    // The report carries the warning; the log does not repeat it.
    assert!(!run.stderr.contains("peering hops"), "{run:?}");
    assert!(
        run.stdout.contains("forward between peering attachments"),
        "{run:?}"
    );
}

/// Creates a second route table in the gateway of `region` with a
/// placeholder VIP route to the gateway's VPC attachment, and returns it.
fn second_tgw_table(emulator: &Emulator, layout: &Layout, region: &str, server: &str) -> String {
    let (tgw, _) = layout.gateway_in(region);
    let created = emulator.aws_json(
        region,
        &[
            "create-transit-gateway-route-table",
            "--transit-gateway-id",
            &tgw,
        ],
    );
    let table = text(&created["TransitGatewayRouteTable"]["TransitGatewayRouteTableId"]);
    let attachment = text(&layout.server(server)["attachment"]);
    emulator.aws(
        region,
        &[
            "create-transit-gateway-route",
            "--transit-gateway-route-table-id",
            &table,
            "--destination-cidr-block",
            "172.16.0.1/32",
            "--transit-gateway-attachment-id",
            &attachment,
        ],
    );
    table
}

fn tgw_target(emulator: &Emulator, region: &str, table: &str, destination: &str) -> String {
    let found = emulator.aws_json(
        region,
        &[
            "search-transit-gateway-routes",
            "--transit-gateway-route-table-id",
            table,
            "--filters",
            &format!("Name=route-search.exact-match,Values={destination}"),
        ],
    );
    text(&found["Routes"][0]["TransitGatewayAttachments"][0]["TransitGatewayAttachmentId"])
}

fn vpc_target(emulator: &Emulator, region: &str, table: &str, destination: &str) -> String {
    let found = emulator.aws_json(
        region,
        &["describe-route-tables", "--route-table-ids", table],
    );
    let routes = found["RouteTables"][0]["Routes"].as_array().unwrap();
    let route = routes
        .iter()
        .find(|r| {
            r["DestinationCidrBlock"] == destination || r["DestinationIpv6CidrBlock"] == destination
        })
        .unwrap_or_else(|| panic!("no route for {destination} in {table}: {found}"));
    let target = &route["NetworkInterfaceId"];
    text(if target.is_null() {
        &route["TransitGatewayId"]
    } else {
        target
    })
}

#[test]
fn segmented_gateway_tables_all_switch() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    let (_, first) = layout.gateway_in(TOKYO);
    let second = second_tgw_table(&emulator, &layout, TOKYO, A);
    let text_before = std::fs::read_to_string(&layout.conf).unwrap();
    let listed = text_before.replace(
        &format!("routeTable: {first}"),
        &format!("routeTables: [{first}, {second}]"),
    );
    assert_ne!(listed, text_before, "tgw.conf names {first}");
    std::fs::write(&layout.conf, listed).unwrap();

    // A VPC table without the VIP route, listed in the config.
    let vpc_a = text(&layout.server(A)["vpc"]);
    let created = emulator.aws_json(TOKYO, &["create-route-table", "--vpc-id", &vpc_a]);
    let bare = text(&created["RouteTable"]["RouteTableId"]);
    layout.append_config(&format!("vpcs:\n  {vpc_a}:\n    routeTables: [{bare}]\n"));

    let run = tgw_vip(&emulator, &layout.conf, &["--server", B, "start"]);
    assert_eq!(run.code, 0, "{run:?}");
    let peering = text(&layout.ids["peerings"][0]["id"]);
    let (tgw_a, _) = layout.gateway_in(TOKYO);
    assert_eq!(
        tgw_target(&emulator, TOKYO, &first, "172.16.0.1/32"),
        peering
    );
    assert_eq!(
        tgw_target(&emulator, TOKYO, &second, "172.16.0.1/32"),
        peering
    );
    assert_eq!(vpc_target(&emulator, TOKYO, &bare, "172.16.0.1/32"), tgw_a);

    let run = tgw_vip(&emulator, &layout.conf, &["--server", B, "monitor"]);
    assert_eq!(run.code, 0, "{run:?}");

    let run = tgw_vip(&emulator, &layout.conf, &["--server", A, "start"]);
    assert_eq!(run.code, 0, "{run:?}");
    let attachment = text(&layout.server(A)["attachment"]);
    let eni = text(&layout.server(A)["eni"]);
    assert_eq!(
        tgw_target(&emulator, TOKYO, &first, "172.16.0.1/32"),
        attachment
    );
    assert_eq!(
        tgw_target(&emulator, TOKYO, &second, "172.16.0.1/32"),
        attachment
    );
    assert_eq!(vpc_target(&emulator, TOKYO, &bare, "172.16.0.1/32"), eni);
}

#[test]
fn client_region_without_server_follows() {
    let emulator = Emulator::start();
    let layout = emulator.build("client-region", &[]);
    let client = layout.ids["client_vpcs"]["client-1"].clone();
    let client_table = text(&client["route_tables"][0]);
    let hub = text(&client["tgw"]);
    let hub_table = text(&layout.ids["gateways"][&hub]["route_table"]);
    let hub_peerings = &layout.ids["gateways"][&hub]["peerings"];

    for (server, other) in [(B, A), (A, B)] {
        let run = tgw_vip(&emulator, &layout.conf, &["--server", server, "start"]);
        assert_eq!(run.code, 0, "{run:?}");
        let rows = routes(&emulator, &layout);
        let active_tgw = text(&layout.server(server)["tgw"]);
        assert_eq!(target_in(&rows, &client_table), hub, "client VPC table");
        assert_eq!(
            target_in(&rows, &hub_table),
            text(&hub_peerings[&active_tgw]),
            "hub table while {server} is active"
        );
        assert_ne!(
            target_in(&rows, &hub_table),
            text(&hub_peerings[&text(&layout.server(other)["tgw"])])
        );
        assert!(!run.stdout.contains("peering hops"), "{run:?}");

        let run = tgw_vip(&emulator, &layout.conf, &["--server", server, "monitor"]);
        assert_eq!(run.code, 0, "{run:?}");
    }
}

/// Lists every server VPC table of the layout in `vpcs`, so that routes for
/// a destination they do not hold yet are created.
fn list_all_vpc_tables(layout: &Layout) {
    let mut yaml = String::from("vpcs:\n");
    for name in server_names(layout) {
        let server = layout.server(&name);
        let tables: Vec<String> = server["route_tables"]
            .as_array()
            .unwrap()
            .iter()
            .map(text)
            .collect();
        yaml.push_str(&format!(
            "  {}:\n    routeTables: [{}]\n",
            text(&server["vpc"]),
            tables.join(", ")
        ));
    }
    layout.append_config(&yaml);
}

#[test]
fn several_vips_share_reads() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    list_all_vpc_tables(&layout);
    emulator.reset_counters();

    let args = [
        "--vip",
        "172.16.0.1",
        "--vip",
        "172.16.0.2",
        "--server",
        B,
        "start",
    ];
    let run = tgw_vip_no_vip(&emulator, &layout.conf, &args, &[]);

    // A start that writes reads once to plan and once more to verify its
    // writes; each read covers both VIPs.
    assert_eq!(run.code, 0, "{run:?}");
    let counters = emulator.counters();
    for region in [TOKYO, SINGAPORE] {
        let calls = &counters["calls"][region];
        assert_eq!(calls["DescribeRouteTables"], 2, "{counters}");
        assert_eq!(calls["SearchTransitGatewayRoutes"], 4, "{counters}");
    }

    emulator.reset_counters();
    let run = tgw_vip_no_vip(&emulator, &layout.conf, &args, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let counters = emulator.counters();
    for region in [TOKYO, SINGAPORE] {
        let calls = &counters["calls"][region];
        assert_eq!(calls["DescribeRouteTables"], 1, "{counters}");
        assert_eq!(calls["SearchTransitGatewayRoutes"], 2, "{counters}");
    }
    assert_eq!(counters["writes"], 0, "{counters}");
    for vip in ["172.16.0.1/32", "172.16.0.2/32"] {
        assert_routed_to(&routes_for(&emulator, &layout, vip), &layout, B);
    }
}

#[test]
fn vips_listed_in_config_all_move() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    list_all_vpc_tables(&layout);
    layout.append_config("vips: [172.16.0.1, 172.16.0.2, 172.16.0.3]\n");

    for server in [A, B] {
        let run = tgw_vip_no_vip(&emulator, &layout.conf, &["--server", server, "start"], &[]);
        assert_eq!(run.code, 0, "{run:?}");
        for vip in ["172.16.0.1/32", "172.16.0.2/32", "172.16.0.3/32"] {
            assert_routed_to(&routes_for(&emulator, &layout, vip), &layout, server);
        }
    }
    let run = tgw_vip_no_vip(&emulator, &layout.conf, &["--server", B, "monitor"], &[]);
    assert_eq!(run.code, 0, "{run:?}");

    // Each table has a row per VIP, and the DESTINATION column names it.
    let run = tgw_vip_no_vip(&emulator, &layout.conf, &["status"], &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let header = run.stdout.lines().next().unwrap_or_default();
    let words: Vec<&str> = header.split_whitespace().collect();
    assert_eq!(words[3..6], ["TABLE", "DESTINATION", "TARGET"], "{run:?}");
    for vip in ["172.16.0.1/32", "172.16.0.2/32", "172.16.0.3/32"] {
        let rows = run.stdout.lines().filter(|line| line.contains(vip)).count();
        assert!(rows >= 4, "{vip} is in {rows} rows: {run:?}");
    }

    let run = tgw_vip_no_vip(
        &emulator,
        &layout.conf,
        &["--vip", "172.16.0.1", "status"],
        &[],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains("DESTINATION"), "{run:?}");
}

#[test]
fn ipv6_vip_moves_everywhere() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    list_all_vpc_tables(&layout);

    for server in [A, B, A] {
        let args = ["--vip", "fd00::1", "--server", server, "start"];
        let run = tgw_vip_no_vip(&emulator, &layout.conf, &args, &[]);
        assert_eq!(run.code, 0, "{run:?}");
        assert_routed_to(
            &routes_for(&emulator, &layout, "fd00::1/128"),
            &layout,
            server,
        );
    }

    let args = ["--vip", "fd00::1/128", "--server", A, "monitor"];
    let run = tgw_vip_no_vip(&emulator, &layout.conf, &args, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    // The IPv4 VIP's placeholder routes stay as they were.
    let rows = routes(&emulator, &layout);
    let table = text(&layout.server(A)["route_tables"][0]);
    assert_eq!(target_in(&rows, &table), text(&layout.server(A)["tgw"]));
}
