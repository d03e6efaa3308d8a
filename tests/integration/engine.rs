//! The reference topology end to end: start, failover, monitor, stop.

use crate::support::{routes, target_in, tgw_vip, Emulator, Layout};

const A: &str = "server-a.test.local";
const B: &str = "server-b.test.local";
const TOKYO: &str = "ap-northeast-1";
const SINGAPORE: &str = "ap-southeast-1";

fn str_of(value: &serde_json::Value) -> String {
    value.as_str().expect("string id").to_string()
}

fn tables_of(layout: &Layout, server: &str) -> Vec<String> {
    layout.server(server)["route_tables"]
        .as_array()
        .expect("route_tables list")
        .iter()
        .map(str_of)
        .collect()
}

/// Asserts every managed route of the reference layout points at `active`.
fn assert_routed_to(emulator: &Emulator, layout: &Layout, active: &str) {
    let rows = routes(emulator, layout);
    let (tgw_a, rtb_a) = layout.gateway_in(TOKYO);
    let (tgw_b, rtb_b) = layout.gateway_in(SINGAPORE);
    let peering = str_of(&layout.ids["peerings"][0]["id"]);
    let attach_a = str_of(&layout.server(A)["attachment"]);
    let attach_b = str_of(&layout.server(B)["attachment"]);
    let eni_a = str_of(&layout.server(A)["eni"]);
    let eni_b = str_of(&layout.server(B)["eni"]);

    let (vpc_a_target, vpc_b_target, tgw_a_target, tgw_b_target) = if active == A {
        (eni_a, tgw_b.clone(), attach_a, peering)
    } else {
        (tgw_a.clone(), eni_b, peering, attach_b)
    };
    for table in tables_of(layout, A) {
        assert_eq!(
            target_in(&rows, &table),
            vpc_a_target,
            "VPC-A table {table}"
        );
    }
    for table in tables_of(layout, B) {
        assert_eq!(
            target_in(&rows, &table),
            vpc_b_target,
            "VPC-B table {table}"
        );
    }
    assert_eq!(target_in(&rows, &rtb_a), tgw_a_target, "tgw-A route table");
    assert_eq!(target_in(&rows, &rtb_b), tgw_b_target, "tgw-B route table");
    assert!(rows.iter().all(|r| r.state == "active"), "{rows:?}");
}

fn start(emulator: &Emulator, layout: &Layout, server: &str) {
    let run = tgw_vip(emulator, &layout.conf, &["--server", server, "start"]);
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn start_as_a_sets_all_four_kinds() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);

    start(&emulator, &layout, A);

    assert_routed_to(&emulator, &layout, A);
}

#[test]
fn start_as_b_flips_every_table() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    start(&emulator, &layout, A);

    start(&emulator, &layout, B);
    assert_routed_to(&emulator, &layout, B);

    start(&emulator, &layout, A);
    assert_routed_to(&emulator, &layout, A);
}

#[test]
fn second_start_makes_no_write() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    start(&emulator, &layout, B);
    emulator.reset_counters();

    let run = tgw_vip(&emulator, &layout.conf, &["--server", B, "start"]);

    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(emulator.writes(), 0, "{}", emulator.counters());
    assert!(run.stdout.contains("0 changed"), "{run:?}");
}

/// Asserts the calls of one region: DescribeRouteTables and
/// SearchTransitGatewayRoutes, `reads` times each.
fn assert_reads(counters: &serde_json::Value, reads: u64) {
    for region in [TOKYO, SINGAPORE] {
        let calls = &counters["calls"][region];
        assert_eq!(calls["DescribeRouteTables"], reads, "{counters}");
        assert_eq!(calls["SearchTransitGatewayRoutes"], reads, "{counters}");
    }
}

#[test]
fn reads_once_per_region_and_table() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);

    // plan observes exactly as start does, without writing.
    emulator.reset_counters();
    let run = tgw_vip(&emulator, &layout.conf, &["--server", A, "plan"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_reads(&emulator.counters(), 1);

    // A start that writes reads every route back once afterwards.
    emulator.reset_counters();
    start(&emulator, &layout, A);
    assert_reads(&emulator.counters(), 2);

    // A start with nothing to write reads once.
    emulator.reset_counters();
    start(&emulator, &layout, A);
    assert_reads(&emulator.counters(), 1);
}

#[test]
fn monitor_healthy_exits_zero() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    start(&emulator, &layout, A);
    emulator.reset_counters();

    let run = tgw_vip(&emulator, &layout.conf, &["--server", A, "monitor"]);

    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("OK"), "{run:?}");
    assert_eq!(emulator.writes(), 0);
}

