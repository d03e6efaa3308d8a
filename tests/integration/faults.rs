//! Behaviour under AWS faults injected by the emulator: throttling, 5xx
//! responses, dropped connections, a region that does not respond, and
//! rejected credentials.

use std::time::{Duration, Instant};

use crate::support::{routes, target_in, tgw_vip, Emulator, Layout};

const A: &str = "server-a.test.local";
const B: &str = "server-b.test.local";
const TOKYO: &str = "ap-northeast-1";
const SINGAPORE: &str = "ap-southeast-1";

fn start(emulator: &Emulator, layout: &Layout, server: &str) {
    let run = tgw_vip(emulator, &layout.conf, &["--server", server, "start"]);
    assert_eq!(run.code, 0, "{run:?}");
}

fn eni(layout: &Layout, server: &str) -> String {
    layout.server(server)["eni"].as_str().unwrap().to_string()
}

fn first_table(layout: &Layout, server: &str) -> String {
    layout.server(server)["route_tables"][0]
        .as_str()
        .unwrap()
        .to_string()
}

fn clear_faults(emulator: &Emulator) {
    emulator.control("POST", "/_emulator/faults/clear", "");
}

#[test]
fn throttling_storm_is_retried() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    emulator.faults(
        r#"{"errors": [
            {"operation": "ReplaceRoute", "count": 3, "code": "RequestLimitExceeded", "status": 503},
            {"operation": "SearchTransitGatewayRoutes", "count": 2, "code": "RequestLimitExceeded", "status": 503}
        ]}"#,
    );

    let run = tgw_vip(&emulator, &layout.conf, &["--server", A, "start"]);

    assert_eq!(run.code, 0, "{run:?}");
    let retries: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("retrying AWS call"))
        .collect();
    assert_eq!(retries.len(), 5, "{run:?}");
    assert!(
        retries.iter().all(|l| l.contains("RequestLimitExceeded")),
        "{run:?}"
    );
    assert!(
        retries
            .iter()
            .any(|l| l.contains("operation=ReplaceRoute") && l.contains("resource=rtb-")),
        "{run:?}"
    );
    assert!(
        retries
            .iter()
            .any(|l| l.contains("operation=SearchTransitGatewayRoutes")
                && l.contains("resource=tgw-rtb-")),
        "{run:?}"
    );
    let rows = routes(&emulator, &layout);
    assert_eq!(target_in(&rows, &first_table(&layout, A)), eni(&layout, A));
}

#[test]
fn denied_write_asks_for_iam_actions() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    start(&emulator, &layout, A);
    emulator.faults(r#"{"deny": ["ReplaceTransitGatewayRoute"]}"#);

    let run = tgw_vip(&emulator, &layout.conf, &["--server", B, "start"]);

    assert!(run.stdout.contains("UnauthorizedOperation"), "{run:?}");
    assert!(run.stdout.contains("iam-policy"), "{run:?}");
    assert!(!run.stdout.contains("once AWS answers"), "{run:?}");
}

#[test]
fn failed_writes_are_named_and_finished_later() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    start(&emulator, &layout, A);
    let (_, rtb_a) = layout.gateway_in(TOKYO);
    emulator.faults(
        r#"{"errors": [
            {"operation": "ReplaceTransitGatewayRoute", "region": "ap-northeast-1", "count": 50, "code": "InternalError", "status": 500},
            {"operation": "ReplaceRoute", "region": "ap-northeast-1", "count": 50, "code": "InternalError", "status": 500, "drop": true}
        ]}"#,
    );

    let run = tgw_vip(&emulator, &layout.conf, &["--server", B, "start"]);

    // Tokyo is not the active region, so its failures do not fail the start.
    assert_eq!(run.code, 0, "{run:?}");
    let tgw_line = run
        .stdout
        .lines()
        .find(|l| l.starts_with(TOKYO) && l.contains(&rtb_a));
    assert!(
        tgw_line.is_some_and(|l| l.contains("FAILED InternalError")),
        "{run:?}"
    );
    let vpc_table = first_table(&layout, A);
    let vpc_line = run.stdout.lines().find(|l| l.contains(&vpc_table));
    assert!(vpc_line.is_some_and(|l| l.contains("FAILED")), "{run:?}");
    let rows = routes(&emulator, &layout);
    assert_eq!(target_in(&rows, &first_table(&layout, B)), eni(&layout, B));
    assert!(run.stdout.contains("once AWS answers"), "{run:?}");
    assert!(!run.stdout.contains("iam-policy"), "{run:?}");

    clear_faults(&emulator);
    start(&emulator, &layout, B);
    let rows = routes(&emulator, &layout);
    let (tgw_a, _) = layout.gateway_in(TOKYO);
    assert_eq!(target_in(&rows, &vpc_table), tgw_a);
}