#[test]
fn monitor_on_standby_reports_drift() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    start(&emulator, &layout, A);

    let run = tgw_vip(&emulator, &layout.conf, &["--server", B, "monitor"]);

    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("DRIFT"), "{run:?}");
}

#[test]
fn monitor_detects_repointed_vpc_route() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    start(&emulator, &layout, A);
    let table = tables_of(&layout, B)[0].clone();
    let eni_b = str_of(&layout.server(B)["eni"]);

    emulator.aws(
        SINGAPORE,
        &[
            "replace-route",
            "--route-table-id",
            &table,
            "--destination-cidr-block",
            "172.16.0.1/32",
            "--network-interface-id",
            &eni_b,
        ],
    );
    let run = tgw_vip(&emulator, &layout.conf, &["--server", A, "monitor"]);

    assert_eq!(run.code, 1, "{run:?}");
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains(&table))
        .unwrap_or_else(|| panic!("drifting table not named: {run:?}"));
    assert!(line.contains(&eni_b), "actual target not shown: {line}");
}

#[test]
fn monitor_detects_deleted_tgw_route() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    start(&emulator, &layout, A);
    let (_, rtb_b) = layout.gateway_in(SINGAPORE);

    emulator.aws(
        SINGAPORE,
        &[
            "delete-transit-gateway-route",
            "--transit-gateway-route-table-id",
            &rtb_b,
            "--destination-cidr-block",
            "172.16.0.1/32",
        ],
    );
    let run = tgw_vip(&emulator, &layout.conf, &["--server", A, "monitor"]);

    assert_eq!(run.code, 1, "{run:?}");
    let line = run.stdout.lines().find(|l| l.contains(&rtb_b));
    assert!(line.is_some_and(|l| l.contains("(missing)")), "{run:?}");

    // A start creates the static route again.
    start(&emulator, &layout, A);
    assert_routed_to(&emulator, &layout, A);
}

#[test]
fn monitor_detects_blackhole_route() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    start(&emulator, &layout, A);
    let (_, rtb_a) = layout.gateway_in(TOKYO);

    emulator.aws(
        TOKYO,
        &[
            "replace-transit-gateway-route",
            "--transit-gateway-route-table-id",
            &rtb_a,
            "--destination-cidr-block",
            "172.16.0.1/32",
            "--blackhole",
        ],
    );
    let run = tgw_vip(&emulator, &layout.conf, &["--server", A, "monitor"]);

    assert_eq!(run.code, 1, "{run:?}");
    let line = run.stdout.lines().find(|l| l.contains(&rtb_a));
    assert!(line.is_some_and(|l| l.contains("blackhole")), "{run:?}");
}

#[test]
fn monitor_detects_blackhole_after_attachment_deleted() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    start(&emulator, &layout, B);
    let (_, rtb_a) = layout.gateway_in(TOKYO);
    let peering = str_of(&layout.ids["peerings"][0]["id"]);

    emulator.aws(
        TOKYO,
        &[
            "delete-transit-gateway-peering-attachment",
            "--transit-gateway-attachment-id",
            &peering,
        ],
    );
    let run = tgw_vip(&emulator, &layout.conf, &["--server", B, "monitor"]);

    assert_eq!(run.code, 1, "{run:?}");
    let line = run.stdout.lines().find(|l| l.contains(&rtb_a));
    assert!(line.is_some_and(|l| l.contains("blackhole")), "{run:?}");
}

#[test]
fn listed_table_gets_route_created() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    let table = tables_of(&layout, B)[1].clone();
    let vpc_b = str_of(&layout.server(B)["vpc"]);
    layout.append_config(&format!("vpcs:\n  {vpc_b}:\n    routeTables: [{table}]\n"));
    emulator.aws(
        SINGAPORE,
        &[
            "delete-route",
            "--route-table-id",
            &table,
            "--destination-cidr-block",
            "172.16.0.1/32",
        ],
    );

    let run = tgw_vip(&emulator, &layout.conf, &["--server", A, "monitor"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains(&table), "{run:?}");

    start(&emulator, &layout, A);
    assert_routed_to(&emulator, &layout, A);
}