#[test]
fn strict_start_fails_on_other_region() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    start(&emulator, &layout, A);
    emulator.faults(
        r#"{"errors": [{"operation": "ReplaceTransitGatewayRoute", "region": "ap-northeast-1", "count": 50, "code": "InternalError", "status": 500}]}"#,
    );

    let run = tgw_vip(
        &emulator,
        &layout.conf,
        &["--server", B, "--strict", "start"],
    );

    assert_eq!(run.code, 3, "{run:?}");
}

#[test]
fn silent_region_during_failover() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    start(&emulator, &layout, A);
    emulator.faults(r#"{"hang_regions": ["ap-northeast-1"]}"#);

    let started = Instant::now();
    let run = tgw_vip(
        &emulator,
        &layout.conf,
        &["--server", B, "--timeout", "6", "start"],
    );
    let elapsed = started.elapsed();

    assert_eq!(run.code, 0, "{run:?}");
    assert!(elapsed < Duration::from_secs(7), "start took {elapsed:?}");
    assert!(run.stdout.contains("NOT READ"), "{run:?}");
    assert!(run.stdout.contains("half of the time left"), "{run:?}");
    assert!(
        run.stdout
            .lines()
            .filter(|l| l.starts_with(SINGAPORE))
            .count()
            >= 3,
        "{run:?}"
    );

    clear_faults(&emulator);
    let rows = routes(&emulator, &layout);
    assert_eq!(target_in(&rows, &first_table(&layout, B)), eni(&layout, B));
    assert_eq!(target_in(&rows, &first_table(&layout, A)), eni(&layout, A));

    // Once Tokyo responds again, monitor sees the drift and repairs it when
    // configured to.
    let run = tgw_vip(&emulator, &layout.conf, &["--server", B, "monitor"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains(&first_table(&layout, A)), "{run:?}");
    layout.append_config("monitor:\n  repair: true\n");
    let run = tgw_vip(&emulator, &layout.conf, &["--server", B, "monitor"]);
    assert_eq!(run.code, 0, "{run:?}");
    let rows = routes(&emulator, &layout);
    let (tgw_a, _) = layout.gateway_in(TOKYO);
    assert_eq!(target_in(&rows, &first_table(&layout, A)), tgw_a);
}

#[test]
fn strict_start_with_silent_region_fails() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    start(&emulator, &layout, A);
    emulator.faults(r#"{"hang_regions": ["ap-northeast-1"]}"#);

    let run = tgw_vip(
        &emulator,
        &layout.conf,
        &["--server", B, "--strict", "--timeout", "4", "start"],
    );

    assert_eq!(run.code, 3, "{run:?}");
}

#[test]
fn monitor_api_error_policies() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    start(&emulator, &layout, A);
    let fault = r#"{"errors": [{"operation": "SearchTransitGatewayRoutes", "count": 1000, "code": "ServiceUnavailable", "status": 503}]}"#;
    emulator.faults(fault);

    let cases = [("ignore", 0, false), ("warn", 0, true), ("fail", 3, true)];
    for (policy, code, mentioned) in cases {
        let conf = layout.dir.join(format!("tgw-{policy}.conf"));
        let text = std::fs::read_to_string(&layout.conf).unwrap();
        std::fs::write(&conf, format!("{text}monitor:\n  onApiError: {policy}\n")).unwrap();

        let run = tgw_vip(
            &emulator,
            &conf,
            &["--server", A, "--timeout", "8", "monitor"],
        );

        assert_eq!(run.code, code, "policy {policy}: {run:?}");
        assert!(!run.stdout.contains("DRIFT"), "policy {policy}: {run:?}");
        assert_eq!(
            run.stdout.contains("ServiceUnavailable"),
            mentioned,
            "policy {policy}: {run:?}"
        );
    }
}

#[test]
fn no_command_outlives_timeout() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    emulator.faults(r#"{"hang_regions": ["ap-northeast-1", "ap-southeast-1"]}"#);

    for command in ["start", "monitor", "status", "plan"] {
        let started = Instant::now();
        let run = tgw_vip(
            &emulator,
            &layout.conf,
            &["--server", A, "--timeout", "2", command],
        );
        let elapsed = started.elapsed();

        assert!(
            elapsed < Duration::from_secs(3),
            "{command} took {elapsed:?}: {run:?}"
        );
        // Monitor's default policy does not fail on API errors; the others
        // cannot read anything and exit 3.
        let expected = if command == "monitor" { 0 } else { 3 };
        assert_eq!(run.code, expected, "{command}: {run:?}");
    }
}

#[test]
fn rejected_credentials_exit_three() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    emulator.faults(
        r#"{"errors": [
            {"operation": "DescribeRouteTables", "count": 100, "code": "AuthFailure", "status": 401},
            {"operation": "SearchTransitGatewayRoutes", "count": 100, "code": "AuthFailure", "status": 401}
        ]}"#,
    );
    emulator.reset_counters();

    let run = tgw_vip(&emulator, &layout.conf, &["--server", A, "start"]);

    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stdout.contains("AuthFailure"), "{run:?}");
    assert_eq!(emulator.writes(), 0);
}

#[test]
fn simultaneous_starts_end_consistent() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    // Latency makes the two starts overlap: both read before either writes.
    emulator.faults(r#"{"latency_ms": {"ap-northeast-1": 150, "ap-southeast-1": 150}}"#);

    let runs = std::thread::scope(|scope| {
        let a = scope.spawn(|| tgw_vip(&emulator, &layout.conf, &["--server", A, "start"]));
        let b = scope.spawn(|| tgw_vip(&emulator, &layout.conf, &["--server", B, "start"]));
        [a.join().unwrap(), b.join().unwrap()]
    });
    clear_faults(&emulator);

    let status = tgw_vip(&emulator, &layout.conf, &["status"]);
    let winner = if status.stdout.contains(&format!("routes to {A}")) {
        A
    } else if status.stdout.contains(&format!("routes to {B}")) {
        B
    } else {
        panic!("routes are inconsistent after simultaneous starts: {status:?}\n{runs:?}");
    };
    let loser = if winner == A { B } else { A };

    let run = tgw_vip(&emulator, &layout.conf, &["--server", winner, "monitor"]);
    assert_eq!(run.code, 0, "{run:?}");
    let run = tgw_vip(&emulator, &layout.conf, &["--server", loser, "monitor"]);
    assert_eq!(run.code, 1, "{run:?}");
}

#[test]
fn unknown_region_warns_and_exits_three() {
    let emulator = Emulator::start();
    let layout = emulator.build("reference", &[]);
    let text = std::fs::read_to_string(&layout.conf).unwrap();
    std::fs::write(&layout.conf, text.replace(SINGAPORE, "xx-nowhere-1")).unwrap();

    let run = tgw_vip(
        &emulator,
        &layout.conf,
        &["--server", B, "--timeout", "6", "start"],
    );

    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("xx-nowhere-1"), "{run:?}");
    assert!(run.stderr.contains("not a known AWS region"), "{run:?}");
    assert_eq!(emulator.writes(), 0, "{run:?}");
}