#[test]
fn client_vpc_follows_the_vip() {
    let emulator = Emulator::start();
    let layout = emulator.build("client-vpc", &[]);
    let client = layout.ids["client_vpcs"]
        .as_object()
        .and_then(|m| m.values().next())
        .expect("a client VPC in ids.json")
        .clone();
    let client_table = str_of(&client["route_tables"][0]);
    let (tgw_a, rtb_a) = layout.gateway_in(TOKYO);
    let peering = str_of(&layout.ids["peerings"][0]["id"]);

    start(&emulator, &layout, B);
    let rows = routes(&emulator, &layout);
    assert_eq!(target_in(&rows, &client_table), tgw_a);
    assert_eq!(target_in(&rows, &rtb_a), peering);
    let run = tgw_vip(&emulator, &layout.conf, &["--server", B, "monitor"]);
    assert_eq!(run.code, 0, "{run:?}");

    start(&emulator, &layout, A);
    let rows = routes(&emulator, &layout);
    assert_eq!(target_in(&rows, &client_table), tgw_a);
    assert_eq!(
        target_in(&rows, &rtb_a),
        str_of(&layout.server(A)["attachment"])
    );
}

#[test]
fn stop_changes_nothing() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    emulator.reset_counters();

    let run = tgw_vip(&emulator, &layout.conf, &["--server", A, "stop"]);

    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(emulator.counters()["total"], 0);

    // A failed stop would make the cluster run its final action, so a
    // broken config is reported as a warning and stop still succeeds.
    layout.append_config("\nmonitr: {repair: true}\n");
    let run = tgw_vip(&emulator, &layout.conf, &["--server", A, "stop"]);

    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("warning: unknown key `monitr`"),
        "{run:?}"
    );
    assert!(run.stdout.contains("nothing to do"), "{run:?}");
    assert_eq!(emulator.counters()["total"], 0);
}

#[test]
fn new_vip_without_vpc_route_fails_start() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    let vip = ["--vip", "172.16.0.9"];

    let run = tgw_vip(
        &emulator,
        &layout.conf,
        &[&vip[..], &["--server", A, "start"]].concat(),
    );
    let status = tgw_vip(&emulator, &layout.conf, &[&vip[..], &["status"]].concat());

    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("start fails"), "{run:?}");
    assert!(!status.stdout.contains("routes to"), "{status:?}");
}

#[test]
fn standby_monitor_never_repairs_a_failover() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    layout.append_config("monitor:\n  repair: true\n");
    start(&emulator, &layout, B);
    emulator.reset_counters();

    let run = tgw_vip(&emulator, &layout.conf, &["--server", A, "monitor"]);

    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("not repaired"), "{run:?}");
    assert!(run.stdout.contains(B), "{run:?}");
    assert_eq!(emulator.writes(), 0);
    assert_routed_to(&emulator, &layout, B);

    // With the active node's region silent, the routes this node can read
    // still point at B, so nothing is taken over either.
    emulator.faults(
        r#"{"errors": [{"operation": "DescribeRouteTables", "region": "ap-southeast-1", "count": 1000, "code": "InternalError", "status": 500},
                       {"operation": "SearchTransitGatewayRoutes", "region": "ap-southeast-1", "count": 1000, "code": "InternalError", "status": 500}]}"#,
    );
    let run = tgw_vip(&emulator, &layout.conf, &["--server", A, "monitor"]);

    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(emulator.writes(), 0);
}

#[test]
fn monitor_api_failure_is_not_drift() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    start(&emulator, &layout, A);
    emulator.faults(
        r#"{"errors": [{"operation": "DescribeRouteTables", "region": "ap-southeast-1", "count": 100, "code": "InternalError", "status": 500}]}"#,
    );

    let run = tgw_vip(&emulator, &layout.conf, &["--server", A, "monitor"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains("DRIFT"), "{run:?}");
    assert!(run.stdout.contains("InternalError"), "{run:?}");

    layout.append_config("monitor:\n  onApiError: fail\n");
    let run = tgw_vip(&emulator, &layout.conf, &["--server", A, "monitor"]);
    assert_eq!(run.code, 3, "{run:?}");
}

#[test]
fn original_example_config_loads() {
    let emulator = Emulator::start();
    let conf = crate::support::root().join("examples/tgw.conf");
    emulator.reset_counters();

    let run = tgw_vip(&emulator, &conf, &["--server", A, "stop"]);

    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(emulator.counters()["total"], 0);
}
